#!/usr/bin/env python3
"""Deploy calls and latency, edgeship next to the aws CLI, against one
simulator whose stacks complete inside the API call (stack_step 0): for a
first deploy (stack created), a changed deploy (handler changed) and an
unchanged deploy (same commit again), the AWS calls each makes (from the
simulator's request log), its wall time, and how long after the stack
completed it exited (the stack completes inside ExecuteChangeSet, so its
end is that call's answer).
usage: tests/bench/deploy_latency.py [BUILDDIR] [--runs N] [--calls]
  (prints a table; not a test. --calls also lists each deploy's calls.)"""

import collections
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
if ARGS:
    os.environ["ES_BUILDDIR"] = os.path.abspath(ARGS[0])
RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
if "--runs" in sys.argv:
    ARGS = [a for a in ARGS if a != str(RUNS)]
LIST_CALLS = "--calls" in sys.argv

import release  # noqa: E402

KINDS = ("first", "changed", "unchanged")


def last_seq(sim):
    log = sim.log()
    return log[-1]["seq"] if log else 0


def settle(sim):
    """Every distribution Deployed now (a deploy refuses an InProgress one)."""
    sim.ctl("POST", "/distributions/advance", {})


def measure(sim, run):
    """Run one deploy; its calls, wall time and seconds from the stack's end
    to exit (None when no stack operation ran)."""
    settle(sim)
    start = last_seq(sim)
    t0 = time.time()
    rc = run()
    t1 = time.time()
    log = sim.log(since=start)
    ended = [e["ts"] + e["duration_ms"] / 1000.0 for e in log
             if e["operation"] == "ExecuteChangeSet" and e["status"] == 200]
    return {"rc": rc, "calls": len(log), "ops": collections.Counter(e["operation"] for e in log),
            "seq": [f'{e["ts"] - t0:7.3f} {e["operation"]:22} {e["status"]} {e["path"]}'
                    f'{"?" + e["query"] if e["query"] else ""}' for e in log],
            "wall": t1 - t0, "after_end": (t1 - ended[-1]) if ended else None}


def edgeship_run(app, stack):
    def run():
        rc, out, err = app.run("deploy", "--yes")
        if rc != 0:
            sys.stderr.write(f"edgeship deploy exited {rc}: {err[-1500:]}\n")
        return rc
    return run


def cli_run(sim, app, stack):
    env = sim.env()
    packaged = os.path.join(sim.tmp, f"packaged-{stack}.yaml")

    def run():
        p = subprocess.run(["aws", "cloudformation", "package", "--template-file", "template.yaml",
                            "--s3-bucket", "cli-artifacts", "--output-template-file", packaged],
                           cwd=app.dir, env=env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            sys.stderr.write(f"aws cloudformation package exited {p.returncode}: {p.stderr}\n")
        p = subprocess.run(["aws", "cloudformation", "deploy", "--template-file", packaged,
                            "--stack-name", stack, "--parameter-overrides", "Stage=staging",
                            "--no-fail-on-empty-changeset",
                            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
                           cwd=app.dir, env=env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            sys.stderr.write(f"aws cloudformation deploy exited {p.returncode}: {p.stderr}\n")
        return p.returncode
    return run


def rounds(sim, app, runs):
    """Each round: a new stack per client, deployed first, changed, unchanged."""
    res = {("edgeship", k): [] for k in KINDS}
    res.update({("aws CLI", k): [] for k in KINDS})
    sim.client("s3").create_bucket(Bucket="cli-artifacts")
    conf0 = open(app.conf_path).read()
    for n in range(runs):
        stack_es, stack_cli = f"edge-demo-staging-{n}", f"cli-staging-{n}"
        open(app.conf_path, "w").write(conf0.replace("stack = edge-demo-staging",
                                                     f"stack = {stack_es}"))
        app.git("commit", "-q", "-am", f"round {n}: stack {stack_es}")
        for kind in KINDS:
            if kind == "changed":
                app.commit_change("src/index.js", "Lambda@Edge is awesome!",
                                  f"Lambda@Edge is awesome! ({n})", f"round {n}: handler")
            res[("edgeship", kind)].append(measure(sim, edgeship_run(app, stack_es)))
            res[("aws CLI", kind)].append(measure(sim, cli_run(sim, app, stack_cli)))
        app.commit_change("src/index.js", f"Lambda@Edge is awesome! ({n})",
                          "Lambda@Edge is awesome!", f"round {n}: handler back")
    return res


def fmt(x, unit=""):
    return "-" if x is None else f"{x:.2f}{unit}"


def table(res):
    print(f"{'client':10} {'deploy':10} {'calls':>6} {'wall s':>8} {'end→exit s':>11}  "
          "calls of each run (the first run's first deploy is a fresh console's:"
          " no bucket, no ledger yet); medians; exit codes")
    for who in ("edgeship", "aws CLI"):
        for kind in KINDS:
            ms = res[(who, kind)]
            calls = statistics.median(m["calls"] for m in ms)
            wall = statistics.median(m["wall"] for m in ms)
            ends = [m["after_end"] for m in ms if m["after_end"] is not None]
            rcs = sorted({m["rc"] for m in ms})
            print(f"{who:10} {kind:10} {calls:6.0f} {wall:8.2f} "
                  f"{fmt(statistics.median(ends) if ends else None):>11}  "
                  f"{[m['calls'] for m in ms]} rc {rcs}")
    if LIST_CALLS:
        for (who, kind), ms in res.items():
            print(f"\n{who}, {kind} (last run): {ms[-1]['calls']} calls")
            for line in ms[-1]["seq"]:
                print(f"    {line[:150]}")


def main():
    release.simtest.require_moto()
    sim = release.Simulator()
    try:
        sim.config(stack_step=0, changeset_delay=0)
        app = release.App(sim)
        table(rounds(sim, app, RUNS))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
