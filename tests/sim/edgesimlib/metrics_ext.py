"""CloudWatch metrics and logs computed from the edge fleet's real traffic,
and a traffic generator.

Every request an edge answers is recorded (time, distribution, edge,
status, the Lambda@Edge function that ran and whether it threw). moto's
CloudWatch GetMetricData then answers for:

- AWS/CloudFront (us-east-1, dimensions DistributionId + Region=Global):
  Requests (Sum), 4xxErrorRate / 5xxErrorRate / TotalErrorRate (Average,
  percent of the period's requests), LambdaExecutionError,
  LambdaValidationError and LambdaLimitExceededErrors (Sum; the simulated
  Lambda never throttles, so the last is 0);
- AWS/Lambda in the region an edge reports to (dimension FunctionName =
  us-east-1.NAME): Invocations, Errors, Throttles (Sum), Duration (Average).

Values come in buckets of max(Period, metric_period) seconds, aligned to the
epoch; a bucket is answered once it has ended (CloudWatch publishes a period
after it closes) and only when it saw requests (empty periods are absent).
Other namespaces go to moto's own PutMetricData store.

A handler that returns an invalid response (a status that is not a 3-digit
HTTP status, a body over CloudFront's size limit, a body or bodyEncoding of
the wrong kind) gets 502 `LambdaValidationError from cloudfront`, as
CloudFront answers, and counts as LambdaValidationError.

A handler that throws also writes its error to CloudWatch Logs in the edge's
region, group /aws/lambda/us-east-1.NAME, as Lambda@Edge does, so moto's
FilterLogEvents finds it.

Traffic: POST /traffic {"rate": N, "distribution": ID, "path": "/t/"} sends
N requests/s to the distribution (every enabled one when absent) through the
edges in turn, on paths PATH + a counter (so no request is a cache hit);
rate 0 stops. GET /traffic: the generators and, per distribution, request
and error counts and the times of the recent 5xx answers.
"""

import collections
import datetime
import json
import threading
import time
import urllib.error
import urllib.request

from moto.cloudwatch import models as cwm
from moto.logs.models import logs_backends

from . import cloudfront_ext, edges
from .state import ACCOUNT_ID, SIM

# Where each simulated edge's Lambda@Edge replicas log and report metrics.
EDGE_REGIONS = {
    "IAD": "us-east-1", "FRA": "eu-central-1", "NRT": "ap-northeast-1", "GRU": "sa-east-1",
    "SYD": "ap-southeast-2", "LHR": "eu-west-2", "BOM": "ap-south-1", "ORD": "us-east-2",
}

# lambda_error: the per-request error kind ("" none, else the CloudFront
# metric it counts in: LambdaExecutionError, LambdaValidationError).
Hit = collections.namedtuple("Hit", "ts dist region status function lambda_error duration_ms")
TRAFFIC = collections.deque(maxlen=500000)
_lock = threading.Lock()


def edge_region(edge):
    return EDGE_REGIONS.get(edge.code, "us-east-1")


# ------------------------------------------------------------ invalid responses
# CloudFront's limits on a response a function generates: the body of an
# origin-request answer (a viewer-request one has 40 KB; the simulator does
# not tell them apart here and uses the larger).
MAX_GENERATED_BODY = 1024 * 1024
INVALID_HEADER = "X-Edgesim-Lambda-Invalid"
_orig_response_from_lambda = edges._response_from_lambda


