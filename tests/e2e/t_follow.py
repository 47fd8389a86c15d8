#!/usr/bin/env python3
"""Following a deploy through what real AWS does while a stack updates:
5xx answers, throttling and cut answers from DescribeStackEvents, an event
without ResourceStatus, a --timeout reached (detached, then recorded by the
next look), Ctrl-C and SIGTERM (detached with the lock released), a closed
pipe on stdout, and hostile text in AWS's answers."""

import http.server
import os
import pty
import signal
import subprocess
import threading
import time

import release


def deploy(app, *extra):
    return app.run("deploy", "--yes", "--wait", "--poll-interval", "300", *extra)


def change(app, n):
    path = os.path.join(app.dir, "src", "index.js")
    text = open(path).read().rstrip("\n").split("\n")
    text = [l for l in text if not l.startswith("// follow ")] + [f"// follow {n}"]
    open(path, "w").write("\n".join(text) + "\n")
    app.git("commit", "-q", "-am", f"follow {n}")


def last_outcome(app, stage="staging"):
    recs = app.records(stage)
    intents = [r for r in recs if r["phase"] == "intent"]
    if not intents:
        return None, []
    act = intents[-1].get("action_id")
    return intents[-1], [r for r in recs if r["phase"] == "outcome" and r.get("action_id") == act]


def lock_held(sim):
    try:
        sim.client("s3").head_object(Bucket="edge-demo-artifacts", Key="edge-demo/locks/staging.json")
        return True
    except Exception:  # noqa: BLE001 - 404
        return False


