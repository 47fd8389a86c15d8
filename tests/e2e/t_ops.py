#!/usr/bin/env python3
"""Drift and recovery: a property changed outside CloudFormation shows as
drift with its expected and actual values (exit 7, --json too, and in the
dashboard on f) and an in-sync stack says so (exit 0), also under
--read-only; a deploy into the
drifted stage shows the drift and asks (--yes accepts); a stack forced into
UPDATE_ROLLBACK_FAILED shows the failing resource and reason in status,
`recover --skip X --yes` brings it to UPDATE_ROLLBACK_COMPLETE and the
ledger records it; --read-only refuses recover, no terminal and no --yes
exits 4, a failure on ContinueUpdateRollback is said clearly and recorded.
A missing capability and a stack left in REVIEW_IN_PROGRESS each get a
message that says what to do."""

import release

STACK = "edge-demo-staging"
FN = "LambdaEdgeFunctionSample"


def function_name(sim):
    cf = sim.client("cloudformation")
    return cf.describe_stack_resource(StackName=STACK, LogicalResourceId=FN)[
        "StackResourceDetail"]["PhysicalResourceId"]


def stack_status(sim):
    return sim.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]


def wait_until_status(cf, stack, status):
    return release.wait_until(
        lambda: cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == status, 20, 0.1)


def recover_records(app):
    return [r for r in app.records("staging") if r.get("kind") == "recover"]


