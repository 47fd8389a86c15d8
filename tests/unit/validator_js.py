#!/usr/bin/env python3
"""The pipeline validator's JavaScript (core/pipegen/validator.js) run with
node against a local HTTP server, with a stub @aws-sdk/client-codepipeline on
NODE_PATH that records the calls: 200 with the text reports
PutJobSuccessResult; the wrong text, a 500, no answer in time, a refused
connection, bad UserParameters and an answer from CloudFront's cache report
PutJobFailureResult with the reason; with a probe-bypass it asks past the
cache; the job's credentials never reach the reason."""

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sim"))
from simtest import TAP  # noqa: E402

SRC = os.environ.get("ES_SRCDIR", os.path.dirname(os.path.dirname(HERE)))
VALIDATOR = os.path.join(SRC, "core", "pipegen", "validator.js")
TEXT = "Lambda@Edge is awesome!"

STUB = r"""
const fs = require('fs');
function record(name, input) {
  fs.appendFileSync(process.env.STUB_LOG, JSON.stringify({ command: name, input }) + '\n');
}
class CodePipelineClient {
  constructor(config) { this.config = config; }
  async send(cmd) { record(cmd.constructor.name, cmd.input); return { $metadata: {} }; }
}
class PutJobSuccessResultCommand { constructor(input) { this.input = input; } }
class PutJobFailureResultCommand { constructor(input) { this.input = input; } }
module.exports = { CodePipelineClient, PutJobSuccessResultCommand, PutJobFailureResultCommand };
"""

RUNNER = r"""
const v = require(process.argv[1]);
const event = JSON.parse(process.argv[2]);
v.handler(event).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
"""

