"""Which service and operation a request is, and AWS-shaped error bodies."""

import functools
import json
import re
import urllib.parse
import uuid

import botocore.session

_session = botocore.session.get_session()

# signing name -> botocore service name, where they differ
SIGNING_TO_SERVICE = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions"}

READONLY_PREFIXES = (
    "Get", "List", "Describe", "Head", "Lookup", "Validate", "Estimate", "Search",
    "Scan", "Query", "Select", "Check", "Detect", "Preview", "Test", "Filter",
)


def is_mutating(operation):
    if not operation:
        return False
    return not operation.startswith(READONLY_PREFIXES)


@functools.lru_cache(maxsize=64)
def service_model(name):
    try:
        return _session.get_service_model(SIGNING_TO_SERVICE.get(name, name))
    except Exception:  # noqa: BLE001
        return None


def protocol_of(service):
    if service == "s3":
        return "s3"
    m = service_model(service)
    if m is None:
        return "query"
    # CloudWatch also speaks CBOR and JSON; a client may pick query (ours does)
    if "query" in (m.metadata.get("protocols") or []):
        return "query"
    return m.metadata.get("protocol", "query")


@functools.lru_cache(maxsize=64)
def _rest_matchers(service):
    m = service_model(service)
    out = []
    if m is None:
        return out
    for opname in m.operation_names:
        http = m.operation_model(opname).http
        uri = http.get("requestUri", "/")
        path, _, q = uri.partition("?")
        required = []
        for part in q.split("&") if q else []:
            k, _, v = part.partition("=")
            if k == "x-id":
                continue
            required.append((k, v or None))
        # Required query members outside the URI tell apart operations on
        # the same path: DeleteObject / AbortMultipartUpload (uploadId),
        # PutObject / UploadPart (partNumber, uploadId), GetObject / ListParts.
        shape = m.operation_model(opname).input_shape
        if shape is not None:
            for name in shape.required_members:
                ser = shape.members[name].serialization
                if ser.get("location") == "querystring":
                    key = ser.get("name", name)
                    if all(k != key for k, _ in required):
                        required.append((key, None))
        rx = "^"
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{"):
                rx += ".+" if piece.endswith("+}") else "[^/]+"
            else:
                rx += re.escape(piece)
                literal += len(piece)
        if path.endswith("/") and path != "/":
            rx += "?"
        rx += "/?$"
        deprecated = bool(m.operation_model(opname).deprecated)
        out.append((http.get("method", "GET"), re.compile(rx), tuple(required), literal, deprecated, opname))
    return out


HEADER_DISCRIMINATED = {"CopyObject": "HTTP_X_AMZ_COPY_SOURCE", "UploadPartCopy": "HTTP_X_AMZ_COPY_SOURCE"}


def rest_operation(service, method, path, query, environ=None):
    qs = urllib.parse.parse_qs(query, keep_blank_values=True)
    best = None
    for meth, rx, required, literal, deprecated, opname in _rest_matchers(service):
        if meth != method or not rx.match(path):
            continue
        need = HEADER_DISCRIMINATED.get(opname)
        if need and not (environ or {}).get(need):
            continue
        ok = all(k in qs and (v is None or v in qs[k]) for k, v in required)
        if not ok:
            continue
        # the most specific match wins (a discriminating header counts as a
        # required parameter); on a tie the current operation, not the
        # deprecated one it replaced (GetBucketLifecycleConfiguration)
        score = (len(required) + (1 if need else 0), not deprecated, literal)
        if best is None or score > best[0]:
            best = (score, opname)
    return best[1] if best else None


def operation_of(service, environ, body, path, query):
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    proto = protocol_of(service)
    if proto in ("query", "ec2"):
        params = urllib.parse.parse_qs(query)
        if not params.get("Action") and body:
            try:
                params = urllib.parse.parse_qs(body.decode("utf-8"))
            except UnicodeDecodeError:
                params = {}
        return (params.get("Action") or [None])[0]
    return rest_operation(service, environ.get("REQUEST_METHOD", "GET"), path, query, environ)


def service_from_scope(environ):
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
    if m:
        return m.group(2), m.group(1)
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    if target.startswith("CodePipeline_"):
        return "codepipeline", None
    path = environ.get("PATH_INFO", "")
    if path.startswith("/2020-05-31/"):
        return "cloudfront", None
    if path.startswith("/2015-03-31/"):
        return "lambda", None
    return "s3", None


# ---------------------------------------------------------------- errors
def _x(s):
    return (
        str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


XMLNS = {
    "cloudfront": "http://cloudfront.amazonaws.com/doc/2020-05-31/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


def error_response(service, status, code, message, extra=None, sender=True):
    """(status, headers list, body bytes) in the service's wire protocol."""
    rid = str(uuid.uuid4())
    proto = protocol_of(service)
    headers = [("x-amzn-RequestId", rid)]
    if proto == "s3":
        fields = "".join(f"<{k}>{_x(v)}</{k}>" for k, v in (extra or {}).items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{_x(code)}</Code><Message>{_x(message)}</Message>{fields}"
            f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>"
        )
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", rid)]
    elif proto in ("json",):
        body = json.dumps({"__type": code, "message": message})
        headers += [("Content-Type", "application/x-amz-json-1.1")]
    elif proto == "rest-json":
        body = json.dumps({"Type": "User" if sender else "Service", "message": message})
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    else:  # query, rest-xml
        ns = XMLNS.get(service, f"https://{service}.amazonaws.com/doc/")
        kind = "Sender" if sender else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{_x(code)}</Code>'
            f"<Message>{_x(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
        headers += [("Content-Type", "text/xml")]
    return status, headers, body.encode("utf-8")


def throttle_response(service):
    proto = protocol_of(service)
    if proto == "s3":
        return error_response(service, 503, "SlowDown", "Please reduce your request rate.", sender=False)
    if service == "lambda":
        return error_response(service, 429, "TooManyRequestsException", "Rate exceeded")
    if proto == "json":
        return error_response(service, 400, "ThrottlingException", "Rate exceeded")
    return error_response(service, 400, "Throttling", "Rate exceeded")


def server_error_response(service, status):
    if status == 503:
        code = "ServiceUnavailable" if protocol_of(service) != "s3" else "ServiceUnavailable"
        return error_response(service, 503, code, "Service is unavailable. Please try again later.", sender=False)
    code = "InternalFailure" if protocol_of(service) != "s3" else "InternalError"
    return error_response(service, status, code, "We encountered an internal error. Please try again.", sender=False)


CONFLICT_MESSAGE = "A conditional request conflicted with a concurrent operation on this object. Please retry."


def conflict_response():
    """S3's answer when conditional writes race on one key."""
    return error_response("s3", 409, "ConditionalRequestConflict", CONFLICT_MESSAGE)


_EVENTS_RX = re.compile(rb"<StackEvents>(.*?)</StackEvents>", re.S)
_MEMBER_RX = re.compile(rb"<member>(.*?)</member>", re.S)
_STATUS_RX = re.compile(rb"\s*<ResourceStatus>[^<]*</ResourceStatus>|\s*<ResourceStatus\s*/>")
_TIME_RX = re.compile(rb"<Timestamp>([^<]*)</Timestamp>")


def strip_newest_event_status(body):
    """Remove the <ResourceStatus> element of the newest event in a
    DescribeStackEvents XML answer (newest by Timestamp; on a tie the first
    listed, as AWS lists newest first). Returns (body, removed)."""
    m = _EVENTS_RX.search(body or b"")
    if not m:
        return body, False
    members = list(_MEMBER_RX.finditer(body, m.start(1), m.end(1)))
    best = None
    for mm in members:
        t = _TIME_RX.search(mm.group(1))
        stamp = t.group(1).strip() if t else b""
        if best is None or _stamp_key(stamp) > _stamp_key(best[0]):
            best = (stamp, mm)
    if best is None:
        return body, False
    mm = best[1]
    inner, n = _STATUS_RX.subn(b"", mm.group(1), count=1)
    if not n:
        return body, False
    return body[: mm.start(1)] + inner + body[mm.end(1):], True


def _stamp_key(stamp):
    import datetime

    s = stamp.decode("ascii", "replace")
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("-inf")


def malformed_body(service):
    proto = protocol_of(service)
    if proto in ("json", "rest-json"):
        return b'{"malformed": [1, 2, '
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Result><Item>unterminated'


def error_code_of(body):
    if not body:
        return None
    head = body[:4096].decode("utf-8", "replace")
    m = re.search(r"<Code>([^<]+)</Code>", head)
    if m:
        return m.group(1)
    m = re.search(r'"__type"\s*:\s*"([^"]+)"', head)
    if m:
        return m.group(1).split("#")[-1]
    return None
