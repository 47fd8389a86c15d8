#!/usr/bin/env python3
"""Faults and signatures as boto3 sees them: throttling, 5xx, resets,
delays, truncated and malformed bodies, clock skew, bad signatures,
temporary credentials; the request log; edgesim-ctl."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, EndpointConnectionError
    from botocore.parsers import ResponseParserError
except ImportError:
    simtest.require_moto()
    raise


def err_of(fn):
    try:
        fn()
        return None
    except ClientError as e:
        return e.response
    except Exception as e:  # noqa: BLE001 - the test looks at the type
        return e


def main(tap, sim):
    cfn1 = sim.client("cloudformation", max_attempts=1)
    cfn3 = sim.client("cloudformation", max_attempts=3)
    s3 = sim.client("s3", max_attempts=1)
    cf1 = sim.client("cloudfront", max_attempts=1)
    sts1 = sim.client("sts", max_attempts=1)
    cp1 = sim.client("codepipeline", max_attempts=1)
    lam1 = sim.client("lambda", max_attempts=1)
    s3.create_bucket(Bucket="ledger-bucket")

    # ---- throttling
    sim.fault("throttle", "cloudformation", "DescribeStacks", count=3)
    r = err_of(lambda: cfn3.describe_stacks())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "Throttling" and r["ResponseMetadata"]["MaxAttemptsReached"],
           "throttled 3 times: ClientError Throttling after retries are exhausted", r)
    n = len(sim.log(operation="DescribeStacks"))
    tap.eq(n, 3, "the log shows the three throttled attempts")
    sim.fault("throttle", "cloudformation", "DescribeStacks", count=2)
    r = err_of(lambda: cfn3.describe_stacks())
    tap.ok(r is None, "throttled twice: the third attempt succeeds", r)
    sim.fault("throttle", "s3", "ListBuckets")
    r = err_of(lambda: s3.list_buckets())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "SlowDown" and r["ResponseMetadata"]["HTTPStatusCode"] == 503,
           "S3 throttling is 503 SlowDown", r)
    sim.fault("throttle", "codepipeline")
    r = err_of(lambda: cp1.list_pipelines())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "ThrottlingException", "CodePipeline: ThrottlingException", r)
    sim.fault("throttle", "lambda")
    r = err_of(lambda: lam1.list_functions())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "TooManyRequestsException"
           and r["ResponseMetadata"]["HTTPStatusCode"] == 429, "Lambda: 429 TooManyRequestsException", r)

    # ---- 5xx
    sim.fault("error503", "cloudfront", "ListDistributions")
    r = err_of(lambda: cf1.list_distributions())
    tap.ok(isinstance(r, dict) and r["ResponseMetadata"]["HTTPStatusCode"] == 503 and r["Error"]["Code"] == "ServiceUnavailable",
           "503 ServiceUnavailable reaches boto3", r)
    sim.fault("error500", "sts")
    r = err_of(lambda: sts1.get_caller_identity())
    tap.ok(isinstance(r, dict) and r["ResponseMetadata"]["HTTPStatusCode"] == 500, "500 InternalFailure reaches boto3", r)

    # ---- connection reset
    sim.fault("reset", "sts", "GetCallerIdentity")
    r = err_of(lambda: sts1.get_caller_identity())
    tap.ok(isinstance(r, (ConnectionClosedError, EndpointConnectionError)),
           "a reset connection: ConnectionClosedError/EndpointConnectionError", repr(r))
    sim.fault("reset", "sts", "GetCallerIdentity")
    r = err_of(lambda: sim.client("sts", max_attempts=3).get_caller_identity())
    tap.ok(r is None, "a reset connection is retried and then succeeds", repr(r))

    # ---- delay
    sim.fault("delay", "cloudformation", "ListStacks", seconds=1.0)
    t0 = time.time()
    cfn1.list_stacks()
    tap.ok(time.time() - t0 >= 1.0, f"a delayed call takes the delay ({time.time() - t0:.2f}s)")
    # POST /faults/release ends a delay under way: a request held as long as a test needs
    sim.fault("delay", "cloudformation", "ListStacks", seconds=120)
    held = {}
    t = threading.Thread(target=lambda: held.update(r=err_of(lambda: cfn1.list_stacks())))
    t0 = time.time()
    t.start()
    taken = simtest.wait_until(lambda: not sim.ctl("GET", "/faults")["faults"], timeout=30)
    time.sleep(0.2)  # it is now waiting out its delay; nothing is answered without the release
    tap.ok(taken and t.is_alive(), "a request held by a long delay is still waiting")
    tap.eq(sim.ctl("POST", "/faults/release"), {"released": True}, "POST /faults/release answers")
    t.join(30)
    tap.ok(not t.is_alive() and held.get("r") is None and time.time() - t0 < 60,
           f"and the held request is answered at once ({time.time() - t0:.1f}s)", held)

    # ---- malformed and truncated bodies
    sim.fault("malformed", "cloudfront", "ListDistributions")
    r = err_of(lambda: cf1.list_distributions())
    tap.ok(isinstance(r, ResponseParserError), "a malformed body: ResponseParserError", repr(r))
    sim.fault("truncate", "cloudformation", "DescribeStacks")
    r = err_of(lambda: cfn1.describe_stacks())
    tap.ok(isinstance(r, Exception) and not isinstance(r, ClientError), "a truncated body: a transport error, not data", repr(r))
    tap.diag(f"truncated body raised {type(r).__module__}.{type(r).__name__}")
    tap.ok(err_of(lambda: cfn1.describe_stacks()) is None, "the next call is clean")

    # ---- clock skew
    sim.fault("clock", seconds=3600)
    r = err_of(lambda: s3.list_buckets())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "RequestTimeTooSkewed" and r["ResponseMetadata"]["HTTPStatusCode"] == 403,
           "server clock +1h: S3 answers 403 RequestTimeTooSkewed", r)
    date = (r or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date", "")
    import email.utils
    skew = email.utils.parsedate_to_datetime(date).timestamp() - time.time() if date else 0
    tap.ok(3500 < skew < 3700, "the Date response header carries the shifted clock", date)
    r = err_of(lambda: cfn1.describe_stacks())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "SignatureDoesNotMatch" and "Signature expired" in r["Error"]["Message"],
           "CloudFormation: SignatureDoesNotMatch 'Signature expired'", r)
    r = err_of(lambda: cp1.list_pipelines())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "InvalidSignatureException", "CodePipeline: InvalidSignatureException", r)
    sim.ctl("DELETE", "/faults")
    tap.ok(err_of(lambda: s3.list_buckets()) is None, "clearing faults resets the clock")

    # ---- signatures
    bad = lambda svc: sim.client(svc, secret="not-the-secret", max_attempts=1)  # noqa: E731
    r = err_of(lambda: bad("s3").list_buckets())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "SignatureDoesNotMatch" and "CanonicalRequest" in r["Error"],
           "wrong secret, S3: SignatureDoesNotMatch with the canonical request", r and r.get("Error"))
    for svc, call, code in (
        ("cloudformation", lambda c: c.describe_stacks(), "SignatureDoesNotMatch"),
        ("cloudfront", lambda c: c.list_distributions(), "SignatureDoesNotMatch"),
        ("codepipeline", lambda c: c.list_pipelines(), "InvalidSignatureException"),
        ("lambda", lambda c: c.list_functions(), "InvalidSignatureException"),
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
    ):
        r = err_of(lambda: call(bad(svc)))
        tap.ok(isinstance(r, dict) and r["Error"]["Code"] == code and r["ResponseMetadata"]["HTTPStatusCode"] == 403,
               f"wrong secret, {svc}: 403 {code}", r and r.get("Error"))
    r = err_of(lambda: sim.client("cloudformation", key_id="AKIAUNKNOWN000000000", max_attempts=1).describe_stacks())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "InvalidClientTokenId", "unknown key id: InvalidClientTokenId", r)
    r = err_of(lambda: sim.client("s3", key_id="AKIAUNKNOWN000000000", max_attempts=1).list_buckets())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "InvalidAccessKeyId", "unknown key id, S3: InvalidAccessKeyId", r)
    try:
        urllib.request.urlopen(urllib.request.Request(sim.endpoint + "/", data=b"Action=DescribeStacks&Version=2010-05-15",
                                                      headers={"Content-Type": "application/x-www-form-urlencoded"}), timeout=5)
        code = None
    except urllib.error.HTTPError as e:
        code = (e.code, e.read().decode())
    tap.ok(code and code[0] == 403 and "MissingAuthenticationToken" in code[1], "an unsigned request is refused", code)

    # temporary credentials from the simulator's STS
    iam = sim.client("iam")
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    creds = sim.client("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="release")["Credentials"]
    tmp = sim.client("s3", key_id=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"], max_attempts=1)
    tap.ok(err_of(lambda: tmp.list_buckets()) is None, "AssumeRole credentials are accepted")
    r = err_of(lambda: sim.client("cloudformation", key_id=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                                  token="wrong-token", max_attempts=1).describe_stacks())
    tap.ok(isinstance(r, dict) and r["Error"]["Code"] == "InvalidClientTokenId", "a wrong session token is refused", r)

    # a hand-signed path-style S3 PUT with the headers the C client signs
    key = "dir/a b+c~d.txt"
    url = f"{sim.endpoint}/ledger-bucket/" + "dir/a%20b%2Bc~d.txt"
    body = b"ledger record\n"
    import base64
    import hashlib
    headers = {"Content-Type": "application/json", "If-None-Match": "*",
               "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
               "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}

    def send(u, hdrs):
        req = AWSRequest("PUT", u, data=body, headers=dict(hdrs))
        S3SigV4Auth(Credentials(simtest.KEY_ID, simtest.SECRET), "s3", "us-east-1").add_auth(req)
        return req

    req = send(url, headers)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT", headers=dict(req.headers.items())), timeout=5) as rr:
            st = rr.status
    except urllib.error.HTTPError as e:
        st = (e.code, e.read().decode()[:500])
    tap.eq(st, 200, "a path-style PUT signed with content-md5, if-none-match, x-amz-content-sha256 is accepted")
    tap.ok(s3.get_object(Bucket="ledger-bucket", Key=key)["Body"].read() == body, "the object landed under the decoded key")
    other = f"{sim.endpoint}/ledger-bucket/dir/other.txt"
    try:
        urllib.request.urlopen(urllib.request.Request(other, data=body, method="PUT", headers=dict(req.headers.items())), timeout=5)
        st = 200
    except urllib.error.HTTPError as e:
        st = (e.code, "SignatureDoesNotMatch" in e.read().decode())
    tap.eq(st, (403, True), "the same signature on another path is refused")

    # ---- the request log
    entries = sim.log()
    need = {"time", "ts", "service", "operation", "status", "method", "path", "mutating", "fault", "duration_ms"}
    tap.ok(entries and all(need <= set(e) for e in entries), "every log entry has time, service, operation, status, method, path, mutating")
    with open(sim.info["log"]) as f:
        lines = [json.loads(x) for x in f]
    tap.eq(len(lines), len(entries), "the JSONL file holds the same entries")
    faults = {e["fault"] for e in entries if e["fault"]}
    tap.ok({"throttle", "error503", "error500", "reset", "delay", "malformed", "truncate"} <= faults,
           "injected faults are marked in the log", faults)
    sim.ctl("DELETE", "/log")
    tap.eq(sim.log(), [], "the log can be cleared")

    # ---- edgesim-ctl
    ctl = [sys.executable, os.path.join(simtest.HERE, "edgesim-ctl"), "--control", sim.control]
    p = subprocess.run(ctl + ["fault", "throttle", "--service", "s3", "--operation", "ListBuckets", "--count", "2"],
                       capture_output=True, text=True)
    listed = json.loads(subprocess.run(ctl + ["faults"], capture_output=True, text=True).stdout)
    tap.ok(p.returncode == 0 and listed["faults"] and listed["faults"][0]["remaining"] == 2, "edgesim-ctl adds and lists faults", p.stderr)
    subprocess.run(ctl + ["clear"], capture_output=True)
    tap.ok(err_of(lambda: s3.list_buckets()) is None, "edgesim-ctl clear removes them")
    p = subprocess.run(ctl + ["log", "--operation", "ListBuckets"], capture_output=True, text=True)
    tap.ok(p.returncode == 0 and json.loads(p.stdout.splitlines()[-1])["operation"] == "ListBuckets", "edgesim-ctl log prints JSON lines")


if __name__ == "__main__":
    simtest.run(main)
