"""The front door of the AWS endpoint: signature check, fault injection,
request log, CodePipeline executions, then moto's own dispatcher."""

import email.utils
import io
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
import uuid

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from . import accounts, lambda_ext, pipeline_ext, protocol, sigv4
from .state import ACCOUNT_ID, SIM

FAULT_KINDS = (
    "throttle", "error500", "error503", "reset", "delay", "truncate", "malformed", "clock",
    "conflict", "conflict_after", "event_no_status",
)

# Kinds that only make sense for one service (and, for event_no_status, one
# operation): a rule without a service gets it; another service is refused.
KIND_SCOPE = {
    "conflict": ("s3", None),
    "conflict_after": ("s3", None),
    "event_no_status": ("cloudformation", "DescribeStackEvents"),
}


class Faults:
    """Rules: for the next `count` requests matching service/operation, do kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        # Requests waiting out a delay; POST /faults/release ends every
        # wait under way (a test that holds a request until it is done).
        self.released = threading.Condition()
        self.releases = 0

    def wait_delay(self, seconds):
        """Wait seconds, or until release() is called meanwhile."""
        with self.released:
            start = self.releases
            self.released.wait_for(lambda: self.releases != start, timeout=seconds)

    def release(self):
        with self.released:
            self.releases += 1
            self.released.notify_all()

    def add(self, kind, service=None, operation=None, count=1, seconds=0.0):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if kind == "clock":
            SIM.clock_offset = float(seconds)
            return {"kind": "clock", "seconds": float(seconds)}
        if kind in KIND_SCOPE:
            want_service, want_operation = KIND_SCOPE[kind]
            if service and service != want_service:
                raise ValueError(f"fault kind {kind!r} applies to {want_service} only")
            if want_operation and operation and operation != want_operation:
                raise ValueError(f"fault kind {kind!r} applies to {want_operation} only")
            service = want_service
            operation = want_operation or operation
        rule = {
            "id": uuid.uuid4().hex[:8],
            "kind": kind,
            "service": service or None,
            "operation": operation or None,
            "remaining": int(count),
            "seconds": float(seconds or 0),
            "hits": 0,
        }
        with self.lock:
            self.rules.append(rule)
        return dict(rule)

    def take(self, service, operation):
        with self.lock:
            for rule in self.rules:
                if rule["remaining"] <= 0:
                    continue
                if rule["service"] and rule["service"] != service:
                    continue
                if rule["operation"] and rule["operation"] != operation:
                    continue
                if rule["kind"] in ("conflict", "conflict_after") and not rule["operation"] \
                        and not protocol.is_mutating(operation):
                    continue  # without an operation: S3 writes only, never reads
                rule["remaining"] -= 1
                rule["hits"] += 1
                return dict(rule)
        return None

    def list(self):
        with self.lock:
            return [dict(r) for r in self.rules if r["remaining"] > 0]

    def clear(self):
        with self.lock:
            self.rules = []
        SIM.clock_offset = 0.0


class RequestLog:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        if path:
            open(path, "w").close()

    def add(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
            if len(self.entries) > 200000:
                del self.entries[:100000]
            if self.path:
                with open(self.path, "a") as f:
                    f.write(json.dumps(entry, sort_keys=True) + "\n")

    def query(self, since=0, service=None, operation=None):
        with self.lock:
            return [
                e
                for e in self.entries
                if e["seq"] > since
                and (not service or e["service"] == service)
                and (not operation or e["operation"] == operation)
            ]

    def clear(self):
        with self.lock:
            self.entries = []
            if self.path:
                open(self.path, "w").close()


# sockets to close (or reset) once the current response is done
_CLOSE = {}
_CLOSE_LOCK = threading.Lock()


def _mark(environ, how):
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with _CLOSE_LOCK:
            _CLOSE[id(sock)] = how


class Handler(WSGIRequestHandler):
    def handle_one_request(self):
        super().handle_one_request()
        with _CLOSE_LOCK:
            how = _CLOSE.get(id(self.connection))
        if how:
            self.close_connection = True

    def connection_dropped(self, error, environ=None):
        pass

    def date_time_string(self, timestamp=None):
        # The Date header follows the simulated server clock (clock faults).
        return _http_date()

    def version_string(self):
        return "edgesim"

    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, *args):
        pass


class Server(ThreadedWSGIServer):
    daemon_threads = True

    def shutdown_request(self, request):
        with _CLOSE_LOCK:
            how = _CLOSE.pop(id(request), None)
        if how == "reset":
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_request(request)
            return
        super().shutdown_request(request)


class ResetNow(ConnectionResetError):
    pass


def make_server(port, app):
    srv = Server("127.0.0.1", port, app, handler=Handler)
    return srv


def _http_date():
    return email.utils.formatdate(SIM.server_time(), usegmt=True)


class InFlight:
    """Conditional S3 writes being handled, by (bucket, key). A second
    conditional write on a key already in flight is a conflict (409), as S3
    answers when conditional requests race."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = set()

    def enter(self, key):
        """True if this request now owns the key, False if one is in flight."""
        with self.lock:
            if key in self.keys:
                return False
            self.keys.add(key)
            return True

    def leave(self, key):
        with self.lock:
            self.keys.discard(key)


