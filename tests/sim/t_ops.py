#!/usr/bin/env python3
"""Drift detection and failed-rollback recovery as boto3 sees them: a
detection in progress then complete, a Lambda property changed through the
API as MODIFIED with expected and actual, resource drifts paginated,
UPDATE_ROLLBACK_FAILED on demand, ContinueUpdateRollback failing again
without the skip and completing with it."""

import io
import json
import zipfile

import simtest
from simtest import wait_until

TPL = {"Resources": {
    "Role": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"S3Bucket": "ops-code", "S3Key": "c.zip"}, "Handler": "index.handler",
        "Runtime": "nodejs22.x", "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "MemorySize": 128,
        "Timeout": 5}}}}


def status(cf):
    return cf.describe_stacks(StackName="ops")["Stacks"][0]["StackStatus"]


def detect(cf, sim=None):
    """Detect drift; with sim, the detection is held in progress (not
    raced against stack_step) until its first status was read."""
    if sim:
        sim.hold_stacks(True)
    det = cf.detect_stack_drift(StackName="ops")["StackDriftDetectionId"]
    first = cf.describe_stack_drift_detection_status(StackDriftDetectionId=det)
    if sim:
        sim.hold_stacks(False)
    wait_until(lambda: cf.describe_stack_drift_detection_status(
        StackDriftDetectionId=det)["DetectionStatus"] != "DETECTION_IN_PROGRESS", 10, 0.05)
    return first, cf.describe_stack_drift_detection_status(StackDriftDetectionId=det)


def main(tap, sim):
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="ops-code")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.js", "exports.handler = async () => 1;")
    s3.put_object(Bucket="ops-code", Key="c.zip", Body=buf.getvalue())
    cf = sim.client("cloudformation")
    cf.create_stack(StackName="ops", TemplateBody=json.dumps(TPL), Capabilities=["CAPABILITY_IAM"])
    tap.ok(wait_until(lambda: status(cf) == "CREATE_COMPLETE", 20), "the stack is created")

    first, done = detect(cf, sim)
    tap.ok(first["DetectionStatus"] == "DETECTION_IN_PROGRESS" and done["StackDriftStatus"] == "IN_SYNC",
           "a detection runs for a while, then an untouched stack is IN_SYNC", (first, done))

    fn = cf.describe_stack_resource(StackName="ops", LogicalResourceId="Fn")[
        "StackResourceDetail"]["PhysicalResourceId"]
    sim.client("lambda").update_function_configuration(FunctionName=fn, MemorySize=256)
    _, done = detect(cf)
    tap.ok(done["StackDriftStatus"] == "DRIFTED" and done["DriftedStackResourceCount"] == 1,
           "a change through the Lambda API is drift", done)
    tap.eq(cf.describe_stacks(StackName="ops")["Stacks"][0]["DriftInformation"]["StackDriftStatus"],
           "DRIFTED", "DescribeStacks reports the last detection")
    page = cf.describe_stack_resource_drifts(StackName="ops", MaxResults=1)
    rest = cf.describe_stack_resource_drifts(StackName="ops", MaxResults=1, NextToken=page["NextToken"])
    drifts = page["StackResourceDrifts"] + rest["StackResourceDrifts"]
    mod = [d for d in drifts if d["LogicalResourceId"] == "Fn"]
    tap.ok(len(drifts) == 2 and "NextToken" not in rest and mod
           and mod[0]["StackResourceDriftStatus"] == "MODIFIED"
           and mod[0]["PropertyDifferences"] == [{"PropertyPath": "/MemorySize", "ExpectedValue": "128",
                                                  "ActualValue": "256", "DifferenceType": "NOT_EQUAL"}],
           "resource drifts page by MaxResults and give path, expected and actual", drifts)
    role = [d for d in drifts if d["LogicalResourceId"] == "Role"]
    tap.ok(role and role[0]["StackResourceDriftStatus"] == "NOT_CHECKED", "unchecked types say so", role)

    sim.ctl("POST", "/stacks/rollback-failed", {"stack": "ops", "resource": "Fn"})
    ev = cf.describe_stack_events(StackName="ops")["StackEvents"]
    tap.ok(status(cf) == "UPDATE_ROLLBACK_FAILED" and ev[1]["LogicalResourceId"] == "Fn"
           and ev[1]["ResourceStatus"] == "UPDATE_FAILED" and ev[1].get("ResourceStatusReason"),
           "a stack forced into UPDATE_ROLLBACK_FAILED, its failed resource's event next", ev[:3])
    cf.continue_update_rollback(StackName="ops")
    tap.ok(wait_until(lambda: status(cf) == "UPDATE_ROLLBACK_FAILED" and
                      cf.describe_stack_events(StackName="ops")["StackEvents"][0]["ResourceStatus"]
                      == "UPDATE_ROLLBACK_FAILED", 10),
           "without the skip the rollback fails again")
    cf.continue_update_rollback(StackName="ops", ResourcesToSkip=["Fn"])
    tap.ok(wait_until(lambda: status(cf) == "UPDATE_ROLLBACK_COMPLETE", 10),
           "with ResourcesToSkip it completes")
    ev = cf.describe_stack_events(StackName="ops")["StackEvents"]
    tap.ok(any(e["LogicalResourceId"] == "Fn" and "skipped" in (e.get("ResourceStatusReason") or "")
               for e in ev), "the skipped resource's event says so")
    try:
        cf.continue_update_rollback(StackName="ops")
        refused = None
    except cf.exceptions.ClientError as e:
        refused = e.response["Error"]["Code"]
    tap.eq(refused, "ValidationError", "a settled stack refuses ContinueUpdateRollback")


if __name__ == "__main__":
    simtest.run(main)
