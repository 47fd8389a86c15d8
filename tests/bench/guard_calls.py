#!/usr/bin/env python3
"""API calls per minute of the error-rate guard, for 2 and for 10 guarded
stages, from the simulator's request log: `edgeship watch` follows the
stages (metric period 2 s in the simulator) for a while with traffic
flowing; the figures are scaled to CloudWatch's 60-s period.

Budget: one GetMetricData per poll for all stages, a poll per half period:
120 / period calls a minute (2 at 60 s), whatever the number of stages.
usage: tests/bench/guard_calls.py [BUILDDIR] [SECONDS]   (prints figures)"""

import collections
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
if len(sys.argv) > 1:
    os.environ["ES_BUILDDIR"] = os.path.abspath(sys.argv[1])
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
PERIOD = 2

import release  # noqa: E402
from release import EDGESHIP, App  # noqa: E402
from simtest import Simulator  # noqa: E402


def guarded_conf(app, n):
    text = open(app.conf_path).read()
    head = text[:text.index('[stage "staging"]')]
    checks = text[text.index('[check'):] if '[check' in text else ""
    probes = "".join(f"\tprobe = {e['url']}\n" for e in app.sim.edges)
    stages = "".join(
        f'[stage "s{i}"]\n\tstack = edge-demo-s{i}\n\tparameter = Stage=staging\n{probes}'
        f"\tmarker-header = x-edgeship-version\n\tguard-error-rate = 5%\n"
        f"\tguard-period = {PERIOD}s\n\tguard-watch = 10m\n\n"
        for i in range(n))
    open(app.conf_path, "w").write(head + stages + checks)
    app.git("commit", "-qam", f"{n} guarded stages")


def measure(n):
    sim = Simulator("--set", f"metric_period={PERIOD}")
    try:
        app = App(sim)
        guarded_conf(app, n)
        for i in range(n):
            rc, out, err = app.run("deploy", "--yes", "--stage", f"s{i}", timeout=300)
            if rc != 0:
                raise RuntimeError(f"deploy s{i}: {err[-500:]}")
        sim.ctl("POST", "/traffic", {"rate": 2})
        start = sim.log()[-1]["seq"]
        p = subprocess.Popen([EDGESHIP, "watch"], cwd=app.dir, env=app.env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
        t0 = time.time()
        time.sleep(SECONDS)
        p.terminate()
        p.wait(30)
        elapsed = time.time() - t0
        entries = [e for e in sim.log() if e["seq"] > start]
        ops = collections.Counter(e["operation"] for e in entries)
        return elapsed, ops
    finally:
        sim.stop()


def main():
    print(f"edgeship watch, metric period {PERIOD}s in the simulator, {SECONDS:.0f}s each")
    print("budget: GetMetricData <= 120/period a minute (2/min at 60 s) for any number of stages")
    for n in (2, 10):
        elapsed, ops = measure(n)
        gmd = ops.get("GetMetricData", 0)
        per_min = gmd * 60.0 / elapsed
        at_60 = per_min * PERIOD / 60.0
        total = sum(ops.values()) * 60.0 / elapsed
        verdict = "within" if at_60 <= 2.0 + 0.2 else "OVER"
        print(f"{n:2d} stages: GetMetricData {gmd} in {elapsed:.0f}s = {per_min:.1f}/min at "
              f"{PERIOD}s periods = {at_60:.2f}/min at 60s periods ({verdict} budget); "
              f"all calls of watch {total:.0f}/min")
        for op, c in sorted(ops.items(), key=lambda kv: -kv[1])[:8]:
            print(f"      {c * 60.0 / elapsed:7.1f}/min  {op}")


if __name__ == "__main__":
    release.simtest.require_moto()
    main()
