#!/usr/bin/env python3
"""faultproxy: each fault kind on raw sockets against a tiny keep-alive
upstream (what the upstream saw, what the client got), message boundaries
on kept-alive connections, rule skip/count/match, the control API; then
boto3 through the proxy to edgesim: operations named as edgesim names them,
and the faults as boto3 sees them."""

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sim"))
import proxyctl  # noqa: E402
import simtest  # noqa: E402

KEY_ID = "AKIAEDGESIM000000001"
SECRET = "edgesim/test/secret/not-a-real-key/0001"
TEXT = b"hello " * 200  # 1200 bytes


# ---------------------------------------------------------------- a tiny upstream
class Seen:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []

    def add(self, r):
        with self.lock:
            self.requests.append(r)

    def paths(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def clear(self):
        with self.lock:
            self.requests = []


SEEN = Seen()


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _record(self, body=b""):
        SEEN.add({"method": self.command, "path": self.path, "body": body, "port": self.client_address[1]})

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self._record()
        path = self.path.split("?")[0]
        if path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the close")
            self.close_connection = True
        else:
            self._send(200, TEXT, [("Content-Type", "text/plain")])

    def do_HEAD(self):
        self._record()
        self._send(200, TEXT)

    def do_POST(self):
        body = self._body()
        self._record(body)
        self._send(200, b"echo:" + body)

    do_PUT = do_POST


def start_upstream():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# ---------------------------------------------------------------- helpers
def addr_of(url):
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    return host, int(port)


def raw(proxy, request, timeout=10, close_after=None):
    """Send raw bytes; read until EOF. Returns (bytes, 'eof'|'reset'|'timeout')."""
    s = socket.create_connection(addr_of(proxy.endpoint), timeout=timeout)
    s.sendall(request)
    data, how = b"", "eof"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    s.close()
    return data, how


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: upstream\r\nConnection: close\r\n{extra}\r\n".encode()


def post(path, body, extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: upstream\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def scope(service):
    return (f"Authorization: AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00\r\n")


def split(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return (int(m.group(1)) if m else None), head.decode("latin-1"), body


def last_entry(proxy):
    entries = proxy.log()
    return entries[-1] if entries else {}


# ---------------------------------------------------------------- raw-socket checks
def check_kinds(tap, proxy):
    SEEN.clear()
    proxy.clear()
    tap.ok(proxy.endpoint.startswith("http://127.0.0.1:") and proxy.control.startswith("http://127.0.0.1:")
           and isinstance(proxy.pid, int), "ready line: loopback endpoint, control and pid", proxy.info)

    # keep-alive: several requests on one client connection, one upstream connection
    conn = http.client.HTTPConnection(*addr_of(proxy.endpoint), timeout=10)
    answers = []
    socks = set()
    for method, path, body, chunked in (
        ("GET", "/text", None, False), ("HEAD", "/text", None, False), ("GET", "/chunked", None, False),
        ("GET", "/empty", None, False), ("POST", "/echo", iter([b"ab", b"cd", b"ef"]), True),
        ("PUT", "/echo", b"plain body", False), ("GET", "/text", None, False),
    ):
        conn.request(method, path, body=body, encode_chunked=chunked)
        r = conn.getresponse()
        answers.append((r.status, r.read()))
        socks.add(id(conn.sock))
    conn.close()
    want = [(200, TEXT), (200, b""), (200, b"one,two,three"), (204, b""), (200, b"echo:abcdef"),
            (200, b"echo:plain body"), (200, TEXT)]
    tap.eq(answers, want, "keep-alive: GET, HEAD, chunked answer, 204, chunked request, PUT, GET all proxied")
    tap.eq(len(socks), 1, "keep-alive: all on one client connection")
    ports = {r["port"] for r in SEEN.requests}
    tap.eq((len(SEEN.requests), len(ports)), (7, 1), "keep-alive: the upstream saw 7 requests on one connection")
    tap.eq(len(proxy.log()), 7, "the log has one entry per request")

    conn = http.client.HTTPConnection(*addr_of(proxy.endpoint), timeout=10)
    conn.request("GET", "/close")
    r = conn.getresponse()
    tap.ok(r.status == 200 and r.read() == b"until the close", "an answer delimited by the close is passed on")
    conn.close()

    # lose_answer
    SEEN.clear()
    proxy.add_rule("lose_answer", match="/lose/")
    data, how = raw(proxy, post("/lose/1", b"side effect"))
    tap.ok(data == b"" and how == "eof", "lose_answer: the client gets no bytes, just the close", (data[:80], how))
    tap.eq(SEEN.paths(), ["/lose/1"], "lose_answer: the upstream saw the request")
    e = last_entry(proxy)
    tap.ok(e.get("fault") == "lose_answer" and e.get("status") == 0 and e.get("upstream_status") == 200
           and e.get("forwarded") is True, "lose_answer: logged with status 0, upstream 200", e)

    # reset_before
    SEEN.clear()
    proxy.add_rule("reset_before", match="/reset/")
    data, how = raw(proxy, post("/reset/1", b"never"))
    tap.ok(data == b"" and how == "reset", "reset_before: the client connection is reset", (data[:80], how))
    tap.eq(SEEN.paths(), [], "reset_before: the upstream did not see it")
    e = last_entry(proxy)
    tap.ok(e.get("fault") == "reset_before" and e.get("forwarded") is False and e.get("status") == 0,
           "reset_before: logged as not forwarded", e)

    # cut_headers
    SEEN.clear()
    proxy.add_rule("cut_headers", match="cut=head")
    data, how = raw(proxy, get("/text?cut=head"))
    tap.ok(data.startswith(b"HTTP/1.1 200 ") and b"\r\n\r\n" not in data and how == "eof",
           "cut_headers: the status line and part of the head, no blank line, then the close", (data, how))
    tap.eq(SEEN.paths(), ["/text?cut=head"], "cut_headers: the upstream saw the request")

    # cut_body
    proxy.add_rule("cut_body", match="cut=body")
    data, how = raw(proxy, get("/text?cut=body"))
    status, head, body = split(data)
    m = re.search(r"(?im)^content-length:\s*(\d+)", head)
    tap.ok(status == 200 and m and int(m.group(1)) == len(TEXT) and 0 < len(body) < len(TEXT) and how == "eof",
           f"cut_body: the whole head with Content-Length {len(TEXT)}, {len(body)} body bytes, then the close",
           (head, len(body), how))

    # stall
    proxy.add_rule("stall", match="/stall/", seconds=1.5)
    t0 = time.time()
    data, how = raw(proxy, get("/stall/1"))
    took = time.time() - t0
    status, _, body = split(data)
    tap.ok(status == 200 and body == TEXT and took >= 1.5, f"stall: the whole answer after {took:.2f}s (>= 1.5)")
    proxy.add_rule("stall", match="/stall/", seconds=5)
    s = socket.create_connection(addr_of(proxy.endpoint), timeout=5)
    s.sendall(get("/stall/2"))
    time.sleep(0.3)
    s.close()
    e = simtest.wait_until(lambda: [x for x in proxy.log() if x["path"] == "/stall/2"], timeout=15)
    tap.ok(e and e[0]["client_gone"] and e[0]["status"] == 0 and e[0]["upstream_status"] == 200,
           "stall: a client that leaves is dropped at once (logged client_gone, status 0)", e)

    # status409 / status409_after
    SEEN.clear()
    proxy.add_rule("status409", match="/c409/")
    data, _ = raw(proxy, post("/c409/a", b"x"))
    status, _, body = split(data)
    tap.ok(status == 409 and b"<Code>ConditionalRequestConflict</Code>" in body and b"<Error>" in body,
           "status409: 409 ConditionalRequestConflict S3 XML", data[:400])
    tap.eq(SEEN.paths(), [], "status409: the upstream did not see it")
    proxy.add_rule("status409_after", match="/c409/")
    data, _ = raw(proxy, post("/c409/b", b"x"))
    status, _, body = split(data)
    tap.ok(status == 409 and b"ConditionalRequestConflict" in body, "status409_after: 409 to the client", data[:300])
    tap.eq(SEEN.paths(), ["/c409/b"], "status409_after: the upstream saw it (side effect happened)")
    e = last_entry(proxy)
    tap.ok(e.get("status") == 409 and e.get("upstream_status") == 200, "status409_after: logged 409, upstream 200", e)

    # 5xx in each protocol's format
    SEEN.clear()
    proxy.add_rule("status500", service="s3")
    status, _, body = split(raw(proxy, get("/bucket/key", scope("s3")))[0])
    tap.ok(status == 500 and re.search(rb"<Error><Code>InternalError</Code>", body), "status500, S3: <Error> InternalError",
           body)
    proxy.add_rule("status503", service="cloudformation", operation="DescribeStacks")
    status, _, body = split(raw(proxy, post("/", b"Action=DescribeStacks&Version=2010-05-15", scope("cloudformation")))[0])
    tap.ok(status == 503 and b"<ErrorResponse" in body and b"<Type>Receiver</Type><Code>ServiceUnavailable</Code>" in body,
           "status503, query protocol: ErrorResponse Receiver ServiceUnavailable", body)
    proxy.add_rule("status500", service="codepipeline")
    status, _, body = split(raw(proxy, post("/", b"{}", scope("codepipeline")
                                             + "X-Amz-Target: CodePipeline_20150709.ListPipelines\r\n"))[0])
    tap.ok(status == 500 and json.loads(body).get("__type") == "InternalFailure", "status500, json protocol: __type", body)
    proxy.add_rule("status503", service="cloudfront", operation="ListDistributions")
    status, _, body = split(raw(proxy, get("/2020-05-31/distribution", scope("cloudfront")))[0])
    tap.ok(status == 503 and b"<Code>ServiceUnavailable</Code>" in body, "status503, CloudFront: XML error", body)
    tap.eq(SEEN.paths(), [], "status500/503: nothing reached the upstream")
    # a synthesized answer to HEAD has no body and the connection stays usable
    proxy.add_rule("status503", match="HEAD /h")
    conn = http.client.HTTPConnection(*addr_of(proxy.endpoint), timeout=5)
    conn.request("HEAD", "/h")
    r1 = conn.getresponse()
    r1.read()
    conn.request("GET", "/text")
    r2 = conn.getresponse()
    tap.ok(r1.status == 503 and r2.status == 200 and r2.read() == TEXT, "status503 to HEAD: no body; the next request on the connection works")
    conn.close()

    # skip / count / match, pass
    proxy.clear()
    rule = proxy.add_rule("status503", match="/keep/", skip=1, count=2)
    got = [split(raw(proxy, get(p))[0])[0] for p in ("/keep/1", "/other", "/keep/2", "/keep/3", "/keep/4")]
    tap.eq(got, [200, 200, 503, 503, 200], "skip 1, count 2, match /keep/: through, unmatched, 503, 503, through")
    r = [x for x in proxy.rules() if x["id"] == rule["id"]][0]
    tap.ok(r["skipped"] == 1 and r["hits"] == 2 and r["remaining"] == 0, "GET /rules: skipped 1, hits 2, remaining 0", r)
    log = proxy.log()
    tap.eq([x["fault"] for x in log], [None, None, "status503", "status503", None], "the log marks the faulted requests")
    tap.eq(log[0]["skipped_by"], rule["id"], "the log names the rule that let a request through")
    proxy.add_rule("pass", match="/p")
    status = split(raw(proxy, get("/p"))[0])[0]
    tap.ok(status == 200 and last_entry(proxy)["fault"] == "pass", "pass: proxied untouched, logged as pass")
    proxy.add_rules([{"kind": "status500", "match": "/two"}, {"kind": "status503", "match": "/two"}])
    got = [split(raw(proxy, get("/two"))[0])[0] for _ in range(3)]
    tap.eq(got, [500, 503, 200], "a list of rules: applied in order")

    # control API
    need = {"seq", "time", "service", "operation", "method", "path", "status", "fault"}
    tap.ok(all(need <= set(x) for x in proxy.log()), "log entries: seq, time, service, operation, method, path, status, fault")
    try:
        proxy.add_rule("explode")
        code = None
    except proxyctl.ControlError as err:
        code = err.status
    tap.eq(code, 400, "an unknown kind is refused with 400")
    try:
        proxy.add_rules([{"kind": "pass"}, {"kind": "status500", "count": 0}])
        code = None
    except proxyctl.ControlError as err:
        code = err.status
    tap.ok(code == 400 and not [x for x in proxy.rules() if x["remaining"] > 0 and x["kind"] == "pass"],
           "a list with a bad rule adds nothing")
    proxy.clear()
    tap.ok(proxy.rules() == [] and proxy.log() == [], "DELETE /rules and DELETE /log empty both")


def check_no_upstream(tap):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with proxyctl.start_proxy(f"http://127.0.0.1:{port}") as p:
        status = split(raw(p, get("/x"))[0])[0]
        tap.eq(status, 502, "no upstream: 502")


# ---------------------------------------------------------------- naming against edgesim's table
def check_naming_table(tap):
    """Every REST operation of S3, CloudFront and Lambda in the botocore
    model, as a request: the proxy names it as edgesim does, or not at all."""
    import faultproxy
    from edgesimlib import protocol

    differ, known, total = [], 0, 0
    for svc in ("s3", "cloudfront", "lambda"):
        model = protocol.service_model(svc)
        for op in model.operation_names:
            om = model.operation_model(op)
            path, _, q = om.http["requestUri"].partition("?")
            path = re.sub(r"\{[^}]+\+\}", "key/part", path)
            path = re.sub(r"\{[^}]+\}", "name1", path)
            query = [x for x in q.split("&") if x and not x.startswith("x-id")]
            environ = {"REQUEST_METHOD": om.http["method"]}
            req = faultproxy.Message()
            req.headers = [("Host", "127.0.0.1:9"), ("Authorization", "AWS4-HMAC-SHA256 Credential="
                            f"{KEY_ID}/20260101/us-east-1/{svc}/aws4_request, SignedHeaders=host, Signature=0")]
            shape = om.input_shape
            for name in shape.required_members if shape is not None else ():
                ser = shape.members[name].serialization
                if ser.get("location") == "querystring":
                    query.append(ser.get("name", name) + "=1")
                elif ser.get("location") == "header":
                    req.headers.append((ser.get("name", name), "v"))
                    environ["HTTP_" + ser.get("name", name).upper().replace("-", "_")] = "v"
            query = "&".join(query)
            theirs = protocol.operation_of(svc, environ, b"", path, query)
            _, mine = faultproxy.identify(req, om.http["method"], path, query)
            total += 1
            if mine is not None:
                known += 1
                if mine != theirs:
                    differ.append((svc, op, om.http["method"], path, query, theirs, mine))
    tap.ok(not differ, f"the proxy names {known} of {total} REST operations, each as edgesim does", differ[:20])


# ---------------------------------------------------------------- boto3 through the proxy to edgesim
def start_edgesim(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, simtest.EDGESIM, "--speed", "test", "--edges", "0",
                             "--state-dir", os.path.join(tmp, "state")],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "edgesim.err"), "w"), env=env)
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("edgesim did not start: " + open(os.path.join(tmp, "edgesim.err")).read()[-2000:])
    return proc, json.loads(line)