release = threading.Event()
seen = []  # the paths the server was asked, in order


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/hang":
            release.wait(30)
            return
        seen.append(self.path)
        if self.path.startswith("/fresh-only"):
            # what a cache-bypassing request reaches: the function's answer
            fresh = "edgeship-probe=" in self.path
            data = (f"<h1>{TEXT}</h1>" if fresh else "stale").encode()
            self.send_response(200)
            self.send_header("X-Cache", "Miss from cloudfront" if fresh else "Hit from cloudfront")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        status, body = {
            "/ok": (200, f"<h1>{TEXT}</h1>"),
            "/wrong": (200, "<h1>Lambda@Edge is broken</h1>"),
            "/error": (500, f"<h1>{TEXT}</h1>"),
            "/cached": (200, f"<h1>{TEXT}</h1>"),
        }.get(self.path, (404, "no"))
        data = body.encode()
        self.send_response(status)
        if self.path == "/cached":
            self.send_header("X-Cache", "Hit from cloudfront")
            self.send_header("Age", "42")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    tap = TAP()
    if not shutil.which("node"):
        print("1..0 # SKIP node is not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="validator-js.")
    stub_dir = os.path.join(tmp, "node_modules", "@aws-sdk", "client-codepipeline")
    os.makedirs(stub_dir)
    open(os.path.join(stub_dir, "index.js"), "w").write(STUB)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"

    def run(params, job_id="job-1"):
        log = os.path.join(tmp, f"{job_id}.jsonl")
        event = {"CodePipeline.job": {
            "id": job_id, "accountId": "123456789012",
            "data": {"actionConfiguration": {"configuration": {
                "FunctionName": "validator",
                "UserParameters": params if isinstance(params, str) else json.dumps(params)}},
                "artifactCredentials": {"accessKeyId": "AKIASECRETLEAK000001",
                                        "secretAccessKey": "do-not-print-this-secret",
                                        "sessionToken": "do-not-print-this-token"}}}}
        env = dict(os.environ, NODE_PATH=os.path.join(tmp, "node_modules"), STUB_LOG=log)
        p = subprocess.run(["node", "-e", RUNNER, VALIDATOR, json.dumps(event)], env=env,
                           capture_output=True, text=True, timeout=60)
        calls = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
        return p, calls

    def one_call(p, calls, command, desc):
        ok = tap.ok(p.returncode == 0 and len(calls) == 1 and calls[0]["command"] == command,
                    desc, f"rc {p.returncode}\nstderr {p.stderr}\ncalls {calls}")
        return calls[0]["input"] if ok else {}

    def no_secret(p, calls, desc):
        text = p.stdout + p.stderr + json.dumps(calls)
        tap.ok("do-not-print" not in text and "AKIASECRETLEAK" not in text,
               desc + ": the job's credentials appear nowhere", text)

    try:
        p = subprocess.run(["node", "--check", VALIDATOR], capture_output=True, text=True, timeout=60)
        tap.ok(p.returncode == 0, "node --check accepts validator.js", p.stderr)
        p, calls = run({"url": base + "/ok", "text": TEXT, "status": 200, "timeoutMs": 5000})
        inp = one_call(p, calls, "PutJobSuccessResultCommand", "200 with the text: success")
        tap.eq(inp.get("jobId"), "job-1", "the success names the job")
        tap.ok("/ok answered 200" in inp.get("executionDetails", {}).get("summary", ""),
               "its summary says what answered", inp)
        no_secret(p, calls, "success")

        cases = [
            ("wrong", {"url": base + "/wrong", "text": TEXT}, "JobFailed",
             "answered 200 without the text"),
            ("error", {"url": base + "/error", "text": TEXT, "status": 200}, "JobFailed",
             "answered 500, expected 200"),
            ("hang", {"url": base + "/hang", "text": TEXT, "timeoutMs": 300}, "JobFailed",
             "did not answer within 300 ms"),
            ("refused", {"url": f"http://127.0.0.1:{closed_port()}/", "text": TEXT}, "JobFailed",
             "could not be fetched"),
            ("notjson", "{not json", "ConfigurationError", "UserParameters is not JSON"),
            ("nourl", {"text": TEXT}, "ConfigurationError", "no http(s) \"url\""),
            # the right page, but CloudFront's cached copy: it proves nothing
            ("cached", {"url": base + "/cached", "text": TEXT}, "JobFailed",
             "answered from CloudFront's cache (X-Cache: Hit from cloudfront)"),
        ]
        for name, params, kind, reason in cases:
            p, calls = run(params, job_id=f"job-{name}")
            inp = one_call(p, calls, "PutJobFailureResultCommand", f"{name}: failure reported")
            fd = inp.get("failureDetails", {})
            tap.eq((inp.get("jobId"), fd.get("type")), (f"job-{name}", kind),
                   f"{name}: the failure names the job and is {kind}")
            tap.ok(reason in fd.get("message", ""), f"{name}: the reason says '{reason}'", fd)
            no_secret(p, calls, name)

        # With a probe-bypass it asks past the cache, as edgeship's probe
        # does: "?query" on the URL's path, or a path of its own.
        del seen[:]
        p, calls = run({"url": base + "/fresh-only", "text": TEXT, "bypass": "?fresh"},
                       job_id="job-bypass-q")
        inp = one_call(p, calls, "PutJobSuccessResultCommand",
                       "bypass ?fresh: the function's answer passes")
        tap.eq(seen, ["/fresh-only?fresh&edgeship-probe=job-bypass-q"],
               "bypass ?fresh: one request, the query and a unique edgeship-probe on the path")
        tap.ok("edgeship-probe=job-bypass-q answered 200"
               in inp.get("executionDetails", {}).get("summary", ""),
               "bypass: the summary names what was asked", inp)
        del seen[:]
        p, calls = run({"url": base + "/", "text": TEXT, "bypass": "/fresh-only/probe"},
                       job_id="job-bypass-p")
        one_call(p, calls, "PutJobSuccessResultCommand", "bypass /PATH: the function's answer passes")
        tap.eq(seen, ["/fresh-only/probe?edgeship-probe=job-bypass-p"],
               "bypass /PATH: the path replaces the URL's, with a unique edgeship-probe")
        # A status other than 200 can be expected ([check] status = 500).
        p, calls = run({"url": base + "/error", "text": TEXT, "status": 500}, job_id="job-500")
        one_call(p, calls, "PutJobSuccessResultCommand", "an expected 500 with the text passes")
        # No text: the status alone decides.
        p, calls = run({"url": base + "/wrong"}, job_id="job-notext")
        one_call(p, calls, "PutJobSuccessResultCommand", "without a text, 200 alone passes")
    finally:
        release.set()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
