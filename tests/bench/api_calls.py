#!/usr/bin/env python3
"""Counts the AWS API calls edgeship makes, from the simulator's request log:
one deploy (create, then update) next to `aws cloudformation package` +
`aws cloudformation deploy` of the same commits, and the dashboard's polling
per minute while idle and while a distribution propagates.
usage: tests/bench/api_calls.py [BUILDDIR]   (prints figures; not a test)"""

import collections
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
if len(sys.argv) > 1:
    os.environ["ES_BUILDDIR"] = os.path.abspath(sys.argv[1])

import release  # noqa: E402


def counts(entries):
    return collections.Counter(e["operation"] for e in entries)


def show(title, entries):
    c = counts(entries)
    print(f"{title}: {sum(c.values())} calls")
    for op, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {n:4d}  {op}")


def last_seq(sim):
    log = sim.log()
    return log[-1]["seq"] if log else 0


def edgeship_deploys(sim, app):
    start = last_seq(sim)
    app.run("deploy", "--yes", "--poll-interval", "2000")
    show("edgeship deploy, first (stack created)", sim.log(since=start))
    app.wait_deployed("staging", 60)
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "r2")
    start = last_seq(sim)
    app.run("deploy", "--yes", "--poll-interval", "2000")
    show("edgeship deploy, second (handler changed)", sim.log(since=start))


def cli_deploys(sim, app):
    sim.config(stack_step=0)
    env = sim.env()
    sim.client("s3").create_bucket(Bucket="cli-artifacts")

    def cli(*args):
        return subprocess.run(["aws", *args], cwd=app.dir, env=env, capture_output=True,
                              text=True, timeout=600)

    for label in ("first (stack created)", "second (handler changed)"):
        start = last_seq(sim)
        cli("cloudformation", "package", "--template-file", "template.yaml", "--s3-bucket",
            "cli-artifacts", "--output-template-file", "/tmp/es-bench-packaged.yaml")
        cli("cloudformation", "deploy", "--template-file", "/tmp/es-bench-packaged.yaml",
            "--stack-name", "cli-staging", "--parameter-overrides", "Stage=staging",
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
        show(f"aws cloudformation package + deploy, {label}", sim.log(since=start))
        if label.startswith("first"):
            app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r3';", "r3")
    sim.config(stack_step=0.1)


def polling(sim, app, seconds, title):
    keys = os.path.join(sim.tmp, "poll.keys")
    open(keys, "w").write(f":sleep {seconds * 1000}\nq\n")
    start = last_seq(sim)
    t0 = time.time()
    subprocess.run([release.EDGESHIP, "--script", keys], cwd=app.dir, timeout=seconds + 60,
                   env=dict(app.env(), COLUMNS="120", LINES="40"), capture_output=True)
    took = time.time() - t0
    entries = sim.log(since=start)
    print(f"{title}: {len(entries)} calls in {took:.0f}s = {len(entries) * 60 / took:.1f} per minute")
    for op, n in sorted(counts(entries).items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {n:4d}  {op}")


def main():
    sim = release.Simulator()
    try:
        app = release.App(sim)
        edgeship_deploys(sim, app)
        cli_deploys(sim, app)
        app.wait_deployed("staging", 60)
        polling(sim, app, 60, "dashboard idle (two stages, all settled)")
        sim.config(propagation_min=50, propagation_max=60)
        app.commit_change("src/index.js", "const RELEASE = 'r3';", "const RELEASE = 'r4';", "r4")
        app.run("deploy", "--yes", "--wait", "--poll-interval", "2000")
        polling(sim, app, 40, "dashboard while staging propagates")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
