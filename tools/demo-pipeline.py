#!/usr/bin/env python3
"""For `sh tools/demo --pipeline`: put the demo app in pipeline mode, create
the seed's CodePipeline in the simulator (S3 source, CloudFormation deploy
of staging, a validator Lambda, a manual approval, a change-set deploy of
production), package the newest commit as its source and start it; return
once the release waits for approval.
usage: demo-pipeline.py SIMULATOR_INFO_JSON APP_DIR EDGESHIP"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "sim"))
from simtest import pipeline_action, zip_of  # noqa: E402

PIPELINE = "edge-demo-release"
EXPECT = "Lambda@Edge is awesome!"

# A small validator: asks a staging edge for a fresh path and reports
# through PutJob*Result.
VALIDATOR = r"""
const http = require('http');
const { CodePipelineClient, PutJobSuccessResultCommand, PutJobFailureResultCommand } =
  require('@aws-sdk/client-codepipeline');
const cp = new CodePipelineClient({});
exports.handler = async (event) => {
  const job = event['CodePipeline.job'];
  const p = JSON.parse(job.data.actionConfiguration.configuration.UserParameters);
  const u = new URL(p.edge);
  const r = await new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: u.port, path: '/validate-' + Date.now(),
                               headers: { Host: p.host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  }).catch((e) => ({ status: 0, body: String(e) }));
  if (r.status === 200 && r.body.includes(p.expect))
    await cp.send(new PutJobSuccessResultCommand({ jobId: job.id,
      executionDetails: { summary: `HTTP 200 with "${p.expect}" at ${p.host}` } }));
  else
    await cp.send(new PutJobFailureResultCommand({ jobId: job.id, failureDetails: {
      type: 'JobFailed', message: `${p.host} answered ${r.status} without "${p.expect}"` } }));
};
"""


def main():
    info, app, edgeship = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    kw = dict(endpoint_url=info["endpoint"], region_name="us-east-1",
              aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
              aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    s3, iam, lam, cp = (boto3.client(s, **kw) for s in ("s3", "iam", "lambda", "codepipeline"))
    # As on AWS, a stack with a distribution completes once it is Deployed,
    # so the validator that follows finds every edge serving the release.
    urllib.request.urlopen(urllib.request.Request(
        info["control"] + "/config", data=json.dumps({"cfn_wait_deployed": True}).encode(),
        method="POST"), timeout=30).read()

    conf = os.path.join(app, "edgeship.conf")
    text = open(conf).read()
    for stage, pstage in (("staging", "Staging"), ("production", "Production")):
        text = text.replace(f'[stage "{stage}"]\n',
                            f'[stage "{stage}"]\n\tpipeline = web\n\tpipeline-stage = {pstage}\n')
    open(conf, "w").write(text + f'\n[pipeline "web"]\n\tname = {PIPELINE}\n')
    subprocess.run(["git", "commit", "-q", "-am", "Pipeline mode: CodePipeline deploys the stages"],
                   cwd=app, check=True)

    s3.create_bucket(Bucket="edge-demo-source")
    s3.put_bucket_versioning(Bucket="edge-demo-source", VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket="edge-demo-artifacts")
    def role_for(name, service):
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": service}}]}))["Role"]["Arn"]

    role = role_for("edge-demo-pipeline", "codepipeline.amazonaws.com")
    fn_role = role_for("edge-demo-validator", "lambda.amazonaws.com")
    lam.create_function(FunctionName="edge-demo-validator", Runtime="nodejs20.x", Role=fn_role,
                        Handler="index.handler", Code={"ZipFile": zip_of({"index.js": VALIDATOR})}, Timeout=10)
    user = json.dumps({"edge": info["edges"][0]["url"], "host": "staging.edge.example.com", "expect": EXPECT})
    cp.create_pipeline(pipeline={
        "name": PIPELINE, "roleArn": role, "artifactStore": {"type": "S3", "location": "edge-demo-artifacts"},
        "stages": [
            {"name": "Source", "actions": [pipeline_action("Source", "Source", "S3", S3Bucket="edge-demo-source",
                                                  S3ObjectKey="release.zip", PollForSourceChanges="false")]},
            {"name": "Staging", "actions": [
                pipeline_action("DeployStaging", "Deploy", "CloudFormation", ActionMode="CREATE_UPDATE",
                       StackName="edge-demo-staging", TemplatePath="src::packaged.json",
                       ParameterOverrides='{"Stage": "staging"}'),
                pipeline_action("Validate", "Invoke", "Lambda", run_order=2, FunctionName="edge-demo-validator",
                       UserParameters=user)]},
            {"name": "Approval", "actions": [pipeline_action("Promote", "Approval", "Manual",
                                                    CustomData="Check https://staging.edge.example.com/ first",
                                                    ExternalEntityLink="https://staging.edge.example.com/")]},
            {"name": "Production", "actions": [
                pipeline_action("CreateChangeSet", "Deploy", "CloudFormation", ActionMode="CHANGE_SET_REPLACE",
                       StackName="edge-demo-production", ChangeSetName="pipeline",
                       TemplatePath="src::packaged.json", ParameterOverrides='{"Stage": "production"}'),
                pipeline_action("ExecuteChangeSet", "Deploy", "CloudFormation", run_order=2,
                       ActionMode="CHANGE_SET_EXECUTE", StackName="edge-demo-production",
                       ChangeSetName="pipeline")]},
        ]})

    out = os.path.join(app, "..", "packaged.json")
    subprocess.run([edgeship, "package", "HEAD", "--json", "--output-template", out], cwd=app, check=True,
                   stdout=subprocess.DEVNULL)
    head = subprocess.run(["git", "log", "-1", "--format=%H %s"], cwd=app, check=True, capture_output=True,
                          text=True).stdout.strip()
    s3.put_object(Bucket="edge-demo-source", Key="release.zip", Body=zip_of({"packaged.json": open(out).read()}),
                  Metadata={"codepipeline-artifact-revision-summary": head})
    subprocess.run([edgeship, "pipeline", "start", "--yes"], cwd=app, check=True, stdout=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline:
        st = cp.get_pipeline_state(name=PIPELINE)
        for s in st["stageStates"]:
            for a in s.get("actionStates") or []:
                le = a.get("latestExecution") or {}
                if s["stageName"] == "Approval" and le.get("token"):
                    return 0
                if le.get("status") == "Failed":
                    sys.stderr.write(f"demo pipeline: {s['stageName']} {a['actionName']} failed: "
                                     f"{le.get('errorDetails')}\n")
                    return 1
        time.sleep(1)
    sys.stderr.write("demo pipeline: no approval after 10 minutes\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
