"""The edge fleet: one HTTP listener per simulated edge location.

Each edge serves a distribution (found by Host: its domain or an alias) with
the configuration generation that has reached it (cloudfront_ext), runs the
associated viewer-request / origin-request Lambda@Edge handler from the
published version's zip with node, falls back to a fixed origin response,
and caches per edge honouring the TTLs and invalidations.
"""

import base64
import fnmatch
import hashlib
import io
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
import zipfile

from moto.awslambda.models import lambda_backends

from . import cloudfront_ext, gateway
from .state import EDGE_POPS, SIM

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "edge_runner.js")
_code_lock = threading.Lock()


def _code_dir(code_bytes):
    digest = hashlib.sha256(code_bytes).hexdigest()
    root = os.path.join(SIM.state_dir or tempfile.gettempdir(), "code")
    d = os.path.join(root, digest)
    with _code_lock:
        if not os.path.isdir(d):
            tmp = d + ".tmp"
            os.makedirs(tmp, exist_ok=True)
            with zipfile.ZipFile(io.BytesIO(code_bytes)) as z:
                z.extractall(tmp)
            os.rename(tmp, d)
    return d


def _function(arn):
    # arn:aws:lambda:REGION:ACCOUNT:function:NAME:VERSION
    parts = arn.split(":")
    region, acct, name, version = parts[3], parts[4], parts[6], parts[7]
    with SIM.lock:
        fn = lambda_backends[acct][region].get_function(name, version)
        return {
            "code": fn.code_bytes,
            "handler": fn.handler,
            "timeout": min(int(fn.timeout or 5), 30),
            "name": name,
            "version": str(fn.version),
        }


def invoke(arn, event):
    fn = _function(arn)
    if not fn["code"]:
        return None, "the function package is empty"
    code_dir = _code_dir(fn["code"])
    env = dict(os.environ)
    env.update(
        EDGESIM_FUNCTION_NAME=f"us-east-1.{fn['name']}",
        EDGESIM_FUNCTION_VERSION=fn["version"],
        EDGESIM_FUNCTION_ARN=arn,
    )
    try:
        p = subprocess.run(
            [SIM.node, RUNNER, code_dir, fn["handler"], str(fn["timeout"])],
            input=json.dumps(event).encode(),
            capture_output=True,
            timeout=fn["timeout"] + 5,
            env=env,
        )
        res = json.loads(p.stdout.decode() or "{}")
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return None, f"runner failed: {e}"
    if not res.get("ok"):
        return None, res.get("error") or p.stderr.decode()[-2000:]
    return res.get("result"), None


def _headers_in(environ):
    out = {}
    for k, v in environ.items():
        if k.startswith("HTTP_"):
            name = k[5:].replace("_", "-").lower()
            out[name] = [{"key": name.title(), "value": v}]
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = [{"key": "Content-Type", "value": environ["CONTENT_TYPE"]}]
    return out


def _event(snap, event_type, request, request_id):
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": snap["domain"],
                        "distributionId": snap["id"],
                        "eventType": event_type,
                        "requestId": request_id,
                    },
                    "request": request,
                }
            }
        ]
    }


def _response_from_lambda(res):
    status = int(res.get("status", 200))
    headers = []
    for lname, values in (res.get("headers") or {}).items():
        for v in values:
            headers.append((v.get("key") or lname, str(v.get("value", ""))))
    body = res.get("body") or ""
    if res.get("bodyEncoding") == "base64":
        data = base64.b64decode(body)
    else:
        data = body.encode("utf-8")
    return status, headers, data


def _ttl(beh, headers):
    for k, v in headers:
        if k.lower() == "cache-control":
            for part in v.split(","):
                part = part.strip().lower()
                if part.startswith("s-maxage=") or part.startswith("max-age="):
                    try:
                        ttl = int(part.split("=", 1)[1])
                    except ValueError:
                        continue
                    return max(beh["min_ttl"], min(ttl, beh["max_ttl"]))
                if part in ("no-store", "no-cache", "private"):
                    return beh["min_ttl"]
    return beh["default_ttl"]


def _error_page(status, reason, pop, cfid):
    body = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n'
        f"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n"
        f"<H1>{status} ERROR</H1><H2>The request could not be satisfied.</H2><HR noshade size=\"1px\">\n"
        f"{reason}\n<BR clear=\"all\"><HR noshade size=\"1px\"><PRE>\nGenerated by cloudfront (CloudFront)\n"
        f"Request ID: {cfid}\n</PRE></BODY></HTML>"
    )
    return body.encode()


