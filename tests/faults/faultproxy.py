#!/usr/bin/env python3
"""faultproxy: an HTTP/1.1 forwarding proxy that breaks answers on purpose.

It sits between a client that talks plain HTTP to an AWS endpoint (edgeship
with AWS_ENDPOINT_URL pointing here) and the real upstream (edgesim), names
each request's AWS operation as edgesim's log does, and applies the rules
set on its control port: lose the answer after the side effect, reset the
connection, cut the head or the body, stall, or answer 409/500/503 itself.

  faultproxy.py --upstream http://127.0.0.1:PORT [--port 0] [--control-port 0] [--log FILE]

Prints one JSON line when ready ({"endpoint", "control", "pid", ...}) and
serves until SIGTERM/SIGINT. Loopback only. See README.md here.
"""

import argparse
import email.utils
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = (
    "pass", "lose_answer", "reset_before", "cut_headers", "cut_body", "stall",
    "status409", "status409_after", "status500", "status503",
)
# kinds that never send the request upstream
NOT_FORWARDED = ("reset_before", "status409", "status500", "status503")

MAX_HEAD = 256 * 1024
UPSTREAM_TIMEOUT = 300.0
CLIENT_IDLE_TIMEOUT = 600.0


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- HTTP messages
class Message:
    """One request or response: its raw head and body bytes as they came
    (forwarded unchanged) and the parsed parts needed to find boundaries."""

    def __init__(self):
        self.head = b""  # start line + headers + blank line, raw
        self.start = ""  # start line, decoded
        self.headers = []  # [(name, value)]
        self.raw_body = b""  # as on the wire (chunked framing kept)
        self.body = b""  # decoded
        self.until_close = False

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def tokens(self, name):
        out = set()
        for k, v in self.headers:
            if k.lower() == name.lower():
                out.update(t.strip().lower() for t in v.split(","))
        return out


def read_head(rfile):
    """Start line and headers up to the blank line; None at a clean EOF."""
    lines = []
    size = 0
    while True:
        line = rfile.readline(MAX_HEAD + 1)
        if not line:
            if lines:
                raise ProtocolError("connection closed inside a message head")
            return None
        if not lines and line in (b"\r\n", b"\n"):
            continue  # tolerated stray CRLF between messages
        size += len(line)
        if size > MAX_HEAD:
            raise ProtocolError("message head too large")
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    msg = Message()
    msg.head = b"".join(lines)
    msg.start = lines[0].decode("latin-1").rstrip("\r\n")
    for line in lines[1:-1]:
        text = line.decode("latin-1").rstrip("\r\n")
        if ":" in text:
            k, _, v = text.partition(":")
            msg.headers.append((k.strip(), v.strip()))
    return msg


def read_exact(rfile, n):
    data = rfile.read(n) if n > 0 else b""
    if len(data) < n:
        raise ProtocolError(f"connection closed after {len(data)} of {n} body bytes")
    return data


