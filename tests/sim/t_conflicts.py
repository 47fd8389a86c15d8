#!/usr/bin/env python3
"""Conditional S3 writes that race (409 ConditionalRequestConflict, natural
and injected, with and without the write having happened) and a stack event
without ResourceStatus, as boto3 sees them; and how the log records them."""

import os
import sys
import threading
import urllib.error
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

try:
    from botocore.exceptions import ClientError
except ImportError:
    simtest.require_moto()
    raise

BUCKET = "ledger-bucket"
TEMPLATE = """\
Resources:
  Store:
    Type: AWS::S3::Bucket
  Other:
    Type: AWS::S3::Bucket
"""


def outcome(fn):
    """HTTP status and error code of a call ((200, None) when it succeeds)."""
    try:
        r = fn()
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def race(tap, sim, s3, key, first, second, what):
    """Start `first` held by a delay so it is still in flight when `second`
    arrives (it is released once the second is answered, however long a
    loaded machine took to send it); return both outcomes."""
    sim.fault("delay", "s3", "PutObject", seconds=60)
    got = {}
    t = threading.Thread(target=lambda: got.update(first=outcome(first)))
    t.start()
    # the delay rule is used up once the first request is inside the gateway
    arrived = simtest.wait_until(lambda: not sim.ctl("GET", "/faults")["faults"], timeout=30)
    tap.ok(arrived, f"{what}: the first conditional put is in flight")
    got["second"] = outcome(second)
    sim.ctl("POST", "/faults/release")
    t.join(30)
    return got.get("first"), got.get("second")


