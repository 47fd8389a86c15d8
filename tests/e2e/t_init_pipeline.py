#!/usr/bin/env python3
"""edgeship init --pipeline: the CloudFormation template of the CodePipeline
for edgeship.conf's stages. It passes cfn-lint from an S3 source and from a
CodeStar connection, with 2 and 3 stages and both deploy modes; it carries
hostile edgeship.conf values exactly or refuses them with a clear message;
an existing file is kept unless --force; and deployed to the simulator, the
pipeline it makes (GetPipeline) has the expected stages and actions."""

import io
import json
import os
import shutil
import subprocess
import zipfile

import yaml

import release

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ES_SRCDIR", os.path.dirname(os.path.dirname(HERE)))
VALIDATOR_JS = open(os.path.join(SRC, "core", "pipegen", "validator.js")).read()
ARN = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
CODESTAR = ["--source", "codestar", "--connection-arn", ARN, "--repository", "acme/edge-site",
            "--branch", "release/v2"]

THREE_STAGES = """
[stage "dev"]
	stack = edge-demo-dev
	url = https://dev.example.com
[stage "staging"]
	stack = edge-demo-staging
	parameter = Stage=staging
	url = https://staging.example.com/
	promotes-from = dev
[stage "production"]
	stack = edge-demo-production
	parameter = Stage=production
	promotes-from = staging
[check "home"]
	path = /index.html
	body-contains = Lambda@Edge is awesome!
"""


def lint(tap, path, desc):
    p = subprocess.run(["cfn-lint", "--format", "parseable", path], capture_output=True, text=True,
                       timeout=300)
    return tap.ok(p.returncode == 0, f"cfn-lint: {desc}", p.stdout + p.stderr)


def load(path):
    text = open(path).read()
    return text, yaml.safe_load(text)


def stages(tpl):
    return tpl["Resources"]["Pipeline"]["Properties"]["Stages"]


def actions(stage):
    return [(a["Name"], a["ActionTypeId"]["Category"], a["ActionTypeId"]["Provider"], a["RunOrder"])
            for a in stage["Actions"]]


def sub(value, **params):
    """What Fn::Sub makes of a string with these parameters."""
    s = value["Fn::Sub"]
    for k, v in params.items():
        s = s.replace("${" + k + "}", v)
    return s.replace("${!", "${")


def write_conf(app, text):
    open(app.conf_path, "w").write(text)