class Edge:
    def __init__(self, index, code, pop):
        self.index = index
        self.code = code
        self.pop = pop
        self.cache = {}
        self.cache_lock = threading.Lock()
        self.server = None
        self.url = None

    def start(self):
        self.server = gateway.make_server(0, self)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name=f"edge-{self.code}").start()

    def _find(self, host):
        """The distribution this edge serves for Host, by its active
        generation. A staging distribution is never found by its own
        domain: CloudFront gives no direct access to staging."""
        with SIM.lock:
            for dist in cloudfront_ext.all_distributions():
                gen = cloudfront_ext.active_generation(dist.distribution_id, self.index)
                if gen is None or gen.snapshot.get("staging"):
                    continue
                snap = gen.snapshot
                if host == snap["domain"] or host in [a.lower() for a in snap["aliases"]]:
                    return dist.distribution_id, gen
        return None, None

    def __call__(self, environ, start_response):
        """Find the distribution, decide once whether its staging
        distribution serves this request (ROUTER), then serve. The decision
        is kept in environ["edgesim.served"] for the metrics; every answer
        carries X-Edgesim-Distribution with the id that served."""
        host = (environ.get("HTTP_HOST") or "").split(":")[0].lower()
        dist_id, gen = self._find(host)
        added = []
        if gen is not None and ROUTER is not None:
            dist_id, gen, added = ROUTER(self, environ, dist_id, gen)
        environ["edgesim.served"] = dist_id if gen is not None else None
        if dist_id and gen is not None:
            added = [("X-Edgesim-Distribution", dist_id)] + list(added)

        def sr(status_line, headers, exc_info=None):
            headers = list(headers) + added
            return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

        return self._serve(environ, sr, dist_id, gen)

    def _serve(self, environ, start_response, dist_id, gen):
        cfid = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()[:56]
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING", "")
        base = [
            ("X-Amz-Cf-Pop", self.pop),
            ("X-Amz-Cf-Id", cfid),
            ("Via", f"1.1 {secrets.token_hex(16)}.cloudfront.net (CloudFront)"),
            ("Server", "CloudFront"),
        ]
        if gen is None or not gen.snapshot["enabled"]:
            body = _error_page(403, "Bad request. We can't connect to the server for this app or website at this time.", self.pop, cfid)
            start_response("403 Forbidden", [("Content-Type", "text/html"), ("X-Cache", "Error from cloudfront")] + base)
            return [body]
        snap = gen.snapshot
        beh = snap["default"]
        for b in snap["behaviours"]:
            if fnmatch.fnmatchcase(path, b["path"]) or fnmatch.fnmatchcase(path.lstrip("/"), b["path"].lstrip("/")):
                beh = b
                break
        extra = [("X-Edgesim-Generation", str(gen.number))]
        request = {
            "clientIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
            "headers": _headers_in(environ),
            "method": method,
            "querystring": query,
            "uri": path,
        }
        # viewer-request runs on every request, before the cache
        vr = beh["lambdas"].get("viewer-request")
        if vr:
            res, err = invoke(vr, _event(snap, "viewer-request", request, cfid))
            if err:
                return self._lambda_error(start_response, base, extra, cfid, vr, err)
            if res and "status" in res:
                status, headers, data = _response_from_lambda(res)
                start_response(f"{status} {gateway._reason(status)}", headers + [("X-Cache", "LambdaGeneratedResponse from cloudfront")] + base + extra)
                return [data]
            if res:
                request = res
        key = (dist_id, request.get("uri", path) + ("?" + request.get("querystring", "") if beh["query"] else ""))
        now = SIM.now()
        with self.cache_lock:
            hit = self.cache.get(key)
        if hit and method in ("GET", "HEAD"):
            stored_at, ttl, status, headers, data, fn_arn = hit
            fresh = CACHE["pinned"] or now - stored_at < ttl
            if fresh and not cloudfront_ext.invalidated_since(dist_id, self.index, request.get("uri", path), stored_at, now):
                age = int(now - stored_at)
                hdrs = headers + [("Age", str(age)), ("X-Cache", "Hit from cloudfront")] + base + extra
                if fn_arn:
                    hdrs.append(("X-Edgesim-Function", fn_arn))
                start_response(f"{status} {gateway._reason(status)}", hdrs)
                return [b"" if method == "HEAD" else data]
        origin_req = beh["lambdas"].get("origin-request")
        x_cache = "Miss from cloudfront"
        fn_arn = None
        if origin_req:
            oreq = dict(request)
            oreq["origin"] = {
                "custom": {
                    "customHeaders": {},
                    "domainName": snap["origin"],
                    "keepaliveTimeout": 5,
                    "path": "",
                    "port": 443,
                    "protocol": "https",
                    "readTimeout": 30,
                    "sslProtocols": ["TLSv1.2"],
                }
            }
            oreq["headers"] = dict(oreq["headers"])
            oreq["headers"]["host"] = [{"key": "Host", "value": snap["origin"]}]
            res, err = invoke(origin_req, _event(snap, "origin-request", oreq, cfid))
            if err:
                return self._lambda_error(start_response, base, extra, cfid, origin_req, err)
            fn_arn = origin_req
            if res and "status" in res:
                status, headers, data = _response_from_lambda(res)
                x_cache = "LambdaGeneratedResponse from cloudfront"
            else:
                status, headers, data = self._origin(snap, res or oreq)
        else:
            status, headers, data = self._origin(snap, request)
        if method in ("GET", "HEAD") and status < 400:
            ttl = _ttl(beh, headers)
            if ttl > 0:
                with self.cache_lock:
                    self.cache[key] = (now, ttl, status, headers, data, fn_arn)
        hdrs = headers + [("X-Cache", x_cache)] + base + extra
        if fn_arn:
            hdrs.append(("X-Edgesim-Function", fn_arn))
        start_response(f"{status} {gateway._reason(status)}", hdrs)
        return [b"" if method == "HEAD" else data]

    def _origin(self, snap, request):
        body = f"origin {snap['origin']} answered {request.get('uri', '/')}\n".encode()
        return 200, [("Content-Type", "text/plain"), ("X-Edgesim-Origin", snap["origin"])], body

    def _lambda_error(self, start_response, base, extra, cfid, arn, err):
        SIM_LOG.append({"time": time.time(), "pop": self.pop, "function": arn, "error": err[-500:]})
        body = _error_page(
            503,
            "The Lambda function associated with the CloudFront distribution is invalid or doesn't have the required permissions.",
            self.pop,
            cfid,
        )
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "text/html"), ("X-Cache", "LambdaExecutionError from cloudfront"), ("X-Edgesim-Function", arn)]
            + base
            + extra,
        )
        return [body]

    def flush(self):
        with self.cache_lock:
            n = len(self.cache)
            self.cache.clear()
        return n

    def describe(self):
        now = SIM.now()
        with self.cache_lock:
            cached = [
                {"distribution": k[0], "key": k[1], "age": int(now - v[0]), "ttl": v[1],
                 "status": v[2], "function": v[5],
                 "invalidated": cloudfront_ext.invalidated_since(k[0], self.index, k[1].split("?")[0], v[0], now)}
                for k, v in self.cache.items()
            ]
        out = {"pop": self.pop, "code": self.code, "url": self.url, "distributions": {}, "cache": cached}
        with SIM.lock:
            for dist in cloudfront_ext.all_distributions():
                gen = cloudfront_ext.active_generation(dist.distribution_id, self.index)
                if gen is not None:
                    out["distributions"][dist.distribution_id] = {
                        "generation": gen.number,
                        "origin_request": gen.snapshot["default"]["lambdas"].get("origin-request"),
                    }
        return out


SIM_LOG = []  # Lambda@Edge errors, newest last (control: GET /edges)

# Set by cd_ext: ROUTER(edge, environ, dist_id, gen) -> (dist_id, gen,
# [extra headers]) picks the distribution that serves a request (the
# primary or its staging distribution), once per request.
ROUTER = None

# POST /edges/cache {"pin": true}: cached objects stop expiring (only an
# invalidation or a flush removes them), so a test that needs an edge to
# answer from cache does not race the TTL.
CACHE = {"pinned": False}


def cache_control(body, method):
    if method == "DELETE":
        return {"flushed": sum(e.flush() for e in SIM.edges), "pinned": CACHE["pinned"]}
    if "pin" in body:
        CACHE["pinned"] = bool(body["pin"])
    return {"pinned": CACHE["pinned"]}


def start_fleet(count):
    pops = (EDGE_POPS * ((count // len(EDGE_POPS)) + 1))[:count]
    edges = []
    for i, (code, pop) in enumerate(pops):
        e = Edge(i, code, pop)
        e.start()
        edges.append(e)
    SIM.edges = edges
    return edges
