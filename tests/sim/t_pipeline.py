#!/usr/bin/env python3
"""A classic pipeline through boto3: Source -> Staging -> Testing ->
manual Approval -> Production, approved and rejected."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

try:
    from botocore.exceptions import ClientError
except ImportError:
    simtest.require_moto()
    raise


def action(name, category, provider, owner="AWS", **cfg):
    a = {"name": name, "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": "1"},
         "runOrder": 1, "configuration": cfg}
    if category == "Source":
        a["outputArtifacts"] = [{"name": "src"}]
    elif category != "Approval":
        a["inputArtifacts"] = [{"name": "src"}]
    return a


PIPELINE = {
    "name": "edge-app",
    "roleArn": "arn:aws:iam::123456789012:role/pipeline",
    "artifactStore": {"type": "S3", "location": "edge-artifacts"},
    "stages": [
        {"name": "Source", "actions": [action("Source", "Source", "S3", S3Bucket="edge-artifacts", S3ObjectKey="src.zip")]},
        {"name": "Staging", "actions": [action("DeployStaging", "Deploy", "CloudFormation", ActionMode="CREATE_UPDATE",
                                               StackName="edge-app-staging")]},
        {"name": "Testing", "actions": [action("Validate", "Invoke", "Lambda", FunctionName="validate")]},
        {"name": "Approval", "actions": [action("Promote", "Approval", "Manual")]},
        {"name": "Production", "actions": [action("DeployProduction", "Deploy", "CloudFormation",
                                                  ActionMode="CREATE_UPDATE", StackName="edge-app-production")]},
    ],
}


def stage(state, name):
    return next(s for s in state["stageStates"] if s["stageName"] == name)


def wait_token(cp):
    def check():
        a = stage(cp.get_pipeline_state(name="edge-app"), "Approval")["actionStates"][0]
        return (a.get("latestExecution") or {}).get("token")

    return simtest.wait_until(check, timeout=10)


def main(tap, sim):
    sim.config(pipeline_step=0.1)
    cp = sim.client("codepipeline")
    import json
    role = sim.client("iam").create_role(RoleName="pipeline", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))
    PIPELINE["roleArn"] = role["Role"]["Arn"]
    cp.create_pipeline(pipeline=PIPELINE)
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(st["pipelineName"] == "edge-app" and len(st["stageStates"]) == 5
           and all("latestExecution" not in s for s in st["stageStates"]), "GetPipelineState before any run")
    ex_id = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    tap.ok(len(ex_id) == 36, "StartPipelineExecution returns an execution id")
    token = wait_token(cp)
    tap.ok(token, "the run waits at the manual approval with a token")
    st = cp.get_pipeline_state(name="edge-app")
    tap.ok(all(stage(st, s)["latestExecution"]["status"] == "Succeeded" for s in ("Source", "Staging", "Testing"))
           and stage(st, "Approval")["latestExecution"]["status"] == "InProgress"
           and "latestExecution" not in stage(st, "Production"),
           "stages before the approval succeeded; production has not started",
           [(s["stageName"], s.get("latestExecution")) for s in st["stageStates"]])
    tap.eq(cp.get_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex_id)["pipelineExecution"]["status"],
           "InProgress", "GetPipelineExecution: InProgress")
    try:
        cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                               result={"summary": "x", "status": "Approved"}, token="00000000-0000-0000-0000-000000000000")
        err = None
    except ClientError as e:
        err = e.response["Error"]["Code"]
    tap.eq(err, "InvalidApprovalTokenException", "a wrong token: InvalidApprovalTokenException")
    r = cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                               result={"summary": "looks good", "status": "Approved"}, token=token)
    tap.ok("approvedAt" in r, "PutApprovalResult Approved")
    done = simtest.wait_until(lambda: cp.get_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex_id)
                              ["pipelineExecution"]["status"] == "Succeeded", 10)
    tap.ok(done, "the execution then succeeds")
    st = cp.get_pipeline_state(name="edge-app")
    tap.eq(stage(st, "Production")["latestExecution"]["status"], "Succeeded", "production deployed")
    appr = stage(st, "Approval")["actionStates"][0]["latestExecution"]
    tap.ok(appr["status"] == "Succeeded" and appr.get("summary") == "looks good" and "token" not in appr,
           "the approval action records the summary and drops the token", appr)

    ex2 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    token = wait_token(cp)
    cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                           result={"summary": "not this one", "status": "Rejected"}, token=token)
    done = simtest.wait_until(lambda: cp.get_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex2)
                              ["pipelineExecution"]["status"] == "Failed", 10)
    tap.ok(done, "a rejected approval fails the execution")
    try:
        cp.put_approval_result(pipelineName="edge-app", stageName="Approval", actionName="Promote",
                               result={"summary": "again", "status": "Approved"}, token=token)
        err = None
    except ClientError as e:
        err = e.response["Error"]["Code"]
    tap.ok(err in ("InvalidApprovalTokenException", "ApprovalAlreadyCompletedException"),
           "answering the same approval twice is refused", err)
    lst = cp.list_pipeline_executions(pipelineName="edge-app")["pipelineExecutionSummaries"]
    tap.ok([e["pipelineExecutionId"] for e in lst] == [ex2, ex_id] and [e["status"] for e in lst] == ["Failed", "Succeeded"],
           "ListPipelineExecutions: newest first with statuses", lst)

    sim.ctl("POST", "/pipeline/fail", {"action": "Validate"})
    ex3 = cp.start_pipeline_execution(name="edge-app")["pipelineExecutionId"]
    done = simtest.wait_until(lambda: cp.get_pipeline_execution(pipelineName="edge-app", pipelineExecutionId=ex3)
                              ["pipelineExecution"]["status"] == "Failed", 10)
    st = cp.get_pipeline_state(name="edge-app")
    v = stage(st, "Testing")["actionStates"][0]["latestExecution"]
    tap.ok(done and v["status"] == "Failed" and v.get("errorDetails"), "an action made to fail fails its stage", v)
    try:
        cp.get_pipeline_state(name="nope")
        err = None
    except ClientError as e:
        err = e.response["Error"]["Code"]
    tap.eq(err, "PipelineNotFoundException", "unknown pipeline: PipelineNotFoundException")


if __name__ == "__main__":
    simtest.run(main)
