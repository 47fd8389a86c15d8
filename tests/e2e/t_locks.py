#!/usr/bin/env python3
"""Who holds a stage, seen where people look: the dashboard's Stages pane and
`watch` show a held lock (holder, since when, when it expires), and `watch`
waits while one is held; the dashboard and `watch` record the real end of an
action whose console stopped following it, once, as `status` does; a
read-only console records nothing."""

import datetime
import json
import os
import subprocess
import time

import release
from release import BLOCKED, run_script, screen

LOCK_KEY = "edge-demo/locks/staging.json"
BUCKET = "edge-demo-artifacts"


def change(app, n):
    path = os.path.join(app.dir, "src", "index.js")
    with open(path, "a") as f:
        f.write(f"// lock test {n}\n")
    app.git("commit", "-q", "-am", f"lock test {n}")


def plant_lock(sim, who, minutes_ago=1):
    """A lock another console holds: taken a minute ago, renewed now."""
    when = (datetime.datetime.now(datetime.timezone.utc) -
            datetime.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({"kind": "deploy", "stage": "staging", "who": who, "owner": "f" * 32,
                       "action_id": "held-by-another-console", "when": when, "ttl_s": 180})
    sim.client("s3").put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=body.encode(),
                                ContentType="application/json")


def drop_lock(sim):
    sim.client("s3").delete_object(Bucket=BUCKET, Key=LOCK_KEY)


def stack_status(sim):
    return sim.client("cloudformation").describe_stacks(StackName="edge-demo-staging")["Stacks"][0]["StackStatus"]


def outcomes(app, act):
    return [r for r in app.records("staging") if r["phase"] == "outcome" and r.get("action_id") == act]


def detach_a_deploy(app, sim, n):
    """A deploy whose console stops following (--timeout) while CloudFormation
    carries on; returns its action id once the stack has settled, without
    asking edgeship (status would record the end itself)."""
    app.wait_deployed("staging", 60)
    change(app, n)
    sim.config(stack_step=1.0)
    rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300", "--timeout", "1s")
    sim.config(stack_step=0.1)
    intents = [r for r in app.records("staging") if r["phase"] == "intent"]
    act = intents[-1]["action_id"]
    release.wait_until(lambda: not stack_status(sim).endswith("_IN_PROGRESS"), 90, 0.3)
    return rc, act


def main(tap, sim, app):
    rc, out, err = app.run("deploy", "--yes", "--wait", "--stage", "staging")
    tap.ok(rc == 0, "a first deploy to staging", err[-800:])

    # 1. A lock held by another console: shown with its holder, and watch
    # waits for it.
    plant_lock(sim, "arn:aws:iam::123456789012:user/bob")
    rc, out, err = run_script(app, "locked", """:wait-idle
:dump-screen {tmp}/locked.txt
q
""", cols=150, lines=44)
    shown = screen(app, "locked.txt")
    tap.ok(rc == 0 and "locked: deploy by bob for 1m" in shown and "expires in" in shown,
           "the Stages pane names the holder, how long it has held the stage and when it expires",
           shown)
    tap.ok("locked for a deploy by bob" in shown, "and the activity strip says so", shown)

    p = subprocess.Popen([release.EDGESHIP, "watch", "--json", "--stage", "staging"], cwd=app.dir,
                         env=app.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    lock_line = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and lock_line is None:
        line = p.stdout.readline()
        if not line:
            break
        o = json.loads(line)
        if o.get("type") == "stage" and (o.get("lock") or {}).get("held"):
            lock_line = o
    tap.ok(lock_line is not None and lock_line["lock"]["who"].endswith("user/bob")
           and lock_line["lock"]["kind"] == "deploy" and 0 < lock_line["lock"]["expires_in_s"] <= 180
           and not lock_line["lock_stale"],
           "watch --json shows the lock: holder, kind, expiry by S3's clock", lock_line)
    time.sleep(1)
    tap.eq(p.poll(), None, "watch does not call the stage settled while a console holds it")
    drop_lock(sim)
    try:
        rest, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
    tap.ok(p.returncode == 0 and '"settled"' in rest,
           "once the lock is released, watch settles", (p.returncode, rest[-600:], err[-600:]))

    rc, out, err = app.run("watch", "--stage", "staging")
    tap.ok(rc == 0 and "locked" not in out, "a free stage shows no lock in watch", out)

    # 2. The end of an action whose console stopped following is recorded by
    # the dashboard, once; a read-only dashboard records nothing.
    rc, act = detach_a_deploy(app, sim, 1)
    tap.ok([o["result"] for o in outcomes(app, act)] == ["detached"], "a deploy ended detached", (rc, outcomes(app, act)))
    rc, out, err = run_script(app, "ro", ":wait-idle\nq\n", "--read-only")
    tap.ok([o["result"] for o in outcomes(app, act)] == ["detached"],
           "a read-only dashboard does not record its end", (outcomes(app, act), err[-600:]))
    rc, out, err = run_script(app, "resolve", """:wait-idle
:dump-screen {tmp}/resolved.txt
q
""")
    finals = [o for o in outcomes(app, act) if o["result"] != "detached"]
    tap.ok(rc == 0 and len(finals) == 1 and finals[0]["result"] == "success"
           and finals[0].get("recorded_later"),
           "the dashboard records the real end of the detached deploy", (outcomes(app, act), err[-800:]))
    tap.ok("recorded how 1 abandoned action ended" in screen(app, "resolved.txt"),
           "and says so in the activity strip", screen(app, "resolved.txt"))
    run_script(app, "again", ":wait-idle\nq\n")
    tap.eq(len(outcomes(app, act)), 2, "a second dashboard records nothing more")

    # 3. The same through watch.
    rc, act = detach_a_deploy(app, sim, 2)
    rc, out, err = app.run("watch", "--stage", "staging")
    finals = [o for o in outcomes(app, act) if o["result"] != "detached"]
    tap.ok(len(finals) == 1 and finals[0]["result"] == "success",
           "watch records the real end of a detached deploy", (outcomes(app, act), out[-600:], err[-600:]))
    st = app.status("staging")
    tap.ok(not st["detached"] and not st["interrupted"] and len(outcomes(app, act)) == 2,
           "and status, looking later, finds nothing left to record", st)
    tap.ok(not BLOCKED, "no script made the dashboard wait synchronously on the screen's loop",
           "\n".join(f"{name}: {err}" for name, err in BLOCKED))


if __name__ == "__main__":
    release.run(main)
