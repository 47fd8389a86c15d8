#!/usr/bin/env python3
"""Pipeline mode, the seed's flow through the CLI: a CodePipeline (S3
source, CloudFormation deploy of staging, a validator Lambda, a manual
approval, a change-set deploy of production) created here with boto3.
commit → package → upload → `pipeline start` → staging deployed → the
validator passes → `pipeline status --json` shows the approval waiting →
`pipeline approve` → production deployed and serving the new release at
every edge. Then a release whose handler breaks the expected text: the
validator fails, the execution stops, nothing reaches production, and
status says why. Retry after a failure, reject with a comment, start and
stop, --read-only refusing all of them, no terminal and no --yes changing
nothing, edgeship's own deploy and promote refused for pipeline stages, a
lost answer to PutApprovalResult, and the ledger's records."""

import json
import os
import subprocess
import time
import uuid

import release
from simtest import pipeline_action, zip_of

PIPELINE = "edge-demo-release"
EXPECT = "Lambda@Edge is awesome!"

# The validator's handler, a fixture: the product's own comes from
# `edgeship init --pipeline`. It asks a staging edge for a fresh path
# (never cached) and reports through PutJob*Result.
VALIDATOR = r"""
const http = require('http');
const { CodePipelineClient, PutJobSuccessResultCommand, PutJobFailureResultCommand } =
  require('@aws-sdk/client-codepipeline');
const cp = new CodePipelineClient({});

function get(url, host) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search,
                               headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

exports.handler = async (event) => {
  const job = event['CodePipeline.job'];
  const p = JSON.parse(job.data.actionConfiguration.configuration.UserParameters);
  const path = '/validate-' + Date.now() + '-' + Math.random().toString(16).slice(2);
  try {
    const r = await get(p.edge + path, p.host);
    if (r.status === 200 && r.body.includes(p.expect)) {
      await cp.send(new PutJobSuccessResultCommand({ jobId: job.id,
        executionDetails: { summary: `HTTP 200 with "${p.expect}" at ${p.host}` } }));
    } else {
      await cp.send(new PutJobFailureResultCommand({ jobId: job.id, failureDetails: {
        type: 'JobFailed', message: `${p.host} answered ${r.status} without "${p.expect}"` } }));
    }
  } catch (e) {
    await cp.send(new PutJobFailureResultCommand({ jobId: job.id,
      failureDetails: { type: 'JobFailed', message: String(e) } }));
  }
};
"""


def definition(role, edge):
    user = json.dumps({"edge": edge, "host": "staging.edge.example.com", "expect": EXPECT})
    return {
        "name": PIPELINE, "roleArn": role,
        "artifactStore": {"type": "S3", "location": "edge-demo-artifacts"},
        "stages": [
            {"name": "Source", "actions": [pipeline_action("Source", "Source", "S3", S3Bucket="edge-demo-source",
                                                  S3ObjectKey="release.zip", PollForSourceChanges="false")]},
            {"name": "Staging", "actions": [
                pipeline_action("DeployStaging", "Deploy", "CloudFormation", ActionMode="CREATE_UPDATE",
                       StackName="edge-demo-staging", TemplatePath="src::packaged.json",
                       ParameterOverrides='{"Stage": "staging"}', Capabilities="CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND"),
                pipeline_action("Validate", "Invoke", "Lambda", run_order=2, FunctionName="edge-demo-validator",
                       UserParameters=user)]},
            {"name": "Approval", "actions": [pipeline_action("Promote", "Approval", "Manual",
                                                    CustomData="Check staging before production",
                                                    ExternalEntityLink="https://staging.edge.example.com/")]},
            {"name": "Production", "actions": [
                pipeline_action("CreateChangeSet", "Deploy", "CloudFormation", ActionMode="CHANGE_SET_REPLACE",
                       StackName="edge-demo-production", ChangeSetName="pipeline",
                       TemplatePath="src::packaged.json", ParameterOverrides='{"Stage": "production"}'),
                pipeline_action("ExecuteChangeSet", "Deploy", "CloudFormation", run_order=2,
                       ActionMode="CHANGE_SET_EXECUTE", StackName="edge-demo-production",
                       ChangeSetName="pipeline")]},
        ],
    }


PIPELINE_CONF = f"""
[pipeline "web"]
	name = {PIPELINE}
"""


