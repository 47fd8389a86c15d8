#!/usr/bin/env python3
"""Freeze benchmark (not part of `make check`): is the dashboard ever frozen
while an action runs on a slow network?

The simulator delays every AWS request by 3 s (uploads included). The
dashboard runs in a real terminal (tmux). For each action — deploy (D),
validate (V), approve the promotion (A), invalidate (I), roll back (X),
revert (U), and quitting while a deploy runs — the benchmark answers the
dialogs as they appear and, all the while, types a probe key every 100 ms.
Latency is measured from the moment tmux was told to type a key to the
moment the dashboard drew a frame after reading it (both on the monotonic
clock; the dashboard writes "key-drawn MS" lines to ES_TIMING, one per key
read, and "exit MS" when it is done), so a key that waited because the loop
was busy counts its whole wait.

The probe key is F12: unbound, so it changes nothing (no selection moves,
no dialog takes it as an answer or as text) yet every key read redraws.
Before the dashboard starts, the previous commit is deployed to staging
from the command line without delay, so that the rollback has a recorded
release to go back to.

usage: tests/bench/freeze.py [BUILDDIR] [--delay SECONDS] [--only NAME,...] [--raw FILE]
(--raw writes every key's sent and drawn times, and each action's span, as JSON)
Prints p50 / p99 / max per action. Goal: p99 <= 50 ms, max <= 100 ms."""

import json
import os
import re
import signal
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "sim"))

import simtest  # noqa: E402

SESSION = "es-freeze"
PROBE = "F12"
GOAL_P99, GOAL_MAX = 50.0, 100.0


