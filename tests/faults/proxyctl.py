"""Drive faultproxy.py from a test script.

    import proxyctl
    p = proxyctl.start_proxy(sim.endpoint)          # or "http://127.0.0.1:PORT"
    env["AWS_ENDPOINT_URL"] = p.endpoint
    p.add_rule("lose_answer", service="s3", operation="PutObject", match="ledger/")
    ...
    p.log()          # every request the proxy saw
    p.clear()        # no rules, empty log
    p.stop()

start_proxy() also works as a context manager: `with start_proxy(url) as p:`.
"""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAULTPROXY = os.path.join(HERE, "faultproxy.py")


class ControlError(RuntimeError):
    def __init__(self, status, message):
        super().__init__(f"faultproxy control: {status}: {message}")
        self.status = status


class Proxy:
    def __init__(self, proc, info):
        self.proc = proc
        self.info = info
        self.endpoint = info["endpoint"]
        self.control = info["control"]
        self.pid = info["pid"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("error")
            except ValueError:
                msg = e.reason
            raise ControlError(e.code, msg) from None

    def add_rule(self, kind, service=None, operation=None, match=None, skip=0, count=1, seconds=None):
        """Add one rule; returns it as the proxy stored it (with its id)."""
        rule = {"kind": kind, "skip": skip, "count": count}
        for k, v in (("service", service), ("operation", operation), ("match", match), ("seconds", seconds)):
            if v is not None:
                rule[k] = v
        return self.ctl("POST", "/rules", rule)["added"][0]

    def add_rules(self, rules):
        """Add a list of rule dicts at once (all or none)."""
        return self.ctl("POST", "/rules", list(rules))["added"]

    def rules(self):
        return self.ctl("GET", "/rules")["rules"]

    def clear_rules(self):
        self.ctl("DELETE", "/rules")

    def log(self, since=0, service=None, operation=None):
        q = {"since": since}
        if service:
            q["service"] = service
        if operation:
            q["operation"] = operation
        return self.ctl("GET", "/log?" + urllib.parse.urlencode(q))["entries"]

    def clear_log(self):
        self.ctl("DELETE", "/log")

    def clear(self):
        """Remove every rule and empty the log."""
        self.clear_rules()
        self.clear_log()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode


def start_proxy(upstream, port=0, control_port=0, log=None, stderr=None):
    """Start faultproxy.py in front of `upstream`; returns a Proxy once it is ready."""
    cmd = [sys.executable, FAULTPROXY, "--upstream", upstream, "--port", str(port),
           "--control-port", str(control_port)]
    if log:
        cmd += ["--log", log]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr)
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"faultproxy did not start (exit {proc.returncode})")
    return Proxy(proc, json.loads(line))
