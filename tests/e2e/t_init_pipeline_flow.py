#!/usr/bin/env python3
"""The pipeline `edgeship init --pipeline` writes, run for real on the
simulator: the template deployed with the aws CLI, the packaged source
uploaded to its source bucket, `edgeship pipeline start` → staging deployed →
the generated validator (core/pipegen/validator.js, fetching the staging
URL through the simulator's edges) passes → `pipeline status --json` shows
the approval waiting → `pipeline approve` → production deployed and serving
the release at every edge. Then a release that breaks the expected text:
first the edges still hold r2's page, and the validator refuses that cached
answer; then, with the stage's probe-bypass, it asks past the cache and
fails the broken text. Each time the execution stops, production unchanged.

The simulator has no EventBridge: the template's SourceTrigger rule does
not start the pipeline on an upload, so `edgeship pipeline start` does."""

import json
import os
import uuid

import release
from simtest import zip_of

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ES_SRCDIR", os.path.dirname(os.path.dirname(HERE)))
VALIDATOR_JS = open(os.path.join(SRC, "core", "pipegen", "validator.js")).read()
PIPELINE = "edge-demo-pipeline"
STAGING_URL = "https://staging.edge.example.com/"
EXPECT = "Lambda@Edge is awesome!"


def main(tap, sim, app):
    sim.config(cfn_wait_deployed=True, pipeline_step=0.05)
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="edge-demo-artifacts")  # the template's CodeBucket

    # The staging URL the validator fetches, and pipeline mode for edgeship.
    conf = open(app.conf_path).read()
    conf = conf.replace('[stage "staging"]\n', f'[stage "staging"]\n\turl = {STAGING_URL}\n'
                        '\tpipeline = web\n\tpipeline-stage = staging\n')
    conf = conf.replace('[stage "production"]\n',
                        '[stage "production"]\n\tpipeline = web\n\tpipeline-stage = production\n')
    open(app.conf_path, "w").write(conf + f'\n[pipeline "web"]\n\tname = {PIPELINE}\n')
    app.git("commit", "-q", "-am", "pipeline mode")

    path = os.path.join(sim.tmp, "pipeline.yaml")
    rc, out, err = app.run("init", "--pipeline", "--output", path)
    tap.ok(rc == 0, "init --pipeline writes the template", err)
    tap.ok("without probe-bypass (staging)" in err,
           "…and notes that staging's validator has no way past the cache", err)
    p = sim.aws("cloudformation", "deploy", "--template-file", path, "--stack-name", PIPELINE,
                "--capabilities", "CAPABILITY_IAM")
    tap.ok(p.returncode == 0, "aws cloudformation deploy of it succeeds", p.stdout + p.stderr)
    if rc or p.returncode:
        return
    outs = {o["OutputKey"]: o["OutputValue"] for o in sim.aws_json(
        "cloudformation", "describe-stacks", "--stack-name", PIPELINE)["Stacks"][0]["Outputs"]}
    bucket = outs["SourceBucketName"]
    cp = sim.client("codepipeline")
    fn = sim.client("lambda").get_function(FunctionName=outs["ValidatorFunctionName"])
    tap.eq(fn["Configuration"]["CodeSize"], len(zip_of({"index.js": VALIDATOR_JS}, deflate=True)),
           "the pipeline's validator is the generated one (validator.js inline)")

    def publish():
        """Package HEAD and upload the source zip the template reads:
        TemplatePath (template.yaml) at SourceObjectKey."""
        packaged = os.path.join(sim.tmp, "packaged.yaml")
        rc, _, err = app.run("package", "HEAD", "--json", "--output-template", packaged)
        if rc != 0:
            raise RuntimeError("package failed: " + err)
        subject = app.git("log", "-1", "--format=%s")
        return s3.put_object(Bucket=bucket, Key="edge-demo/source.zip",
                             Body=zip_of({"template.yaml": open(packaged).read()}, deflate=True),
                             Metadata={"codepipeline-artifact-revision-summary": f"{app.head()} {subject}"}
                             )["VersionId"]

    def status():
        rc, st, err = app.json("pipeline", "status")
        if rc != 0 or not st:
            raise RuntimeError(f"pipeline status failed: rc={rc} {err}")
        return st

    def ex_status(ex_id):
        return cp.get_pipeline_execution(pipelineName=PIPELINE,
                                         pipelineExecutionId=ex_id)["pipelineExecution"]["status"]

    def wait_ex(ex_id, want, timeout=120):
        return release.wait_until(lambda: ex_status(ex_id) in want, timeout, 0.2)

    def wait_approval(ex_id, timeout=120):
        def check():
            ap = status()["approval"]
            if ap and ap["execution_id"] == ex_id:
                return ap
            if ex_status(ex_id) in ("Failed", "Stopped", "Succeeded"):
                return {"ended": ex_status(ex_id)}
            return None
        ap = release.wait_until(check, timeout, 0.3)
        return ap if ap and "ended" not in ap else None

    def edge_answers(host):
        path = f"/check-{uuid.uuid4().hex}"
        return [sim.edge_get(e, host, path) for e in sim.edges]

    # -- a release through the generated pipeline
    head = app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';",
                             "release r2: the new banner")
    version = publish()
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex1 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and ex1, "pipeline start --yes starts the generated pipeline", js or err)
    ap = wait_approval(ex1)
    st = status()
    tap.ok(ap, "the execution reaches the approval", st)
    stages = {s["name"]: s for s in st["stages"]}
    # The approval is production's first action: that stage is in progress.
    tap.ok(stages["staging"]["status"] == "Succeeded" and stages["staging"]["deploys"] == "staging"
           and stages["production"]["status"] == "InProgress" and stages["production"]["deploys"] == "production",
           "status --json: staging deployed by the pipeline, production waiting", st["stages"])
    acts = {(a["stage"], a["name"]): a["status"] for a in (st["executions"] or [{}])[0].get("actions", [])}
    tap.ok(acts.get(("production", "Approve")) == "InProgress" and acts.get(("production", "CreateChangeSet")) is None
           and not [s for s in sim.client("cloudformation").list_stacks()["StackSummaries"]
                    if s["StackName"] == "edge-demo-production"],
           "…on its approval: no production stack yet", acts)
    staging = sim.client("cloudformation").describe_stacks(StackName="edge-demo-staging")["Stacks"][0]
    tap.ok(staging["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), "the staging stack is deployed",
           staging["StackStatus"])
    tap.ok(st["validator"] and st["validator"]["status"] == "Succeeded"
           and st["validator"]["summary"] == f"{STAGING_URL} answered 200",
           "the generated validator fetched the staging URL through an edge and passed", st["validator"])
    staging_edge = [a for a in edge_answers("staging.edge.example.com")]
    tap.ok(all(a[0] == 200 and a[1].get("x-edgeship-release") == "r2" for a in staging_edge),
           "staging serves r2", staging_edge)
    tap.ok(ap and ap["url"] == STAGING_URL and ap["stage"] == "production",
           "the approval waiting links to the staging URL", ap)
    ex = st["executions"][0] if st["executions"] else {}
    tap.ok(ex.get("id") == ex1 and (ex.get("revision") or {}).get("id") == version
           and ((ex.get("revision") or {}).get("commit") or {}).get("id") == head,
           "the execution's source revision is the uploaded version, matched to the commit", ex.get("revision"))

    rc, js, err = app.json("pipeline", "approve", "--comment", "staging looks right", "--yes")
    tap.ok(rc == 0 and js and js.get("execution_id") == ex1, "pipeline approve --yes --comment approves", js or err)
    tap.ok(wait_ex(ex1, ("Succeeded", "Failed")) and ex_status(ex1) == "Succeeded", "the execution runs to the end",
           status()["executions"][:1])
    prod = sim.client("cloudformation").describe_stacks(StackName="edge-demo-production")["Stacks"][0]
    tap.ok(prod["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), "the production stack is deployed",
           prod["StackStatus"])
    served = release.wait_until(
        lambda: all(a[0] == 200 and EXPECT in a[2] and a[1].get("x-edgeship-release") == "r2"
                    for a in edge_answers("www.edge.example.com")), 30, 0.3)
    tap.ok(served, "production serves r2 at every edge", edge_answers("www.edge.example.com"))

    # -- a release that breaks the expected text
    prod_before = sim.client("cloudformation").describe_stacks(StackName="edge-demo-production")["Stacks"][0]
    app.commit_change("src/index.js", f"const content = '{EXPECT}';", "const content = 'Lambda@Edge is broken';",
                      "release r3: a broken banner")
    app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r3';", "release r3")
    publish()
    # The validator asks the same URL each time, and the edges' copy of r2
    # is still fresh (max-age=300): that answer comes from the cache, proves
    # nothing about r3, and fails the check rather than passing r3 on it.
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex2 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and wait_ex(ex2, ("Failed", "Succeeded")) and ex_status(ex2) == "Failed",
           "the broken release with the cached copy of r2 at the edges: the execution fails", js or err)
    st = status()
    tap.ok(st["validator"] and st["validator"]["status"] == "Failed"
           and "answered from CloudFront's cache (X-Cache: Hit from cloudfront)" in st["validator"]["summary"]
           and "probe-bypass" in st["validator"]["summary"],
           "the generated validator refuses the cached answer and says what to do", st["validator"])

    # With a probe-bypass (its query part of the cache key) the validator
    # asks past the cache, as edgeship's own probe does, and sees r3.
    app.commit_change("template.yaml", "QueryString: false", "QueryString: true",
                      "query strings are part of the cache key")
    conf = open(app.conf_path).read()
    open(app.conf_path, "w").write(conf.replace('[stage "staging"]\n', '[stage "staging"]\n\tprobe-bypass = ?fresh\n', 1))
    app.git("commit", "-q", "-am", "staging's validator asks past the cache")
    rc, out, err = app.run("init", "--pipeline", "--output", path, "--force")
    p = sim.aws("cloudformation", "deploy", "--template-file", path, "--stack-name", PIPELINE,
                "--capabilities", "CAPABILITY_IAM")
    tap.ok(rc == 0 and p.returncode == 0 and "probe-bypass" not in err,
           "the pipeline written again with the probe-bypass is deployed", err + p.stdout + p.stderr)
    publish()
    rc, js, err = app.json("pipeline", "start", "--yes")
    ex3 = (js or {}).get("execution_id")
    tap.ok(rc == 0 and wait_ex(ex3, ("Failed", "Succeeded")) and ex_status(ex3) == "Failed",
           "the broken release asked past the cache: the execution fails", js or err)
    st = status()
    summary = (st["validator"] or {}).get("summary") or ""
    tap.ok(st["validator"] and st["validator"]["status"] == "Failed"
           and summary.startswith(f"{STAGING_URL}?fresh&edgeship-probe=")
           and f"answered 200 without the text \"{EXPECT}\"" in summary,
           "the generated validator asked past the cache and says why", st["validator"])
    stages = {s["name"]: s for s in st["stages"]}
    tap.ok(st["approval"] is None and stages["production"]["execution_id"] == ex1,
           "nothing reached the approval or production", st["stages"])
    prod_after = sim.client("cloudformation").describe_stacks(StackName="edge-demo-production")["Stacks"][0]
    answers = edge_answers("www.edge.example.com")
    tap.ok(prod_after.get("LastUpdatedTime") == prod_before.get("LastUpdatedTime")
           and all(a[1].get("x-edgeship-release") == "r2" and EXPECT in a[2] for a in answers),
           "production unchanged: r2 at every edge", answers)
    rc, out, err = app.run("pipeline", "status")
    tap.ok("without the text" in out, "pipeline status prints why", out + err)

if __name__ == "__main__":
    release.run(main)
