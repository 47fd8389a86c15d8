#!/usr/bin/env python3
"""The dashboard answers at every step of a deploy while AWS is slow.

The dashboard runs in a real terminal (tmux). For each step of a deploy —
preparing, taking the lock, creating the change set, waiting for it to be
computed (before the question), executing it, following the stack — the
simulator holds that step's request (a delay fault on its operation, seen
taken through the control endpoint, so the test knows the step has begun
instead of guessing from the clock, and released through it once the test is
done, so a loaded machine cannot outlast the hold). While it is held, a key and a
terminal resize must each be on the screen within 100 ms of being sent,
and Ctrl-C (SIGINT through its signal pipe) must put the question "quit
while a deploy runs?" on the screen as quickly; yes then leaves once the
deploy has detached, and no lock is left behind.

Times come from the dashboard itself (ES_TIMING: "key-drawn MS",
"resize-drawn MS", "signal-drawn MS", CLOCK_MONOTONIC as time.monotonic() reads)
minus when the test told tmux to act, through one control-mode client (no
process per key). On a machine too busy to run anything promptly the
budget grows by the time tmux itself took to acknowledge the command, or by
100 ms per unit of load average per CPU above 1, at most 400 ms more: a
loop blocked by a held request still fails.

A `y` typed before the change set question is drawn never executes it:
tests/e2e/t_keys.py covers that (typeahead, and a y typed while
CreateChangeSet is held), so it is not repeated here."""

import os
import shutil
import subprocess
import sys
import threading
import time

import release

HOLD = 120.0  # at most: each step's request is released when the test is done with it
BUDGET_MS = 100.0
MAX_MARGIN_MS = 400.0
SESSION = "es"
SIZES = ((140, 40), (124, 36))

# (step, the simulator's service and operation that the step waits for)
STEPS = (
    ("preparing (after packaging, checking the bucket)", "s3", "HeadBucket"),
    ("taking the lock", "s3", "PutObject"),
    ("creating the change set", "cloudformation", "CreateChangeSet"),
    ("waiting for the change set (before the question)", "cloudformation", "DescribeChangeSet"),
    ("executing the change set", "cloudformation", "ExecuteChangeSet"),
    ("following the stack", "cloudformation", "DescribeStackEvents"),
)
AFTER_QUESTION = ("ExecuteChangeSet", "DescribeStackEvents")


