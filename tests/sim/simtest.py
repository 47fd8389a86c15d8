"""Shared by the simulator's tests: a TAP printer and a fixture that runs
edgesim on free loopback ports in a temporary directory at test speed."""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(SRCDIR, "examples", "lambda-edge-app")
EDGESIM = os.path.join(HERE, "edgesim")

KEY_ID = "AKIAEDGESIMTEST00001"
SECRET = "edgesim-test-secret-for-the-suite-only"


def zip_of(files, deflate=False):
    """A zip archive's bytes holding files ({name: text or bytes}); deflated
    with deflate, as CloudFormation zips inline code."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def pipeline_action(name, category, provider, run_order=1, inputs=("src",), outputs=None, **cfg):
    """A CodePipeline action declaration: a Source action outputs "src"
    (unless outputs says otherwise), others but an Approval take inputs."""
    a = {"name": name, "actionTypeId": {"category": category, "owner": "AWS", "provider": provider,
                                        "version": "1"}, "runOrder": run_order, "configuration": cfg}
    if outputs is None:
        outputs = ("src",) if category == "Source" else ()
    if outputs:
        a["outputArtifacts"] = [{"name": n} for n in outputs]
    if inputs and category not in ("Source", "Approval"):
        a["inputArtifacts"] = [{"name": n} for n in inputs]
    return a


def require_moto():
    try:
        import moto.server  # noqa: F401
        import samtranslator  # noqa: F401
        import boto3  # noqa: F401
    except ImportError:
        print("Bail out! moto is not installed: pip install 'moto[server]' aws-sam-translator")
        sys.stdout.flush()
        sys.exit(1)


class TAP:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {desc}")
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print(f"# {line}")
        sys.stdout.flush()
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, f"got:  {got!r}\nwant: {want!r}")

    def diag(self, msg):
        for line in str(msg).splitlines():
            print(f"# {line}")

    def done(self):
        print(f"1..{self.n}")
        sys.stdout.flush()
        return 1 if self.failed or self.n == 0 else 0


def run(main):
    """Run main(tap, sim) with a fresh simulator; exit with TAP status."""
    require_moto()
    tap = TAP()
    sim = None
    try:
        sim = Simulator()
        main(tap, sim)
    except Exception:  # noqa: BLE001 - reported as a failed check
        tap.ok(False, "test script ran to the end", traceback.format_exc())
    finally:
        if sim is not None:
            sim.stop()
    sys.exit(tap.done())


def wait_until(fn, timeout=10.0, interval=0.05):
    end = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > end:
            return v
        time.sleep(interval)


class Simulator:
    def __init__(self, *extra):
        self.tmp = tempfile.mkdtemp(prefix="edgesim-test.")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
        self.stderr = open(os.path.join(self.tmp, "edgesim.err"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, EDGESIM, "--state-dir", os.path.join(self.tmp, "state"), "--seed", "7", *extra],
            stdout=subprocess.PIPE, stderr=self.stderr, env=env, cwd=self.tmp,
        )
        line = self.proc.stdout.readline()
        if not line:
            self.stderr.flush()
            raise RuntimeError("edgesim did not start: " + open(self.stderr.name).read()[-2000:])
        self.info = json.loads(line)
        self.endpoint = self.info["endpoint"]
        self.control = self.info["control"]
        self.edges = self.info["edges"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        if os.environ.get("EDGESIM_KEEP"):
            sys.stderr.write(f"edgesim state kept in {self.tmp}\n")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- control endpoint
    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def fault(self, kind, service=None, operation=None, count=1, seconds=0):
        return self.ctl("POST", "/faults", {"kind": kind, "service": service, "operation": operation,
                                            "count": count, "seconds": seconds})

    def config(self, **kw):
        return self.ctl("POST", "/config", kw)

    def hold_stacks(self, hold=True):
        """Stop stack operations at their next step (they stay *_IN_PROGRESS)
        until hold_stacks(False); needs a stack_step above 0."""
        return self.ctl("POST", "/stacks/hold", {"hold": hold})

    def log(self, **q):
        qs = "&".join(f"{k}={v}" for k, v in q.items())
        return self.ctl("GET", "/log" + ("?" + qs if qs else ""))["entries"]

    # ---- clients
    def env(self, **over):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
            AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )
        env.update(over)
        return env

    def aws(self, *args, cwd=None, **env_over):
        p = subprocess.run(["aws", *args], capture_output=True, text=True, env=self.env(**env_over),
                           cwd=cwd or self.tmp, timeout=120)
        return p

    def aws_json(self, *args):
        p = self.aws(*args, "--output", "json")
        if p.returncode != 0:
            raise RuntimeError(f"aws {' '.join(args)} failed: {p.stderr}")
        return json.loads(p.stdout) if p.stdout.strip() else None

    def client(self, service, key_id=KEY_ID, secret=SECRET, token=None, max_attempts=3, **cfg):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token,
            # Generous timeouts: on a loaded machine the simulator can take
            # more than botocore's usual 10 s to answer, which is not what
            # any test is about (a test that wants a timeout passes its own).
            config=Config(retries={"mode": "standard", "total_max_attempts": max_attempts},
                          **dict(dict(connect_timeout=30, read_timeout=60), **cfg)),
        )

    # ---- edges
    def edge_get(self, edge, host, path="/"):
        url = edge["url"].split("//", 1)[1]
        conn = http.client.HTTPConnection(url, timeout=15)
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        return r.status, headers, body


def copy_example(dst):
    shutil.copytree(EXAMPLE, dst)
    return dst