def main(tap, sim, app):
    sim.config(cfn_wait_deployed=True, pipeline_step=0.05)
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="edge-demo-source")
    s3.put_bucket_versioning(Bucket="edge-demo-source", VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket="edge-demo-artifacts")
    iam = sim.client("iam")
    role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))
    role = role["Role"]["Arn"]
    sim.client("lambda").create_function(
        FunctionName="edge-demo-validator", Runtime="nodejs20.x", Role=role, Handler="index.handler",
        Code={"ZipFile": zip_of({"index.js": VALIDATOR})}, Timeout=10)
    cp = sim.client("codepipeline")
    cp.create_pipeline(pipeline=definition(role, sim.edges[0]["url"]))

    # Pipeline mode in edgeship.conf.
    conf = open(app.conf_path).read()
    conf = conf.replace('[stage "staging"]\n', '[stage "staging"]\n\tpipeline = web\n\tpipeline-stage = Staging\n')
    conf = conf.replace('[stage "production"]\n',
                        '[stage "production"]\n\tpipeline = web\n\tpipeline-stage = Production\n')
    open(app.conf_path, "w").write(conf + PIPELINE_CONF)
    app.git("commit", "-q", "-am", "pipeline mode")

    def publish():
        """Package HEAD, upload the source zip as CodePipeline's S3 source."""
        out = os.path.join(sim.tmp, "packaged.json")
        rc, _, err = app.run("package", "HEAD", "--json", "--output-template", out)
        if rc != 0:
            raise RuntimeError("package failed: " + err)
        head = app.head()
        subject = app.git("log", "-1", "--format=%s")
        return s3.put_object(Bucket="edge-demo-source", Key="release.zip",
                             Body=zip_of({"packaged.json": open(out).read()}),
                             Metadata={"codepipeline-artifact-revision-summary": f"{head} {subject}"})["VersionId"]

    def status():
        rc, st, err = app.json("pipeline", "status")
        if rc != 0 or not st:
            raise RuntimeError(f"pipeline status failed: rc={rc} {err}")
        return st

    def ex_status(ex_id):
        return cp.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=ex_id)["pipelineExecution"]["status"]

    def wait_ex(ex_id, want, timeout=90):
        return release.wait_until(lambda: ex_status(ex_id) in want, timeout, 0.2)

    def wait_approval(ex_id, timeout=90):
        def check():
            ap = status()["approval"]
            return ap if ap and ap["execution_id"] == ex_id else None
        return release.wait_until(check, timeout, 0.3)

    def edge_answers(host):
        path = f"/check-{uuid.uuid4().hex}"
        return [sim.edge_get(e, host, path) for e in sim.edges]

    def mutating_pipeline_calls():
        return [e for e in sim.log(service="codepipeline")
                if e["operation"] in ("StartPipelineExecution", "StopPipelineExecution",
                                      "RetryStageExecution", "PutApprovalResult")]

    # -- edgeship's own deploy and promote refuse the pipeline's stages
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    tap.ok(rc == 3 and "edgeship pipeline" in out + err and PIPELINE in out + err,
           "deploy refuses a stage deployed by the pipeline, pointing to edgeship pipeline", f"rc={rc} {out}{err}")
    rc, out, err = app.run("promote", "--yes", "--to", "production")
    tap.ok(rc == 3 and "edgeship pipeline" in out + err, "so does promote", f"rc={rc} {out}{err}")

    # -- the seed's flow: a new release through the pipeline
    release_head = app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';",
                                     "release r2: the new banner")
    version = publish()
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex1 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and ex1, "pipeline start --yes starts an execution", js or err)
    ap = wait_approval(ex1)
    tap.ok(ap, "the execution reaches the approval")
    st = status()
    stages = {s["name"]: s for s in st["stages"]}
    tap.ok(stages["Staging"]["status"] == "Succeeded" and stages["Staging"]["deploys"] == "staging"
           and stages["Production"]["status"] is None and stages["Production"]["deploys"] == "production",
           "status --json: staging deployed by its pipeline stage, production not yet", st["stages"])
    tap.ok(st["validator"] and st["validator"]["status"] == "Succeeded"
           and "HTTP 200" in (st["validator"]["summary"] or ""), "the validator passed, with its summary", st["validator"])
    tap.ok(ap and ap["token"] and ap["custom_data"] == "Check staging before production"
           and ap["url"] == "https://staging.edge.example.com/"
           and 7 * 86400 - 600 < ap["seconds_left"] <= 7 * 86400 and ap["stage"] == "Approval",
           "the approval waiting: token, custom data, URL, about 7 days left", ap)
    ex = st["executions"][0]
    tap.ok(ex["id"] == ex1 and ex["revision"]["id"] == version and ex["revision"]["commit"]
           and ex["revision"]["commit"]["id"] == release_head
           and ex["revision"]["commit"]["subject"] == "release r2: the new banner",
           "the source revision is matched to the commit in the history", ex["revision"])
    acts = {(a["stage"], a["name"]): a for a in ex["actions"]}
    tap.ok(acts[("Staging", "DeployStaging")]["status"] == "Succeeded" and acts[("Staging", "DeployStaging")]["started"]
           and acts[("Approval", "Promote")]["status"] == "InProgress"
           and acts[("Production", "ExecuteChangeSet")]["status"] is None,
           "each action with its status and times", ex["actions"])
    rc, out, err = app.run("pipeline", "status")
    tap.ok(rc == 0 and "approval waiting: Approval/Promote" in out and "Check staging before production" in out
           and release_head[:7] in out and "release r2: the new banner" in out and "validator Validate: Succeeded" in out,
           "pipeline status says the same for people", out + err)

    # -- the dashboard's pipeline view (P), read on a job
    rc, out, err = release.run_script(app, "pipeline-view", """:wait-idle
P
:wait-idle
:dump-screen {tmp}/pipeline-view.txt
<Esc>
q
""")
    scr = release.screen(app, "pipeline-view.txt")
    tap.ok(rc == 0 and f"Pipeline {PIPELINE}" in scr and "approval waiting: Approval/Promote" in scr
           and "Check staging before production" in scr and "validator Validate: Succeeded" in scr
           and f"{release_head[:7]} ◆ release r2: the new banner" in scr and "deploys staging" in scr,
           "the dashboard's pipeline view: stages, approval waiting, validator, the commit marked in the history",
           scr + err[-2000:])
    tap.ok(not release.BLOCKED, "reading the pipeline never waits on the screen's loop", release.BLOCKED)

    # -- no terminal, no --yes: nothing sent; --read-only refuses every change
    before = len(mutating_pipeline_calls())
    rc, out, err = app.run("pipeline", "approve", "--comment", "x")
    tap.ok(rc == 4 and "--yes" in out + err and "Approve Approval/Promote" in out + err,
           "approve without a terminal or --yes is cancelled (exit 4)", f"rc={rc} {out}{err}")
    for op in (["approve"], ["reject"], ["retry"], ["start"], ["stop"]):
        rc, out, err = app.run("--read-only", "pipeline", *op, "--yes")
        tap.ok(rc == 3 and "--read-only" in out + err, f"--read-only refuses pipeline {op[0]}", f"rc={rc} {out}{err}")
    rc, js, err = app.json("--read-only", "pipeline", "status")
    tap.ok(rc == 0 and js["approval"], "--read-only still shows status", err)
    tap.eq(len(mutating_pipeline_calls()), before, "nothing was sent to CodePipeline by any of them")

    # -- approve, the answer lost once: the approval is found made
    sim.fault("truncate", service="codepipeline", operation="PutApprovalResult")
    rc, js, err = app.json("pipeline", "approve", "--comment", "staging looks right", "--yes")
    tap.ok(rc == 0 and js and js["execution_id"] == ex1 and js["pipeline_stage"] == "Approval",
           "pipeline approve --yes, its answer cut once, still approves", js or err)
    sent = [e for e in mutating_pipeline_calls() if e["operation"] == "PutApprovalResult"]
    tap.ok(len(sent) == 2 and js["found_after_lost_answer"] == "yes",
           "the retried PutApprovalResult was refused, and the approval found made", [sent, js])
    tap.ok(wait_ex(ex1, ("Succeeded", "Failed")) and ex_status(ex1) == "Succeeded",
           "the execution runs to the end")
    dist_ok = release.wait_until(
        lambda: all(a[0] == 200 and EXPECT in a[2] and a[1].get("x-edgeship-release") == "r2"
                    for a in edge_answers("www.edge.example.com")), 30, 0.3)
    tap.ok(dist_ok, "production serves the new release at every edge",
           edge_answers("www.edge.example.com"))
    appr = next(a for a in status()["executions"][0]["actions"] if a["name"] == "Promote")
    tap.ok(appr["status"] == "Succeeded" and appr["summary"] == "staging looks right",
           "the approval keeps the comment", appr)

    # -- a release that breaks the expected text
    prod_before = sim.client("cloudformation").describe_stacks(StackName="edge-demo-production")["Stacks"][0]
    app.commit_change("src/index.js", f"const content = '{EXPECT}';", "const content = 'Lambda@Edge is broken';",
                      "release r3: a broken banner")
    app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r3';", "release r3")
    publish()
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex2 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and wait_ex(ex2, ("Failed", "Succeeded")) and ex_status(ex2) == "Failed",
           "the broken release: the execution fails", js or err)
    st = status()
    ex = st["executions"][0]
    tap.ok(ex["id"] == ex2 and "Validate" in (ex["summary"] or "") and "without" in (ex["summary"] or "")
           and st["validator"]["status"] == "Failed" and EXPECT in (st["validator"]["summary"] or ""),
           "status says why: the validator's failure", [ex["summary"], st["validator"]])
    tap.ok(st["approval"] is None and next(s for s in st["stages"] if s["name"] == "Production")["execution_id"] == ex1,
           "nothing reached the approval or production", st["stages"])
    prod_after = sim.client("cloudformation").describe_stacks(StackName="edge-demo-production")["Stacks"][0]
    tap.ok(prod_after.get("LastUpdatedTime") == prod_before.get("LastUpdatedTime")
           and all(a[1].get("x-edgeship-release") == "r2" and EXPECT in a[2] for a in edge_answers("www.edge.example.com")),
           "production still serves r2 everywhere")
    rc, out, err = app.run("pipeline", "status")
    tap.ok("why: Stage Staging failed" in out and "without" in out, "pipeline status prints why", out)

    # -- retry after a failure (fixed release, the validator made to fail once)
    app.commit_change("src/index.js", "const content = 'Lambda@Edge is broken';", f"const content = '{EXPECT}';",
                      "release r4: banner fixed")
    publish()
    sim.ctl("POST", "/pipeline/fail", {"action": "Validate", "count": 1})
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex3 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and wait_ex(ex3, ("Failed",)), "a validator failing once fails the execution", js or err)
    rc, js, err = app.json("pipeline", "retry", "--yes")
    tap.ok(rc == 0 and js["pipeline_stage"] == "Staging" and js["execution_id"] == ex3,
           "pipeline retry re-runs the failed stage of that execution", js or err)
    tap.ok(wait_approval(ex3), "after the retry it reaches the approval")
    rc, out, err = app.run("pipeline", "retry", "--yes")
    tap.ok(rc == 3 and "no failed stage" in out + err, "nothing failed: retry refuses (exit 3)", f"rc={rc} {out}{err}")

    # -- reject with a comment, from the dashboard's pipeline view; under
    # --read-only its keys are off
    before = len(mutating_pipeline_calls())
    rc, out, err = release.run_script(app, "pipeline-ro", """:wait-idle
P
:wait-idle
J
:wait-idle
:dump-screen {tmp}/pipeline-ro.txt
<Esc>
q
""", "--read-only")
    scr = release.screen(app, "pipeline-ro.txt")
    tap.ok(rc == 0 and "pipeline reject is off: edgeship was started with --read-only" in scr
           and len(mutating_pipeline_calls()) == before, "--read-only: J in the pipeline view is refused", scr)
    rc, out, err = release.run_script(app, "pipeline-reject", """:wait-idle
P
:wait-idle
J
:wait-dialog
not before the weekend<Enter>
:wait-dialog
:dump-screen {tmp}/pipeline-reject-ask.txt
y
:wait-idle
:dump-screen {tmp}/pipeline-reject.txt
<Esc>
q
""")
    ask = release.screen(app, "pipeline-reject-ask.txt")
    tap.ok("Reject Approval/Promote of pipeline " + PIPELINE in ask and "comment: not before the weekend" in ask,
           "J asks for a comment, then confirms what it will do", ask)
    tap.ok(rc == 0 and wait_ex(ex3, ("Failed",)), "the dashboard's reject fails the execution",
           release.screen(app, "pipeline-reject.txt") + err[-2000:])
    tap.ok("pipeline reject: done" in release.screen(app, "pipeline-reject.txt"),
           "and says so", release.screen(app, "pipeline-reject.txt"))
    appr = next(a for a in status()["executions"][0]["actions"] if a["name"] == "Promote")
    tap.ok(appr["status"] == "Failed" and appr["summary"] == "not before the weekend", "with the comment", appr)
    rc, out, err = app.run("pipeline", "approve", "--yes")
    tap.ok(rc == 3 and "no approval is waiting" in out + err, "no approval waiting: approve refuses (exit 3)",
           f"rc={rc} {out}{err}")

    # -- start and stop
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex4 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and wait_approval(ex4), "start again: it waits for approval", js or err)
    rc, js, err = app.json("pipeline", "stop", "--comment", "release freeze", "--yes")
    tap.ok(rc == 0 and js["execution_id"] == ex4 and wait_ex(ex4, ("Stopped",)),
           "pipeline stop stops the running execution", js or err)
    summ = next(e for e in status()["executions"] if e["id"] == ex4)
    tap.eq(summ["stop_reason"], "release freeze", "the stop reason is kept")
    rc, out, err = app.run("pipeline", "stop", "--yes")
    tap.ok(rc == 3 and "no execution" in out + err, "nothing running: stop refuses (exit 3)", f"rc={rc} {out}{err}")

    # -- faults: a throttled start is retried, one execution starts; a stop
    # whose answer is cut is found made; a start AWS keeps refusing fails,
    # recorded as failed
    n_before = len(cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"])
    sim.fault("throttle", service="codepipeline", operation="StartPipelineExecution")
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex5 = (js or {}).get("execution_id")
    n_after = len(cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"])
    tap.ok(rc == 0 and ex5 and n_after == n_before + 1, "a throttled start is retried: one execution", js or err)
    wait_approval(ex5)
    sim.fault("truncate", service="codepipeline", operation="StopPipelineExecution")
    rc, js, err = app.json("pipeline", "stop", "--abandon", "--yes")
    tap.ok(rc == 0 and js["execution_id"] == ex5 and js["found_after_lost_answer"] == "yes"
           and wait_ex(ex5, ("Stopped",)), "a stop whose answer was cut is found made", js or err)
    sim.fault("error500", service="codepipeline", operation="StartPipelineExecution", count=20)
    rc, out, err = app.run("pipeline", "start", "--yes")
    sim.ctl("DELETE", "/faults")
    tap.ok(rc == 1 and "InternalFailure" in out + err, "a start AWS keeps refusing fails (exit 1)", f"rc={rc} {out}{err}")
    tap.eq(len(cp.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"]), n_after,
           "and starts nothing")

    # -- approve from the dashboard: a comment, then the stage name typed
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex6 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and wait_approval(ex6), "one more release waits for approval", js or err)
    rc, out, err = release.run_script(app, "pipeline-approve", """:wait-idle
P
:wait-idle
A
:wait-dialog
ship it<Enter>
:wait-dialog
:dump-screen {tmp}/pipeline-approve-ask.txt
production<Enter>
:wait-idle
<Esc>
q
""")
    ask = release.screen(app, "pipeline-approve-ask.txt")
    tap.ok("Approve Approval/Promote" in ask and "releasing it into production" in ask and "production" in ask,
           "A in the pipeline view asks for the stage name it releases into", ask)
    tap.ok(rc == 0 and wait_ex(ex6, ("Succeeded", "Failed")) and ex_status(ex6) == "Succeeded",
           "approved from the keyboard, the release reaches production", err[-2000:])

    # -- the ledger
    recs = [r for r in app.records() if r.get("kind") == "pipeline"]
    outcomes = [r for r in recs if r.get("phase") == "outcome"]
    by_op = {}
    for r in outcomes:
        by_op.setdefault(r["op"], []).append(r)
    ap_rec = (by_op.get("approve") or [{}])[0]
    dash_rec = (by_op.get("approve") or [{}])[-1]
    tap.ok(dash_rec.get("comment") == "ship it" and dash_rec.get("execution_id") == ex6,
           "the dashboard's approval is recorded too", dash_rec)
    tap.ok(ap_rec.get("result") == "success" and ap_rec.get("comment") == "staging looks right"
           and ap_rec.get("execution_id") == ex1 and ap_rec.get("who", "").startswith("arn:aws:")
           and ap_rec.get("stage") == "production" and ap_rec.get("pipeline") == PIPELINE,
           "the ledger records the approval: what, who, execution, comment", ap_rec)
    tap.ok(sorted(by_op) == ["approve", "reject", "retry", "start", "stop"]
           and [r["result"] for r in outcomes].count("failed") == 1
           and any(r["result"] == "failed" and "InternalFailure" in r["message"] for r in by_op["start"])
           and len([r for r in recs if r.get("phase") == "intent"]) == len(outcomes),
           "every change has an intent and an outcome; the refused start is recorded failed",
           [(r["op"], r["result"]) for r in outcomes])
    rej = by_op["reject"][0]
    tap.ok(rej["comment"] == "not before the weekend" and rej["execution_id"] == ex3, "the rejection's record", rej)


if __name__ == "__main__":
    release.run(main)
