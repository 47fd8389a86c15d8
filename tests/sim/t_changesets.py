#!/usr/bin/env python3
"""Change sets carry Replacement as CloudFormation computes it (boto3 and
the aws CLI see it): True for a property that requires replacement changed
to a known value (a Lambda FunctionName, an IAM RoleName), Conditional for
one whose value refers to a resource the change set modifies (an alias's or
version's FunctionName: !Ref of that function), False for in-place changes
(a distribution's DistributionConfig, a function's Timeout); Add and Remove
have none."""

import io
import json
import os
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

TEMPLATE = """
Parameters:
  FnName: {Type: String, Default: edge-fn-a}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: edge-role-a
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: sts:AssumeRole
            Principal: {Service: [lambda.amazonaws.com, edgelambda.amazonaws.com]}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Ref FnName
      Code: {S3Bucket: code-bucket, S3Key: fn.zip}
      Role: !GetAtt Role.Arn
      Runtime: nodejs22.x
      Handler: index.handler
      Timeout: 5
  Version:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName: !Ref Fn
  Alias:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref Fn
      FunctionVersion: !GetAtt Version.Version
      Name: live
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Comment: first
        Origins: [{Id: o, DomainName: origin.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior:
          TargetOriginId: o
          ViewerProtocolPolicy: allow-all
          ForwardedValues: {QueryString: false}
          LambdaFunctionAssociations:
            - {EventType: origin-request, LambdaFunctionARN: !Ref Version}
"""


def changes_of(cfn, stack, name, body, params=None):
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType="UPDATE", TemplateBody=body,
                          Parameters=params or [], Capabilities=["CAPABILITY_NAMED_IAM"])
    simtest.wait_until(lambda: cfn.describe_change_set(StackName=stack, ChangeSetName=name)["Status"]
                       in ("CREATE_COMPLETE", "FAILED"), timeout=15, interval=0.05)
    cs = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
    return {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in cs["Changes"]}


def main(tap, sim):
    sim.config(stack_step=0, propagation_min=0.1, propagation_max=0.2)
    s3 = sim.client("s3")
    cfn = sim.client("cloudformation")
    s3.create_bucket(Bucket="code-bucket")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(os.path.join(simtest.EXAMPLE, "src", "index.js"), "index.js")
    s3.put_object(Bucket="code-bucket", Key="fn.zip", Body=buf.getvalue())
    # Created as edgeship creates stacks: a CREATE change set, executed.
    cfn.create_change_set(StackName="cs", ChangeSetName="create", ChangeSetType="CREATE",
                          TemplateBody=TEMPLATE, Capabilities=["CAPABILITY_NAMED_IAM"])
    simtest.wait_until(lambda: cfn.describe_change_set(StackName="cs", ChangeSetName="create")["Status"]
                       == "CREATE_COMPLETE", timeout=15, interval=0.05)
    cfn.execute_change_set(StackName="cs", ChangeSetName="create")
    status = simtest.wait_until(
        lambda: (lambda s: s if not s.endswith("_IN_PROGRESS") else None)(
            cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"]), timeout=15, interval=0.05)
    tap.eq(status, "CREATE_COMPLETE", "the stack is created")

    # In place only: a comment of the distribution and the function's timeout.
    ch = changes_of(cfn, "cs", "in-place",
                    TEMPLATE.replace("Comment: first", "Comment: second").replace("Timeout: 5", "Timeout: 6"))
    tap.ok(set(ch) == {"Dist", "Fn"}, "in place: the distribution and the function change", sorted(ch))
    tap.ok(ch.get("Dist", {}).get("Replacement") == "False" and ch.get("Fn", {}).get("Replacement") == "False",
           "DistributionConfig and Timeout update without replacement (False)", ch)
    detail = (ch.get("Fn", {}).get("Details") or [{}])[0]
    tap.ok(detail.get("Target", {}).get("Name") == "Timeout"
           and detail.get("Target", {}).get("RequiresRecreation") == "Never"
           and detail.get("Evaluation") == "Static" and ch["Fn"].get("Scope") == ["Properties"],
           "the change names the property, Static, RequiresRecreation Never", ch.get("Fn"))

    # A new function name: the function is replaced; what refers to it by
    # name (the version, the alias) may be replaced too.
    ch = changes_of(cfn, "cs", "rename", TEMPLATE,
                    [{"ParameterKey": "FnName", "ParameterValue": "edge-fn-b"}])
    tap.eq(ch.get("Fn", {}).get("Replacement"), "True",
           "a changed FunctionName (through a parameter) replaces the function: True")
    tap.ok(ch.get("Alias", {}).get("Replacement") == "Conditional"
           and ch.get("Version", {}).get("Replacement") == "Conditional",
           "the alias and the version, whose FunctionName is !Ref of the function, are Conditional", ch)
    alias = next((d for d in ch.get("Alias", {}).get("Details") or []
                  if d["Target"]["Name"] == "FunctionName"), {})
    tap.ok(alias.get("Evaluation") == "Dynamic" and alias.get("ChangeSource") == "ResourceReference"
           and alias["Target"]["RequiresRecreation"] == "Always",
           "the alias's FunctionName change is Dynamic, from a resource reference", alias)
    tap.ok("Dist" not in ch and "Role" not in ch, "resources that do not depend on the name are untouched", sorted(ch))

    # A literal replacing property: the role's name.
    ch = changes_of(cfn, "cs", "role", TEMPLATE.replace("RoleName: edge-role-a", "RoleName: edge-role-b"))
    tap.eq(ch.get("Role", {}).get("Replacement"), "True", "a changed RoleName replaces the role: True")
    tap.ok(ch.get("Fn", {}).get("Replacement") in (None, "False"),
           "the function's Role (GetAtt of the role) is not a replacing property", ch.get("Fn"))

    # Add and Remove carry no Replacement.
    added = TEMPLATE.replace("  Dist:\n", "  Extra:\n    Type: AWS::S3::Bucket\n  Dist:\n")
    ch = changes_of(cfn, "cs", "add", added)
    tap.ok(ch.get("Extra", {}).get("Action") == "Add" and "Replacement" not in ch.get("Extra", {}),
           "an added resource has no Replacement", ch.get("Extra"))

    # The aws CLI reads the same.
    env = sim.env()
    p = subprocess.run(["aws", "cloudformation", "describe-change-set", "--stack-name", "cs",
                        "--change-set-name", "rename", "--output", "json"],
                       capture_output=True, text=True, env=env, timeout=60)
    try:
        cli = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Replacement"]
               for c in json.loads(p.stdout)["Changes"] if c["ResourceChange"].get("Replacement")}
    except (ValueError, KeyError):
        cli = {}
    tap.ok(cli.get("Fn") == "True" and cli.get("Alias") == "Conditional",
           "the aws CLI sees Replacement True and Conditional", p.stdout[-1500:] + p.stderr[-500:])


if __name__ == "__main__":
    simtest.run(main)
