#!/usr/bin/env python3
"""A classic pipeline through boto3, actions doing their work: an S3 source
(a zip with a template), CloudFormation deploys of a staging and a
production stack, a validator Lambda reporting through PutJob*Result, a
manual approval. Then failures, stop, retry, superseded executions, and
Lambda Invoke for an ordinary function, which reaches a simulated
distribution by its domain or alias."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402
from simtest import pipeline_action, zip_of  # noqa: E402

try:
    from botocore.exceptions import ClientError
except ImportError:
    simtest.require_moto()
    raise

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Stage: {Type: String}
  Release: {Type: String, Default: none}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub 'app-${Stage}-topic'
      DisplayName: !Ref Release
Outputs:
  Release: {Value: !Ref Release}
"""

# An ES module: it imports the simulator's @aws-sdk/client-codepipeline.
VALIDATOR = """import { CodePipelineClient, PutJobSuccessResultCommand, PutJobFailureResultCommand }
  from '@aws-sdk/client-codepipeline';
const cp = new CodePipelineClient({});
export const handler = async (event) => {
  const job = event['CodePipeline.job'];
  const what = job.data.actionConfiguration.configuration.UserParameters || '';
  const mode = process.env.MODE || 'pass';
  if (mode === 'throw') throw new Error('validator crashed');
  if (mode === 'silent') return 'no result';
  if (mode === 'fail') {
    await cp.send(new PutJobFailureResultCommand({ jobId: job.id,
      failureDetails: { type: 'JobFailed', message: 'expected text missing at ' + what } }));
    return;
  }
  await cp.send(new PutJobSuccessResultCommand({ jobId: job.id,
    executionDetails: { summary: 'HTTP 200 with the expected text at ' + what } }));
};
"""

PLAIN = """exports.handler = async (event, context) => {
  if (event.throw) throw new TypeError('asked to throw');
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  return { echo: event, fn: context.functionName, region: process.env.AWS_REGION };
};
"""

# Fetches each URL with fetch and with https.get; answers what came back.
FETCHER = """const https = require('https');
function get(url) {
  return new Promise((resolve) => {
    https.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', (e) => resolve({ error: e.code || e.message }));
  });
}
exports.handler = async (event) => {
  const out = [];
  for (const url of event.urls) {
    let f;
    try {
      const r = await fetch(url);
      f = { status: r.status, body: await r.text(), pop: r.headers.get('x-amz-cf-pop') };
    } catch (e) {
      f = { error: (e.cause && e.cause.code) || e.message };
    }
    out.push({ fetch: f, get: await get(url) });
  }
  return out;
};
"""