def main(tap, sim, app):
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    tap.ok(rc == 0, "staging is deployed", out + err)

    # In sync: exit 0, and it says so; detection changes nothing, so
    # --read-only runs it too.
    rc, out, err = app.run("--read-only", "drift", "--stage", "staging")
    tap.ok(rc == 0 and "IN_SYNC" in out, "an untouched stack is in sync (exit 0, --read-only)",
           f"rc={rc} {out}{err}")
    log = sim.log(service="cloudformation")
    polls = [e for e in log if e["operation"] == "DescribeStackDriftDetectionStatus"]
    tap.ok(len(polls) >= 1 and any(e["operation"] == "DescribeStackResourceDrifts" for e in log),
           "it waits for the detection and reads the resources' drift", len(polls))

    # A change through the Lambda API, outside the stack.
    sim.client("lambda").update_function_configuration(FunctionName=function_name(sim),
                                                       MemorySize=512)
    rc, out, err = app.run("drift", "--stage", "staging")
    tap.ok(rc == 7 and "DRIFTED" in out and FN in out and "/MemorySize" in out
           and "expected 128, actual 512" in out,
           "a property changed outside CloudFormation is drift: expected and actual (exit 7)",
           f"rc={rc} {out}{err}")
    rc, js, err = app.json("drift", "--stage", "staging")
    fn = next((r for r in (js or {}).get("resources", []) if r["logical_id"] == FN), None)
    tap.ok(rc == 7 and js["drifted"] is True and js["drift_status"] == "DRIFTED" and fn
           and fn["drift_status"] == "MODIFIED"
           and {"path": "/MemorySize", "expected": "128", "actual": "512",
                "difference": "NOT_EQUAL"} in fn["properties"],
           "drift --json lists the resource and the property", js or err)

    # The dashboard: f checks the selected stage on a background job, also
    # under --read-only; the Stages pane shows the badge, the activity strip
    # the property.
    seq = sim.log()[-1]["seq"]
    rc, out, err = release.run_script(app, "drift", ":wait-idle\nf\n:wait-idle\n"
                                      ":dump-screen {tmp}/drift.txt\nq\n", "--read-only")
    scr = release.screen(app, "drift.txt")
    line = next((l for l in scr.splitlines() if "staging" in l and "drifted" in l), "")
    tap.ok(rc == 0 and line and "/MemorySize: expected 128, actual 512" in scr,
           "the dashboard's f shows a drifted badge and the property (--read-only)", scr)
    tap.ok([e for e in sim.log() if e["seq"] > seq and e["operation"] == "DetectStackDrift"]
           and not release.BLOCKED, "it ran DetectStackDrift without waiting on the screen's loop",
           release.BLOCKED)
    # And without a key: the periodic round (half an hour; shortened here).
    seq = sim.log()[-1]["seq"]
    rc, out, err = release.run_script(app, "drift-round", ":wait-text drifted\n"
                                      ":dump-screen {tmp}/drift-round.txt\nq\n", "--read-only",
                                      extra_env={"ES_DRIFT_EVERY_MS": "300"})
    scr = release.screen(app, "drift-round.txt")
    line = next((l for l in scr.splitlines() if "staging" in l and "drifted" in l), "")
    tap.ok(rc == 0 and line and [e for e in sim.log() if e["seq"] > seq
                                 and e["operation"] == "DetectStackDrift"],
           "the dashboard's periodic round finds the drift without a key", scr + err[-600:])

    # A deploy into the drifted stage shows the drift and asks first.
    rc, out, err = app.run("deploy", "--stage", "staging")
    tap.ok(rc == 4 and "last drift detection found" in out + err
           and "/MemorySize: expected 128, actual 512" in out + err and "--yes" in out + err,
           "a deploy into a drifted stage shows the drift and asks (no terminal: exit 4)",
           f"rc={rc} {out}{err}")
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes")
    tap.ok(rc == 0 and "last drift detection found" in out + err,
           "--yes deploys into the drifted stage after the warning", f"rc={rc} {out}{err}")

    # Failed rollback on demand.
    sim.ctl("POST", "/stacks/rollback-failed", {"stack": STACK, "resource": FN,
                                                 "reason": "Function could not be restored: "
                                                           "simulated"})
    rc, out, err = app.run("status")
    tap.ok(rc == 0 and "UPDATE_ROLLBACK_FAILED" in out and f"failed     {FN}" in out
           and "Function could not be restored" in out and "edgeship recover --stage staging" in out,
           "status shows UPDATE_ROLLBACK_FAILED with the resource, the reason and what to do",
           out + err)
    rc, out, err = app.run("watch", "--stage", "staging", timeout=60)
    tap.ok(rc == 0 and "UPDATE_ROLLBACK_FAILED" in out and f"failed     {FN}: " in out
           and "Function could not be restored" in out and "edgeship recover --stage staging" in out,
           "watch shows the failing resource, the reason and the recover command", out + err)
    st = app.status("staging")
    tap.ok(st["failed_resource"] == FN and "could not be restored" in st["failed_reason"],
           "status --json has the failed resource and reason", st)

    rc, out, err = app.run("--read-only", "recover", "--stage", "staging", "--skip", FN, "--yes")
    tap.ok(rc == 3 and "--read-only" in err and stack_status(sim) == "UPDATE_ROLLBACK_FAILED",
           "--read-only refuses recover (exit 3), nothing sent", f"rc={rc} {err}")

    rc, out, err = app.run("recover", "--stage", "staging", "--skip", FN)
    tap.ok(rc == 4 and "--yes" in out + err and stack_status(sim) == "UPDATE_ROLLBACK_FAILED",
           "recover without --yes and no terminal exits 4", f"rc={rc} {out}{err}")

    # A failure on ContinueUpdateRollback: said clearly, recorded.
    before = len(recover_records(app))
    sim.fault("error500", "cloudformation", "ContinueUpdateRollback", count=10)
    rc, out, err = app.run("recover", "--stage", "staging", "--skip", FN, "--yes")
    sim.ctl("DELETE", "/faults")
    recs = recover_records(app)
    outcome = [r for r in recs[before:] if r.get("phase") == "outcome"]
    tap.ok(rc == 1 and "InternalFailure" in err and stack_status(sim) == "UPDATE_ROLLBACK_FAILED",
           "a fault on ContinueUpdateRollback fails with AWS's error (exit 1)", f"rc={rc} {err}")
    tap.ok(len(outcome) == 1 and outcome[0]["result"] == "failed"
           and "InternalFailure" in outcome[0]["message"],
           "the ledger records the failed recovery", recs[before:])

    # Without the skip the resource fails again; with it the rollback ends.
    rc, out, err = app.run("recover", "--stage", "staging", "--yes", "--poll-interval", "100")
    tap.ok(rc == 1 and "UPDATE_ROLLBACK_FAILED again" in err and f"--skip {FN}" in err,
           "a rollback that fails again says which resource and to skip it", f"rc={rc} {err}")

    rc, js, err = app.json("recover", "--stage", "staging", "--skip", FN, "--yes",
                           "--poll-interval", "100")
    tap.ok(rc == 0 and js and js.get("stack_status") == "UPDATE_ROLLBACK_COMPLETE"
           and stack_status(sim) == "UPDATE_ROLLBACK_COMPLETE",
           "recover --skip brings the stack to UPDATE_ROLLBACK_COMPLETE", f"rc={rc} {js} {err}")
    events = sim.client("cloudformation").describe_stack_events(StackName=STACK)["StackEvents"]
    tap.ok(any(e["LogicalResourceId"] == FN and "skipped" in (e.get("ResourceStatusReason") or "")
               for e in events), "the skipped resource's event says it was skipped")
    cur = [r for r in recover_records(app) if r.get("action_id") == (js or {}).get("action_id")]
    tap.ok([r["phase"] for r in cur] == ["intent", "outcome"] and cur[-1]["result"] == "success",
           "the ledger records the recovery's intent and success", cur)
    ok = any(r.get("phase") == "outcome" and r.get("result") == "success"
             for r in recover_records(app))
    rc, out, err = app.run("recover", "--stage", "staging", "--yes")
    tap.ok(ok and rc == 3 and "not UPDATE_ROLLBACK_FAILED" in err,
           "recover on a settled stack is refused and says why", f"rc={rc} {err}")
    rc, out, err = app.run("status")
    tap.ok("failed     " not in out, "status no longer shows a failed resource", out)

    # A stage whose first deploy lacks a capability, then one left in
    # REVIEW_IN_PROGRESS by a change set never executed.
    conf = open(app.conf_path).read()
    open(app.conf_path, "w").write(
        "".join(l for l in conf.splitlines(True) if "capability" not in l) +
        '\n[stage "canary"]\n\tstack = edge-demo-canary\n\tparameter = Stage=staging\n')
    app.git("commit", "-q", "-am", "a canary stage; capabilities forgotten")
    sim.ctl("POST", "/stacks/require-capabilities", {"on": True})
    rc, out, err = app.run("deploy", "--yes", "--stage", "canary")
    tap.ok(rc == 1 and "InsufficientCapabilitiesException" in out + err
           and "capability = NAME" in out + err and "edgeship.conf" in out + err,
           "a missing capability says to add it to edgeship.conf", out + err)
    open(app.conf_path, "w").write(conf + '\n[stage "canary"]\n\tstack = edge-demo-canary\n'
                                   '\tparameter = Stage=staging\n')
    app.git("commit", "-q", "-am", "capabilities back")
    cf = sim.client("cloudformation")
    cf.create_change_set(StackName="edge-demo-canary", ChangeSetName="abandoned", ChangeSetType="CREATE",
                         TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    tap.ok(wait_until_status(cf, "edge-demo-canary", "REVIEW_IN_PROGRESS"),
           "a first change set never executed leaves REVIEW_IN_PROGRESS")
    # Answered no (no terminal): the message is what is checked here.
    rc, out, err = app.run("deploy", "--stage", "canary")
    tap.ok(rc == 4 and "REVIEW_IN_PROGRESS: a first change set was never executed" in out + err
           and "new CREATE change set" in out + err,
           "deploy says the stack was left in review and how it proceeds", out + err)
    sim.ctl("POST", "/stacks/require-capabilities", {"on": False})


if __name__ == "__main__":
    release.run(main)
