"""The control endpoint: faults, timing, request log, edge and distribution
state. JSON over HTTP on its own loopback port (never subject to faults)."""

import json
import urllib.parse

from . import accounts, cd_ext, cloudfront_ext, edges, metrics_ext, ops_ext, pipeline_ext, replicas
from .state import SIM

TUNABLE = ("stack_step", "changeset_delay", "propagation_min", "propagation_max", "invalidation", "pipeline_step",
           "replica_cleanup", "metric_period", "pipeline_job_timeout")


class Control:
    def __init__(self, faults, log, info):
        self.faults = faults
        self.log = log
        self.info = info

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
        qs = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        raw = environ["wsgi.input"].read(n) if n else b""
        try:
            body = json.loads(raw) if raw else {}
            status, result = self.route(method, path, qs, body)
        except (ValueError, TypeError, KeyError) as e:
            status, result = 400, {"error": str(e)}
        data = json.dumps(result, indent=1, default=str).encode()
        start_response(f"{status} OK" if status < 400 else f"{status} Error", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def route(self, method, path, qs, body):
        if path in ("/", "/info"):
            return 200, self.info
        if path == "/health":
            return 200, {"ok": True}
        if path == "/faults":
            if method == "GET":
                return 200, {"faults": self.faults.list(), "clock_offset": SIM.clock_offset}
            if method == "POST":
                rules = body if isinstance(body, list) else [body]
                added = [
                    self.faults.add(
                        r["kind"], r.get("service"), r.get("operation"),
                        int(r.get("count", 1)), float(r.get("seconds", 0)),
                    )
                    for r in rules
                ]
                return 200, {"added": added}
            if method == "DELETE":
                self.faults.clear()
                return 200, {"cleared": True}
        if path == "/faults/release" and method == "POST":
            self.faults.release()
            return 200, {"released": True}
        if path == "/clock" and method == "POST":
            SIM.clock_offset = float(body.get("offset", 0))
            return 200, {"clock_offset": SIM.clock_offset}
        if path == "/config":
            if method == "POST":
                for k, v in body.items():
                    if k in TUNABLE:
                        SIM.params[k] = float(v)
                    elif k == "cfn_wait_deployed":
                        SIM.cfn_wait_deployed = bool(v)
                    elif k == "verify_signatures":
                        SIM.verify_signatures = bool(v)
                    else:
                        raise KeyError(f"unknown setting {k}")
            return 200, dict(SIM.params, cfn_wait_deployed=SIM.cfn_wait_deployed,
                             stacks_held=not SIM.stack_gate.is_set(),
                             verify_signatures=SIM.verify_signatures, speed=SIM.speed)
        if path == "/log":
            if method == "DELETE":
                self.log.clear()
                return 200, {"cleared": True}
            since = int((qs.get("since") or ["0"])[0])
            entries = self.log.query(since, (qs.get("service") or [None])[0], (qs.get("operation") or [None])[0])
            return 200, {"entries": entries, "last": self.log.seq}
        if path == "/edges":
            return 200, {"edges": [e.describe() for e in SIM.edges], "lambda_errors": edges.SIM_LOG[-20:]}
        if path == "/edges/cache" and method in ("POST", "DELETE"):
            return 200, edges.cache_control(body or {}, method)
        if path == "/invalidations/complete" and method == "POST":
            return 200, {"completed": cloudfront_ext.complete_invalidations((body or {}).get("id"))}
        if path == "/distributions/advance" and method == "POST":
            return 200, {"advanced": cloudfront_ext.advance(body.get("id"), body.get("edges"))}
        if path == "/distributions":
            now = SIM.now()
            out = {}
            with SIM.lock:
                for d in cloudfront_ext.all_distributions():
                    gens = cloudfront_ext.GENERATIONS.get(d.distribution_id, [])
                    out[d.distribution_id] = {
                        "domain": d.domain_name,
                        "status": d.status,
                        "staging": cloudfront_ext.is_staging(d),
                        "policy": d.distribution_config.__dict__.get("ContinuousDeploymentPolicyId") or "",
                        "generations": [
                            {"number": g.number, "edges_applied": sum(1 for t in g.apply_at if t <= now),
                             "deployed_in": max(0.0, round(g.deployed_at - now, 3)),
                             "origin_request": g.snapshot["default"]["lambdas"].get("origin-request")}
                            for g in gens[-3:]
                        ],
                    }
            return 200, {"distributions": out}
        if path == "/stacks/hold" and method == "POST":
            if body.get("hold", True):
                SIM.stack_gate.clear()
            else:
                SIM.stack_gate.set()
            return 200, {"held": not SIM.stack_gate.is_set()}
        if path == "/stacks/require-capabilities" and method == "POST":
            return 200, ops_ext.require_capabilities(body)
        if path == "/stacks/rollback-failed" and method == "POST":
            return 200, ops_ext.force_rollback_failed(body)
        if path == "/replicas/release" and method == "POST":
            return 200, replicas.release(body)
        if path == "/replicas":
            return 200, replicas.listing()
        if path == "/canary" or path.startswith("/canary/"):
            return cd_ext.control(method, path, body or {})
        if path == "/traffic":
            return metrics_ext.control(method, path, body or {})
        if path == "/accounts" and method == "GET":
            return 200, accounts.snapshot()
        if path == "/accounts/roles" and method == "POST":
            accounts.add_role(body["arn"], body.get("trusted"), body.get("external_id"))
            return 200, accounts.snapshot()
        if path == "/accounts/deny" and method == "POST":
            accounts.add_deny(body["principal"], body["action"], body["resource"])
            return 200, accounts.snapshot()
        if path == "/accounts/reset" and method == "POST":
            accounts.reset()
            return 200, accounts.snapshot()
        if path == "/pipeline/fail" and method == "POST":
            pipeline_ext.FAIL_ACTIONS[body["action"]] = int(body.get("count", 1))
            return 200, {"fail": dict(pipeline_ext.FAIL_ACTIONS)}
        if path == "/pipeline/job-result" and method == "POST":
            # what the simulator's @aws-sdk/client-codepipeline sends
            op = body.get("operation")
            if op not in ("PutJobSuccessResult", "PutJobFailureResult"):
                return 400, {"code": "ValidationException", "message": f"unknown operation {op}"}
            try:
                with pipeline_ext.COND:
                    return 200, pipeline_ext.job_result(body.get("input") or {}, op == "PutJobSuccessResult")
            except pipeline_ext.PipelineError as e:
                return 400, {"code": e.code, "message": e.message}
        return 404, {"error": f"no such control path {method} {path}"}
