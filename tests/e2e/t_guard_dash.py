#!/usr/bin/env python3
"""The error-rate guard in the dashboard, against the simulator's edge fleet
and its CloudWatch figures (metric period 2 s), with traffic flowing:

- where it fails (w): on a breach the pager shows the handler's error text
  from CloudWatch Logs, read on a job; a failed read says so and what to do;
  the key is in the help;
- a --read-only console with guard-action = rollback alerts and never acts
  (no rollback, no ledger record);
- with another action running on the stage (another console's lock) the
  guard does not roll back, and says why;
- with guard-action = rollback the dashboard rolls the stage back by itself,
  once, and the ledger says the guard decided, as deploy --guard records it;
  a failing release deployed from the dashboard itself (D) is rolled back
  once its deploy has ended;
- a handler returning an invalid response is counted as
  LambdaValidationError (the edge answers 502 as CloudFront does).

Every wait is on something the dashboard shows or the simulator reports
(:wait-text, the ledger, GET /traffic), never on the clock.
"""

import json
import os
import shutil
import urllib.error
import urllib.request

import release
from release import run, run_script, screen, wait_until
from t_guard import FLAKY, guard_records, set_guard
from t_locks import drop_lock, plant_lock

# A release whose handler answers every fifth request (the traffic
# generator numbers its paths) with a status CloudFront refuses.
BAD_RESPONSE = """'use strict';
const RELEASE = 'bad-response';
exports.handler = async (event, context) => {
  const request = event.Records[0].cf.request;
  const n = Number((request.uri.match(/(\\d+)$/) || [])[1]);
  return {
    status: n && n % 5 === 0 ? 'two hundred' : '200',
    statusDescription: 'OK',
    headers: {
      'content-type': [{ key: 'Content-Type', value: 'text/plain' }],
      'x-edgeship-release': [{ key: 'X-Edgeship-Release', value: RELEASE }],
      'x-edgeship-version': [{ key: 'X-Edgeship-Version', value: String(context.functionVersion) }],
    },
    body: 'ok',
  };
};
"""


def rollbacks(app):
    return [r for r in app.records("staging") if r.get("kind") == "rollback" and r.get("phase") == "outcome"]