def main(tap, sim):
    s3 = sim.client("s3", max_attempts=1)
    cfn = sim.client("cloudformation", max_attempts=1)
    s3.create_bucket(Bucket=BUCKET)

    # ---- two conditional puts racing on one key
    key = "ledger/0001.json"
    first, second = race(
        tap, sim, s3, key,
        lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"first", IfNoneMatch="*"),
        lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"second", IfNoneMatch="*"),
        "If-None-Match race")
    tap.eq(first, (200, None), "If-None-Match race: the first put succeeds")
    tap.ok(second in ((409, "ConditionalRequestConflict"), (412, "PreconditionFailed")),
           "If-None-Match race: the second gets 409 ConditionalRequestConflict (or 412)", second)
    tap.eq(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), b"first", "the object holds the first write only")
    entries = sim.log(service="s3", operation="PutObject")
    tap.ok(len(entries) >= 2 and entries[-1]["status"] == 200 and entries[-1]["fault"] == "delay"
           and entries[-2]["status"] == 409 and entries[-2]["error_code"] == "ConditionalRequestConflict"
           and entries[-2]["fault"] is None,
           "the log: the racing put 409 ConditionalRequestConflict (no fault), the delayed one 200", entries[-2:])

    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
    first, second = race(
        tap, sim, s3, key,
        lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"third", IfMatch=etag),
        lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"fourth", IfMatch=etag),
        "If-Match race")
    tap.ok(first == (200, None) and second == (409, "ConditionalRequestConflict"),
           "If-Match race: one success, one 409", (first, second))
    tap.eq(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), b"third", "the object holds the winner's write")

    # only conditional puts on the same key conflict: an unconditional put on
    # it goes through (and then the delayed If-None-Match put finds the object)
    sim.fault("delay", "s3", "PutObject", seconds=60)
    got = {}
    t = threading.Thread(target=lambda: got.update(c=outcome(
        lambda: s3.put_object(Bucket=BUCKET, Key="other.json", Body=b"c", IfNoneMatch="*"))))
    t.start()
    simtest.wait_until(lambda: not sim.ctl("GET", "/faults")["faults"], timeout=30)
    plain = outcome(lambda: s3.put_object(Bucket=BUCKET, Key="other.json", Body=b"p"))
    elsewhere = outcome(lambda: s3.put_object(Bucket=BUCKET, Key="elsewhere.json", Body=b"e", IfNoneMatch="*"))
    sim.ctl("POST", "/faults/release")
    t.join(30)
    tap.ok(plain == (200, None) and elsewhere == (200, None),
           "an unconditional put on the key and a conditional one on another key are no conflict", (plain, elsewhere))
    tap.eq(got.get("c"), (412, "PreconditionFailed"), "the delayed If-None-Match put then finds the object: 412")

    # ---- injected conflict: 409 and nothing written
    sim.fault("conflict", "s3", "PutObject")
    r = outcome(lambda: s3.put_object(Bucket=BUCKET, Key="conflict.json", Body=b"x", IfNoneMatch="*"))
    tap.eq(r, (409, "ConditionalRequestConflict"), "conflict: 409 ConditionalRequestConflict")
    tap.eq(outcome(lambda: s3.head_object(Bucket=BUCKET, Key="conflict.json"))[0], 404, "conflict: no object was written")
    e = sim.log(operation="PutObject")[-1]
    tap.ok(e["fault"] == "conflict" and e["status"] == 409 and e["error_code"] == "ConditionalRequestConflict",
           "conflict: the log has fault, status 409 and the error code", e)
    try:
        sim.fault("conflict", "cloudformation")
        refused = None
    except urllib.error.HTTPError as err:
        refused = err.code
    tap.eq(refused, 400, "conflict is refused for a service other than s3")

    # without an operation it hits the next S3 write, not reads
    sim.fault("conflict")
    tap.eq(outcome(lambda: s3.list_objects_v2(Bucket=BUCKET))[0], 200, "conflict without operation: reads pass")
    r = outcome(lambda: s3.put_object(Bucket=BUCKET, Key="conflict2.json", Body=b"x"))
    tap.eq(r, (409, "ConditionalRequestConflict"), "conflict without operation: the next write gets 409")

    # ---- conflict_after: written, but the answer says conflict
    sim.fault("conflict_after", "s3", "PutObject")
    r = outcome(lambda: s3.put_object(Bucket=BUCKET, Key="after.json", Body=b"landed", IfNoneMatch="*"))
    tap.eq(r, (409, "ConditionalRequestConflict"), "conflict_after: 409 ConditionalRequestConflict")
    body = s3.get_object(Bucket=BUCKET, Key="after.json")["Body"].read()
    tap.eq(body, b"landed", "conflict_after: the object is there")
    e = sim.log(operation="PutObject")[-1]
    tap.ok(e["fault"] == "conflict_after" and e["status"] == 409 and e["error_code"] == "ConditionalRequestConflict",
           "conflict_after: the log has fault, status 409 and the error code", e)
    r = outcome(lambda: s3.put_object(Bucket=BUCKET, Key="after.json", Body=b"again", IfNoneMatch="*"))
    tap.eq(r, (412, "PreconditionFailed"), "conflict_after: a retry of the same conditional put gets 412")

    # ---- event_no_status
    cfn.create_stack(StackName="events", TemplateBody=TEMPLATE)
    done = simtest.wait_until(
        lambda: cfn.describe_stacks(StackName="events")["Stacks"][0]["StackStatus"].endswith("_COMPLETE"), timeout=15)
    tap.ok(done, "a stack to read events from is complete")
    raw = []
    cfn.meta.events.register("before-parse.cloudformation.DescribeStackEvents",
                             lambda response_dict, **kw: raw.append(response_dict["body"]))
    clean = cfn.describe_stack_events(StackName="events")["StackEvents"]
    sim.fault("event_no_status", "cloudformation", "DescribeStackEvents")
    try:
        faulted = cfn.describe_stack_events(StackName="events")["StackEvents"]
        tap.ok(True, "event_no_status: boto3 parses the answer")
    except Exception as err:  # noqa: BLE001 - reported
        faulted = []
        tap.ok(False, "event_no_status: boto3 parses the answer", repr(err))
    missing = [i for i, ev in enumerate(faulted) if "ResourceStatus" not in ev]
    tap.eq(missing, [0], "event_no_status: exactly the newest event lacks ResourceStatus")
    tap.ok(len(faulted) == len(clean) and all(
        {k: v for k, v in a.items() if k != "ResourceStatus"} == {k: v for k, v in b.items() if k != "ResourceStatus"}
        for a, b in zip(faulted, clean)), "event_no_status: the rest of the events is intact")
    try:
        trees = [ET.fromstring(b) for b in raw]
        counts = [sum(1 for el in tr.iter() if el.tag.endswith("}ResourceStatus") or el.tag == "ResourceStatus")
                  for tr in trees]
    except ET.ParseError as err:
        counts = str(err)
    tap.ok(isinstance(counts, list) and len(counts) == 2 and counts[1] == counts[0] - 1,
           "event_no_status: the XML is well-formed with one ResourceStatus element fewer", counts)
    again = cfn.describe_stack_events(StackName="events")["StackEvents"]
    tap.ok(all("ResourceStatus" in ev for ev in again), "event_no_status with count 1: the next answer is whole")
    e = sim.log(operation="DescribeStackEvents")[-2]
    tap.ok(e["fault"] == "event_no_status" and e["status"] == 200 and e.get("error_code") is None,
           "event_no_status: the log has the fault, status 200, no error code", e)
    try:
        sim.fault("event_no_status", "cloudformation", "DescribeStacks")
        refused = None
    except urllib.error.HTTPError as err:
        refused = err.code
    tap.eq(refused, 400, "event_no_status is refused for another operation")


if __name__ == "__main__":
    simtest.run(main)