def main(tap, sim, app):
    if not shutil.which("cfn-lint"):
        tap.ok(False, "cfn-lint is installed")
        return
    base_conf = open(app.conf_path).read()
    out = os.path.join(app.dir, "pipeline.yaml")

    # ---- the example app: 2 stages, S3 source, change sets
    rc, o, e = app.run("init", "--pipeline")
    tap.eq(rc, 0, "init --pipeline exits 0 on the example app")
    tap.ok(os.path.exists(out) and "pipeline.yaml" in o, "it writes pipeline.yaml at the root and says so",
           o + e)
    text, tpl = load(out)
    lint(tap, out, "S3 source, 2 stages, change sets")
    tap.ok(text.startswith("# ") and "aws cloudformation deploy" in text,
           "the file starts by saying how to deploy it")
    st = stages(tpl)
    tap.eq([s["Name"] for s in st], ["Source", "staging", "production"],
           "stages: Source, then the stages in release order")
    tap.eq(actions(st[0]), [("Source", "Source", "S3", 1)], "the source is an S3 action")
    tap.eq(st[0]["Actions"][0]["Configuration"]["PollForSourceChanges"], "false",
           "S3 source: no polling, an EventBridge rule starts it")
    tap.ok(tpl["Resources"]["SourceBucket"]["Properties"]["VersioningConfiguration"]["Status"] == "Enabled",
           "the source bucket is versioned")
    tap.eq(tpl["Resources"]["SourceTrigger"]["Type"], "AWS::Events::Rule", "a rule starts the pipeline")
    tap.eq(actions(st[1]), [("CreateChangeSet", "Deploy", "CloudFormation", 1),
                            ("ExecuteChangeSet", "Deploy", "CloudFormation", 2),
                            ("Validate", "Invoke", "Lambda", 3)],
           "staging: change set, execute, then the validator")
    tap.eq(actions(st[2]), [("Approve", "Approval", "Manual", 1),
                            ("CreateChangeSet", "Deploy", "CloudFormation", 2),
                            ("ExecuteChangeSet", "Deploy", "CloudFormation", 3)],
           "production: the manual approval first, then its deploy")
    cfg = st[1]["Actions"][0]["Configuration"]
    tap.eq((cfg["ActionMode"], cfg["StackName"], json.loads(cfg["ParameterOverrides"]), cfg["Capabilities"]),
           ("CHANGE_SET_REPLACE", "edge-demo-staging", {"Stage": "staging"},
            "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND"),
           "the staging deploy: its stack, Stage and its parameters, the app's capabilities")
    tap.eq(st[2]["Actions"][1]["Configuration"]["StackName"], "edge-demo-production",
           "the production deploy names its stack")
    up = json.loads(sub(st[1]["Actions"][2]["Configuration"]["UserParameters"],
                        StagingUrl="https://staging.example.com/"))
    tap.eq(up, {"url": "https://staging.example.com/", "text": "Lambda@Edge is awesome!", "status": 200,
                "timeoutMs": 5000}, "the validator gets the URL and the [check]'s text as JSON")
    ap = st[2]["Actions"][0]["Configuration"]
    tap.ok(ap["ExternalEntityLink"] == {"Ref": "StagingUrl"} and "StagingUrl" in ap["CustomData"]["Fn::Sub"],
           "the approval links to the staging URL and says what to look at", ap)
    fn = tpl["Resources"]["ValidatorFunction"]["Properties"]
    tap.eq(fn["Code"]["ZipFile"], VALIDATOR_JS, "the validator's inline code is core/pipegen/validator.js")
    tap.ok(fn["Runtime"].startswith("nodejs") and fn["Handler"] == "index.handler", "a Node.js handler", fn)
    roles = tpl["Resources"]
    vr = roles["ValidatorRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    tap.eq(sorted(a for s in vr for a in s["Action"]),
           ["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"],
           "the validator's role may only report its result")
    lp = roles["ValidatorLogPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    tap.eq(sorted(a for s in lp for a in s["Action"]), ["logs:CreateLogStream", "logs:PutLogEvents"],
           "…and write to its own log group")
    pr = roles["PipelineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    tap.ok(all(s.get("Resource") != "*" for s in pr), "the pipeline role names every resource", pr)
    stack_arns = [r["Fn::Sub"] for s in pr if s["Sid"] == "StageStacks" for r in s["Resource"]]
    tap.ok(len(stack_arns) == 2 and all("stack/edge-demo-" in a for a in stack_arns),
           "the pipeline role drives only the stage stacks", stack_arns)
    dr = roles["DeployRole"]["Properties"]
    tap.eq(dr["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
           "cloudformation.amazonaws.com", "the deploy role is CloudFormation's")
    sids = [s["Sid"] for s in dr["Policies"][0]["PolicyDocument"]["Statement"]]
    tap.ok({"Functions", "Roles", "Distributions", "PackagedCode"} <= set(sids),
           "it grants what the app's template holds: functions, roles, distributions, code", sids)

    # ---- never over an existing file
    before = open(out).read()
    open(out, "a").write("# edited by hand\n")
    edited = open(out).read()
    rc, o, e = app.run("init", "--pipeline")
    tap.eq(rc, 1, "a second init --pipeline exits 1")
    tap.ok("already exists" in e and "--force" in e, "…saying the file exists and what to do", e)
    tap.eq(open(out).read(), edited, "…and leaves the file as it was")
    tap.eq([f for f in os.listdir(app.dir) if ".tmp." in f], [], "…and no temporary file behind")
    rc, o, e = app.run("init", "--pipeline", "--force", "--json")
    tap.eq((rc, json.loads(o or "{}").get("path")), (0, out), "--force replaces it (and --json says where)")
    tap.eq(open(out).read(), before, "…with the template again")

    # ---- CodeStar source, 2 stages, CREATE_UPDATE
    cs = os.path.join(sim.tmp, "codestar.yaml")
    rc, o, e = app.run("init", "--pipeline", *CODESTAR, "--deploy-mode", "create-update", "--output", cs)
    tap.eq(rc, 0, "init --pipeline --source codestar exits 0", )
    _, tpl = load(cs)
    lint(tap, cs, "CodeStar source, 2 stages, CREATE_UPDATE")
    src = stages(tpl)[0]["Actions"][0]
    tap.eq((src["ActionTypeId"]["Provider"], src["Configuration"]["ConnectionArn"]),
           ("CodeStarSourceConnection", {"Ref": "ConnectionArn"}), "the source is the connection")
    p = tpl["Parameters"]
    tap.eq((p["ConnectionArn"]["Default"], p["FullRepositoryId"]["Default"], p["BranchName"]["Default"]),
           (ARN, "acme/edge-site", "release/v2"), "connection, repository and branch as given")
    tap.ok("SourceBucket" not in tpl["Resources"], "no source bucket for a connection")
    tap.eq(actions(stages(tpl)[1])[0], ("Deploy", "Deploy", "CloudFormation", 1), "one CREATE_UPDATE deploy")
    tap.eq(stages(tpl)[1]["Actions"][0]["Configuration"]["ActionMode"], "CREATE_UPDATE", "…in that mode")
    pr = tpl["Resources"]["PipelineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    tap.ok(any("codestar-connections:UseConnection" in s["Action"] and s["Resource"] == [{"Ref": "ConnectionArn"}]
               for s in pr), "the pipeline role may use that connection only", pr)

    # ---- 3 stages, both sources
    write_conf(app, base_conf.split('[stage "staging"]')[0] + THREE_STAGES)
    for label, extra in (("S3", []), ("CodeStar", CODESTAR)):
        path = os.path.join(sim.tmp, f"three-{label}.yaml")
        rc, o, e = app.run("init", "--pipeline", *extra, "--output", path)
        tap.eq(rc, 0, f"3 stages, {label}: exits 0")
        if rc:
            tap.diag(e)
            continue
        _, tpl = load(path)
        lint(tap, path, f"{label} source, 3 stages")
        st = stages(tpl)
        tap.eq([s["Name"] for s in st], ["Source", "dev", "staging", "production"],
               f"3 stages, {label}: in release order")
        tap.eq([[a[0] for a in actions(s)] for s in st[1:]],
               [["CreateChangeSet", "ExecuteChangeSet", "Validate"],
                ["CreateChangeSet", "ExecuteChangeSet", "Validate"],
                ["Approve", "CreateChangeSet", "ExecuteChangeSet"]],
               f"3 stages, {label}: validation after dev and staging, approval before production only")
        tap.eq(json.loads(st[1]["Actions"][0]["Configuration"]["ParameterOverrides"]), {"Stage": "dev"},
               "dev gets Stage=dev although edgeship.conf sets no parameter")
        tap.eq((tpl["Parameters"]["DevUrl"].get("Default"), tpl["Parameters"]["StagingUrl"].get("Default")),
               ("https://dev.example.com/index.html", "https://staging.example.com/index.html"),
               "each validated stage's URL is its url and the check's path")
        tap.eq(st[3]["Actions"][0]["Configuration"]["ExternalEntityLink"], {"Ref": "StagingUrl"},
               "the approval links to the stage before production")

    hostile(tap, sim, app, base_conf)
    deploy(tap, sim, app, base_conf)
    deploy_with_edgeship(tap, sim, app)


def hostile(tap, sim, app, base_conf):
    """edgeship.conf values that would break a hand-written YAML template."""
    path = os.path.join(sim.tmp, "hostile.yaml")
    nasty_value = 'a "quoted": value # not a comment\n- [x]: {y} ${AWS::Region} \' \\ end'
    # git-config syntax: inside quotes, '"' and '\\' are escaped and \\n is a newline.
    nasty = nasty_value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    conf = base_conf.replace("parameter = Stage=staging",
                             f'parameter = Stage=staging\n\tparameter = "Motto={nasty}"\n'
                             '\tparameter = "Empty="\n\tparameter = "Yes=yes"\n\tparameter = "Num=0012"\n'
                             '\turl = "https://staging.example.com/a:b#frag"')
    conf = conf.replace("body-contains = Lambda@Edge is awesome!",
                        f'body-contains = "{nasty}"')
    write_conf(app, conf)
    rc, o, e = app.run("init", "--pipeline", "--output", path)
    tap.eq(rc, 0, "hostile values: exits 0", )
    if rc:
        tap.diag(e)
        return
    _, tpl = load(path)
    lint(tap, path, "hostile parameter and check values")
    st = stages(tpl)
    po = json.loads(st[1]["Actions"][0]["Configuration"]["ParameterOverrides"])
    tap.eq(po, {"Stage": "staging", "Motto": nasty_value, "Empty": "", "Yes": "yes", "Num": "0012"},
           "parameters with quotes, colons, '#', newlines, '${', yes and 0012 arrive exactly")
    up = json.loads(sub(st[1]["Actions"][2]["Configuration"]["UserParameters"],
                        StagingUrl=tpl["Parameters"]["StagingUrl"]["Default"]))
    tap.eq((up["url"], up["text"]), ("https://staging.example.com/a:b#frag/", nasty_value),
           "the validator gets the URL with ':' and '#' (and the check's path), and the text "
           "exactly (Fn::Sub escaped)")

    refusals = [
        ("an app name with quotes, colons, '#' and a newline",
         base_conf.replace("name = edge-demo", 'name = "edge \\"demo\\": #1\\nx"'), [], 5, "--name"),
        ("a 300-character app name", base_conf.replace("name = edge-demo", "name = " + "e" * 300), [], 5,
         "--name"),
        ("parameters longer than CodePipeline takes",
         base_conf.replace("parameter = Stage=staging", "parameter = Stage=staging\n\tparameter = Big=" + "x" * 1200),
         [], 5, "ParameterOverrides"),
        ("a check text longer than the validator takes",
         base_conf.replace("body-contains = Lambda@Edge is awesome!", "body-contains = " + "y" * 900), [], 5,
         "body-contains"),
        ("a stage URL with a space and a quote",
         base_conf.replace("parameter = Stage=staging", 'parameter = Stage=staging\n\turl = "https://a b/\\""'),
         [], 5, "url"),
        ("--source ftp", base_conf, ["--source", "ftp"], 2, "s3 or codestar"),
        ("codestar without a connection", base_conf, ["--source", "codestar", "--repository", "a/b"], 2,
         "--connection-arn"),
        ("a connection ARN that is not one", base_conf,
         ["--source", "codestar", "--connection-arn", "arn:aws:s3:::bucket\n#x", "--repository", "a/b"], 2,
         "connection"),
        ("a repository with a quote", base_conf,
         ["--source", "codestar", "--connection-arn", ARN, "--repository", 'a/"b'], 2, "OWNER/NAME"),
        ("--branch without --source codestar", base_conf, ["--branch", "main"], 2, "codestar"),
        ("a pipeline name with a colon", base_conf, ["--name", "a:b"], 2, "pipeline name"),
        ("--output without a value", base_conf, ["--output"], 2, "needs a value"),
    ]
    for desc, conf, args, code, says in refusals:
        write_conf(app, conf)
        if os.path.exists(path):
            os.unlink(path)
        rc, o, e = app.run("init", "--pipeline", "--output", path, *args) if "--output" not in args else \
            app.run("init", "--pipeline", *args)
        tap.ok(rc == code and says in e and not os.path.exists(path),
               f"refused with exit {code}: {desc}", f"rc {rc}\n{e}")
    rc, o, e = app.run("init", "--force", "--output", path)
    tap.ok(rc == 2 and "unknown option '--force'" in e and not os.path.exists(path),
           "init without --pipeline still refuses the options of --pipeline", f"rc {rc}\n{e}")
    write_conf(app, base_conf.replace("name = edge-demo", 'name = "edge \\"demo\\": #1\\nx"'))
    rc, o, e = app.run("init", "--pipeline", "--name", "edge-demo-release", "--output", path)
    tap.eq(rc, 0, "that app name is fine with --name")
    if rc == 0:
        lint(tap, path, "a hostile app name with --name")
        tap.eq(load(path)[1]["Parameters"]["PipelineName"]["Default"], "edge-demo-release",
               "the pipeline takes the name given")
    write_conf(app, base_conf)


def deploy(tap, sim, app, base_conf):
    """The template deployed to the simulator with the aws CLI: the pipeline
    moto stores is the one the template declares."""
    path = os.path.join(sim.tmp, "deploy.yaml")
    rc, o, e = app.run("init", "--pipeline", "--output", path)
    tap.eq(rc, 0, "init --pipeline for the deploy")
    p = sim.aws("cloudformation", "deploy", "--template-file", path, "--stack-name", "edge-demo-pipeline",
                "--capabilities", "CAPABILITY_IAM", "--parameter-overrides",
                "StagingUrl=https://staging.example.com/")
    tap.eq(p.returncode, 0, "aws cloudformation deploy of the template succeeds on the simulator")
    if p.returncode:
        tap.diag(p.stdout + p.stderr)
        return
    outs = {o["OutputKey"]: o["OutputValue"] for o in sim.aws_json(
        "cloudformation", "describe-stacks", "--stack-name", "edge-demo-pipeline")["Stacks"][0]["Outputs"]}
    tap.eq(outs.get("PipelineName"), "edge-demo-pipeline", "the stack's output names the pipeline")
    cp = sim.client("codepipeline")
    pl = cp.get_pipeline(name="edge-demo-pipeline")["pipeline"]
    got = [(s["name"], [(a["name"], a["actionTypeId"]["category"], a["actionTypeId"]["provider"],
                         a.get("runOrder")) for a in s["actions"]]) for s in pl["stages"]]
    tap.eq(got, [("Source", [("Source", "Source", "S3", 1)]),
                 ("staging", [("CreateChangeSet", "Deploy", "CloudFormation", 1),
                              ("ExecuteChangeSet", "Deploy", "CloudFormation", 2),
                              ("Validate", "Invoke", "Lambda", 3)]),
                 ("production", [("Approve", "Approval", "Manual", 1),
                                 ("CreateChangeSet", "Deploy", "CloudFormation", 2),
                                 ("ExecuteChangeSet", "Deploy", "CloudFormation", 3)])],
           "GetPipeline: the stages and actions of the template")
    acts = {(s["name"], a["name"]): a for s in pl["stages"] for a in s["actions"]}
    src = acts[("Source", "Source")]["configuration"]
    tap.ok(src["S3Bucket"] == outs.get("SourceBucketName") and src["S3ObjectKey"] == "edge-demo/source.zip",
           "the source reads the stack's versioned bucket at the key", src)
    val = acts[("staging", "Validate")]["configuration"]
    tap.eq((val["FunctionName"], json.loads(val["UserParameters"])["url"]),
           (outs.get("ValidatorFunctionName"), "https://staging.example.com/"),
           "the validator action invokes the stack's function with the URL given")
    ap = acts[("production", "Approve")]["configuration"]
    tap.ok(ap["ExternalEntityLink"] == "https://staging.example.com/" and
           "https://staging.example.com/" in ap["CustomData"], "the approval carries the URL", ap)
    dep = acts[("staging", "CreateChangeSet")]["configuration"]
    tap.ok(dep["RoleArn"].endswith(":role/" + dep["RoleArn"].split(":role/")[-1]) and
           dep["TemplatePath"] == "SourceOutput::template.yaml" and dep["StackName"] == "edge-demo-staging",
           "the deploy action names its role, template and stack", dep)
    tap.ok(pl["roleArn"].split("/")[-1].startswith("edge-demo-pipeline-PipelineRole"),
           "the pipeline runs as the stack's pipeline role", pl["roleArn"])
    fn = sim.client("lambda").get_function(FunctionName=outs.get("ValidatorFunctionName"))
    tap.eq(fn["Configuration"]["Handler"], "index.handler", "the validator function is there")
    # The same inline code zipped as index.js (deflate is deterministic): moto
    # alone would have zipped it as index.py with a helper beside it.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.js", VALIDATOR_JS)
    tap.eq((fn["Configuration"]["Runtime"], fn["Configuration"]["CodeSize"]),
           (load(path)[1]["Resources"]["ValidatorFunction"]["Properties"]["Runtime"], len(buf.getvalue())),
           "its code is the inline validator, zipped as index.js as CloudFormation does")


SELF_CONF = """[app]
	name = edge-demo-release
	template = pipeline.yaml
	region = us-east-1
	bucket = edge-demo-artifacts
	prefix = release-pipeline
	capability = CAPABILITY_IAM
[stage "pipeline"]
	stack = edge-demo-release
	parameter = StagingUrl=https://staging.example.com/
"""


def deploy_with_edgeship(tap, sim, app):
    """The template as an app of its own: a repository holding it and an
    edgeship.conf with one stage, deployed by edgeship deploy."""
    d = os.path.join(sim.tmp, "release-pipeline")
    os.makedirs(d)
    rc, o, e = app.run("init", "--pipeline", "--name", "edge-demo-release", "--output",
                       os.path.join(d, "pipeline.yaml"))
    tap.eq(rc, 0, "init --pipeline into a repository of its own")
    open(os.path.join(d, "edgeship.conf"), "w").write(SELF_CONF)
    git = lambda *a: subprocess.run(["git", "-c", "user.name=Ann", "-c", "user.email=ann@example.com",  # noqa: E731
                                     "-c", "commit.gpgsign=false", *a], cwd=d, check=True, capture_output=True)
    git("init", "-q", "-b", "main", ".")
    git("add", ".")
    git("commit", "-q", "-m", "the release pipeline")
    try:
        sim.client("s3").create_bucket(Bucket="edge-demo-artifacts")
    except Exception:  # noqa: BLE001 - made by an earlier step
        pass
    p = subprocess.run([release.EDGESHIP, "deploy", "--stage", "pipeline", "--yes", "--json"], cwd=d,
                       env=app.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    tap.eq(p.returncode, 0, "edgeship deploy deploys the pipeline template as a stage")
    if p.returncode:
        tap.diag(p.stdout[-2000:] + p.stderr[-2000:])
        return
    pl = sim.client("codepipeline").get_pipeline(name="edge-demo-release")["pipeline"]
    tap.eq([s["name"] for s in pl["stages"]], ["Source", "staging", "production"],
           "…and the pipeline it makes has the app's stages")
    p = subprocess.run([release.EDGESHIP, "log", "--json"], cwd=d, env=app.env(), capture_output=True,
                       text=True, timeout=120)
    recs = json.loads(p.stdout or "[]")
    tap.ok(any((r.get("kind"), r.get("phase"), r.get("result")) == ("deploy", "outcome", "success") for r in recs),
           "…recorded in that app's ledger", p.stdout[-1500:] + p.stderr[-500:])


if __name__ == "__main__":
    release.run(main)
