#!/usr/bin/env python3
"""Stack operations over time through boto3: in-progress states, events in
order, a failing resource rolled back with its real reason, update
rollback, delete; CloudFront updates, ETags and association checks."""

import io
import os
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

try:
    from botocore.exceptions import ClientError
except ImportError:
    simtest.require_moto()
    raise

BAD = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: sts:AssumeRole
            Principal: {Service: [lambda.amazonaws.com, edgelambda.amazonaws.com]}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code: {S3Bucket: code-bucket, S3Key: fn.zip}
      Role: !GetAtt Role.Arn
      Runtime: nodejs22.x
      Handler: index.handler
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins: [{Id: o, DomainName: origin.example.com, CustomOriginConfig: {OriginProtocolPolicy: https-only}}]
        DefaultCacheBehavior:
          TargetOriginId: o
          ViewerProtocolPolicy: allow-all
          ForwardedValues: {QueryString: false}
          LambdaFunctionAssociations:
            - {EventType: origin-request, LambdaFunctionARN: !GetAtt Fn.Arn}
"""


def events(cfn, stack):
    evs = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack):
        evs.extend(page["StackEvents"])
    return list(reversed(evs))  # oldest first


def wait_status(cfn, stack, final, timeout=15):
    def check():
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        return s if s in final or not s.endswith("_IN_PROGRESS") else None

    return simtest.wait_until(check, timeout=timeout, interval=0.05)


def app_template(bucket, key):
    body = open(os.path.join(simtest.EXAMPLE, "template.yaml")).read()
    return body.replace("CodeUri: src/", f"CodeUri: s3://{bucket}/{key}")


def main(tap, sim):
    sim.config(stack_step=0.05, propagation_min=0.2, propagation_max=0.8, invalidation=0.5)
    s3 = sim.client("s3")
    cfn = sim.client("cloudformation")
    cf = sim.client("cloudfront")
    lam = sim.client("lambda")
    s3.create_bucket(Bucket="code-bucket")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(os.path.join(simtest.EXAMPLE, "src", "index.js"), "index.js")
    s3.put_object(Bucket="code-bucket", Key="fn.zip", Body=buf.getvalue())

    # ---- create, in time (held at its first step while it is looked at)
    sim.hold_stacks(True)
    try:
        cfn.create_stack(StackName="prod", TemplateBody=app_template("code-bucket", "fn.zip"),
                         Parameters=[{"ParameterKey": "Stage", "ParameterValue": "production"}],
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        first = cfn.describe_stacks(StackName="prod")["Stacks"][0]
    finally:
        sim.hold_stacks(False)
    tap.eq(first["StackStatus"], "CREATE_IN_PROGRESS", "CreateStack returns while the stack is CREATE_IN_PROGRESS")
    tap.ok(not first.get("Outputs"), "no outputs while in progress")
    try:
        cfn.update_stack(StackName="prod", TemplateBody=app_template("code-bucket", "fn.zip"),
                         Capabilities=["CAPABILITY_IAM"])
        busy = None
    except ClientError as e:
        busy = e.response["Error"]
    tap.ok(busy and busy["Code"] == "ValidationError" and "CREATE_IN_PROGRESS state and can not be updated" in busy["Message"],
           "UpdateStack on a busy stack is refused as AWS does", busy)
    final = wait_status(cfn, "prod", ("CREATE_COMPLETE", "ROLLBACK_COMPLETE"))
    tap.eq(final, "CREATE_COMPLETE", "the stack reaches CREATE_COMPLETE")
    evs = events(cfn, "prod")
    seq = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in evs]
    tap.eq(seq[0], ("prod", "CREATE_IN_PROGRESS"), "first event: the stack's CREATE_IN_PROGRESS")
    tap.eq(seq[-1], ("prod", "CREATE_COMPLETE"), "last event: the stack's CREATE_COMPLETE")

    def idx(lid_prefix, status):
        return next(i for i, (l, s) in enumerate(seq) if l.startswith(lid_prefix) and s == status)

    order_ok = (
        idx("LambdaEdgeFunctionRole", "CREATE_COMPLETE") < idx("LambdaEdgeFunctionSample", "CREATE_IN_PROGRESS")
        and idx("LambdaEdgeFunctionSampleVersion", "CREATE_COMPLETE") < idx("CFDistribution", "CREATE_IN_PROGRESS")
        and idx("LambdaEdgeFunctionSampleVersion", "CREATE_COMPLETE") < idx("LambdaEdgeFunctionSampleAliaslive", "CREATE_IN_PROGRESS")
    )
    tap.ok(order_ok, "resources are created in dependency order, each IN_PROGRESS before COMPLETE", seq)
    tap.ok(all(e["Timestamp"] <= evs[i + 1]["Timestamp"] for i, e in enumerate(evs[:-1])), "event timestamps ascend")
    st = cfn.describe_stacks(StackName="prod")["Stacks"][0]
    out = {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
    tap.ok(set(out) == {"DistributionId", "DistributionDomainName", "FunctionVersion"}, "outputs after completion", out)
    res = cfn.describe_stack_resources(StackName="prod")["StackResources"]
    tap.ok(len(res) == 5 and all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in res),
           "DescribeStackResources: five resources CREATE_COMPLETE", [(r["LogicalResourceId"], r["ResourceStatus"]) for r in res])
    fn_name = next(r["PhysicalResourceId"] for r in res if r["LogicalResourceId"] == "LambdaEdgeFunctionSample")
    alias = lam.get_alias(FunctionName=fn_name, Name="live")
    tap.eq(alias["FunctionVersion"], "1", "AWS::Lambda::Alias 'live' points at version 1")
    dist_id = out["DistributionId"]
    d = cf.get_distribution(Id=dist_id)["Distribution"]
    tap.eq(d["DistributionConfig"]["Aliases"]["Items"], ["www.edge.example.com"], "production CNAME from the mapping")

    # ---- CloudFront API: updates go InProgress again; ETag must match
    simtest.wait_until(lambda: cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed", 5)
    got = cf.get_distribution_config(Id=dist_id)
    cfg, etag = got["DistributionConfig"], got["ETag"]
    cfg["Comment"] = "changed by hand"
    try:
        cf.update_distribution(Id=dist_id, IfMatch="E0WRONG", DistributionConfig=cfg)
        err = None
    except ClientError as e:
        err = e.response
    tap.ok(err and err["Error"]["Code"] == "PreconditionFailed" and err["ResponseMetadata"]["HTTPStatusCode"] == 412,
           "UpdateDistribution with a stale If-Match: 412 PreconditionFailed", err and err["Error"])
    before = cf.get_distribution(Id=dist_id)["Distribution"]
    # Propagation is held until the test moves it on.
    prop = {k: sim.ctl("GET", "/config")[k] for k in ("propagation_min", "propagation_max")}
    sim.config(propagation_min=600.0, propagation_max=900.0)
    up = cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=cfg)
    tap.ok(up["Distribution"]["Status"] == "InProgress" and up["ETag"] != etag
           and up["Distribution"]["LastModifiedTime"] > before["LastModifiedTime"],
           "UpdateDistribution: InProgress, new ETag, later LastModifiedTime")
    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    sim.config(**prop)
    tap.ok(simtest.wait_until(lambda: cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed", 5),
           "and Deployed after the propagation delay")
    bad = dict(cfg)
    bad["DefaultCacheBehavior"] = dict(cfg["DefaultCacheBehavior"])
    bad["DefaultCacheBehavior"]["LambdaFunctionAssociations"] = {"Quantity": 1, "Items": [{
        "LambdaFunctionARN": f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}:$LATEST",
        "EventType": "origin-request"}]}
    try:
        cf.update_distribution(Id=dist_id, IfMatch=up["ETag"], DistributionConfig=bad)
        err = None
    except ClientError as e:
        err = e.response["Error"]
    tap.ok(err and err["Code"] == "InvalidLambdaFunctionAssociation" and "specific function version" in err["Message"],
           "an association with $LATEST is refused: InvalidLambdaFunctionAssociation", err)
    ref = "ref-1"
    # The invalidation stays InProgress until the test completes it: the
    # checks below never race the 0.8 s an invalidation takes at test speed.
    inv_time = sim.ctl("GET", "/config")["invalidation"]
    sim.config(invalidation=600.0)
    i1 = cf.create_invalidation(DistributionId=dist_id, InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/a"]}, "CallerReference": ref})
    i2 = cf.create_invalidation(DistributionId=dist_id, InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/a"]}, "CallerReference": ref})
    tap.ok(i1["Invalidation"]["Id"] == i2["Invalidation"]["Id"] and i1["Invalidation"]["Status"] == "InProgress",
           "CreateInvalidation is idempotent on CallerReference + paths")
    tap.eq(cf.get_distribution(Id=dist_id)["Distribution"]["InProgressInvalidationBatches"], 1,
           "InProgressInvalidationBatches counts it")
    sim.ctl("POST", "/invalidations/complete", {"id": dist_id})
    sim.config(invalidation=inv_time)
    tap.ok(simtest.wait_until(lambda: cf.get_invalidation(DistributionId=dist_id, Id=i1["Invalidation"]["Id"])
                              ["Invalidation"]["Status"] == "Completed", 5), "the invalidation becomes Completed")

    # ---- a failing resource: rollback with the real reason
    cfn.create_stack(StackName="broken", TemplateBody=BAD, Capabilities=["CAPABILITY_IAM"])
    final = wait_status(cfn, "broken", ("ROLLBACK_COMPLETE",))
    tap.eq(final, "ROLLBACK_COMPLETE", "a stack with an invalid distribution ends ROLLBACK_COMPLETE")
    evs = events(cfn, "broken")
    failed = [e for e in evs if e["ResourceStatus"] == "CREATE_FAILED"]
    tap.ok(len(failed) == 1 and failed[0]["LogicalResourceId"] == "Dist"
           and "must reference a specific function version" in failed[0].get("ResourceStatusReason", ""),
           "DescribeStackEvents: Dist CREATE_FAILED with CloudFront's reason", failed)
    rb = [e for e in evs if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"]
    tap.ok(rb and "The following resource(s) failed to create: [Dist]" in rb[0].get("ResourceStatusReason", ""),
           "ROLLBACK_IN_PROGRESS names the failed resource", rb)
    deleted = {e["LogicalResourceId"] for e in evs if e["ResourceStatus"] == "DELETE_COMPLETE"}
    tap.ok({"Role", "Fn"} <= deleted, "the resources already made are deleted in the rollback", deleted)
    fn_gone = False
    try:
        lam.list_functions()
        fn_gone = not any("broken-Fn" in f["FunctionName"] for f in lam.list_functions()["Functions"])
    except ClientError:
        pass
    tap.ok(fn_gone, "the rolled-back function no longer exists in Lambda")

    try:
        cfn.create_stack(StackName="odd", TemplateBody="Resources:\n  X:\n    Type: AWS::Nope::Thing\n")
        err = None
    except ClientError as e:
        err = e.response["Error"]
    tap.ok(err and "Unrecognized resource types: [AWS::Nope::Thing]" in err["Message"],
           "an unknown resource type is a template error at submit time", err)

    # ---- an update that fails rolls back to the old configuration
    good_version = out["FunctionVersion"]
    body = app_template("code-bucket", "fn.zip").replace("!Ref LambdaEdgeFunctionSample.Version",
                                                         "!GetAtt LambdaEdgeFunctionSample.Arn")
    # Held at its first step, the update is still in progress when asked,
    # however slowly the machine runs; then it is let go.
    sim.hold_stacks(True)
    try:
        cfn.update_stack(StackName="prod", TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                         Parameters=[{"ParameterKey": "Stage", "UsePreviousValue": True}])
        tap.eq(cfn.describe_stacks(StackName="prod")["Stacks"][0]["StackStatus"], "UPDATE_IN_PROGRESS",
               "UpdateStack returns while UPDATE_IN_PROGRESS")
    finally:
        sim.hold_stacks(False)
    final = wait_status(cfn, "prod", ("UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE"))
    tap.eq(final, "UPDATE_ROLLBACK_COMPLETE", "a failing update ends UPDATE_ROLLBACK_COMPLETE")
    evs = events(cfn, "prod")
    uf = [e for e in evs if e["ResourceStatus"] == "UPDATE_FAILED"]
    tap.ok(uf and uf[0]["LogicalResourceId"] == "CFDistribution"
           and "specific function version" in uf[0]["ResourceStatusReason"], "UPDATE_FAILED carries the reason", uf)
    arn = cf.get_distribution(Id=dist_id)["Distribution"]["DistributionConfig"]["DefaultCacheBehavior"][
        "LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"]
    tap.eq(arn, good_version, "the distribution still runs the old version")

    # ---- delete
    sim.hold_stacks(True)
    try:
        cfn.delete_stack(StackName="prod")
        st = cfn.describe_stacks(StackName="prod")["Stacks"][0]["StackStatus"]
    finally:
        sim.hold_stacks(False)
    tap.eq(st, "DELETE_IN_PROGRESS", "DeleteStack returns while DELETE_IN_PROGRESS")
    stack_id = cfn.describe_stacks(StackName="prod")["Stacks"][0]["StackId"]
    final = simtest.wait_until(lambda: cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE", 10)
    tap.ok(final, "the stack ends DELETE_COMPLETE")
    evs = events(cfn, stack_id)
    tap.ok(any(e["ResourceStatus"] == "DELETE_SKIPPED" and "Version" in e["LogicalResourceId"] for e in evs),
           "the retained Lambda version is skipped (DeletionPolicy: Retain)")
    tap.ok(dist_id not in [x["Id"] for x in (cf.list_distributions()["DistributionList"].get("Items") or [])],
           "the distribution is gone")

    # ---- a held stack operation stays in progress until it is let go
    held = sim.hold_stacks(True)
    tap.eq(held, {"held": True}, "POST /stacks/hold holds stack operations")
    cfn.create_stack(StackName="held", TemplateBody=app_template("code-bucket", "fn.zip"),
                     Parameters=[{"ParameterKey": "Stage", "ParameterValue": "staging"}],
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    time.sleep(1.0)  # twenty steps' worth: a free operation would have ended
    st = cfn.describe_stacks(StackName="held")["Stacks"][0]["StackStatus"]
    tap.ok(st == "CREATE_IN_PROGRESS" and sim.config()["stacks_held"],
           "while held, the stack stays CREATE_IN_PROGRESS", st)
    sim.hold_stacks(False)
    tap.eq(wait_status(cfn, "held", ("CREATE_COMPLETE",), timeout=30), "CREATE_COMPLETE",
           "let go, it goes on to CREATE_COMPLETE")


if __name__ == "__main__":
    simtest.run(main)