class Terminal:
    """A tmux server of our own with the dashboard in it, and one
    control-mode client that types and resizes."""

    def __init__(self, tmp):
        self.socket = os.path.join(tmp, "tmux.sock")
        self.acks = []  # when tmux acknowledged each of our commands, in order
        self.failed = []  # and whether tmux refused it
        self.commands = 0
        self.control = None

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True,
                              text=True).stdout

    def start(self, app, env, timing):
        envs = " ".join(f"{k}='{v}'" for k, v in env.items()
                        if k.startswith(("AWS_", "XDG_", "HOME", "PATH")))
        w, h = SIZES[0]
        # The shell traps SIGINT so that Ctrl-C reaches only the dashboard
        # and the shell then says how it ended.
        self.tmux("new-session", "-d", "-s", SESSION, "-x", str(w), "-y", str(h), "-c", app,
                  f"trap : INT; env {envs} ES_TIMING='{timing}' TERM=xterm-256color "
                  f"'{release.EDGESHIP}'; echo \"edgeship-exited:$?\"; sleep 600")
        self.control = subprocess.Popen(["tmux", "-S", self.socket, "-C", "attach-session", "-t",
                                         SESSION], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        attached = threading.Event()

        def read():
            for line in self.control.stdout:
                words = line.split()
                if words and words[0] == b"%session-changed":
                    attached.set()
                elif words and words[0] in (b"%end", b"%error") and words[-1] == b"1":
                    self.acks.append(time.monotonic() * 1000)  # one of ours
                    self.failed.append(words[0] == b"%error")

        threading.Thread(target=read, daemon=True).start()
        if not attached.wait(10):
            raise RuntimeError("tmux control client did not attach")
        # No %output for this client (a screenful at each frame), once tmux
        # counts it as attached.
        for _ in range(20):
            _, n = self.command("refresh-client -f no-output")
            release.wait_until(lambda: len(self.failed) > n, 5, 0.01)
            if len(self.failed) > n and not self.failed[n]:
                break
            time.sleep(0.1)

    def command(self, text):
        """Send a tmux command; returns (when it was sent, index of its ack)."""
        n = self.commands
        self.commands += 1
        sent = time.monotonic() * 1000
        self.control.stdin.write(text.encode() + b"\n")
        self.control.stdin.flush()
        return sent, n

    def ack_ms(self, sent, n, timeout=5):
        release.wait_until(lambda: len(self.acks) > n, timeout, 0.01)
        return self.acks[n] - sent if len(self.acks) > n else float("inf")

    def key(self, k):
        return self.command(f"send-keys -t {SESSION} '{k}'")

    def resize(self, w, h):
        return self.command(f"resize-window -t {SESSION} -x {w} -y {h}")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", SESSION)

    def wait_screen(self, text, timeout=30):
        return release.wait_until(lambda: text in self.screen(), timeout, 0.05)

    def stop(self):
        self.tmux("kill-server")
        if self.control:
            self.control.stdin.close()
            try:
                self.control.wait(30)
            except subprocess.TimeoutExpired:
                # its server is gone; a loaded machine may not have let the
                # client notice yet
                self.control.kill()
                self.control.wait()
            self.control = None


def timing_lines(path, kind):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return []
    return [float(line.split()[1]) for line in lines if line.startswith(kind + " ")]


def drawn_after(path, kind, count, timeout=20):
    """The time on the first `kind` line after the first `count` of them."""
    lines = release.wait_until(lambda: timing_lines(path, kind)[count:], timeout, 0.01)
    return lines[0] if lines else None


def budget(tap, ack_ms):
    per_cpu = os.getloadavg()[0] / (os.cpu_count() or 1)
    margin = max(0.0, ack_ms, 100.0 * (per_cpu - 1))
    if margin >= 20:
        tap.diag(f"busy machine: tmux acknowledged in {ack_ms:.0f} ms, load {per_cpu:.1f} per CPU")
    return BUDGET_MS + min(MAX_MARGIN_MS, margin)


def fault_pending(sim, rule_id):
    return any(f["id"] == rule_id for f in sim.ctl("GET", "/faults")["faults"])


def answered(sim, operation, since):
    return [e for e in sim.log(since=since) if e["operation"] == operation]


def lock_held(app):
    return bool(app.status("staging").get("lock", {}).get("held"))


def settle(app, sim, stage="staging", timeout=60):
    """Wait until the stage's stack and distribution are at rest."""
    def rest():
        st = app.status(stage)
        status = st.get("stack_status") or ""
        busy = "IN_PROGRESS" in status and status != "REVIEW_IN_PROGRESS"
        ds = sim.ctl("GET", "/distributions")["distributions"]
        return not busy and all(d["status"] == "Deployed" for d in ds.values())
    return release.wait_until(rest, timeout, 0.5)


def check_step(tap, sim, app, k, step, service, operation):
    timing = os.path.join(sim.tmp, f"timing.{k}")
    term = Terminal(sim.tmp)
    seq = sim.log()[-1]["seq"] if sim.log() else 0
    rule = sim.fault("delay", service=service, operation=operation, count=1,
                     seconds=HOLD)["added"][0]["id"]
    try:
        term.start(app.dir, app.env(), timing)
        # Started means the history is loaded (the head commit is listed):
        # the pane's title alone comes first, and a D before the commits
        # arrive only says to select one.
        if not tap.ok(term.wait_screen(app.head()[:7]), f"{step}: the dashboard started",
                      term.screen()):
            return
        term.key("D")
        tap.ok(term.wait_screen("Prepare a deploy of"), f"{step}: D asks first", term.screen())
        term.key("y")
        if operation in AFTER_QUESTION:
            ok = term.wait_screen("y then Enter: yes")
            tap.ok(ok, f"{step}: the change set question shows", term.screen())
            term.key("y")
            term.key("Enter")
        held = release.wait_until(lambda: not fault_pending(sim, rule), 60, 0.05)
        if not tap.ok(held, f"{step}: the simulator holds {operation}", term.screen()):
            return

        # A key: F12 is unbound, so it only says so, in any step.
        before = len(timing_lines(timing, "key-drawn"))
        sent, n = term.key("F12")
        drawn = drawn_after(timing, "key-drawn", before)
        limit = budget(tap, term.ack_ms(sent, n))
        lat = max(0.0, drawn - sent) if drawn else float("inf")
        tap.ok(lat <= limit, f"{step}: a key is drawn in {lat:.0f} ms (budget {limit:.0f} ms)")

        # A resize: to the other size, drawn at that size.
        w, h = SIZES[1]
        before = len(timing_lines(timing, "resize-drawn"))
        sent, n = term.resize(w, h)
        drawn = drawn_after(timing, "resize-drawn", before)
        limit = budget(tap, term.ack_ms(sent, n))
        lat = max(0.0, drawn - sent) if drawn else float("inf")
        tap.ok(lat <= limit,
               f"{step}: a resize to {w}x{h} is drawn in {lat:.0f} ms (budget {limit:.0f} ms)")
        scr = term.screen()
        rows = scr.rstrip("\n").split("\n")
        tap.ok(len(rows) == h and max(len(r) for r in rows) == w and "F12 is not bound" in scr,
               f"{step}: the screen is drawn at {w}x{h} and shows the key's answer", scr)
        tap.eq(answered(sim, operation, seq), [],
               f"{step}: all of that while {operation} was still held")

        # Ctrl-C, in the middle of the step, asks at once whether to quit.
        before = len(timing_lines(timing, "signal-drawn"))
        sent, n = term.key("C-c")
        drawn = drawn_after(timing, "signal-drawn", before)
        limit = budget(tap, term.ack_ms(sent, n))
        lat = max(0.0, drawn - sent) if drawn else float("inf")
        tap.ok(lat <= limit and term.wait_screen("Quit anyway?", 5),
               f"{step}: Ctrl-C asks whether to quit in {lat:.0f} ms (budget {limit:.0f} ms)",
               term.screen())
        tap.eq(answered(sim, operation, seq), [], f"{step}: before {operation} was answered")
        # Yes: the deploy detaches (cancelled before its change set runs,
        # detached after) and the dashboard leaves once that is recorded;
        # the held request is answered once the y has been taken.
        before = len(timing_lines(timing, "key-drawn"))
        term.key("y")
        drawn_after(timing, "key-drawn", before)
        sim.ctl("POST", "/faults/release")
        ended = term.wait_screen("edgeship-exited:", 60)
        scr = term.screen()
        tap.ok(ended and ("edgeship-exited:0" in scr or "edgeship-exited:6" in scr),
               f"{step}: yes leaves the dashboard (0, or 6 when it detached)", scr)
    finally:
        term.stop()
    # The held request answered; the console that left released the lock
    # on its way out; the stack and the distribution come to rest.
    sim.ctl("POST", "/faults/release")
    done = release.wait_until(lambda: answered(sim, operation, seq), 60, 0.2)
    held = [e["path"] for e in done or [] if e["fault"] == "delay"]
    if operation == "PutObject":
        tap.ok(len(held) == 1 and "/locks/staging" in held[0],
               f"{step}: the request held was the lock's", held)
    tap.ok(not lock_held(app), f"{step}: no lock is left behind")
    if lock_held(app):
        app.run("unlock", "--stage", "staging", "--yes")
    settle(app, sim)


def main(tap, sim, app):
    if not shutil.which("tmux"):
        tap.ok(False, "tmux is installed (the dashboard needs a real terminal here)")
        return
    for k, (step, service, operation) in enumerate(STEPS):
        if operation == "DescribeStackEvents":
            # the stack runs HEAD since the execution held before: a new
            # commit, so that there is something to execute and follow
            app.commit_change("src/index.js", "Lambda@Edge is awesome!",
                              "Lambda@Edge is still awesome!", "a change to follow")
        check_step(tap, sim, app, k, step, service, operation)


if __name__ == "__main__":
    sys.exit(release.run(main))
