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
clock; the dashboard writes "key-drawn MS" lines to ES_TIMING), so a key
that waited because the loop was busy counts its whole wait.

usage: tests/bench/freeze.py [BUILDDIR] [--delay SECONDS]
Prints p50 / p99 / max per action. Goal: p99 <= 50 ms, max <= 100 ms."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "sim"))

import simtest  # noqa: E402

SESSION = "es-freeze"


def tmux(*args, check=True):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=check).stdout


class Bench:
    def __init__(self, binary, delay):
        self.binary = binary
        self.delay = delay
        self.sent = []  # monotonic ms at which each key was typed, in order
        self.sim = simtest.Simulator()
        self.tmp = self.sim.tmp
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
        self.git("-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "first")
        for i in (2, 3):
            with open(os.path.join(self.app, "src", "index.js"), "a") as f:
                f.write(f"// change {i}\n")
            self.git("-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qam",
                     f"change {i}")

    def git(self, *args):
        subprocess.run(["git", *args], cwd=self.app, check=True, capture_output=True)

    def start(self):
        env = self.sim.env(XDG_STATE_HOME=os.path.join(self.tmp, "state"), HOME=self.tmp)
        env.update(ES_TIMING=self.timing, TERM="xterm-256color")
        envs = " ".join(f"{k}='{v}'" for k, v in env.items()
                        if k.startswith(("AWS_", "ES_", "XDG_", "HOME", "TERM", "PATH")))
        tmux("kill-session", "-t", SESSION, check=False)
        tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48",
             f"cd '{self.app}' && env {envs} '{self.binary}'; sleep 5")
        self.wait_screen("History", 20)

    def screen(self):
        return tmux("capture-pane", "-p", "-t", SESSION, check=False)

    def wait_screen(self, text, timeout, probe=False):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.screen():
                return True
            if probe:
                self.probe()
            else:
                time.sleep(0.05)
        return False

    def key(self, k, literal=False):
        self.sent.append(time.monotonic() * 1000)
        tmux("send-keys", "-t", SESSION, *(["-l"] if literal else []), k)

    def type(self, word):
        for ch in word:
            self.key(ch, literal=True)
            time.sleep(0.02)

    def probe(self):
        """A key that changes nothing in AWS: move in the focused pane."""
        self.key("j" if len(self.sent) % 2 else "k")
        time.sleep(0.1)

    def drawn(self):
        try:
            lines = open(self.timing).read().splitlines()
        except OSError:
            return []
        return [float(l.split()[1]) for l in lines if l.startswith("key-drawn ")]

    def action(self, name, steps, until, timeout=90):
        """Run steps (dialog text -> keys) while probing; stop once `until` shows."""
        first = len(self.sent)
        end = time.monotonic() + timeout
        pending = list(steps)
        while time.monotonic() < end:
            scr = self.screen()
            if pending and pending[0][0] in scr:
                _, keys = pending.pop(0)
                for k in keys:
                    if len(k) > 1 and k[0] == "=":
                        self.type(k[1:])
                    else:
                        self.key(k)
                    time.sleep(0.05)
                continue
            if not pending and until in scr:
                break
            self.probe()
        time.sleep(1.0)  # let the last keys be drawn
        last = len(self.sent)
        drawn = self.drawn()
        lat = []
        for i in range(first, last):
            if i < len(drawn):
                lat.append(drawn[i] - self.sent[i])
        done = not pending and until in self.screen()
        return name, lat, done, last - first

    def stop(self):
        tmux("kill-session", "-t", SESSION, check=False)
        self.sim.stop()


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else \
        os.environ.get("ES_BUILDDIR", ".")
    delay = float(sys.argv[sys.argv.index("--delay") + 1]) if "--delay" in sys.argv else 3.0
    binary = os.path.join(os.path.abspath(build), "edgeship")
    if not shutil.which("tmux"):
        print("tmux is needed")
        return 2
    b = Bench(binary, delay)
    rows = []
    try:
        b.sim.config(stack_step=0.5, propagation_min=1.0, propagation_max=2.0, invalidation=2.0)
        b.sim.fault("delay", count=1000000, seconds=delay)
        b.start()
        b.key("G")  # the oldest commit is last; start from the newest
        b.key("g")
        rows.append(b.action("deploy (D)", [
            ("Deploy to staging", ["y"]),
            ("change set", ["y", "Enter"]),
        ], "deploy to staging: success", 180))
        b.wait_screen("Deployed", 120, probe=True)
        rows.append(b.action("validate (V)", [
            ("Which stage?", ["Enter"]),
            ("Validate staging", ["y"]),
        ], "validation of staging:", 120))
        rows.append(b.action("approve (A)", [
            ("Promote to production", ["y"]),
            ("change set", ["=production", "Enter"]),
        ], "promotion to production:", 180))
        rows.append(b.action("invalidate (I)", [
            ("Which stage?", ["Enter"]),
            ("Paths to invalidate", ["Enter"]),
            ("Invalidate", ["y"]),
        ], "completed", 120))
        b.key("j")
        rows.append(b.action("rollback (X)", [
            ("Which stage?", ["Enter"]),
            ("Roll staging back", ["=staging", "Enter"]),
            ("change set", ["=staging", "Enter"]),
        ], "rollback to staging:", 180))
        rows.append(b.action("revert (U)", [
            ("Revert a commit", ["y"]),
        ], "reverts", 60))
        b.key("g")
        rows.append(b.action("quit while deploying", [
            ("Deploy to staging", ["y"]),
            ("change set", ["y", "Enter"]),
            ("deploy to staging", ["q"]),
        ], "Quit", 120))
    finally:
        b.stop()
    print(f"freeze benchmark: every AWS request delayed {delay:g} s; probe keys every 100 ms")
    print(f"{'action':24} {'keys':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  done")
    for name, lat, done, sent in rows:
        print(f"{name:24} {len(lat):5d} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} "
              f"{(max(lat) if lat else float('nan')):8.1f}  {'yes' if done else 'NO'}"
              + ("" if len(lat) == sent else f"  ({sent - len(lat)} keys not drawn)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