DIST = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Aliases: [app.routes.example.com]
        Origins: [{Id: o, DomainName: origin.routes.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior:
          TargetOriginId: o
          ViewerProtocolPolicy: allow-all
          ForwardedValues: {QueryString: false}
Outputs:
  Domain: {Value: !GetAtt Dist.DomainName}
"""


def pipeline(role):
    return {
        "name": "edge-app",
        "roleArn": role,
        "artifactStore": {"type": "S3", "location": "edge-artifacts"},
        "stages": [
            {"name": "Source", "actions": [pipeline_action("Source", "Source", "S3", outputs=("src",), S3Bucket="edge-src",
                                                  S3ObjectKey="app.zip", PollForSourceChanges="false")]},
            {"name": "Staging", "actions": [
                pipeline_action("DeployStaging", "Deploy", "CloudFormation", ActionMode="CREATE_UPDATE",
                       StackName="app-staging", TemplatePath="src::template.yaml",
                       ParameterOverrides='{"Stage": "staging"}', TemplateConfiguration="src::release.json"),
                pipeline_action("Validate", "Invoke", "Lambda", run_order=2, FunctionName="validator",
                       UserParameters="https://staging.example/")]},
            {"name": "Approval", "actions": [pipeline_action("Promote", "Approval", "Manual", CustomData="check staging",
                                                    ExternalEntityLink="https://staging.example/")]},
            {"name": "Production", "actions": [
                pipeline_action("CreateChangeSet", "Deploy", "CloudFormation", ActionMode="CHANGE_SET_REPLACE",
                       StackName="app-production", ChangeSetName="release", TemplatePath="src::template.yaml",
                       ParameterOverrides='{"Stage": "production"}', TemplateConfiguration="src::release.json"),
                pipeline_action("ExecuteChangeSet", "Deploy", "CloudFormation", run_order=2, ActionMode="CHANGE_SET_EXECUTE",
                       StackName="app-production", ChangeSetName="release")]},
        ],
    }


def stage(state, name):
    return next(s for s in state["stageStates"] if s["stageName"] == name)


def act(state, sname, aname):
    s = stage(state, sname)
    a = next(a for a in s["actionStates"] if a["actionName"] == aname)
    return a.get("latestExecution") or {}


def code(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def main(tap, sim):
    sim.config(pipeline_step=0.05, stack_step=0.02)
    cp = sim.client("codepipeline")
    s3 = sim.client("s3")
    lam = sim.client("lambda")
    cfn = sim.client("cloudformation")
    iam = sim.client("iam")
    role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))["Role"]["Arn"]
    s3.create_bucket(Bucket="edge-src")
    s3.put_bucket_versioning(Bucket="edge-src", VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket="edge-artifacts")
    lam.create_function(FunctionName="validator", Runtime="nodejs20.x", Role=role, Handler="index.handler",
                        Code={"ZipFile": zip_of({"index.mjs": VALIDATOR})}, Timeout=10,
                        Environment={"Variables": {"MODE": "pass"}})
    lam.create_function(FunctionName="plain", Runtime="nodejs20.x", Role=role, Handler="app.handler",
                        Code={"ZipFile": zip_of({"app.js": PLAIN})}, Timeout=1)

    def upload(release):
        return s3.put_object(Bucket="edge-src", Key="app.zip",
                             Body=zip_of({"template.yaml": TEMPLATE,
                                          "release.json": json.dumps({"Parameters": {"Release": release}})}),
                             Metadata={"codepipeline-artifact-revision-summary": f"commit {release}"})["VersionId"]

    def ex_status(ex_id):
        return cp.get_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex_id)["pipelineExecution"]["status"]

    def wait_status(ex_id, want, timeout=20):
        return simtest.wait_until(lambda: ex_status(ex_id) in want, timeout)

    def wait_token():
        return simtest.wait_until(lambda: act(cp.get_pipeline_state(name="edge-app"), "Approval", "Promote").get("token"), 20)

    def stack_output(name):
        try:
            s = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError:
            return None, None
        return s["StackStatus"], {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}.get("Release")

    # -- Lambda Invoke for an ordinary function
    r = lam.invoke(FunctionName="plain", Payload=json.dumps({"hello": "world"}))
    body = json.loads(r["Payload"].read())
    tap.ok(r["StatusCode"] == 200 and "FunctionError" not in r and body["echo"] == {"hello": "world"}
           and body["fn"] == "plain" and body["region"] == "us-east-1", "Invoke runs the handler and answers its result", body)
    r = lam.invoke(FunctionName="plain", Payload=json.dumps({"throw": True}))
    body = json.loads(r["Payload"].read())
    tap.ok(r.get("FunctionError") == "Unhandled" and body.get("errorType") == "TypeError"
           and body.get("errorMessage") == "asked to throw", "a throw: X-Amz-Function-Error Unhandled, errorType/Message", body)
    r = lam.invoke(FunctionName="plain", Payload=json.dumps({"sleep": 3}))
    body = json.loads(r["Payload"].read())
    tap.ok(r.get("FunctionError") == "Unhandled" and "timed out" in body.get("errorMessage", ""),
           "past the function's Timeout: an Unhandled timeout error", body)
    tap.eq(code(lambda: lam.invoke(FunctionName="nope", Payload=b"{}")), "ResourceNotFoundException",
           "Invoke of an unknown function: ResourceNotFoundException")

    # -- a function reaches a distribution by its domain or alias (routed to
    # an edge with the Host header); other hosts are not routed
    sim.config(cfn_wait_deployed=True)
    cfn.create_stack(StackName="routes", TemplateBody=DIST)
    simtest.wait_until(lambda: cfn.describe_stacks(StackName="routes")["Stacks"][0]["StackStatus"]
                       != "CREATE_IN_PROGRESS", 30, 0.1)
    sim.config(cfn_wait_deployed=False)
    domain = cfn.describe_stacks(StackName="routes")["Stacks"][0]["Outputs"][0]["OutputValue"]
    lam.create_function(FunctionName="fetcher", Runtime="nodejs20.x", Role=role, Handler="index.handler",
                        Code={"ZipFile": zip_of({"index.js": FETCHER})}, Timeout=10)
    urls = [f"https://{domain}/a/b?x=1", "https://APP.routes.example.com/c", "https://unrouted.invalid/"]
    got = json.loads(lam.invoke(FunctionName="fetcher", Payload=json.dumps({"urls": urls}))["Payload"].read())
    want = "origin origin.routes.example.com answered "
    tap.ok(got[0]["fetch"] == {"status": 200, "body": want + "/a/b\n", "pop": sim.edges[0]["pop"]}
           and got[0]["get"] == {"status": 200, "body": want + "/a/b\n"},
           "fetch and https.get of the distribution's domain reach the first edge", got[0])
    tap.ok(got[1]["fetch"].get("body") == want + "/c\n" and got[1]["get"].get("body") == want + "/c\n",
           "…and of its alias, whatever its case", got[1])
    tap.ok("error" in got[2]["fetch"] and "error" in got[2]["get"], "another host is not routed", got[2])

    cp.create_pipeline(pipeline=pipeline(role))
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(len(st["stageStates"]) == 4 and all("latestExecution" not in s for s in st["stageStates"]),
           "GetPipelineState before any run")

    # -- the seed's flow
    v1 = upload("r1")
    ex1 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    token = wait_token()
    tap.ok(token, "the run waits at the manual approval with a token")
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(act(st, "Validate" and "Staging", "Validate").get("summary") == "HTTP 200 with the expected text at https://staging.example/",
           "the validator's PutJobSuccessResult summary is the action's summary", act(st, "Staging", "Validate"))
    tap.eq(stack_output("app-staging"), ("CREATE_COMPLETE", "r1"),
           "CREATE_UPDATE created the staging stack with the TemplateConfiguration's parameter")
    tap.eq(stack_output("app-production"), (None, None), "production not deployed before the approval")
    src = cp.list_pipeline_executions(pipelineName="edge-app")["pipelineExecutionSummaries"][0]["sourceRevisions"]
    tap.ok(src and src[0]["revisionId"] == v1 and src[0]["revisionSummary"] == "commit r1",
           "the source revision is the object version, summarised by its metadata", src)
    cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                           result={"summary": "looks good", "status": "Approved"}, token=token)
    tap.ok(wait_status(ex1, ("Succeeded", "Failed")) and ex_status(ex1) == "Succeeded", "approved: the execution succeeds")
    tap.eq(stack_output("app-production"), ("CREATE_COMPLETE", "r1"),
           "CHANGE_SET_REPLACE + CHANGE_SET_EXECUTE created the production stack")
    st = cp.get_pipeline_state(name="edge-app")
    appr = act(st, "Approval", "Promote")
    tap.ok(appr["status"] == "Succeeded" and appr.get("summary") == "looks good" and "token" not in appr
           and appr.get("lastUpdatedBy"), "the approval records summary and approver, drops the token", appr)

    # -- a second release updates both stacks
    upload("r2")
    ex2 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    token = wait_token()
    tap.eq(stack_output("app-staging"), ("UPDATE_COMPLETE", "r2"), "the next release updates staging")
    cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                           result={"summary": "ok", "status": "Approved"}, token=token)
    wait_status(ex2, ("Succeeded", "Failed"))
    tap.eq(stack_output("app-production"), ("UPDATE_COMPLETE", "r2"), "and, approved, production")

    # -- the validator fails: the execution stops before production
    lam.update_function_configuration(FunctionName="validator", Environment={"Variables": {"MODE": "fail"}})
    upload("r3")
    ex3 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    wait_status(ex3, ("Succeeded", "Failed"))
    st = cp.get_pipeline_state(name="edge-app")
    v = act(st, "Staging", "Validate")
    summ = cp.get_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex3)["pipelineExecution"]
    tap.ok(ex_status(ex3) == "Failed" and v["status"] == "Failed"
           and v["errorDetails"] == {"code": "JobFailed", "message": "expected text missing at https://staging.example/"}
           and "expected text missing" in summ.get("statusSummary", ""),
           "PutJobFailureResult fails the action, the stage and the execution, saying why", [v, summ])
    tap.ok(stage(st, "Approval")["latestExecution"]["pipelineExecutionId"] == ex2
           and stack_output("app-production") == ("UPDATE_COMPLETE", "r2"), "nothing of r3 reached production")
    tap.eq(code(lambda: cp.retry_stage_execution(pipelineName="edge-app", stageName="Staging",
                                                 pipelineExecutionId=ex2, retryMode="FAILED_ACTIONS")),
           "NotLatestPipelineExecutionException", "retrying an older execution's stage is refused")
    tap.eq(code(lambda: cp.retry_stage_execution(pipelineName="edge-app", stageName="Approval",
                                                 pipelineExecutionId=ex2, retryMode="FAILED_ACTIONS")),
           "StageNotRetryableException", "retrying a stage that did not fail is refused")

    # -- retry after a fix re-runs the failed action only
    lam.update_function_configuration(FunctionName="validator", Environment={"Variables": {"MODE": "pass"}})
    deploy_id = act(st, "Staging", "DeployStaging")["actionExecutionId"]
    r = cp.retry_stage_execution(pipelineName="edge-app", stageName="Staging", pipelineExecutionId=ex3,
                                 retryMode="FAILED_ACTIONS")
    tap.eq(r["pipelineExecutionId"], ex3, "RetryStageExecution answers the execution id")
    token = wait_token()
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(token and act(st, "Staging", "Validate")["status"] == "Succeeded"
           and act(st, "Staging", "DeployStaging")["actionExecutionId"] == deploy_id
           and ex_status(ex3) == "InProgress", "FAILED_ACTIONS re-ran the validator, not the deploy; on to the approval")

    # -- reject
    cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                           result={"summary": "not today", "status": "Rejected"}, token=token)
    wait_status(ex3, ("Failed", "Succeeded"))
    appr = act(cp.get_pipeline_state(name="edge-app"), "Approval", "Promote")
    tap.ok(ex_status(ex3) == "Failed" and appr["status"] == "Failed" and appr.get("summary") == "not today",
           "a rejection fails the execution and keeps the comment", appr)
    tap.ok(code(lambda: cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                                               result={"summary": "again", "status": "Approved"}, token=token))
           in ("InvalidApprovalTokenException", "ApprovalAlreadyCompletedException"), "answering twice is refused")

    # -- superseded: one execution per stage; a waiting one is overtaken
    ex4 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    wait_token()
    ex5 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    simtest.wait_until(lambda: stage(cp.get_pipeline_state(name="edge-app"), "Approval").get("inboundExecutions"), 20)
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(stage(st, "Approval")["inboundExecutions"][0]["pipelineExecutionId"] == ex5
           and stage(st, "Approval")["latestExecution"]["pipelineExecutionId"] == ex4,
           "a newer execution waits at the stage an older one occupies", stage(st, "Approval"))
    ex6 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    simtest.wait_until(lambda: stage(cp.get_pipeline_state(name="edge-app"), "Staging").get("inboundExecutions"), 20)
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(stage(st, "Staging")["inboundExecutions"][0]["pipelineExecutionId"] == ex6,
           "the one behind waits at Staging, which the waiting one still holds", stage(st, "Staging"))
    ex6b = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    simtest.wait_until(lambda: stage(cp.get_pipeline_state(name="edge-app"), "Source").get("inboundExecutions"), 20)
    ex6c = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    tap.ok(wait_status(ex6b, ("Superseded",)), "a waiting execution is superseded by a newer arrival")
    tap.eq(ex_status(ex4), "InProgress", "the one inside the stage is not interrupted")

    # -- stop: abandon the approval; the next one enters
    tap.eq(code(lambda: cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex1)),
           "PipelineExecutionNotStoppableException", "a finished execution cannot be stopped")
    cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex4, reason="wrong release")
    tap.ok(wait_status(ex4, ("Stopped",)), "a stopped execution waiting for approval ends Stopped")
    summ = next(e for e in cp.list_pipeline_executions(pipelineName="edge-app")["pipelineExecutionSummaries"]
                if e["pipelineExecutionId"] == ex4)
    tap.eq(summ.get("stopTrigger"), {"reason": "wrong release"}, "the stop reason is kept")
    tap.ok(simtest.wait_until(lambda: stage(cp.get_pipeline_state(name="edge-app"), "Approval")
                              ["latestExecution"]["pipelineExecutionId"] == ex5, 20),
           "the waiting execution then enters the stage")
    wait_token()
    cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex5, abandon=True)
    tap.ok(wait_status(ex5, ("Stopped",)), "stop and abandon")
    tap.eq(act(cp.get_pipeline_state(name="edge-app"), "Approval", "Promote")["status"], "Abandoned",
           "the abandoned approval says Abandoned")
    wait_token()
    cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex6, abandon=True)
    cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex6c, abandon=True)
    tap.ok(wait_status(ex6, ("Stopped",)) and wait_status(ex6c, ("Stopped",)), "stopping the rest")

    # -- a stop while a stack deploy runs lets it finish
    sim.hold_stacks(True)
    upload("r7")
    ex7 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    simtest.wait_until(lambda: act(cp.get_pipeline_state(name="edge-app"), "Staging", "DeployStaging")
                       .get("pipelineExecutionId", ex7) and stage(cp.get_pipeline_state(name="edge-app"), "Staging")
                       ["latestExecution"]["pipelineExecutionId"] == ex7, 20)
    cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex7)
    tap.eq(ex_status(ex7), "Stopping", "stopping while the deploy runs: Stopping")
    tap.eq(code(lambda: cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex7)),
           "DuplicatedStopRequestException", "a second plain stop is a duplicate")
    sim.hold_stacks(False)
    tap.ok(wait_status(ex7, ("Stopped",)), "then Stopped, once the deploy finished")
    tap.ok(act(cp.get_pipeline_state(name="edge-app"), "Staging", "DeployStaging")["status"] == "Succeeded"
           and stack_output("app-staging")[1] == "r7", "the running deploy was allowed to finish")

    # -- a validator that throws without reporting: the job times out
    sim.config(pipeline_job_timeout=1.5)
    lam.update_function_configuration(FunctionName="validator", Environment={"Variables": {"MODE": "throw"}})
    ex8 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    wait_status(ex8, ("Failed", "Succeeded"))
    v = act(cp.get_pipeline_state(name="edge-app"), "Staging", "Validate")
    tap.ok(ex_status(ex8) == "Failed" and "timed out" in v["errorDetails"]["message"],
           "a function that never reports fails the action at the job timeout", v)

    # -- a broken template fails the deploy action with the stack's reason
    s3.put_object(Bucket="edge-src", Key="app.zip", Body=zip_of({"release.json": "{}"}))
    ex9 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    wait_status(ex9, ("Failed", "Succeeded"))
    d = act(cp.get_pipeline_state(name="edge-app"), "Staging", "DeployStaging")
    tap.ok(d["status"] == "Failed" and "template.yaml does not exist" in d["errorDetails"]["message"],
           "a missing TemplatePath fails the deploy action", d)

    # -- a source version asked for
    ex10 = cp.start_pipeline_execution(name="edge-app", sourceRevisions=[
        {"actionName": "Source", "revisionType": "S3_OBJECT_VERSION_ID", "revisionValue": v1}])["pipelineExecutionId"]
    simtest.wait_until(lambda: cp.list_pipeline_executions(pipelineName="edge-app")
                       ["pipelineExecutionSummaries"][0]["sourceRevisions"], 20)
    src = cp.list_pipeline_executions(pipelineName="edge-app")["pipelineExecutionSummaries"][0]
    tap.ok(src["pipelineExecutionId"] == ex10 and src["sourceRevisions"][0]["revisionId"] == v1,
           "sourceRevisions S3_OBJECT_VERSION_ID takes that version", src)
    cp.stop_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex10, abandon=True)

    acts = cp.list_action_executions(pipelineName="edge-app", filter={"pipelineExecutionId": ex1})["actionExecutionDetails"]
    tap.ok(sorted(a["actionName"] for a in acts) == sorted(["Source", "DeployStaging", "Validate", "Promote",
                                                            "CreateChangeSet", "ExecuteChangeSet"])
           and all(a["status"] == "Succeeded" for a in acts), "ListActionExecutions of an execution", acts)
    tap.eq(code(lambda: cp.put_job_success_result(jobId="00000000-0000-0000-0000-000000000000")),
           "JobNotFoundException", "PutJobSuccessResult for an unknown job")
    tap.eq(code(lambda: cp.get_pipeline_state(name="nope")), "PipelineNotFoundException",
           "unknown pipeline: PipelineNotFoundException")


if __name__ == "__main__":
    simtest.run(main)