def invalid_response(res):
    """Why CloudFront would refuse a function's generated response, or None."""
    status = res.get("status")
    if not (isinstance(status, (str, int)) and not isinstance(status, bool)
            and len(str(status)) == 3 and str(status).isdigit() and 100 <= int(status) <= 599):
        return f"status {str(status)[:40]!r} is not a 3-digit HTTP status"
    body = res.get("body")
    if body is not None and not isinstance(body, str):
        return "body is not a string"
    if res.get("bodyEncoding") not in (None, "text", "base64"):
        return f"bodyEncoding {str(res.get('bodyEncoding'))[:40]!r} is neither text nor base64"
    if body and len(body.encode("utf-8")) > MAX_GENERATED_BODY:
        return f"body of {len(body.encode('utf-8'))} bytes is over {MAX_GENERATED_BODY}"
    headers = res.get("headers")
    if headers is not None and not (isinstance(headers, dict)
                                    and all(isinstance(v, list) for v in headers.values())):
        return "headers are not a map of lists"
    return None


def _response_from_lambda(res):
    why = invalid_response(res)
    if why is None:
        return _orig_response_from_lambda(res)
    # marked for _answer_invalid, which gives the viewer CloudFront's answer
    page = edges._error_page(502, "The Lambda function returned an invalid response.", "", "-")
    return 502, [(INVALID_HEADER, why)], page


def _answer_invalid(call):
    """The edge's answer to an invalid generated response: 502
    LambdaValidationError (the edge would otherwise call it a generated one)."""
    def wrapped(self, environ, start_response):
        def sr(status_line, headers, exc_info=None):
            why = next((v for k, v in headers if k == INVALID_HEADER), None)
            if why is None:
                return start_response(status_line, headers, exc_info)
            keep = [(k, v) for k, v in headers
                    if k.lower() not in ("x-cache", "content-type", INVALID_HEADER.lower())]
            return start_response("502 Bad Gateway",
                                  [("Content-Type", "text/html"),
                                   ("X-Cache", "LambdaValidationError from cloudfront")] + keep,
                                  exc_info)

        return call(self, environ, sr)
    return wrapped


edges._response_from_lambda = _response_from_lambda
edges.Edge.__call__ = _answer_invalid(edges.Edge.__call__)


def _error_kind(hdrs):
    cache = hdrs.get("x-cache", "")
    for kind in ("LambdaExecutionError", "LambdaValidationError"):
        if kind in cache:
            return kind
    return ""


# ------------------------------------------------------------ recording
_orig_call = edges.Edge.__call__
_orig_lambda_error = edges.Edge._lambda_error


def _edge_call(self, environ, start_response):
    t0 = time.time()
    seen = {}

    def sr(status_line, headers, exc_info=None):
        seen["status"] = int(status_line.split(" ", 1)[0])
        seen["headers"] = headers
        return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

    out = _orig_call(self, environ, sr)
    hdrs = {k.lower(): v for k, v in seen.get("headers", [])}
    # the distribution that served (the edge decided once: a primary's
    # request served by its staging distribution counts for staging)
    dist = environ.get("edgesim.served")
    if dist:
        arn = hdrs.get("x-edgesim-function") or ""
        name = arn.split(":")[6] if arn.count(":") >= 6 else ""
        with _lock:
            TRAFFIC.append(Hit(t0, dist, edge_region(self), seen.get("status", 0), name,
                               _error_kind(hdrs),
                               (time.time() - t0) * 1000.0))
    return out


def _lambda_error(self, start_response, base, extra, cfid, arn, err):
    try:
        _log_error(edge_region(self), arn, cfid, err)
    except Exception:  # noqa: BLE001 - a log write never breaks the edge's answer
        pass
    return _orig_lambda_error(self, start_response, base, extra, cfid, arn, err)


def _log_error(region, arn, request_id, err):
    parts = arn.split(":")
    name, version = parts[6], parts[7] if len(parts) > 7 else "$LATEST"
    group = f"/aws/lambda/us-east-1.{name}"
    now = SIM.now()
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    stream = f"{day}/[{version}]{abs(hash((region, name, version))) % (16 ** 12):012x}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    message = f"{stamp}\t{request_id}\tERROR\tInvoke Error \t" + json.dumps(
        {"errorType": "Error", "errorMessage": err.strip().splitlines()[0][:300] if err.strip() else "error"})
    with SIM.lock:
        backend = logs_backends[ACCOUNT_ID][region]
        if group not in backend.groups:
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": int(now * 1000), "message": message}])


