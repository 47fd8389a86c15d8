#!/usr/bin/env python3
"""Lambda@Edge replicas as boto3 sees them: a function associated with a
distribution cannot be deleted (InvalidParameterValueException, "because it
is a replicated function"); deleting its stack ends DELETE_FAILED with that
reason, even after the association is gone, for replica_cleanup seconds;
RetainResources is refused outside DELETE_FAILED and for unknown resources,
and completes the delete with the function DELETE_SKIPPED; the replicas go
with the clock or through POST /replicas/release, then DeleteFunction
works."""

import io
import json
import zipfile

import simtest
from simtest import wait_until

BEHAVIOUR = {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all",
             "ForwardedValues": {"QueryString": False}}
TPL = {"Resources": {
    "Role": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
                "Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}}]}}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"S3Bucket": "rep-code", "S3Key": "c.zip"}, "Handler": "index.handler",
        "Runtime": "nodejs22.x", "Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
    "Ver": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
    "Dist": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
        "Enabled": True, "Comment": "replicas",
        "Origins": [{"Id": "o", "DomainName": "origin.example.com",
                     "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}}],
        "DefaultCacheBehavior": dict(BEHAVIOUR, LambdaFunctionAssociations=[
            {"EventType": "origin-request", "LambdaFunctionARN": {"Ref": "Ver"}}])}}}}}


def status(cf):
    return cf.describe_stacks(StackName="rep")["Stacks"][0]["StackStatus"]


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - botocore's ClientError
        return getattr(e, "response", {}).get("Error", {})
    return {}


def replica(sim, name):
    return next((f for f in sim.ctl("GET", "/replicas")["functions"] if f["function"] == name), {})


def main(tap, sim):
    sim.config(replica_cleanup=3600)
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="rep-code")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.js", "exports.handler = async (e) => e.Records[0].cf.request;")
    s3.put_object(Bucket="rep-code", Key="c.zip", Body=buf.getvalue())
    cf = sim.client("cloudformation")
    lam = sim.client("lambda", max_attempts=1)
    cf.create_stack(StackName="rep", TemplateBody=json.dumps(TPL), Capabilities=["CAPABILITY_IAM"])
    tap.ok(wait_until(lambda: status(cf) == "CREATE_COMPLETE", 30), "the stack is created")
    fn = cf.describe_stack_resource(StackName="rep", LogicalResourceId="Fn")[
        "StackResourceDetail"]["PhysicalResourceId"]

    err = error_of(lambda: lam.delete_function(FunctionName=fn))
    tap.ok(err.get("Code") == "InvalidParameterValueException"
           and f"function:{fn}:1 because it is a replicated function" in err.get("Message", ""),
           "an associated function cannot be deleted", err)
    tap.ok(replica(sim, fn).get("associated") is True, "GET /replicas lists it as associated",
           replica(sim, fn))

    err = error_of(lambda: cf.delete_stack(StackName="rep", RetainResources=["Fn"]))
    tap.ok(err.get("Code") == "ValidationError" and "DELETE_FAILED" in err.get("Message", ""),
           "RetainResources is refused outside DELETE_FAILED", err)

    cf.delete_stack(StackName="rep")
    tap.ok(wait_until(lambda: status(cf) == "DELETE_FAILED", 30),
           "deleting the stack ends DELETE_FAILED: the distribution went first, the replicas stay")
    events = cf.describe_stack_events(StackName="rep")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "DELETE_FAILED" and e["LogicalResourceId"] != "rep"]
    tap.ok(failed and failed[0]["LogicalResourceId"] == "Fn"
           and failed[0]["ResourceStatusReason"].startswith(
               'Resource handler returned message: "Lambda was unable to delete')
           and "because it is a replicated function" in failed[0]["ResourceStatusReason"]
           and "(Service: Lambda, Status Code: 400" in failed[0]["ResourceStatusReason"]
           and "HandlerErrorCode: InvalidRequest" in failed[0]["ResourceStatusReason"],
           "the function's event has the reason as CloudFormation words it", failed[:1])
    tap.ok(events[0]["LogicalResourceId"] == "rep" and events[0]["ResourceStatus"] == "DELETE_FAILED"
           and "[Fn]" in events[0]["ResourceStatusReason"],
           "the stack's own event names the resource", events[0])
    r = replica(sim, fn)
    tap.ok(r.get("associated") is False and r.get("replicated") is True and r.get("gone_in", 0) > 3000,
           "disassociated, still replicated for replica_cleanup seconds", r)

    err = error_of(lambda: cf.delete_stack(StackName="rep", RetainResources=["Nope"]))
    tap.ok(err.get("Code") == "ValidationError", "RetainResources of an unknown resource is refused", err)
    cf.delete_stack(StackName="rep", RetainResources=["Fn"])
    gone = wait_until(lambda: not [s for s in cf.list_stacks()["StackSummaries"]
                                   if s["StackName"] == "rep" and s["StackStatus"] != "DELETE_COMPLETE"], 30)
    tap.ok(gone, "DeleteStack with RetainResources completes the delete")
    events = cf.describe_stack_events(StackName=cf.list_stacks()["StackSummaries"][0]["StackId"])["StackEvents"]
    tap.ok(any(e["LogicalResourceId"] == "Fn" and e["ResourceStatus"] == "DELETE_SKIPPED" for e in events),
           "the retained function is DELETE_SKIPPED")
    tap.ok(lam.get_function(FunctionName=fn)["Configuration"]["FunctionName"] == fn,
           "the retained function still exists")

    # The clock: with replica_cleanup 0 the replicas are gone, with an hour back.
    sim.config(replica_cleanup=0)
    tap.ok(replica(sim, fn).get("replicated") is False, "replicas go replica_cleanup seconds after")
    sim.config(replica_cleanup=3600)
    err = error_of(lambda: lam.delete_function(FunctionName=fn))
    tap.eq(err.get("Code"), "InvalidParameterValueException", "until then DeleteFunction is refused")

    rel = sim.ctl("POST", "/replicas/release", {"function": fn})
    tap.ok(rel["released"] == [fn] and replica(sim, fn).get("replicated") is False,
           "POST /replicas/release removes them now", rel)
    lam.delete_function(FunctionName=fn)
    err = error_of(lambda: lam.get_function(FunctionName=fn))
    tap.eq(err.get("Code"), "ResourceNotFoundException", "then DeleteFunction deletes it")


if __name__ == "__main__":
    simtest.run(main)