def read_chunked(rfile):
    """(raw bytes with framing and trailers, decoded body)."""
    raw, body = [], []
    while True:
        line = rfile.readline(65537)
        if not line:
            raise ProtocolError("connection closed inside a chunked body")
        raw.append(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None
        if size == 0:
            while True:  # trailers up to the blank line
                t = rfile.readline(65537)
                if not t:
                    raise ProtocolError("connection closed inside chunked trailers")
                raw.append(t)
                if t in (b"\r\n", b"\n"):
                    break
            return b"".join(raw), b"".join(body)
        data = read_exact(rfile, size)
        crlf = rfile.readline(3)
        raw += [data, crlf]
        body.append(data)


def read_body(rfile, msg, is_response, request_method=None):
    """Fill msg.raw_body/msg.body following RFC 9112's message length rules."""
    if is_response:
        code = status_of(msg)
        if request_method == "HEAD" or code in (204, 304) or 100 <= code < 200:
            return
    te = msg.tokens("transfer-encoding")
    if "chunked" in te:
        msg.raw_body, msg.body = read_chunked(rfile)
        return
    cl = msg.header("content-length")
    if cl is not None:
        try:
            n = int(cl.split(",")[0].strip())
        except ValueError:
            raise ProtocolError(f"bad Content-Length {cl!r}") from None
        msg.raw_body = msg.body = read_exact(rfile, n)
        return
    if is_response:
        msg.raw_body = msg.body = rfile.read()  # delimited by the close
        msg.until_close = True


def status_of(msg):
    try:
        return int(msg.start.split(" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def http_version(msg):
    if msg.start.startswith("HTTP/"):  # response
        return msg.start.split(" ", 1)[0]
    return msg.start.rsplit(" ", 1)[-1]


def wants_close(msg):
    conn = msg.tokens("connection")
    if "close" in conn:
        return True
    return http_version(msg) == "HTTP/1.0" and "keep-alive" not in conn


# ---------------------------------------------------------------- naming
def scope_of(req, query):
    """(service, region) from the SigV4 credential scope (header or query)."""
    auth = req.header("authorization") or ""
    m = re.search(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
    if m:
        return m.group(2), m.group(1)
    cred = (urllib.parse.parse_qs(query).get("X-Amz-Credential") or [""])[0]
    parts = cred.split("/")
    if len(parts) == 5 and parts[4] == "aws4_request":
        return parts[3], parts[2]
    return None, None


def guess_service(req, path):
    """An unsigned request: the same guess as edgesim's."""
    target = req.header("x-amz-target") or ""
    if target.startswith("CodePipeline_"):
        return "codepipeline"
    if path.startswith("/2020-05-31/"):
        return "cloudfront"
    if path.startswith("/2015-03-31/"):
        return "lambda"
    return "s3"


# Bucket subresources: query key -> {method: operation}. A configuration
# kept under an id (analytics, ...) is listed when GET has no id.
S3_BUCKET_SUB = {
    "list-type": {"GET": "ListObjectsV2"},
    "location": {"GET": "GetBucketLocation"},
    "versioning": {"GET": "GetBucketVersioning", "PUT": "PutBucketVersioning"},
    "versions": {"GET": "ListObjectVersions"},
    "uploads": {"GET": "ListMultipartUploads"},
    "delete": {"POST": "DeleteObjects"},
    "policy": {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"},
    "policyStatus": {"GET": "GetBucketPolicyStatus"},
    "tagging": {"GET": "GetBucketTagging", "PUT": "PutBucketTagging", "DELETE": "DeleteBucketTagging"},
    "acl": {"GET": "GetBucketAcl", "PUT": "PutBucketAcl"},
    "cors": {"GET": "GetBucketCors", "PUT": "PutBucketCors", "DELETE": "DeleteBucketCors"},
    "lifecycle": {"GET": "GetBucketLifecycleConfiguration", "PUT": "PutBucketLifecycleConfiguration",
                  "DELETE": "DeleteBucketLifecycle"},
    "encryption": {"GET": "GetBucketEncryption", "PUT": "PutBucketEncryption", "DELETE": "DeleteBucketEncryption"},
    "notification": {"GET": "GetBucketNotificationConfiguration", "PUT": "PutBucketNotificationConfiguration"},
    "website": {"GET": "GetBucketWebsite", "PUT": "PutBucketWebsite", "DELETE": "DeleteBucketWebsite"},
    "logging": {"GET": "GetBucketLogging", "PUT": "PutBucketLogging"},
    "replication": {"GET": "GetBucketReplication", "PUT": "PutBucketReplication", "DELETE": "DeleteBucketReplication"},
    "requestPayment": {"GET": "GetBucketRequestPayment", "PUT": "PutBucketRequestPayment"},
    "accelerate": {"GET": "GetBucketAccelerateConfiguration", "PUT": "PutBucketAccelerateConfiguration"},
    "object-lock": {"GET": "GetObjectLockConfiguration", "PUT": "PutObjectLockConfiguration"},
    "ownershipControls": {"GET": "GetBucketOwnershipControls", "PUT": "PutBucketOwnershipControls",
                          "DELETE": "DeleteBucketOwnershipControls"},
    "publicAccessBlock": {"GET": "GetPublicAccessBlock", "PUT": "PutPublicAccessBlock",
                          "DELETE": "DeletePublicAccessBlock"},
    "session": {"GET": "CreateSession"},
}
S3_BUCKET_ID_SUB = {
    "analytics": "BucketAnalyticsConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "metrics": "BucketMetricsConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
}
S3_OBJECT_SUB = {
    "tagging": {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"},
    "acl": {"GET": "GetObjectAcl", "PUT": "PutObjectAcl"},
    "attributes": {"GET": "GetObjectAttributes"},
    "retention": {"GET": "GetObjectRetention", "PUT": "PutObjectRetention"},
    "legal-hold": {"GET": "GetObjectLegalHold", "PUT": "PutObjectLegalHold"},
    "torrent": {"GET": "GetObjectTorrent"},
    "restore": {"POST": "RestoreObject"},
    "uploads": {"POST": "CreateMultipartUpload"},
    "select": {"POST": "SelectObjectContent"},
    "renameObject": {"PUT": "RenameObject"},
}
# query parameters that do not change the operation
S3_PLAIN = {
    "bucket": {"prefix", "delimiter", "marker", "max-keys", "encoding-type", "x-id"},
    "object": {"versionId", "partNumber", "x-id", "response-cache-control", "response-content-disposition",
               "response-content-encoding", "response-content-language", "response-content-type",
               "response-expires"},
}


def s3_operation(method, host, path, qs, req):
    """S3's REST routing (path-style /bucket/key, or virtual-hosted). None
    for a subresource it does not know rather than a wrong name."""
    host = host.split(":")[0]
    if ".s3." in host:
        bucket, key = host.split(".", 1)[0], path.lstrip("/")
    else:
        bucket, _, key = path.lstrip("/").partition("/")
    if qs.get("x-id"):  # botocore names the operation itself
        return qs["x-id"][0]
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    if not key:  # bucket level
        for q, ops in S3_BUCKET_SUB.items():
            if q in qs:
                return ops.get(method)
        for q, name in S3_BUCKET_ID_SUB.items():
            if q in qs:
                if method == "GET" and "id" not in qs:
                    return "List" + name + "s"
                return {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, "?") + name
        if set(qs) - S3_PLAIN["bucket"]:
            return None
        return {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket",
                "DELETE": "DeleteBucket"}.get(method)
    copy = req.header("x-amz-copy-source") is not None
    if "uploadId" in qs:
        if method == "PUT" and "partNumber" in qs:
            return "UploadPartCopy" if copy else "UploadPart"
        return {"GET": "ListParts", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}.get(method)
    for q, ops in S3_OBJECT_SUB.items():
        if q in qs:
            return ops.get(method)
    if set(qs) - S3_PLAIN["object"]:
        return None
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method)


# (method, path regex under the API version prefix, required query key or None, operation)
CLOUDFRONT_ROUTES = [
    ("POST", r"/distribution", "WithTags", "CreateDistributionWithTags"),
    ("POST", r"/distribution", None, "CreateDistribution"),
    ("GET", r"/distribution", None, "ListDistributions"),
    ("GET", r"/distribution/[^/]+", None, "GetDistribution"),
    ("DELETE", r"/distribution/[^/]+", None, "DeleteDistribution"),
    ("GET", r"/distribution/[^/]+/config", None, "GetDistributionConfig"),
    ("PUT", r"/distribution/[^/]+/config", None, "UpdateDistribution"),
    ("POST", r"/distribution/[^/]+/invalidation", None, "CreateInvalidation"),
    ("GET", r"/distribution/[^/]+/invalidation", None, "ListInvalidations"),
    ("GET", r"/distribution/[^/]+/invalidation/[^/]+", None, "GetInvalidation"),
    ("POST", r"/distribution/[^/]+/copy", None, "CopyDistribution"),
    ("GET", r"/tagging", None, "ListTagsForResource"),
    ("POST", r"/tagging", "Operation=Tag", "TagResource"),
    ("POST", r"/tagging", "Operation=Untag", "UntagResource"),
    ("POST", r"/origin-access-control", None, "CreateOriginAccessControl"),
    ("GET", r"/origin-access-control", None, "ListOriginAccessControls"),
    ("GET", r"/origin-access-control/[^/]+", None, "GetOriginAccessControl"),
    ("GET", r"/origin-access-control/[^/]+/config", None, "GetOriginAccessControlConfig"),
    ("PUT", r"/origin-access-control/[^/]+/config", None, "UpdateOriginAccessControl"),
    ("DELETE", r"/origin-access-control/[^/]+", None, "DeleteOriginAccessControl"),
    ("GET", r"/cache-policy", None, "ListCachePolicies"),
    ("GET", r"/cache-policy/[^/]+", None, "GetCachePolicy"),
    ("GET", r"/origin-request-policy", None, "ListOriginRequestPolicies"),
    ("GET", r"/origin-request-policy/[^/]+", None, "GetOriginRequestPolicy"),
    ("POST", r"/function", None, "CreateFunction"),
    ("GET", r"/function", None, "ListFunctions"),
    ("GET", r"/function/[^/]+", None, "GetFunction"),
    ("GET", r"/function/[^/]+/describe", None, "DescribeFunction"),
    ("PUT", r"/function/[^/]+", None, "UpdateFunction"),
    ("DELETE", r"/function/[^/]+", None, "DeleteFunction"),
    ("POST", r"/function/[^/]+/publish", None, "PublishFunction"),
]

LAMBDA_ROUTES = [
    ("GET", r"/functions", None, "ListFunctions"),
    ("POST", r"/functions", None, "CreateFunction"),
    ("GET", r"/functions/[^/]+", None, "GetFunction"),
    ("DELETE", r"/functions/[^/]+", None, "DeleteFunction"),
    ("GET", r"/functions/[^/]+/configuration", None, "GetFunctionConfiguration"),
    ("PUT", r"/functions/[^/]+/configuration", None, "UpdateFunctionConfiguration"),
    ("PUT", r"/functions/[^/]+/code", None, "UpdateFunctionCode"),
    ("GET", r"/functions/[^/]+/versions", None, "ListVersionsByFunction"),
    ("POST", r"/functions/[^/]+/versions", None, "PublishVersion"),
    ("GET", r"/functions/[^/]+/aliases", None, "ListAliases"),
    ("POST", r"/functions/[^/]+/aliases", None, "CreateAlias"),
    ("GET", r"/functions/[^/]+/aliases/[^/]+", None, "GetAlias"),
    ("PUT", r"/functions/[^/]+/aliases/[^/]+", None, "UpdateAlias"),
    ("DELETE", r"/functions/[^/]+/aliases/[^/]+", None, "DeleteAlias"),
    ("POST", r"/functions/[^/]+/invocations", None, "Invoke"),
    ("GET", r"/functions/[^/]+/policy", None, "GetPolicy"),
    ("POST", r"/functions/[^/]+/policy", None, "AddPermission"),
    ("DELETE", r"/functions/[^/]+/policy/[^/]+", None, "RemovePermission"),
]

REST_ROUTES = {"cloudfront": ("/2020-05-31", CLOUDFRONT_ROUTES), "lambda": ("/2015-03-31", LAMBDA_ROUTES)}


def rest_operation(service, method, path, query):
    prefix, routes = REST_ROUTES[service]
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix):].rstrip("/") or "/"
    qs = urllib.parse.parse_qs(query, keep_blank_values=True)
    for meth, rx, need, op in routes:
        if meth != method or not re.fullmatch(rx, rest):
            continue
        if need:
            k, _, v = need.partition("=")
            if k not in qs or (v and v not in qs[k]):
                continue
        return op
    return None


def identify(req, method, path, query):
    """(service, operation) as edgesim's request log names them."""
    service, _ = scope_of(req, query)
    body = req.body or b""
    if not service:
        service = guess_service(req, path)
    target = req.header("x-amz-target")
    if target:
        return service, target.split(".")[-1]
    if service in REST_ROUTES:
        return service, rest_operation(service, method, path, query)
    if service == "s3":
        return service, s3_operation(method, req.header("host") or "", urllib.parse.unquote(path),
                                     urllib.parse.parse_qs(query, keep_blank_values=True), req)
    params = urllib.parse.parse_qs(query)
    if not params.get("Action") and body:
        try:
            params = urllib.parse.parse_qs(body.decode("utf-8"))
        except UnicodeDecodeError:
            params = {}
    return service, (params.get("Action") or [None])[0]


def protocol_of(service):
    if service == "s3":
        return "s3"
    if service == "cloudfront":
        return "rest-xml"
    if service == "lambda":
        return "rest-json"
    if service in ("codepipeline", "logs", "dynamodb", "events", "kms", "secretsmanager", "ssm"):
        return "json"
    return "query"


XMLNS = {
    "cloudfront": "http://cloudfront.amazonaws.com/doc/2020-05-31/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}

CONFLICT_MESSAGE = "A conditional request conflicted with a concurrent operation on this object. Please retry."


def _x(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_answer(service, status, code, message, s3_style=False):
    """(status, headers, body) of an AWS error in the service's protocol."""
    rid = str(uuid.uuid4())
    proto = "s3" if s3_style else protocol_of(service)
    if proto == "s3":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{_x(code)}</Code><Message>{_x(message)}</Message>"
                f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>")
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", rid)]
    elif proto == "json":
        body = json.dumps({"__type": code, "message": message})
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", rid)]
    elif proto == "rest-json":
        body = json.dumps({"__type": code, "Type": "Service", "message": message})
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", code)]
    else:  # query, rest-xml
        ns = XMLNS.get(service, f"https://{service}.amazonaws.com/doc/")
        kind = "Receiver" if status >= 500 else "Sender"
        body = (f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{_x(code)}</Code>'
                f"<Message>{_x(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)]
    return status, headers, body.encode("utf-8")


def fault_answer(kind, service):
    if kind in ("status409", "status409_after"):
        return error_answer(service, 409, "ConditionalRequestConflict", CONFLICT_MESSAGE, s3_style=True)
    if kind == "status503":
        return error_answer(service, 503, "ServiceUnavailable", "Service is unavailable. Please try again later.")
    code = "InternalError" if protocol_of(service) in ("s3", "rest-xml") else "InternalFailure"
    return error_answer(service, 500, code, "We encountered an internal error. Please try again.")


def error_code_of(body):
    head = (body or b"")[:4096].decode("utf-8", "replace")
    m = re.search(r"<Code>([^<]+)</Code>", head)
    if m:
        return m.group(1)
    m = re.search(r'"__type"\s*:\s*"([^"]+)"', head)
    return m.group(1).split("#")[-1] if m else None


def render(status, headers, body, head_only, close):
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    lines = [f"HTTP/1.1 {status} {phrase}", f"Date: {email.utils.formatdate(usegmt=True)}",
             "Server: faultproxy"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


# ---------------------------------------------------------------- rules and log
class Rules:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, specs):
        """Add one rule or a list, all or none; returns the added rules."""
        made = [self.make(s) for s in (specs if isinstance(specs, list) else [specs])]
        with self.lock:
            self.rules.extend(made)
        return [dict(r) for r in made]

    @staticmethod
    def make(spec):
        if not isinstance(spec, dict):
            raise ValueError("a rule is a JSON object")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        unknown = set(spec) - {"kind", "service", "operation", "match", "skip", "count", "seconds"}
        if unknown:
            raise ValueError(f"unknown rule field(s) {', '.join(sorted(unknown))}")
        count = int(1 if spec.get("count") is None else spec["count"])
        skip = int(spec.get("skip") or 0)
        if count < 1 or skip < 0:
            raise ValueError("count must be >= 1 and skip >= 0")
        seconds = spec.get("seconds")
        rule = {
            "id": uuid.uuid4().hex[:8],
            "kind": kind,
            "service": spec.get("service") or None,
            "operation": spec.get("operation") or None,
            "match": spec.get("match") or None,
            "skip": skip,
            "count": count,
            "seconds": float(seconds) if seconds is not None else (10.0 if kind == "stall" else 0.0),
            "skip_left": skip,
            "remaining": count,
            "skipped": 0,
            "hits": 0,
        }
        for k in ("service", "operation", "match"):
            if rule[k] is not None and not isinstance(rule[k], str):
                raise ValueError(f"{k} must be a string")
        return rule

    def take(self, service, operation, haystacks):
        """The first live rule matching the request decides: while it has
        skips left the request passes untouched, then its fault applies.
        Returns (rule or None, skipped_by_rule_id or None)."""
        with self.lock:
            for rule in self.rules:
                if rule["remaining"] <= 0:
                    continue
                if rule["service"] and rule["service"] != service:
                    continue
                if rule["operation"] and rule["operation"] != operation:
                    continue
                if rule["match"] and not any(rule["match"].encode("utf-8") in h for h in haystacks):
                    continue
                if rule["skip_left"] > 0:
                    rule["skip_left"] -= 1
                    rule["skipped"] += 1
                    return None, rule["id"]
                rule["remaining"] -= 1
                rule["hits"] += 1
                return dict(rule), None
        return None, None

    def list(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def clear(self):
        with self.lock:
            self.rules = []


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        self.path = path
        if path:
            open(path, "w").close()

    def add(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
            if len(self.entries) > 100000:
                del self.entries[:50000]
            if self.path:
                with open(self.path, "a") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")

    def query(self, since=0, service=None, operation=None):
        with self.lock:
            return [e for e in self.entries if e["seq"] > since
                    and (not service or e["service"] == service)
                    and (not operation or e["operation"] == operation)]

    def clear(self):
        with self.lock:
            self.entries = []
            if self.path:
                open(self.path, "w").close()


# ---------------------------------------------------------------- the proxy
class Upstream:
    """One kept-alive connection to the upstream, per client connection."""

    def __init__(self, host, port):
        self.addr = (host, port)
        self.sock = None
        self.rfile = None

    def _fresh(self):
        try:
            self._connect()
        except OSError as e:
            self.close()
            raise UpstreamBroken(f"cannot connect to upstream: {e}", connect_failed=True) from None

    def _connect(self):
        if self.sock is not None:
            # a pooled connection the server has closed reads as EOF now
            try:
                r, _, _ = select.select([self.sock], [], [], 0)
            except (OSError, ValueError):
                r = [True]
            if not r:
                return
            self.close()
        self.sock = socket.create_connection(self.addr, timeout=UPSTREAM_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def exchange(self, req, method):
        """Send the request as received; return the final response (1xx skipped)."""
        self._fresh()
        rec = Recorder(self.rfile)
        try:
            self.sock.sendall(req.head + req.raw_body)
            while True:
                rec.buf.clear()
                resp = read_head(rec)
                if resp is None:
                    raise ProtocolError("upstream closed the connection without an answer")
                read_body(rec, resp, True, method)
                if not 100 <= status_of(resp) < 200:
                    break
        except (OSError, ProtocolError) as e:
            self.close()
            raise UpstreamBroken(f"upstream: {e}", bytes(rec.buf), isinstance(e, ConnectionResetError)) from None
        if resp.until_close or wants_close(resp):
            self.close()
        return resp

    def close(self):
        for f in (self.rfile, self.sock):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self.sock = self.rfile = None


class ClientGone(Exception):
    pass


class UpstreamBroken(Exception):
    """The upstream failed: could not connect, or closed/reset the
    connection before a whole answer (`partial` holds what did arrive)."""

    def __init__(self, why, partial=b"", reset=False, connect_failed=False):
        super().__init__(why)
        self.partial = partial
        self.reset = reset
        self.connect_failed = connect_failed


class Recorder:
    """Reads through a buffered file and keeps every byte read."""

    def __init__(self, f):
        self.f = f
        self.buf = bytearray()

    def readline(self, n=-1):
        d = self.f.readline(n)
        self.buf += d
        return d

    def read(self, n=-1):
        d = self.f.read(n)
        self.buf += d
        return d


class Connection:
    def __init__(self, proxy, sock):
        self.proxy = proxy
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.upstream = Upstream(*proxy.upstream)
        self.closed = False
        self.entry = None  # the log entry of the request being answered
        self.t0 = 0.0

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ClientGone(str(e)) from None

    def log_entry(self):
        """Add the current request's entry to the log, once. Called before the
        client's connection is closed, so a client that has seen the close
        always finds the entry."""
        if self.entry is not None:
            self.entry["duration_ms"] = int((time.time() - self.t0) * 1000)
            self.proxy.log.add(self.entry)
            self.entry = None

    def close(self, reset=False):
        if self.closed:
            return
        self.closed = True
        self.log_entry()
        try:
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for f in (self.rfile, self.sock):
            try:
                f.close()
            except OSError:
                pass
        self.upstream.close()

    def gone_within(self, seconds):
        """Wait `seconds`; True as soon as the client closes its end."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            try:
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return False
                if not self.sock.recv(1, socket.MSG_PEEK):
                    return True
            except OSError:
                return True
            # the client sent more (a pipelined request): just wait out the time
            time.sleep(max(0.0, end - time.monotonic()))
            return False

    def serve(self):
        try:
            self.sock.settimeout(CLIENT_IDLE_TIMEOUT)
            while not self.closed:
                if not self.one():
                    break
        except (ClientGone, ProtocolError, OSError):
            pass
        except Exception as e:  # noqa: BLE001 - one connection's bug must not stop the proxy
            sys.stderr.write(f"faultproxy: connection failed: {type(e).__name__}: {e}\n")
        finally:
            self.close()

    def one(self):
        """Handle one request; False when the connection is to be closed."""
        req = read_head(self.rfile)
        if req is None:
            return False
        parts = req.start.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.send(render(400, [("Content-Type", "text/plain")], b"bad request line\n", False, True))
            return False
        method, target, _ = parts
        if "100-continue" in req.tokens("expect"):
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        read_body(self.rfile, req, False)
        t0 = time.time()
        raw_target = target
        if "://" in raw_target:  # absolute-form
            raw_target = "/" + raw_target.split("://", 1)[1].partition("/")[2]
        path, _, query = raw_target.partition("?")
        service, operation = identify(req, method, path, query)
        line = req.start.encode("latin-1")
        haystacks = (line, urllib.parse.unquote_to_bytes(line), req.body)
        rule, skipped_by = self.proxy.rules.take(service, operation, [h for h in haystacks if h])
        kind = rule["kind"] if rule else None
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + f".{int(t0 * 1000) % 1000:03d}Z",
            "ts": round(t0, 3), "service": service, "operation": operation, "method": method,
            "path": path, "query": query, "fault": kind, "rule": rule["id"] if rule else None,
            "skipped_by": skipped_by, "forwarded": False, "status": 0, "upstream_status": None,
            "sent": 0, "client_gone": False, "error": None, "error_code": None,
        }
        close_after = wants_close(req)
        keep = False
        self.entry, self.t0 = entry, t0
        try:
            keep = self._apply(req, method, service, kind, rule, entry, close_after)
        except ClientGone:
            entry["client_gone"] = True
            keep = False
        finally:
            self.log_entry()
        return keep

    def _send_counted(self, entry, data):
        self.send(data)
        entry["sent"] += len(data)

    def _apply(self, req, method, service, kind, rule, entry, close_after):
        head_only = method == "HEAD"
        if kind == "reset_before":
            self.close(reset=True)
            return False
        if kind in ("status409", "status500", "status503"):
            status, headers, body = fault_answer(kind, service)
            entry["status"], entry["error_code"] = status, error_code_of(body)
            self._send_counted(entry, render(status, headers, body, head_only, close_after))
            return not close_after
        try:
            resp = self.upstream.exchange(req, method)
        except UpstreamBroken as e:
            entry["error"] = str(e)
            if e.connect_failed:
                entry["status"] = 502
                self._send_counted(entry, render(502, [("Content-Type", "text/plain")],
                                                 f"faultproxy: {e}\n".encode(), head_only, True))
                return False
            # pass on what the upstream did: the bytes it sent, then its close or reset
            entry["forwarded"] = True
            if e.partial:
                m = re.match(rb"HTTP/1\.[01] (\d{3})", e.partial)
                entry["status"] = entry["upstream_status"] = int(m.group(1)) if m else 0
                self._send_counted(entry, e.partial)
            self.close(reset=e.reset)
            return False
        entry["forwarded"] = True
        entry["upstream_status"] = status_of(resp)
        if kind == "lose_answer":
            self.close()
            return False
        if kind == "cut_headers":
            head = resp.head.rstrip(b"\r\n")
            first = head.find(b"\r\n")
            first = len(head) if first < 0 else first + 2
            cut = max(first, len(head) // 2)
            entry["status"] = status_of(resp)
            self._send_counted(entry, head[:cut])
            self.close()
            return False
        if kind == "cut_body":
            entry["status"] = status_of(resp)
            self._send_counted(entry, resp.head + resp.raw_body[: len(resp.raw_body) // 2])
            self.close()
            return False
        if kind == "status409_after":
            status, headers, body = fault_answer(kind, service)
            entry["status"], entry["error_code"] = status, error_code_of(body)
            self._send_counted(entry, render(status, headers, body, head_only, close_after))
            return not close_after
        if kind == "stall":
            if self.gone_within(rule["seconds"]):
                entry["client_gone"] = True
                self.close()
                return False
        entry["status"] = status_of(resp)
        if entry["status"] >= 400:
            entry["error_code"] = error_code_of(resp.body)
        self._send_counted(entry, resp.head + resp.raw_body)
        if close_after or resp.until_close or wants_close(resp):
            self.close()
            return False
        return True


class Proxy:
    def __init__(self, upstream, port, log_path):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"--upstream must be http://host:port, not {upstream!r}")
        self.upstream = (u.hostname, u.port or 80)
        self.rules = Rules()
        self.log = Log(log_path)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.stopping = False

    def serve_forever(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                if self.stopping:
                    return
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(self, sock)
            threading.Thread(target=conn.serve, daemon=True, name="conn").start()

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass


# ---------------------------------------------------------------- control
def control_handler(proxy, info):
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "faultproxy-control"

        def log_message(self, *args):
            pass

        def _reply(self, status, obj):
            data = json.dumps(obj, indent=1).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method):
            u = urllib.parse.urlsplit(self.path)
            path = u.path.rstrip("/") or "/"
            qs = urllib.parse.parse_qs(u.query)
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                body = json.loads(raw) if raw else None
                if path in ("/", "/info") and method == "GET":
                    return self._reply(200, info)
                if path == "/rules":
                    if method == "GET":
                        return self._reply(200, {"rules": proxy.rules.list()})
                    if method == "POST":
                        return self._reply(200, {"added": proxy.rules.add(body)})
                    if method == "DELETE":
                        proxy.rules.clear()
                        return self._reply(200, {"cleared": True})
                if path == "/log":
                    if method == "GET":
                        since = int((qs.get("since") or ["0"])[0])
                        entries = proxy.log.query(since, (qs.get("service") or [None])[0],
                                                  (qs.get("operation") or [None])[0])
                        return self._reply(200, {"entries": entries, "last": proxy.log.seq})
                    if method == "DELETE":
                        proxy.log.clear()
                        return self._reply(200, {"cleared": True})
                return self._reply(404, {"error": f"no such control path {method} {path}"})
            except (ValueError, TypeError, KeyError) as e:
                return self._reply(400, {"error": str(e)})

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

        def do_DELETE(self):
            self._route("DELETE")

    return Control


def main(argv=None):
    p = argparse.ArgumentParser(prog="faultproxy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="the endpoint to forward to, http://127.0.0.1:PORT")
    p.add_argument("--port", type=int, default=0, help="proxy port (default: a free one)")
    p.add_argument("--control-port", type=int, default=0, help="control port (default: a free one)")
    p.add_argument("--log", help="also write the request log to FILE as JSON lines")
    a = p.parse_args(argv)
    try:
        proxy = Proxy(a.upstream, a.port, a.log)
    except (ValueError, OSError) as e:
        sys.stderr.write(f"faultproxy: {e}\n")
        return 2
    info = {}
    ctl = ThreadingHTTPServer(("127.0.0.1", a.control_port), control_handler(proxy, info))
    ctl.daemon_threads = True
    info.update(endpoint=f"http://127.0.0.1:{proxy.port}", control=f"http://127.0.0.1:{ctl.server_port}",
                pid=os.getpid(), upstream=a.upstream, log=a.log, kinds=list(KINDS))
    threading.Thread(target=proxy.serve_forever, daemon=True, name="proxy").start()
    threading.Thread(target=ctl.serve_forever, daemon=True, name="control").start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    proxy.stop()
    ctl.shutdown()
    ctl.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