edges.Edge.__call__ = _edge_call
edges.Edge._lambda_error = _lambda_error


# ------------------------------------------------------------ metrics
def _period(query_period):
    return max(int(query_period or 60), int(SIM.p("metric_period")), 1)


def _dims(metric):
    return {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


def _count_kind(kind):
    return lambda hs: float(sum(1 for h in hs if h.lambda_error == kind))


def _select(ns, name, dims, region):
    """The recorded hits a metric covers, and how to reduce them."""
    if ns == "AWS/CloudFront":
        if region != "us-east-1" or dims.get("Region") != "Global" or "DistributionId" not in dims:
            return None, None
        dist = dims["DistributionId"]
        pick = lambda h: h.dist == dist  # noqa: E731
        reducers = {
            "Requests": lambda hs: float(len(hs)),
            "4xxErrorRate": lambda hs: 100.0 * sum(1 for h in hs if 400 <= h.status < 500) / len(hs),
            "5xxErrorRate": lambda hs: 100.0 * sum(1 for h in hs if h.status >= 500) / len(hs),
            "TotalErrorRate": lambda hs: 100.0 * sum(1 for h in hs if h.status >= 400) / len(hs),
            "LambdaExecutionError": _count_kind("LambdaExecutionError"),
            "LambdaValidationError": _count_kind("LambdaValidationError"),
            "LambdaLimitExceededErrors": _count_kind("LambdaLimitExceededErrors"),
        }
        return pick, reducers.get(name)
    if ns == "AWS/Lambda":
        fn = dims.get("FunctionName", "")
        if not fn.startswith("us-east-1."):
            return None, None
        fname = fn[len("us-east-1."):]
        pick = lambda h: h.function == fname and h.region == region  # noqa: E731
        reducers = {
            "Invocations": lambda hs: float(len(hs)),
            "Errors": _count_kind("LambdaExecutionError"),
            "Throttles": lambda hs: 0.0,
            "Duration": lambda hs: sum(h.duration_ms for h in hs) / len(hs),
        }
        return pick, reducers.get(name)
    return None, None


def _series(query, start, end, region):
    ms = query["MetricStat"]
    metric = ms["Metric"]
    pick, reduce_ = _select(metric.get("Namespace"), metric.get("MetricName"), _dims(metric), region)
    if pick is None or reduce_ is None:
        return {"id": query["Id"], "label": query.get("Label") or metric.get("MetricName"),
                "values": [], "timestamps": [], "status_code": "Complete"}
    period = _period(ms.get("Period"))
    now = SIM.now()
    t0, t1 = start.timestamp(), end.timestamp()
    with _lock:
        hits = [h for h in TRAFFIC if t0 <= h.ts < t1 and pick(h)]
    buckets = collections.defaultdict(list)
    for h in hits:
        b = int(h.ts // period) * period
        if b + period <= now:
            buckets[b].append(h)
    stamps = sorted(buckets)
    return {"id": query["Id"], "label": query.get("Label") or metric.get("MetricName"),
            "values": [reduce_(buckets[b]) for b in stamps],
            "timestamps": [datetime.datetime.fromtimestamp(b, datetime.timezone.utc) for b in stamps],
            "status_code": "Complete"}


_orig_get_metric_data = cwm.CloudWatchBackend.get_metric_data


def _get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
    ours = [q for q in queries if "MetricStat" in q
            and q["MetricStat"]["Metric"].get("Namespace") in ("AWS/CloudFront", "AWS/Lambda")]
    rest = [q for q in queries if q not in ours]
    results = _orig_get_metric_data(self, rest, start_time, end_time, scan_by) if rest else []
    if start_time >= end_time:
        return _orig_get_metric_data(self, queries, start_time, end_time, scan_by)
    for q in ours:
        r = _series(q, start_time, end_time, self.region_name)
        if scan_by == "TimestampDescending":
            r["values"].reverse()
            r["timestamps"].reverse()
        if q.get("ReturnData", True):
            results.append(r)
    order = {q["Id"]: i for i, q in enumerate(queries)}
    return sorted(results, key=lambda r: order.get(r["id"], 0))


cwm.CloudWatchBackend.get_metric_data = _get_metric_data


# ------------------------------------------------------------ traffic
class Generator:
    def __init__(self, rate, dist, path):
        self.rate = float(rate)
        self.dist = dist
        self.path = path
        self.sent = 0
        self.failed = 0
        self.stop = threading.Event()
        self.slots = threading.BoundedSemaphore(16)
        self.thread = threading.Thread(target=self.run, daemon=True, name="traffic")

    def targets(self):
        with SIM.lock:
            out = []
            for d in cloudfront_ext.all_distributions():
                if cloudfront_ext.is_staging(d):
                    continue  # no direct access: its share comes through the primary
                if self.dist in (None, d.distribution_id):
                    out.append(d.domain_name)
            return out

    def one(self, edge, host, seq):
        try:
            req = urllib.request.Request(f"{edge.url}{self.path}{seq}", headers={"Host": host})
            try:
                urllib.request.urlopen(req, timeout=30).read()
            except urllib.error.HTTPError as e:
                e.read()
        except OSError:
            self.failed += 1
        finally:
            self.slots.release()

    def run(self):
        seq = 0
        next_at = time.time()
        while not self.stop.is_set():
            next_at += 1.0 / self.rate
            for host in self.targets():
                if not SIM.edges:
                    break
                edge = SIM.edges[seq % len(SIM.edges)]
                seq += 1
                if not self.slots.acquire(timeout=5):
                    continue
                self.sent += 1
                threading.Thread(target=self.one, args=(edge, host, seq), daemon=True).start()
            self.stop.wait(max(0.0, next_at - time.time()))

    def describe(self):
        return {"rate": self.rate, "distribution": self.dist, "path": self.path,
                "sent": self.sent, "failed": self.failed}


GENERATORS = {}


def start_traffic(rate, dist=None, path="/t/"):
    key = dist or "*"
    old = GENERATORS.pop(key, None)
    if old:
        old.stop.set()
    if float(rate) > 0:
        g = Generator(rate, dist, path)
        GENERATORS[key] = g
        g.thread.start()
    return {k: g.describe() for k, g in GENERATORS.items()}


def stats():
    out = {}
    with _lock:
        hits = list(TRAFFIC)
    for h in hits:
        d = out.setdefault(h.dist, {"requests": 0, "4xx": 0, "5xx": 0, "lambda_errors": 0,
                                    "validation_errors": 0, "recent_5xx": []})
        d["requests"] += 1
        if 400 <= h.status < 500:
            d["4xx"] += 1
        if h.status >= 500:
            d["5xx"] += 1
            d["recent_5xx"].append(round(h.ts, 3))
        if h.lambda_error == "LambdaExecutionError":
            d["lambda_errors"] += 1
        elif h.lambda_error == "LambdaValidationError":
            d["validation_errors"] += 1
    for d in out.values():
        d["recent_5xx"] = d["recent_5xx"][-200:]
    return out


def control(method, path, body):
    """The control endpoint's /traffic calls."""
    if method == "POST":
        return 200, {"generators": start_traffic(body.get("rate", 0), body.get("distribution"),
                                                 body.get("path", "/t/"))}
    if method == "DELETE":
        with _lock:
            TRAFFIC.clear()
        return 200, {"cleared": True}
    return 200, {"generators": {k: g.describe() for k, g in GENERATORS.items()}, "distributions": stats(),
                 "metric_period": SIM.p("metric_period"), "now": SIM.now()}
