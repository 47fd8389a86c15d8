#!/usr/bin/env python3
"""The headless commands speak alike: missing credentials exit 5 from every
command and say what to set; an unknown stage is a usage error (exit 2)
naming the configured stages; invalidate and unlock ask first and refuse
without a terminal as deploy does; status shows each distribution's status
and who holds a stage's lock, for how long; watch --stage shows only that
stage; log fits its columns to the width; a ledger bucket that does not
exist yet is a fresh application, not an offline ledger."""

import datetime
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time

import release

BUCKET = "edge-demo-artifacts"
STAGES = "staging, production, production-eu"
LONG_WHO = "arn:aws:sts::123456789012:assumed-role/ReleaseManagers-production/ann.operator@example.com"
NO_ANSWER = "no terminal to ask on; answering no (use --yes in scripts)"


def run_env(app, args, env, timeout=60):
    """The binary with env; (rc, out, err), rc None when it did not end."""
    try:
        p = subprocess.run([release.EDGESHIP, *args], cwd=app.dir, env=env, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", e.stderr or ""
    return p.returncode, p.stdout, p.stderr


def no_credentials(app):
    env = app.env()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(k, None)
    return env


def log_mark(sim):
    """The simulator's request log position, for requests since then."""
    return sim.ctl("GET", "/log?since=999999999")["last"]


def lock_key(stage):
    return f"edge-demo/locks/{stage}.json"


def plant_lock(sim, stage, who, minutes_ago, action_id="held-by-another-console"):
    """A lock another console holds, taken minutes_ago and renewed now."""
    when = (datetime.datetime.now(datetime.timezone.utc) -
            datetime.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({"kind": "deploy", "stage": stage, "who": who, "owner": "f" * 32,
                       "action_id": action_id, "when": when, "ttl_s": 180})
    sim.client("s3").put_object(Bucket=BUCKET, Key=lock_key(stage), Body=body.encode(),
                                ContentType="application/json")


def lock_exists(sim, stage):
    s3 = sim.client("s3")
    return s3.list_objects_v2(Bucket=BUCKET, Prefix=lock_key(stage)).get("KeyCount", 0) > 0


def plant_record(sim, app, **fields):
    """Another console's record, straight into S3 at the next number."""
    seq = max([r["seq"] for r in app.records()] or [0]) + 1
    rec = dict(seq=seq, record_id=f"planted-{seq}", action_id=f"planted-action-{seq}",
               when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields)
    sim.client("s3").put_object(Bucket=BUCKET, Key=f"edge-demo/ledger/{seq:010d}.json",
                                Body=json.dumps(rec).encode(), ContentType="application/json")


def asked_on_a_terminal(app, args, answer):
    """Run with stdin and stderr on a terminal; answer once the question
    (ending in [y/N]) is on it. (rc, what the terminal showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([release.EDGESHIP, *args], cwd=app.dir, env=app.env(), stdin=slave,
                         stderr=slave, stdout=subprocess.PIPE, text=True)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in shown and time.monotonic() < deadline and p.poll() is None:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                shown += os.read(master, 4096)
            except OSError:
                break
    if b"[y/N]" in shown:
        os.write(master, answer.encode())
    try:
        p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    os.close(master)
    return p.returncode, shown.decode("utf-8", "replace")


def main(tap, sim, app):
    # A third stage with a long name, as an app with regional productions has.
    with open(app.conf_path, "a") as f:
        f.write('\n[stage "production-eu"]\n\tstack = edge-demo-production-eu\n'
                '\tparameter = Stage=production\n\tpromotes-from = staging\n')
    app.git("commit", "-q", "-am", "a regional production stage")

    # 7. Before the first deploy the bucket does not exist: no releases yet.
    rc, out, err = app.run("status")
    tap.ok(rc == 0 and "no releases recorded yet" in out and "first deploy creates it" in out
           and "offline" not in out + err,
           "status on a fresh application says no releases yet, the first deploy creates the bucket",
           out + err)
    rc, st, err = app.json("status")
    tap.ok(rc == 0 and st.get("ledger_bucket_missing") is True and st["ledger_offline"] is False,
           "status --json: ledger_bucket_missing, not offline", st)
    rc, out, err = app.run("log")
    tap.ok(rc == 0 and "no releases recorded yet" in out and "offline" not in out + err,
           "log says the same", out + err)

    # 1. No credentials anywhere: every command exits 5 and says what to set.
    env = no_credentials(app)
    mark = log_mark(sim)
    commands = [["status"], ["log"], ["deploy", "--yes"], ["validate", "--stage", "staging"],
                ["invalidate", "--stage", "staging", "--yes"], ["unlock", "--stage", "staging", "--yes"],
                ["rollback", "--stage", "staging", "--to", "HEAD", "--yes"],
                ["promote", "--to", "production", "--yes"], ["watch"], ["whoami"],
                ["revert", "HEAD", "--deploy", "--yes"]]
    for args in commands:
        rc, out, err = run_env(app, args, env, timeout=30)
        tap.ok(rc == 5 and "AWS_ACCESS_KEY_ID" in err and "AWS_PROFILE" in err,
               f"{' '.join(args)} without credentials exits 5 and says what to set",
               (rc, out[-500:], err[-800:]))
    rc, out, err = run_env(app, ["status", "--json"], env)
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    tap.ok(rc == 5 and doc and doc["ok"] is False and "AWS_PROFILE" in doc["error"]["message"],
           "status --json without credentials: exit 5 and the JSON error", (rc, out, err))
    tap.eq(sim.log(since=mark), [], "and none of them sent a request")
    tap.eq(app.git("log", "-1", "--format=%s"), "a regional production stage",
           "revert --deploy without credentials committed nothing")

    # 2. An unknown stage, wherever a command takes one: exit 2, the stages named.
    for args in [["deploy", "--stage", "nope", "--yes"], ["promote", "--to", "nope", "--yes"],
                 ["rollback", "--stage", "nope", "--to", "HEAD", "--yes"],
                 ["validate", "--stage", "nope"], ["invalidate", "--stage", "nope", "--yes"],
                 ["unlock", "--stage", "nope", "--yes"], ["log", "--stage", "nope"],
                 ["watch", "--stage", "nope"]]:
        rc, out, err = app.run(*args, timeout=30)
        tap.ok(rc == 2 and '"nope"' in err and STAGES in err,
               f"{' '.join(args)}: exit 2 naming the stage and the configured ones",
               (rc, out[-300:], err[-500:]))

    rc, out, err = app.run("validate", "--stage")
    tap.ok(rc == 2 and "--stage needs a value" in err, "--stage without a name is a usage error", err)
    outside = os.path.join(sim.tmp, "not-a-repository")
    os.makedirs(outside, exist_ok=True)
    for args in (["status"], ["log", "--json"], ["init"]):
        p = subprocess.run([release.EDGESHIP, *args], cwd=outside, env=app.env(), capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        tap.ok(p.returncode == 5 and "not inside a git repository" in p.stdout + p.stderr,
               f"{' '.join(args)} outside a repository: no configuration, exit 5", (p.returncode, p.stdout, p.stderr))

    # A deploy whose propagation the test holds and moves on.
    sim.config(propagation_min=600.0, propagation_max=900.0)
    rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "staging deploys")
    dist = app.status("staging")["distribution_id"]

    # 4. status: the distribution's status and the lock.
    st = app.status("staging")
    tap.ok(st.get("distribution_status") == "InProgress" and st.get("distribution_last_modified"),
           "status --json: the distribution is InProgress", st)
    rc, out, err = app.run("status")
    tap.ok(f"cloudfront {dist} InProgress" in out, "status says InProgress", out)
    sim.ctl("POST", "/distributions/advance", {"id": dist})
    app.wait_deployed("staging")
    tap.eq(app.status("staging").get("distribution_status"), "Deployed", "then Deployed in --json")
    rc, out, err = app.run("status")
    tap.ok(f"cloudfront {dist} Deployed" in out, "and in text", out)

    plant_lock(sim, "staging", "arn:aws:iam::123456789012:user/bob", 2)
    st = app.status("staging")
    lock = st["lock"]
    tap.ok(lock["held"] and lock["who"].endswith("user/bob") and lock["kind"] == "deploy"
           and 100 <= (lock.get("age_s") or -1) <= 600 and 0 < lock["expires_in_s"] <= 180 and not st["lock_stale"],
           "status --json: the lock's holder, action, age and expiry", st)
    rc, out, err = app.run("status")
    line = next((l for l in out.splitlines() if l.strip().startswith("lock")), "")
    tap.ok("deploy by arn:aws:iam::123456789012:user/bob" in line and "(held 2m" in line
           and "expires in" in line, "status: the lock line names holder, action, age and expiry", out)
    ended = [r for r in app.records("staging") if r["phase"] == "intent" and not r.get("open")][-1]
    plant_lock(sim, "staging", "arn:aws:iam::123456789012:user/bob", 3, ended["action_id"])
    rc, out, err = app.run("status")
    line = next((l for l in out.splitlines() if l.strip().startswith("lock")), "")
    tap.ok("(held 3m" in line and "stale" in line and app.status("staging")["lock_stale"],
           "a lock whose action has ended is shown stale", out)

    # 3. unlock and invalidate ask first; without a terminal the answer is no.
    mark = log_mark(sim)
    rc, out, err = app.run("unlock", "--stage", "staging")
    tap.ok(rc == 4 and NO_ANSWER in out + err and "user/bob" in out + err,
           "unlock without a terminal or --yes: the question names the holder, then no (exit 4)",
           (rc, out, err))
    changes = [e for e in sim.log(since=mark) if e.get("mutating")]
    tap.ok(lock_exists(sim, "staging") and not changes, "and nothing changed", changes)
    rc, shown = asked_on_a_terminal(app, ["unlock", "--stage", "staging"], "\n")
    tap.ok(rc == 4 and "Remove the staging lock" in shown and lock_exists(sim, "staging"),
           "on a terminal, Enter alone is no", (rc, shown))
    rc, shown = asked_on_a_terminal(app, ["unlock", "--stage", "staging"], "y\n")
    tap.ok(rc == 0 and not lock_exists(sim, "staging"), "and y removes the lock", (rc, shown))

    mark = log_mark(sim)
    rc, out, err = app.run("invalidate", "--stage", "staging")
    creates = sim.log(since=mark, operation="CreateInvalidation")
    tap.ok(rc == 4 and NO_ANSWER in out + err and "/*" in out and not creates,
           "invalidate without a terminal or --yes: asked, no, nothing sent (exit 4)", (rc, out, err))
    rc, out, err = app.run("invalidate", "--stage", "staging", "--yes")
    creates = sim.log(since=mark, operation="CreateInvalidation")
    tap.ok(rc == 0 and len(creates) == 1, "with --yes it invalidates", (rc, out, err))

    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "handler r2")
    rc, out, err = app.run("deploy")
    tap.ok(rc == 4 and NO_ANSWER in out + err,
           "deploy answers the same way, with the same exit code", (rc, out[-600:], err[-600:]))

    # 5. watch --stage shows that stage only, whatever happens to the others.
    plant_lock(sim, "production", "arn:aws:iam::123456789012:user/carol", 1)
    rc, out, err = app.run("watch", "--stage", "staging", timeout=90)
    tap.ok(rc == 0 and out.strip().endswith("settled") and "staging" in out
           and "production" not in out and "carol" not in out,
           "watch --stage staging says nothing of production", out)
    rc, out, err = app.run("watch", "--stage", "staging", "--json", timeout=90)
    tap.ok(rc == 0 and "production" not in out, "nor with --json", out[-1500:])
    sim.client("s3").delete_object(Bucket=BUCKET, Key=lock_key("production"))

    # 6. log fits the width: columns from their content, cut with an ellipsis.
    plant_record(sim, app, kind="promotion", phase="intent", stage="production-eu",
                 commit=app.head(), release="0123abc-89abcdef", who=LONG_WHO)
    plant_record(sim, app, kind="promotion", phase="outcome", stage="production-eu",
                 commit=app.head(), release="0123abc-89abcdef", result="failed", who=LONG_WHO)
    rc, js, err = app.json("log")
    widths = {}
    for cols in (None, "80", "120", "250"):
        env = app.env()
        env.pop("COLUMNS", None)
        if cols:
            env["COLUMNS"] = cols
        rc, out, err = run_env(app, ["log"], env)
        lines = out.splitlines()
        width = int(cols or 80)
        widths[cols] = max(len(l) for l in lines) if lines else 0
        commits = {l.find(app.head()[:7]) for l in lines if app.head()[:7] in l}
        said = f"{width} columns" + ("" if cols else " (no COLUMNS, not a terminal)")
        tap.ok(rc == 0 and len(lines) >= 4 and widths[cols] <= width,
               f"log at {said}: no row is wider", out)
        # Rows are the records in order: where each row's kind and stage
        # begin is the same for every row when the columns line up.
        kinds = {l.find(" " + r["kind"][:5]) for l, r in zip(lines, js)}
        stages = {l.find(" " + r["stage"][:5], l.find(" " + r["kind"][:5]) + 1) for l, r in zip(lines, js)}
        tap.ok(len(lines) == len(js) and len(commits) == 1 and len(kinds) == 1 and len(stages) == 1,
               f"log at {said}: the columns line up, production-eu included", out)
        if cols == "80":
            tap.ok(any("\u2026" in l for l in lines) and not any(LONG_WHO in l for l in lines),
                   "at 80 columns the long caller is cut with an ellipsis", out)
        if cols == "250":
            tap.ok(any(LONG_WHO in l and "production-eu" in l for l in lines)
                   and not any("\u2026" in l for l in lines),
                   "with room, nothing is cut", out)
    # On a terminal its own width counts, whatever COLUMNS says.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 72, 0, 0))
    p = subprocess.Popen([release.EDGESHIP, "log"], cwd=app.dir, env=dict(app.env(), COLUMNS="250"),
                         stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    shown = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        try:
            chunk = os.read(master, 4096) if r else b""
        except OSError:
            chunk = b""
        if not chunk:
            break
        shown += chunk
    p.wait(30)
    os.close(master)
    rows = [l for l in shown.decode("utf-8", "replace").replace("\r", "").split("\n") if l]
    tap.ok(p.returncode == 0 and len(rows) == len(js) and max(len(l) for l in rows) <= 72,
           "on a 72-column terminal no row is wider, whatever COLUMNS says", rows)

    env = dict(app.env(), COLUMNS="30")
    rc, out, err = run_env(app, ["log", "--json"], env)
    tap.ok(rc == 0 and json.loads(out) == js, "log --json does not depend on the width", out[-400:])


if __name__ == "__main__":
    release.run(main)
