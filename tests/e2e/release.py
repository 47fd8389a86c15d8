"""Shared by the end-to-end tests: the edgeship binary driven against the
simulator in a fresh git repository of the example app."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sim"))

import simtest  # noqa: E402
from simtest import TAP, Simulator, wait_until  # noqa: E402,F401

BUILDDIR = os.environ.get("ES_BUILDDIR", os.getcwd())
EDGESHIP = os.path.join(BUILDDIR, "edgeship")


class App:
    """A git repository of the example app wired to a simulator."""

    def __init__(self, sim):
        self.sim = sim
        self.dir = os.path.join(sim.tmp, "app")
        self.home = os.path.join(sim.tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        simtest.copy_example(self.dir)
        conf = open(self.conf_path).read()
        probes = "".join(f"\tprobe = {e['url']}\n" for e in sim.edges)
        for stage in ("staging", "production"):
            conf = conf.replace(f'[stage "{stage}"]\n', f'[stage "{stage}"]\n{probes}')
        open(self.conf_path, "w").write(conf)
        self.git("init", "-q", "-b", "main", ".")
        self.git("config", "user.name", "Ann Operator")
        self.git("config", "user.email", "ann@example.com")
        self.git("config", "commit.gpgsign", "false")
        self.git("add", ".")
        self.git("commit", "-q", "-m", "first: the sample app")

    @property
    def conf_path(self):
        return os.path.join(self.dir, "edgeship.conf")

    def git(self, *args):
        return subprocess.run(["git", *args], cwd=self.dir, check=True, capture_output=True,
                              text=True).stdout.strip()

    def head(self):
        return self.git("rev-parse", "HEAD")

    def commit_change(self, path, old, new, message):
        p = os.path.join(self.dir, path)
        text = open(p).read()
        assert old in text, f"{old!r} not in {path}"
        open(p, "w").write(text.replace(old, new, 1))
        self.git("commit", "-q", "-am", message)
        return self.head()

    def env(self):
        return self.sim.env(XDG_STATE_HOME=os.path.join(self.sim.tmp, "state-home"),
                            HOME=self.home)

    def run(self, *args, timeout=120):
        p = subprocess.run([EDGESHIP, *args], cwd=self.dir, env=self.env(),
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def popen(self, *args):
        return subprocess.Popen([EDGESHIP, *args], cwd=self.dir, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)

    def json(self, *args):
        rc, out, err = self.run(*args, "--json")
        try:
            return rc, json.loads(out), err
        except ValueError:
            return rc, None, err + out

    def status(self, stage):
        rc, st, err = self.json("status")
        if rc != 0 or not st:
            raise RuntimeError(f"status failed: {err}")
        return next(s for s in st["stages"] if s["stage"] == stage)

    def records(self, stage=None):
        args = ["log"] + (["--stage", stage] if stage else [])
        rc, recs, err = self.json(*args)
        if rc != 0:
            raise RuntimeError(f"log failed: {err}")
        return recs

    def distribution(self, stage):
        st = self.status(stage)
        return self.sim.client("cloudfront").get_distribution(Id=st["distribution_id"])["Distribution"]

    def wait_deployed(self, stage, timeout=30):
        return wait_until(lambda: self.distribution(stage)["Status"] == "Deployed", timeout, 0.2)


# Scripts whose dashboard waited synchronously on the screen's loop.
BLOCKED = []


def no_leak_check(env):
    """For a dashboard that detaches: it exits while its deploy's job still
    holds the state it works on, and leaves that memory to the exit, so
    LeakSanitizer (in the sanitizer build) must not judge that exit."""
    opts = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


def run_script(app, name, text, *options, cols=140, lines=40, leaks=True, extra_env=None):
    """Run the dashboard on a key script ({tmp} is the simulator's folder);
    a synchronous wait on the screen's loop aborts it and is noted in BLOCKED.
    leaks=False turns off the leak check for a run that detaches."""
    path = os.path.join(app.sim.tmp, name + ".keys")
    with open(path, "w") as f:
        f.write(text.replace("{tmp}", app.sim.tmp))
    env = dict(app.env(), COLUMNS=str(cols), LINES=str(lines), TERM="xterm-256color",
               ES_ASSERT_NO_UI_BLOCK="1", **(extra_env or {}))
    if not leaks:
        no_leak_check(env)
    p = subprocess.run([EDGESHIP, *options, "--script", path], cwd=app.dir, env=env,
                       capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    waits = re.search(r"edgeship: (\d+) blocking waits? on the screen's loop", p.stderr)
    if "synchronous wait on the screen's loop" in p.stderr or (waits and waits.group(1) != "0"):
        BLOCKED.append((name, p.stderr[-3000:]))
    return p.returncode, p.stdout, p.stderr


def screen(app, name):
    """A screen a script dumped into the simulator's folder."""
    try:
        return open(os.path.join(app.sim.tmp, name)).read()
    except OSError as e:
        return f"(no screen: {e})"


def mutating_puts(log, prefix):
    """S3 PUTs of objects under prefix (artifacts/ or templates/)."""
    return [e for e in log if e.get("method") == "PUT" and prefix in (e.get("path") or "")]


def run(main):
    simtest.require_moto()
    tap = TAP()
    if not os.access(EDGESHIP, os.X_OK):
        print(f"Bail out! {EDGESHIP} is not built")
        sys.exit(1)
    sim = None
    try:
        sim = Simulator()
        main(tap, sim, App(sim))
    except Exception:  # noqa: BLE001 - reported as a failed check
        import traceback
        tap.ok(False, "test script ran to the end", traceback.format_exc())
    finally:
        if sim is not None:
            sim.stop()
    sys.exit(tap.done())