def main(tap, sim, app):
    set_guard(app, "rollback", watch="10m")
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    tap.ok(rc == 0, "the first release is deployed", err[-800:])
    good = app.head()
    shutil.copy(FLAKY, os.path.join(app.dir, "src", "index.js"))
    app.git("commit", "-qam", "flaky: throws on every fifth request")
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging", timeout=240)
    tap.ok(rc == 0, "the flaky release is deployed (no --guard: the dashboards watch it)", err[-800:])
    app.wait_deployed("staging", 60)
    sim.ctl("POST", "/traffic", {"rate": 8})
    wait_until(lambda: sum(d["lambda_errors"] for d in sim.ctl("GET", "/traffic")["distributions"].values()) > 5,
               60, 0.5)
    n_guard, n_back = len(guard_records(app)), len(rollbacks(app))

    # ---- a read-only console, CloudWatch Logs failing: w says so and what to do
    sim.fault("error500", "logs", "FilterLogEvents", count=100000)
    rc, out, err = run_script(app, "gd-logs-failed", """:timeout 90000
:wait-text it does not act
:dump-screen {tmp}/gd-ro-breach.txt
w
:wait-text could not be read
:dump-screen {tmp}/gd-logs-failed.txt
q
q
""", "--read-only")
    sim.ctl("DELETE", "/faults")
    ro = screen(app, "gd-ro-breach.txt")
    tap.ok(rc == 0 and "BREACH" in ro and "does not act" in ro and "guard-action = rollback" in ro,
           "read-only: the breach is shown and the console says it does not act", ro + err[-800:])
    tap.ok("w errors" in ro and "w: where it fails" in ro,
           "the breach names the key that shows where it fails (guard line, status line)", ro)
    failed = screen(app, "gd-logs-failed.txt")
    tap.ok("Where it fails: staging" in failed and "could not be read" in failed
           and "InternalFailure" in failed,
           "a failed CloudWatch Logs read says so, with the error", failed)
    tap.ok("w reads again" in failed and "logs:FilterLogEvents" in failed
           and "aws logs filter-log-events" in failed,
           "and what to do: read again, the permission, the command", failed)

    # ---- read-only again, Logs answering: the handler's error text in the pager
    rc, out, err = run_script(app, "gd-where", """:timeout 90000
:wait-text BREACH
w
:wait-text TypeError
:dump-screen {tmp}/gd-where.txt
q
?
:wait-idle
:dump-screen {tmp}/gd-help.txt
q
q
""", "--read-only")
    where = screen(app, "gd-where.txt")
    tap.ok(rc == 0 and "Where it fails: staging" in where and "cannot read properties of undefined" in where,
           "w: the pager shows the handler's error from CloudWatch Logs after the breach",
           where + err[-800:])
    tap.ok("Lambda Errors" in where and "/aws/lambda/us-east-1." in where,
           "w: with the function's own figures and the log group read", where)
    help_ = screen(app, "gd-help.txt")
    tap.ok("guard-errors" in help_ and "Where it fails" in help_,
           "the help names the key (generated from the request table)", help_)
    tap.ok(len(guard_records(app)) == n_guard and len(rollbacks(app)) == n_back,
           "read-only: no rollback and no ledger record, guard-action = rollback or not",
           str(guard_records(app)[n_guard:]))

    # ---- another action on the stage (another console's lock): no rollback
    plant_lock(sim, "arn:aws:iam::123456789012:user/bob")
    rc, out, err = run_script(app, "gd-locked", """:timeout 90000
:wait-text the guard did not roll back
:dump-screen {tmp}/gd-locked.txt
q
""")
    drop_lock(sim)
    locked = screen(app, "gd-locked.txt")
    tap.ok(rc == 0 and "locked for a deploy by bob" in locked,
           "another action running: the guard says why it did not roll back", locked + err[-800:])
    recs = guard_records(app)
    tap.ok(len(recs) == n_guard + 1 and recs[-1].get("decision") == "alert"
           and recs[-1].get("decided_by") == "guard" and "not acted on" in recs[-1].get("message", ""),
           "the ledger records the alert and why the guard did not act", str(recs[n_guard:]))
    tap.ok(len(rollbacks(app)) == n_back, "another action running: nothing rolled back")
    n_guard = len(recs)

    # ---- guard-action = rollback: the dashboard rolls back by itself, once
    rc, out, err = run_script(app, "gd-auto", """:timeout 150000
:wait-text rollback to staging: success
:dump-screen {tmp}/gd-auto.txt
:wait-text 0.0% (limit 5%)
:dump-screen {tmp}/gd-auto-after.txt
w
:wait-text TypeError
:dump-screen {tmp}/gd-auto-where.txt
q
q
""")
    auto = screen(app, "gd-auto.txt")
    tap.ok(rc == 0 and "rollback to staging" in auto,
           "rollback configured: the dashboard rolls staging back by itself", auto + err[-1500:])
    backs = rollbacks(app)[n_back:]
    tap.ok(len(backs) == 1 and backs[0].get("result") == "success" and backs[0].get("commit") == good,
           "exactly one rollback, to the previous release", str(backs))
    recs = guard_records(app)[n_guard:]
    tap.ok(len(recs) == 1, "one guard record for the breach", str(recs))
    rec = recs[-1] if recs else {}
    tap.ok(rec.get("decision") == "rollback" and rec.get("decided_by") == "guard"
           and f"decision: rollback by guard; back to {good[:12]}" in rec.get("message", ""),
           "the ledger says the guard decided, as deploy --guard records it", str(rec))
    tap.ok((rec.get("figures") or {}).get("rate_5xx", 0) > 5,
           "with the breach's figures", str(rec.get("figures")))
    tap.ok(app.status("staging")["commit"] == good, "staging runs the previous release again")
    tap.ok("cannot read properties of undefined" in screen(app, "gd-auto-where.txt"),
           "w still shows where the breach failed after the rollback",
           screen(app, "gd-auto-where.txt"))

    # ---- the dashboard's own deploy of a failing release (D): the guard waits
    # for it to end and rolls back once it is Deployed. Staging runs a
    # rolled-back-to release now: a breach of that is never "rolled back"
    # forward to what the rollback took away.
    n_back, n_guard = len(rollbacks(app)), len(guard_records(app))
    flaky3 = app.commit_change("src/index.js", "const RELEASE = 'flaky';", "const RELEASE = 'flaky3';",
                               "flaky3: throws on every fifth request")
    rc, out, err = run_script(app, "gd-deploy", """:timeout 150000
:wait-idle
D
y
:wait-dialog
y<Enter>
:wait-text deploy to staging: success
:dump-screen {tmp}/gd-deployed.txt
:wait-text rollback to staging: success
:dump-screen {tmp}/gd-deploy-rolledback.txt
q
""")
    deploys = [r for r in app.records("staging") if r.get("kind") == "deploy" and r.get("phase") == "outcome"]
    tap.ok(rc == 0 and deploys and deploys[-1].get("commit") == flaky3 and deploys[-1].get("result") == "success",
           "D deploys the failing release from the dashboard",
           str(deploys[-1:]) + screen(app, "gd-deployed.txt") + err[-800:])
    backs = rollbacks(app)[n_back:]
    tap.ok(len(backs) == 1 and backs[0].get("commit") == good and backs[0].get("result") == "success",
           "once it is Deployed the guard rolls it back, once, to the release before",
           str(backs) + screen(app, "gd-deploy-rolledback.txt"))
    recs = guard_records(app)[n_guard:]
    tap.ok(recs and recs[-1].get("decision") == "rollback" and recs[-1].get("decided_by") == "guard"
           and all(r.get("decision") != "rollback" or good[:12] in r.get("message", "") for r in recs),
           "the ledger says the guard decided; no rollback forward to a rolled-back release",
           str(recs))

    # ---- an invalid response is a LambdaValidationError
    with open(os.path.join(app.dir, "src", "index.js"), "w") as f:
        f.write(BAD_RESPONSE)
    app.git("commit", "-qam", "bad-response: an invalid status on every fifth request")
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging", timeout=240)
    tap.ok(rc == 0, "a release answering an invalid status is deployed", err[-800:])
    app.wait_deployed("staging", 60)
    dist = app.distribution("staging")
    req = urllib.request.Request(sim.edges[0]["url"] + "/t/5", headers={"Host": dist["DomainName"]})
    status, cache = 0, ""
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as e:
        status, cache = e.code, e.headers.get("X-Cache", "")
    tap.ok(status == 502 and cache == "LambdaValidationError from cloudfront",
           "the edge answers an invalid response 502 LambdaValidationError",
           f"{status} {cache}")
    counts = wait_until(lambda: (sim.ctl("GET", "/traffic")["distributions"].get(dist["Id"]) or {})
                        .get("validation_errors", 0) > 3, 60, 0.5)
    tap.ok(counts, "the simulator counts the invalid answers as validation errors")

    def figures():
        rc, st, err = app.json("status")
        g = (next((s for s in st["stages"] if s["stage"] == "staging"), {}) if st else {}).get("guard") or {}
        return [p for p in g.get("points", []) if p.get("validation_errors", 0) > 0]

    pts = wait_until(figures, 60, 1.0)
    tap.ok(bool(pts) and all(p["lambda_errors"] == 0 and p["rate_5xx"] > 0 for p in pts),
           "GetMetricData's LambdaValidationError reaches the guard's figures "
           "(not LambdaExecutionError)", json.dumps(pts)[:800])
    tap.ok(not release.BLOCKED, "the dashboard never waited on its loop for the guard",
           str(release.BLOCKED)[:1500])
    sim.ctl("POST", "/traffic", {"rate": 0})


if __name__ == "__main__":
    run(main)