def conditional_put_key(environ, operation, path):
    """(bucket, key) of a PutObject carrying If-None-Match: * or If-Match, else None."""
    if operation != "PutObject":
        return None
    if environ.get("HTTP_IF_NONE_MATCH", "").strip() != "*" and not environ.get("HTTP_IF_MATCH"):
        return None
    parts = path.lstrip("/").split("/", 1)
    host = (environ.get("HTTP_HOST") or "").split(":")[0]
    if ".s3." in host:
        # virtual-hosted style: the bucket is the first label of Host
        return host.split(".", 1)[0], urllib.parse.unquote(path.lstrip("/"))
    if len(parts) < 2 or not parts[1]:
        return None
    return parts[0], urllib.parse.unquote(parts[1])


class Gateway:
    def __init__(self, moto_app, keys, log, faults):
        self.moto_app = moto_app
        self.keys = keys
        self.log = log
        self.faults = faults
        self.inflight = InFlight()

    def _read_body(self, environ):
        inp = environ.get("wsgi.input")
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        if n > 0:
            body = inp.read(n)
        elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
            body = inp.read() if inp is not None else b""
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def __call__(self, environ, start_response):
        t0 = time.time()
        body = self._read_body(environ)
        path, query = sigv4.raw_path_and_query(environ)
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.moto_app(environ, start_response)
        service, region = protocol.service_from_scope(environ)
        region = region or SIM.region
        operation = protocol.operation_of(service, environ, body, path, query)
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + f".{int(t0 * 1000) % 1000:03d}Z",
            "ts": round(t0, 3),
            "service": service,
            "operation": operation,
            "method": environ.get("REQUEST_METHOD"),
            "path": path,
            "query": query,
            "mutating": protocol.is_mutating(operation),
            "fault": None,
            "access_key_id": None,
        }
        fault = self.faults.take(service, operation)
        if fault:
            entry["fault"] = fault["kind"]
        # A conditional PutObject holds its key from arrival (before any
        # injected delay) to its answer; one arriving meanwhile conflicts.
        cond_key = conditional_put_key(environ, operation, path) if service == "s3" else None
        owner = cond_key is not None and self.inflight.enter(cond_key)
        try:
            return self._handle(environ, start_response, t0, entry, body, service, region, operation,
                                fault, cond_key is not None and not owner)
        finally:
            if owner:
                self.inflight.leave(cond_key)

    def _handle(self, environ, start_response, t0, entry, body, service, region, operation, fault, raced):
        kind = fault["kind"] if fault else None
        status, headers, out = None, None, b""
        try:
            if fault and fault["kind"] == "delay":
                self.faults.wait_delay(fault["seconds"])
            if fault and fault["kind"] == "reset":
                entry["status"] = 0
                _mark(environ, "reset")
                raise ResetNow("injected reset")
            akid = None
            if SIM.verify_signatures:
                try:
                    akid, _, _ = sigv4.verify(environ, body, self.keys)
                except sigv4.AuthFailure as e:
                    status, headers, out = protocol.error_response(service, e.status, e.code, e.message, e.extra)
            entry["access_key_id"] = akid
            if status is None and (raced or kind == "conflict"):
                status, headers, out = protocol.conflict_response()
            if status is None and fault and fault["kind"] == "throttle":
                status, headers, out = protocol.throttle_response(service)
            elif status is None and fault and fault["kind"] in ("error500", "error503"):
                status, headers, out = protocol.server_error_response(service, int(fault["kind"][-3:]))
            if status is None:
                refused = accounts.check(environ, body, service, region, operation, akid,
                                         sigv4.raw_path_and_query(environ)[0])
                if refused:
                    status, headers, out = refused
            if status is None and service == "codepipeline" and operation in pipeline_ext.OPS:
                status, headers, out = self._pipeline(operation, body, region, akid)
            if status is None and service == "lambda" and _is_invoke(environ):
                status, headers, out = self._invoke(environ, body, region)
            if status is None:
                status, headers, out = self._moto(environ)
                if kind == "conflict_after" and status < 300:
                    # the write happened; the answer says it conflicted
                    status, headers, out = protocol.conflict_response()
                elif kind == "event_no_status" and status == 200:
                    out, _ = protocol.strip_newest_event_status(out)
            if fault and fault["kind"] == "malformed":
                out = protocol.malformed_body(service)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                if status >= 400:
                    status = 200
            truncate_to = None
            if fault and fault["kind"] == "truncate":
                truncate_to = len(out) // 2
                _mark(environ, "close")
        except ResetNow:
            self._finish(entry, t0, 0, b"")
            raise
        headers = [(k, v) for k, v in headers if k.lower() not in ("date", "server")]
        if truncate_to is not None:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(out))))
            out = out[:truncate_to]
        else:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            if environ.get("REQUEST_METHOD") != "HEAD" or out:
                headers.append(("Content-Length", str(len(out))))
        self._finish(entry, t0, status, out)
        start_response(f"{status} {_reason(status)}", headers)
        return [out]

    def _finish(self, entry, t0, status, out):
        entry["status"] = status
        entry["duration_ms"] = int((time.time() - t0) * 1000)
        if status >= 400:
            entry["error_code"] = protocol.error_code_of(out)
        self.log.add(entry)

    def _moto(self, environ):
        captured = {}

        def sr(status_line, headers, exc_info=None):
            captured["status"] = int(status_line.split(" ", 1)[0])
            captured["headers"] = list(headers)
            return lambda data: None

        with SIM.lock:
            result = self.moto_app(environ, sr)
            try:
                out = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        return captured["status"], captured["headers"], out

    def _pipeline(self, operation, body, region, akid):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return protocol.error_response("codepipeline", 400, "SerializationException", "malformed JSON")
        caller = f"arn:aws:iam::{ACCOUNT_ID}:user/{akid or 'anonymous'}"
        try:
            with SIM.lock:
                result = pipeline_ext.OPS[operation](ACCOUNT_ID, region, req, caller)
        except pipeline_ext.PipelineError as e:
            return protocol.error_response("codepipeline", 400, e.code, e.message)
        data = json.dumps(result).encode()
        return 200, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))], data


    def _invoke(self, environ, body, region):
        hdrs = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            return lambda_ext.invoke_api(ACCOUNT_ID, region or SIM.region, environ.get("PATH_INFO", ""),
                                         environ.get("QUERY_STRING", ""), body, hdrs)
        except lambda_ext.LambdaError as e:
            return protocol.error_response("lambda", e.status, e.code, e.message)


def _is_invoke(environ):
    parts = environ.get("PATH_INFO", "").split("/")
    return (environ.get("REQUEST_METHOD") == "POST" and len(parts) == 5 and parts[1] == "2015-03-31"
            and parts[2] == "functions" and parts[4] == "invocations")


def _reason(status):
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