def sim_log(info):
    import urllib.request

    with urllib.request.urlopen(info["control"] + "/log", timeout=10) as r:
        return json.loads(r.read())["entries"]


def check_boto3(tap, proxy, info):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    def client(service, attempts=1, **cfg):
        return boto3.client(service, endpoint_url=proxy.endpoint, region_name="us-east-1",
                            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                            config=Config(retries={"mode": "standard", "total_max_attempts": attempts},
                                          s3={"addressing_style": "path"}, connect_timeout=5,
                                          read_timeout=cfg.pop("read_timeout", 10), **cfg))

    def err(fn):
        try:
            fn()
            return None
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
        except Exception as e:  # noqa: BLE001 - the test looks at the type
            return e

    s3, cfn, cf = client("s3"), client("cloudformation"), client("cloudfront")
    proxy.clear()
    s3.create_bucket(Bucket="names")
    s3.head_bucket(Bucket="names")
    s3.put_object(Bucket="names", Key="dir/a.txt", Body=b"a")
    s3.head_object(Bucket="names", Key="dir/a.txt")
    s3.get_object(Bucket="names", Key="dir/a.txt")["Body"].read()
    s3.list_objects_v2(Bucket="names", Prefix="dir/")
    s3.delete_object(Bucket="names", Key="dir/a.txt")
    s3.list_buckets()
    cfn.create_stack(StackName="names", TemplateBody="Resources:\n  B:\n    Type: AWS::S3::Bucket\n")
    cfn.describe_stacks(StackName="names")
    cfn.describe_stack_events(StackName="names")
    cfg = {
        "CallerReference": "names-1", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o1", "DomainName": "origin.example.com",
                                               "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                      "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o1", "ViewerProtocolPolicy": "allow-all",
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0},
    }
    d = cf.create_distribution(DistributionConfig=cfg)["Distribution"]
    cf.get_distribution(Id=d["Id"])
    got = cf.get_distribution_config(Id=d["Id"])
    cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"], DistributionConfig=got["DistributionConfig"])
    inv = cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "inv-1"})["Invalidation"]
    cf.get_invalidation(DistributionId=d["Id"], Id=inv["Id"])
    cf.list_invalidations(DistributionId=d["Id"])
    cf.list_distributions()
    client("sts").get_caller_identity()
    client("codepipeline").list_pipelines()
    client("lambda").list_functions()
    err(lambda: client("lambda").get_function(FunctionName="nope"))

    mine = [(e["service"], e["operation"]) for e in proxy.log()]
    theirs = [(e["service"], e["operation"]) for e in sim_log(info)]
    want = [
        ("s3", "CreateBucket"), ("s3", "HeadBucket"), ("s3", "PutObject"), ("s3", "HeadObject"), ("s3", "GetObject"),
        ("s3", "ListObjectsV2"), ("s3", "DeleteObject"), ("s3", "ListBuckets"),
        ("cloudformation", "CreateStack"), ("cloudformation", "DescribeStacks"),
        ("cloudformation", "DescribeStackEvents"),
        ("cloudfront", "CreateDistribution"), ("cloudfront", "GetDistribution"), ("cloudfront", "GetDistributionConfig"),
        ("cloudfront", "UpdateDistribution"), ("cloudfront", "CreateInvalidation"), ("cloudfront", "GetInvalidation"),
        ("cloudfront", "ListInvalidations"), ("cloudfront", "ListDistributions"),
        ("sts", "GetCallerIdentity"), ("codepipeline", "ListPipelines"), ("lambda", "ListFunctions"),
        ("lambda", "GetFunction"),
    ]
    tap.eq(mine, want, "boto3 through the proxy: S3, CloudFormation, CloudFront, STS, CodePipeline, Lambda named")
    tap.eq(mine, theirs, "the proxy names every request as edgesim's own log does")
    tap.ok(all(e["status"] < 400 or e["operation"] == "GetFunction" for e in proxy.log()),
           "signatures made for the proxy's address pass edgesim's check")

    # the faults as boto3 sees them
    sim_before = len(sim_log(info))
    proxy.add_rule("status409", service="s3", operation="PutObject")
    r = err(lambda: s3.put_object(Bucket="names", Key="ledger/1", Body=b"1", IfNoneMatch="*"))
    tap.eq(r, (409, "ConditionalRequestConflict"), "boto3: status409 is ClientError ConditionalRequestConflict")
    tap.eq(len(sim_log(info)), sim_before, "status409: edgesim never saw the put")
    proxy.add_rule("status409_after", service="s3", operation="PutObject")
    r = err(lambda: s3.put_object(Bucket="names", Key="ledger/2", Body=b"2", IfNoneMatch="*"))
    tap.ok(r == (409, "ConditionalRequestConflict") and s3.get_object(Bucket="names", Key="ledger/2")["Body"].read() == b"2",
           "boto3: status409_after is a 409, and the object was written", r)
    proxy.add_rule("lose_answer", service="s3", operation="PutObject", match="ledger/")
    r = err(lambda: s3.put_object(Bucket="names", Key="ledger/3", Body=b"3"))
    tap.ok(isinstance(r, Exception) and "Connection" in type(r).__name__, "boto3: lose_answer is a connection error",
           repr(r))
    tap.eq(s3.get_object(Bucket="names", Key="ledger/3")["Body"].read(), b"3", "lose_answer: the put happened")
    proxy.add_rule("status503", service="cloudformation", operation="DescribeStacks")
    tap.eq(err(lambda: cfn.describe_stacks()), (503, "ServiceUnavailable"), "boto3: status503 (query) parsed")
    proxy.add_rule("status500", service="codepipeline")
    tap.eq(err(lambda: client("codepipeline").list_pipelines()), (500, "InternalFailure"), "boto3: status500 (json) parsed")
    proxy.add_rule("status500", service="cloudfront")
    tap.eq(err(lambda: cf.list_distributions()), (500, "InternalError"), "boto3: status500 (CloudFront) parsed")
    proxy.add_rule("cut_body", service="cloudformation", operation="DescribeStacks")
    r = err(lambda: cfn.describe_stacks())
    tap.ok(isinstance(r, Exception) and not isinstance(r, ClientError), "boto3: cut_body is a transport error", repr(r))
    proxy.add_rule("cut_headers", service="sts")
    r = err(lambda: client("sts").get_caller_identity())
    tap.ok(isinstance(r, Exception), "boto3: cut_headers is a transport error", repr(r))
    proxy.clear()
    # The stall is far longer than the read timeout and the retry together,
    # even on a loaded machine: a retry that waited for it is told apart.
    proxy.add_rule("stall", service="sts", operation="GetCallerIdentity", seconds=15)
    t0 = time.time()
    r = err(lambda: client("sts", attempts=2, read_timeout=1).get_caller_identity())
    took = time.time() - t0
    # An earlier request's entry can land in the log after clear(): look
    # from the stalled one on.
    def from_stall():
        log = proxy.log(operation="GetCallerIdentity")
        first = next((i for i, e in enumerate(log) if e["fault"] == "stall"), len(log))
        return log[first:]
    log = from_stall()
    tap.ok(r is None and took < 12 and len(log) == 2 and log[0]["fault"] == "stall" and log[1]["fault"] is None,
           f"boto3: stall past the read timeout, the retry succeeds ({took:.1f}s)", (r, log))
    gone = simtest.wait_until(lambda: from_stall()[0]["client_gone"], timeout=20)
    tap.ok(gone, "stall: the timed-out client's answer is dropped")


def main():
    simtest.require_moto()
    tap = simtest.TAP()
    upstream = start_upstream()
    tmp = tempfile.mkdtemp(prefix="faultproxy-test.")
    procs = []
    try:
        with proxyctl.start_proxy(f"http://127.0.0.1:{upstream.server_port}",
                                  log=os.path.join(tmp, "proxy.jsonl")) as proxy:
            check_kinds(tap, proxy)
            with open(os.path.join(tmp, "proxy.jsonl")) as f:
                tap.ok(len(f.read().splitlines()) == 0, "--log FILE is emptied with the log")
        check_no_upstream(tap)
        check_naming_table(tap)
        sim, info = start_edgesim(tmp)
        procs.append(sim)
        with proxyctl.start_proxy(info["endpoint"]) as proxy:
            check_boto3(tap, proxy, info)
            rc = proxy.stop()
        tap.eq(rc, 0, "SIGTERM stops the proxy with status 0")
    except Exception:  # noqa: BLE001 - reported as a failed check
        tap.ok(False, "test script ran to the end", traceback.format_exc())
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        upstream.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