class Hostile(http.server.BaseHTTPRequestHandler):
    """An endpoint whose every answer is an error full of escape sequences."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # XML cannot carry C0 controls, but it can carry C1 ones (CSI is
        # U+009B); the headers carry ESC itself.
        body = ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                "<Message>no \u009b2J way \u009b31m</Message></Error>"
                "<RequestId>req\u009b1m-1</RequestId></ErrorResponse>").encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("x-amzn-RequestId", "req-\x1b[5m-2")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def main(tap, sim, app):
    sim.config(propagation_min=0.2, propagation_max=0.5, stack_step=0.1)
    # The first deploy with stderr on a terminal: the uploads show as one
    # line that rewrites itself up to 100 %; on a pipe that line is left out.
    master, slave = pty.openpty()
    p = subprocess.Popen([release.EDGESHIP, "deploy", "--yes", "--wait", "--poll-interval", "300"],
                         cwd=app.dir, env=app.env(), stdout=subprocess.PIPE, stderr=slave,
                         stdin=subprocess.DEVNULL, text=True)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    out = p.stdout.read()
    rc = p.wait(timeout=120)
    os.close(master)
    tty = tty.decode(errors="replace")
    tap.eq(rc, 0, "the first deploy creates the stack")
    tap.ok("\r  exporting " in tty and "\r  uploading " in tty and "(100%)" in tty
           and "(100%)" not in out and "\r" not in out and "exported " in out,
           "its export and uploads show as progress lines on the terminal, not in the output",
           (tty[-800:], out[-800:]))

    # 1. Transient errors while following never make an outcome.
    cases = [
        ("three 500s", "error500", 3, {}),
        ("503s", "error503", 3, {}),
        ("throttling", "throttle", 6, {}),
        ("a cut answer", "truncate", 2, {}),
        ("a garbled answer", "malformed", 2, {}),
        ("an event without ResourceStatus", "event_no_status", 5, {}),
    ]
    for i, (name, kind, count, kw) in enumerate(cases):
        app.wait_deployed("staging")
        change(app, i)
        sim.config(stack_step=0.3)
        # Faults begin once the update runs: the first DescribeStackEvents
        # comes after ExecuteChangeSet.
        sim.fault(kind, service="cloudformation", operation="DescribeStackEvents", count=count)
        rc, out, err = deploy(app)
        sim.ctl("DELETE", "/faults")
        sim.config(stack_step=0.1)
        intent, outs = last_outcome(app)
        status = app.status("staging")["stack_status"]
        tap.ok(rc == 0 and len(outs) == 1 and outs[0]["result"] == "success" and status == "UPDATE_COMPLETE",
               f"{name} from DescribeStackEvents: the deploy is followed to its real end", out + err)

    # 2. --timeout: detached, exit 6, the lock released; the next look
    # records how it really ended.
    app.wait_deployed("staging")
    change(app, "timeout")
    sim.config(stack_step=1.0)
    rc, out, err = deploy(app, "--timeout", "1s")
    sim.config(stack_step=0.1)
    intent, outs = last_outcome(app)
    tap.ok(rc == 6 and [o["result"] for o in outs] == ["detached"] and "CloudFormation carries on" in out,
           "a deploy followed past --timeout ends detached (exit 6)", (rc, outs, out[-600:], err[-600:]))
    tap.ok(not lock_held(sim), "and releases the stage lock")
    release.wait_until(lambda: not app.status("staging")["stack_status"].endswith("_IN_PROGRESS"), 60, 0.3)
    st = app.status("staging")
    intent, outs = last_outcome(app)
    finals = [o for o in outs if o["result"] != "detached"]
    tap.ok(len(finals) == 1 and finals[0]["result"] == "success" and finals[0].get("recorded_later")
           and not st["detached"] and not st["interrupted"],
           "status records the real end once the stack settles", (outs, st))
    app.status("staging")
    tap.eq(len(last_outcome(app)[1]), len(outs), "and only once")

    # 3. Ctrl-C and SIGTERM while following.
    for sig, name in ((signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")):
        app.wait_deployed("staging")
        change(app, name)
        sim.config(stack_step=1.0)
        p = app.popen("deploy", "--yes", "--poll-interval", "300")
        seen = ""
        while True:
            line = p.stdout.readline()
            seen += line
            if "executing change set" in line or not line:
                break
        p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        sim.config(stack_step=0.1)
        intent, outs = last_outcome(app)
        tap.ok(p.returncode == 6 and [o["result"] for o in outs] == ["detached"] and not lock_held(sim),
               f"{name} while following: detached, recorded, lock released", (p.returncode, outs, err[-500:]))
        release.wait_until(lambda: not app.status("staging")["stack_status"].endswith("_IN_PROGRESS"), 60, 0.3)

    # 4. Ctrl-C before ExecuteChangeSet: cancelled, nothing changed.
    app.wait_deployed("staging")
    change(app, "cancel")
    # DescribeChangeSet is held until the deploy has taken the Ctrl-C (it
    # says it is stopping), however slowly a loaded machine lets the test
    # read the output; the deploy waits for that answer, then cancels.
    sim.fault("delay", service="cloudformation", operation="DescribeChangeSet", seconds=120)
    p = app.popen("deploy", "--yes", "--poll-interval", "300")
    while True:
        line = p.stdout.readline()
        if "waiting for CloudFormation" in line or not line:
            break
    p.send_signal(signal.SIGINT)
    said = ""
    while True:
        line = p.stderr.readline()
        said += line
        if "stopping" in line or not line:
            break
    sim.ctl("DELETE", "/faults")
    sim.ctl("POST", "/faults/release")
    out, err = p.communicate(timeout=60)
    err = said + err
    intent, outs = last_outcome(app)
    tap.ok(p.returncode == 4 and [o["result"] for o in outs] == ["cancelled"] and not lock_held(sim)
           and app.status("staging")["stack_status"] == "UPDATE_COMPLETE",
           "Ctrl-C before the change set runs: cancelled, lock released, stack untouched",
           (p.returncode, outs, err[-500:]))

    # 5. A closed pipe on stdout does not kill a deploy half-way.
    app.wait_deployed("staging")
    change(app, "pipe")
    env = app.env()
    p = subprocess.Popen(f"'{release.EDGESHIP}' deploy --yes --poll-interval 300 | head -c 1 >/dev/null",
                         shell=True, cwd=app.dir, env=env, stderr=subprocess.PIPE, text=True)
    p.communicate(timeout=120)
    release.wait_until(lambda: not lock_held(sim), 60, 0.3)
    intent, outs = last_outcome(app)
    tap.ok([o["result"] for o in outs] == ["success"] and not lock_held(sim),
           "`edgeship deploy | head -c 1` still finishes, records and unlocks", outs)

    # 6. Hostile text from an endpoint never reaches the terminal raw.
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = app.env()
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{srv.server_address[1]}"
    env["AWS_MAX_ATTEMPTS"] = "1"
    p = subprocess.run([release.EDGESHIP, "whoami"], cwd=app.dir, env=env, capture_output=True)
    text = p.stdout + p.stderr
    tap.ok(p.returncode != 0 and b"\x1b" not in text and b"\x07" not in text and b"\xc2\x9b" not in text
           and b"Denied" in text, "escape sequences in an AWS error are stripped before printing", text)
    p = subprocess.run([release.EDGESHIP, "status"], cwd=app.dir, env=env, capture_output=True)
    text = p.stdout + p.stderr
    tap.ok(b"\x1b" not in text and b"\x07" not in text, "and in status", text)
    srv.shutdown()


if __name__ == "__main__":
    release.run(main)