class Bench:
    def __init__(self, binary, delay):
        self.binary = binary
        self.delay = delay
        self.sent = []  # monotonic ms at which tmux was told to type each key
        self.acks = []  # and at which tmux said it had (after the first commands)
        self.failed = []  # and whether tmux refused each command
        self.setup = 0  # commands before the first key
        self.control = None
        self.sim = simtest.Simulator()
        self.tmp = self.sim.tmp
        self.socket = os.path.join(self.tmp, "tmux.sock")  # a tmux server of our own
        self.timing = os.path.join(self.tmp, "timing")
        self.app = os.path.join(self.tmp, "app")
        simtest.copy_example(self.app)
        conf = open(os.path.join(self.app, "edgeship.conf")).read()
        probes = "".join(f"\tprobe = {e['url']}\n" for e in self.sim.edges)
        conf = conf.replace('[stage "staging"]\n', '[stage "staging"]\n' + probes)
        conf = conf.replace('[stage "production"]\n', '[stage "production"]\n' + probes)
        open(os.path.join(self.app, "edgeship.conf"), "w").write(conf)
        self.git("init", "-q", "-b", "main", ".")
        self.git("add", ".")
        self.commit("first")
        # change 2 at the top of the handler, change 3 at its end: reverting
        # change 2 under change 3 applies cleanly
        index = os.path.join(self.app, "src", "index.js")
        text = open(index).read()
        open(index, "w").write("// change 2\n" + text)
        self.commit("change 2")
        with open(index, "a") as f:
            f.write("// change 3\n")
        self.commit("change 3")

    def git(self, *args):
        return subprocess.run(["git", *args], cwd=self.app, check=True, capture_output=True,
                              text=True).stdout

    def commit(self, msg):
        self.git("-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qam", msg)

    def env(self):
        env = self.sim.env(XDG_STATE_HOME=os.path.join(self.tmp, "state"), HOME=self.tmp)
        env.update(ES_TIMING=self.timing, TERM="xterm-256color")
        return env

    def seed(self):
        """Deploy change 2 to staging from the command line, at full speed."""
        env = self.env()
        del env["ES_TIMING"]
        p = subprocess.run([self.binary, "deploy", "HEAD~1", "--stage", "staging", "--yes",
                            "--wait"], cwd=self.app, env=env, capture_output=True, text=True,
                           timeout=300, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError(f"seeding deploy failed: {p.stdout}{p.stderr}")

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True,
                              check=check).stdout

    def start(self):
        envs = " ".join(f"{k}='{v}'" for k, v in self.env().items()
                        if k.startswith(("AWS_", "ES_", "XDG_", "HOME", "TERM", "PATH")))
        self.tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48",
                  f"cd '{self.app}' && env {envs} '{self.binary}'; echo edgeship-exited; "
                  "sleep 60")
        if not self.wait_screen("History", 20):
            raise RuntimeError("the dashboard did not start:\n" + self.screen())
        # Keys go through one control-mode client, not a tmux process per
        # key: spawning one costs milliseconds, and tens of them on a busy
        # machine. Each command's %end is tmux's acknowledgement.
        self.control = subprocess.Popen(["tmux", "-S", self.socket, "-C", "attach-session",
                                         "-t", SESSION], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.attached = threading.Event()
        threading.Thread(target=self.read_control, daemon=True).start()
        if not self.attached.wait(10):
            raise RuntimeError("the tmux control client did not attach")
        # No %output for this client, once tmux counts it as attached.
        for _ in range(20):
            n = self.setup
            self.command("refresh-client -f no-output")
            self.setup += 1
            simtest.wait_until(lambda: len(self.failed) > n, 5, 0.01)
            if len(self.failed) > n and not self.failed[n]:
                break
            time.sleep(0.1)

    def read_control(self):
        for line in self.control.stdout:
            w = line.split()
            if w and w[0] == b"%session-changed":
                self.attached.set()
            elif w and w[0] in (b"%end", b"%error") and w[-1] == b"1":  # our commands
                self.acks.append(time.monotonic() * 1000)
                self.failed.append(w[0] == b"%error")

    def command(self, text):
        self.control.stdin.write(text.encode() + b"\n")
        self.control.stdin.flush()

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", SESSION, check=False)

    def wait_screen(self, text, timeout, probe=False):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(text, self.screen()):
                return True
            if probe:
                self.probe()
            else:
                time.sleep(0.05)
        return False

    def key(self, k, literal=False):
        self.sent.append(time.monotonic() * 1000)
        self.command(f"send-keys -t {SESSION} {'-l ' if literal else ''}'{k}'")

    def type(self, word):
        for ch in word:
            self.key(ch, literal=True)
            time.sleep(0.02)

    def probe(self):
        self.key(PROBE)
        time.sleep(0.1)

    def reads(self):
        """When each key was read: its frame's "key-to-screen N ms" line
        (written just before the frame's key-drawn lines) counts back from
        the draw to the frame's first key read."""
        try:
            lines = open(self.timing).read().splitlines()
        except OSError:
            return []
        out, back = [], 0
        for line in lines:
            w = line.split()
            if w[0] == "key-to-screen":
                back = int(w[1])
            elif w[0] == "key-drawn":
                out.append(float(w[1]) - back)
        return out

    def lines(self, kind):
        try:
            lines = open(self.timing).read().splitlines()
        except OSError:
            return []
        return [float(line.split()[1]) for line in lines if line.startswith(kind + " ")]

    def distributions_deployed(self):
        ds = self.sim.ctl("GET", "/distributions")["distributions"]
        return all(d["status"] == "Deployed" for d in ds.values())

    def action(self, name, key, steps, until, timeout=240):
        """Type `key`, then answer the dialogs of `steps` in order (regex
        shown -> keys, or a function of the screen giving the keys) while
        probing; stop once `until` (a regex) shows. Returns the row for the
        table."""
        first = len(self.sent)
        t0 = time.monotonic()
        self.key(key)
        end = t0 + timeout
        pending = list(steps)
        outcome = None
        while time.monotonic() < end:
            scr = self.screen()
            if pending and re.search(pending[0][0], scr):
                _, keys = pending.pop(0)
                for k in keys(scr) if callable(keys) else keys:
                    if len(k) > 1 and k[0] == "=":
                        self.type(k[1:])
                    else:
                        self.key(k)
                    time.sleep(0.05)
                continue
            m = re.search(until, scr) if not pending else None
            if m:
                outcome = m.group(0)
                break
            self.probe()
        took = time.monotonic() - t0
        if outcome is None:
            sys.stderr.write(f"{name}: {until!r} not seen after {took:.0f} s"
                             + (f", waiting for {pending[0][0]!r}" if pending else "")
                             + ":\n" + self.screen())
        for _ in range(5):  # let the last keys be drawn, still probing
            self.probe()
        time.sleep(0.5)
        return self.row(name, first, len(self.sent), outcome, took)

    def row(self, name, first, last, outcome, took):
        drawn, reads = self.lines("key-drawn"), self.reads()
        keys = range(first, min(last, len(drawn)))
        lat = [drawn[i] - self.sent[i] for i in keys]
        tmux = [self.acks[self.setup + i] - self.sent[i] for i in keys
                if self.setup + i < len(self.acks)]
        own = [drawn[i] - reads[i] for i in keys]
        return {"name": name, "lat": lat, "tmux": tmux, "own": own, "sent": last - first,
                "outcome": outcome,
                "seconds": took, "first": first, "last": last}

    def stop(self):
        if self.control:
            self.control.stdin.close()
            self.control.wait(5)
        self.tmux("kill-server", check=False)
        self.sim.stop()


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def changeset(stage):
    """Keys for a change set question, whichever form it takes: the stage
    name typed, y then Enter, or (older builds) y alone."""
    def keys(scr):
        if f'Type "{stage}" to execute' in scr:
            return ["=" + stage, "Enter"]
        if "y then Enter" in scr:
            return ["y", "Enter"]
        return ["y"]
    return keys


def quit_while_deploying(b, delay, rows):
    """D on the newest commit (the revert), q once the change set runs: q
    asks first; yes detaches the deploy (its outcome recorded, the lock
    released, each request delayed too) and the dashboard exits. The quit's
    figure is from yes to the dashboard's exit line."""
    quit_ms = None
    b.key("g")
    first = len(b.sent)
    r = b.action("quit while deploying", "D", [
        (r"Prepare a deploy of \w+ to staging", ["y"]),
        (r"deploy to staging: change set", changeset("staging")),
    ], r"deploy to staging: confirmed, executing")
    end = time.monotonic() + 2 * delay + 1  # ExecuteChangeSet answered: following
    while time.monotonic() < end:
        b.probe()
    q_at = len(b.sent)
    b.key("q")
    end = time.monotonic() + 10
    while time.monotonic() < end and "Quit anyway?" not in b.screen():
        time.sleep(0.02)
    yes_at = len(b.sent)
    b.key("y")
    end = time.monotonic() + 20 * delay + 30
    while time.monotonic() < end and "edgeship-exited" not in b.screen():
        b.probe()
    time.sleep(0.2)
    exits = b.lines("exit")
    if exits:
        quit_ms = exits[-1] - b.sent[yes_at]
    r = b.row(r["name"], first, q_at, r["outcome"], r["seconds"])
    rows.append(r)
    return quit_ms


def main():
    args = sys.argv[1:]
    build = args[0] if args and not args[0].startswith("-") else os.environ.get("ES_BUILDDIR", ".")
    delay = float(args[args.index("--delay") + 1]) if "--delay" in args else 3.0
    only = args[args.index("--only") + 1].split(",") if "--only" in args else None
    raw = args[args.index("--raw") + 1] if "--raw" in args else None
    binary = os.path.join(os.path.abspath(build), "edgeship")
    if not shutil.which("tmux"):
        print("tmux is needed")
        return 2
    simtest.require_moto()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop tmux and the simulator
    b = Bench(binary, delay)
    rows = []
    quit_ms = None
    try:
        b.seed()
        b.sim.config(stack_step=0.5, propagation_min=1.0, propagation_max=2.0, invalidation=2.0)
        b.sim.fault("delay", count=1000000, seconds=delay)
        b.start()
        b.key("g")  # the newest commit (change 3)

        def want(name):
            return only is None or any(o in name for o in only)

        rows.append(b.action("deploy (D)", "D", [
            (r"Prepare a deploy of \w+ to staging", ["y"]),
            (r"deploy to staging: change set", changeset("staging")),
        ], r"deploy to staging: (success|no-changes|failed|refused|cancelled)"))
        simtest.wait_until(b.distributions_deployed, 60, 0.5)
        if want("validate"):
            rows.append(b.action("validate (V)", "V", [
                (r"Which stage\?", ["Enter"]),
                (r"Run staging's checks now", ["y"]),
            ], r"check home on staging: (pass|FAIL)"))
        if want("approve"):
            rows.append(b.action("approve (A)", "A", [
                (r"Promote staging's release", ["y"]),
                (r"promotion to production: change set", changeset("production")),
            ], r"promotion to production: (success|no-changes|failed|refused|cancelled)"))
        if want("invalidate"):
            rows.append(b.action("invalidate (I)", "I", [
                (r"Which stage\?", ["Enter"]),
                (r"Paths to invalidate on staging", ["Enter"]),
                (r"Invalidate /\* on staging\?", ["y"]),
            ], r"invalidation \S+ completed"))
        simtest.wait_until(b.distributions_deployed, 60, 0.5)
        b.key("j")  # change 2, deployed before the dashboard started
        if want("rollback"):
            rows.append(b.action("rollback (X)", "X", [
                (r"Which stage\?", ["Enter"]),
                (r'Roll staging back to \w+\? Type "staging"', ["=staging", "Enter"]),
                (r"rollback to staging: change set", changeset("staging")),
            ], r"rollback to staging: (success|no-changes|failed|refused|cancelled)"))
        if want("revert"):
            rows.append(b.action("revert (U)", "U", [
                (r"Create a commit that reverts", ["y"]),
            ], r"reverted \w+ as \w+"))
        simtest.wait_until(b.distributions_deployed, 60, 0.5)
        if want("quit"):
            quit_ms = quit_while_deploying(b, delay, rows)
    finally:
        if raw:
            with open(raw, "w") as f:
                json.dump({"sent": b.sent, "acks": b.acks, "drawn": b.lines("key-drawn"),
                           "timing": open(b.timing).read() if os.path.exists(b.timing) else "",
                           "actions": [{k: r[k] for k in ("name", "first", "last")}
                                       for r in rows]}, f)
        b.stop()
    return report(binary, delay, rows, quit_ms)


def report(binary, delay, rows, quit_ms):
    """The table: latency from tmux being told to type a key to the frame
    that shows it (p50 / p99 / max); then how long tmux took to acknowledge
    typing it (p99: when that is long, the machine is too busy to run
    anything promptly), and the longest time the dashboard held a key it
    had read before the frame showing it reached the terminal. The rest of
    a key's latency is the key waiting to be read: a busy loop, or a
    machine too busy to run the dashboard."""
    print(f"freeze benchmark: {binary}")
    print(f"every AWS request delayed {delay:g} s; a probe key ({PROBE}) every 100 ms; "
          f"goal p99 <= {GOAL_P99:g} ms, max <= {GOAL_MAX:g} ms")
    print(f"{'':28}{'key sent -> drawn':^26}  {'tmux':>6} {'read->':>7}")
    print(f"{'action':22} {'keys':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  "
          f"{'p99 ms':>6} {'drawn':>7} {'took s':>7}  outcome")
    bad = False
    for r in rows:
        lat = r["lat"]
        mx = max(lat) if lat else float("nan")
        over = not lat or pct(lat, 99) > GOAL_P99 or mx > GOAL_MAX
        bad |= over
        note = "" if len(lat) == r["sent"] else f"  ({r['sent'] - len(lat)} keys not drawn)"
        own = max(r["own"]) if r["own"] else float("nan")
        print(f"{r['name']:22} {len(lat):5d} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} "
              f"{mx:8.1f}  {pct(r['tmux'], 99):6.1f} {own:7.1f} {r['seconds']:7.1f}  "
              f"{r['outcome'] or 'NOT SEEN'}{'  OVER GOAL' if over else ''}{note}")
    if quit_ms is not None:
        print(f"quit while deploying: yes to the dashboard's exit {quit_ms:.1f} ms "
              "(the detached outcome recorded and the lock released first)")
    elif any(r["name"].startswith("quit") for r in rows):
        print("quit while deploying: no exit line (the dashboard did not end)")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
