#!/usr/bin/env python3
"""AWS::CodePipeline::Pipeline and Node.js inline code in CloudFormation
(edgesimlib/pipeline_cfn.py), through the aws CLI: a stack makes a pipeline
GetPipeline shows as declared (camelCase, configuration values as strings),
an update changes it in place, a new name replaces it, deleting the stack
deletes it; a nodejs function's ZipFile is kept as index.js, a python one's
as moto keeps it."""

import io
import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

JS = "exports.handler = async () => 'ok';\n"


def template(name="demo-pipeline", extra_stage=False):
    stages = [
        {"Name": "Source", "Actions": [{
            "Name": "Source", "RunOrder": 1,
            "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
            "Configuration": {"S3Bucket": {"Ref": "Src"}, "S3ObjectKey": "src.zip", "PollForSourceChanges": False},
            "OutputArtifacts": [{"Name": "SourceOutput"}]}]},
        {"Name": "Approve", "Actions": [{
            "Name": "Approve", "RunOrder": 1,
            "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"},
            "Configuration": {"CustomData": "look first"}}]},
    ]
    if extra_stage:
        stages.append({"Name": "Check", "Actions": [{
            "Name": "Validate", "RunOrder": "2",
            "ActionTypeId": {"Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1"},
            "Configuration": {"FunctionName": {"Ref": "Fn"}, "UserParameters": "{\"a\": 1}"}}]})
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    fn_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]}
    # (moto's GetTemplateSummary, which the CLI calls on an update, needs
    # AWSTemplateFormatVersion.)
    return json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Src": {"Type": "AWS::S3::Bucket"},
            "Store": {"Type": "AWS::S3::Bucket"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
            "FnRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": fn_trust}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "nodejs22.x", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
                "Code": {"ZipFile": JS}}},
            "PyFn": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
                "Code": {"ZipFile": "def handler(e, c):\n    return 1\n"}}},
            "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
                "Name": name, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "PipelineType": "V2",
                "ArtifactStore": {"Type": "S3", "Location": {"Ref": "Store"}},
                "RestartExecutionOnUpdate": False, "Stages": stages}},
        },
        "Outputs": {"Name": {"Value": {"Ref": "Pipeline"}},
                    "Version": {"Value": {"Fn::GetAtt": ["Pipeline", "Version"]}},
                    "Fn": {"Value": {"Ref": "Fn"}}, "PyFn": {"Value": {"Ref": "PyFn"}}},
    })


def deploy(sim, body):
    path = os.path.join(sim.tmp, "t.json")
    open(path, "w").write(body)
    p = sim.aws("cloudformation", "deploy", "--template-file", path, "--stack-name", "pl",
                "--capabilities", "CAPABILITY_IAM")
    return p


def outputs(sim):
    st = sim.aws_json("cloudformation", "describe-stacks", "--stack-name", "pl")["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}


def zip_of(name, text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, text)
    return len(buf.getvalue())


def main(tap, sim):
    cp = sim.client("codepipeline")
    p = deploy(sim, template())
    tap.eq(p.returncode, 0, "a stack with a pipeline deploys")
    if p.returncode:
        tap.diag(p.stderr)
        return
    out = outputs(sim)
    tap.eq((out.get("Name"), out.get("Version")), ("demo-pipeline", "1"), "Ref is the name, GetAtt Version 1")
    pl = cp.get_pipeline(name="demo-pipeline")["pipeline"]
    src = pl["stages"][0]["actions"][0]
    tap.eq([s["name"] for s in pl["stages"]], ["Source", "Approve"], "GetPipeline: the declared stages")
    tap.ok(src["configuration"]["PollForSourceChanges"] == "false" and src["runOrder"] == 1 and
           src["outputArtifacts"] == [{"name": "SourceOutput"}] and src["configuration"]["S3Bucket"].startswith("pl-"),
           "actions in camelCase, configuration values as strings, references resolved", src)
    tap.eq(pl["roleArn"].split(":role/")[0], "arn:aws:iam::123456789012", "the role is the stack's")
    tap.ok("restartExecutionOnUpdate" not in pl, "CloudFormation-only properties are not declared")

    lam = sim.client("lambda")
    js = lam.get_function(FunctionName=out["Fn"])["Configuration"]
    tap.eq(js["CodeSize"], zip_of("index.js", JS), "Node.js inline code is zipped as index.js")
    py = lam.get_function(FunctionName=out["PyFn"])["Configuration"]
    tap.ok(py["CodeSize"] > zip_of("index.py", "def handler(e, c):\n    return 1\n"),
           "Python inline code is moto's (index.py and its helper)", py["CodeSize"])

    p = deploy(sim, template(extra_stage=True))
    tap.eq(p.returncode, 0, "an update adding a stage succeeds")
    pl = cp.get_pipeline(name="demo-pipeline")["pipeline"]
    check = pl["stages"][-1]["actions"][0]
    tap.eq(([s["name"] for s in pl["stages"]], check["runOrder"], check["configuration"]["FunctionName"]),
           (["Source", "Approve", "Check"], 2, out["Fn"]), "GetPipeline shows the update in place")
    tap.eq(outputs(sim).get("Version"), "2", "…as a new version")

    p = deploy(sim, template(name="renamed-pipeline", extra_stage=True))
    tap.eq(p.returncode, 0, "a new name deploys")
    names = sorted(x["name"] for x in cp.list_pipelines()["pipelines"])
    tap.eq(names, ["renamed-pipeline"], "a new name replaces the pipeline")

    sim.aws("cloudformation", "delete-stack", "--stack-name", "pl")
    w = sim.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", "pl")
    tap.eq(w.returncode, 0, "the stack is deleted")
    tap.eq(cp.list_pipelines()["pipelines"], [], "deleting the stack deletes the pipeline")


if __name__ == "__main__":
    simtest.run(main)
