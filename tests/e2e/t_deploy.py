#!/usr/bin/env python3
"""Release engine part 1 end to end against the simulator: create, update,
no-op, failure with its root cause, faults, a dropped connection after
CreateChangeSet, and a deploy killed halfway."""

import json
import os
import signal
import time

import release


def main(tap, sim, app):
    # 1. Commit 1 to staging: stack created, outputs, ledger intent + outcome, tags.
    c1 = app.head()
    rc, res, err = app.json("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.eq(rc, 0, "deploy of commit 1 to staging exits 0")
    tap.ok(res and res["result"] == "success", "the deploy reports success", err)
    st = app.status("staging")
    tap.eq(st["stack_status"], "CREATE_COMPLETE", "the staging stack is created")
    tap.eq(st["commit"], c1, "the stack is tagged with the commit it runs")
    tap.ok("DistributionId" in st["outputs"] and st["distribution_id"], "outputs and distribution shown", st)
    recs = app.records("staging")
    tap.eq([(r["kind"], r["phase"]) for r in recs], [("deploy", "intent"), ("deploy", "outcome")],
           "the ledger holds an intent and an outcome record")
    tap.ok(recs[0]["who"].startswith("arn:aws:") and recs[1]["intent_seq"] == recs[0]["seq"]
           and recs[1]["result"] == "success", "records name who acted and link outcome to intent", recs)
    v1 = st["outputs"]["FunctionVersion"]

    # 2. Commit 2 changes the handler: one new version, the distribution modified, events in order.
    app.wait_deployed("staging")
    log_start = sim.log()[-1]["seq"]
    c2 = app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "handler r2")
    rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "deploy of a handler change exits 0")
    st = app.status("staging")
    v2 = st["outputs"]["FunctionVersion"]
    tap.ok(v2.rsplit(":", 1)[1] == str(int(v1.rsplit(":", 1)[1]) + 1), "exactly one new Lambda version", (v1, v2))
    tap.ok(any("Modify" in l and "CFDistribution" in l for l in out.splitlines()),
           "the change set shows the distribution modified", out)
    tap.ok(any("Add" in l and "AWS::Lambda::Version" in l for l in out.splitlines()),
           "the change set shows a new Lambda version added", out)
    lines = out.splitlines()
    start = [i for i, l in enumerate(lines) if "CREATE_IN_PROGRESS" in l and "AWS::Lambda::Version" in l]
    done = [i for i, l in enumerate(lines) if "CREATE_COMPLETE" in l and "AWS::Lambda::Version" in l]
    stack_done = [i for i, l in enumerate(lines) if "UPDATE_COMPLETE " in l and "AWS::CloudFormation::Stack" in l]
    tap.ok(start and done and stack_done and start[0] < done[0] < stack_done[-1],
           "stack events stream in order, ending with the stack's UPDATE_COMPLETE", out)
    ids = [l for l in lines if "AWS::" in l and ("_IN_PROGRESS" in l or "_COMPLETE" in l)]
    tap.eq(len(ids), len(set(ids)), "no stack event is shown twice")
    key2 = app.records("staging")[-1]["artifacts"][0]["key"]

    # 3. Commit 3 changes only the README: same zip and key, empty change set, exit 0.
    app.wait_deployed("staging")
    log_start = sim.log()[-1]["seq"]
    app.commit_change("README.md", "#", "# (docs only)\n#", "docs only")
    rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "a docs-only commit deploys with exit 0")
    tap.ok("no changes" in out, "it is reported as no changes", out + err)
    recs = app.records("staging")
    tap.eq(recs[-1]["result"], "no-changes", "the ledger records no-changes")
    tap.eq(recs[-1]["artifacts"][0]["key"], key2, "the same content-addressed zip key as commit 2")
    new = [e for e in sim.log(since=log_start) if e.get("method") == "PUT" and "/artifacts/" in e["path"]]
    tap.eq(new, [], "no artifact was uploaded again")
    tap.eq(app.status("staging")["commit"], c2, "the stack still runs commit 2's release")

    # 4. An invalid resource: the deploy fails, the rollback is followed, the root cause shown.
    c4 = app.commit_change("template.yaml", "!Ref LambdaEdgeFunctionSample.Version",
                           "!GetAtt LambdaEdgeFunctionSample.Arn", "associate an unversioned ARN")
    rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 1, "a deploy with an invalid resource exits 1")
    st = app.status("staging")
    tap.eq(st["stack_status"], "UPDATE_ROLLBACK_COMPLETE", "the rollback was followed to the end")
    tap.ok("root cause: CFDistribution UPDATE_FAILED" in err and "rollback requested" not in err,
           "the root-cause reason is printed", err)
    tap.ok(any("UPDATE_ROLLBACK_COMPLETE" in l for l in out.splitlines()), "rollback events were shown", out)
    rc, out, err = app.run("revert", c4)
    tap.eq(rc, 0, "edgeship revert undoes the bad commit")
    tap.ok(app.git("log", "-1", "--format=%s").startswith('Revert "associate an unversioned ARN"'),
           "the revert commit names what it reverts")

    # 5. A third of the calls throttled or failing: the deploy completes, the ledger is whole.
    app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r5';", "handler r5")
    log_start = sim.log()[-1]["seq"]
    # The first call of each operation fails once…
    ops = ["DescribeStacks", "DescribeStackResources", "GetDistribution", "HeadBucket",
           "GetCallerIdentity", "ListObjectsV2", "HeadObject", "PutObject", "CreateChangeSet",
           "DescribeChangeSet", "ExecuteChangeSet", "DescribeStackEvents"]
    sim.ctl("POST", "/faults", [{"kind": ("throttle", "error503", "error500")[k % 3], "operation": op,
                                 "count": 1} for k, op in enumerate(ops)])
    p = app.popen("deploy", "--yes", "--wait", "--poll-interval", "300")
    kinds = [("throttle", None), ("error503", None), ("error500", None)]
    i = 0
    last_fault_seq = log_start
    # …and more are interleaved with clean calls: a new throttle or 5xx is
    # armed once a clean call followed the last one, so retries succeed.
    while p.poll() is None:
        if not sim.ctl("GET", "/faults").get("faults"):
            entries = sim.log(since=last_fault_seq)
            hit = [e for e in entries if e.get("fault")]
            if hit:
                last_fault_seq = hit[-1]["seq"]
                entries = [e for e in entries if e["seq"] > last_fault_seq]
            if not hit and i > 0 and len(entries) < 1:
                time.sleep(0.01)
                continue
            if i == 0 or len(entries) >= 1:
                kind, service = kinds[i % len(kinds)]
                sim.fault(kind, service=service, count=1)
                i += 1
        time.sleep(0.01)
    out, err = p.communicate()
    sim.ctl("DELETE", "/faults")
    log = sim.log(since=log_start)
    faulted = [e for e in log if e.get("fault")]
    tap.eq(p.returncode, 0, "the deploy completes through throttling and 5xx answers")
    # The pre-armed faults are the deterministic part: the first call of
    # every operation the deploy made was answered with a fault (how many of
    # the interleaved ones hit depends on the machine's speed).
    firsts = {}
    for e in log:
        firsts.setdefault(e.get("operation"), e)
    called = [op for op in ops if op in firsts]
    tap.ok(len(called) >= 8 and all(firsts[op].get("fault") for op in called),
           f"the first call of each of the {len(called)} operations made was a fault "
           f"({len(faulted)} of {len(log)} requests faulted in all)",
           {op: bool(firsts[op].get("fault")) for op in called})
    recs = app.records("staging")
    tap.ok(recs[-1]["phase"] == "outcome" and recs[-1]["result"] == "success"
           and recs[-2]["phase"] == "intent", "the ledger holds both records of that deploy", recs[-2:])
    seqs = [r["seq"] for r in app.records()]
    tap.eq(seqs, list(range(1, len(seqs) + 1)), "ledger sequence numbers have no gaps or duplicates")

    # 6. The connection drops after CreateChangeSet was sent: no second change set.
    app.wait_deployed("staging")
    app.commit_change("src/index.js", "const RELEASE = 'r5';", "const RELEASE = 'r6';", "handler r6")
    sim.fault("truncate", service="cloudformation", operation="CreateChangeSet", count=1)
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("deploy", "--yes", "--wait", "--poll-interval", "300")
    log = sim.log(since=log_start)
    creates = [e for e in log if e.get("operation") == "CreateChangeSet"]
    executes = [e for e in log if e.get("operation") == "ExecuteChangeSet"]
    tap.eq(rc, 0, "the deploy recovers from a connection dropped after CreateChangeSet")
    tap.ok(len(creates) == 2 and creates[0].get("fault") == "truncate", "CreateChangeSet was retried once", creates)
    tap.eq(len(executes), 1, "exactly one change set was executed")
    cs = sim.client("cloudformation").list_change_sets(StackName="edge-demo-staging")["Summaries"]
    tap.eq([c for c in cs if c["Status"] != "DELETE_COMPLETE" and c["ExecutionStatus"] == "AVAILABLE"], [],
           "no second change set was left behind")

    # 7. A deploy killed with SIGKILL halfway leaves an interrupted intent.
    app.wait_deployed("staging")
    sim.config(stack_step=0.6)
    app.commit_change("src/index.js", "const RELEASE = 'r6';", "const RELEASE = 'r7';", "handler r7")
    p = app.popen("deploy", "--yes", "--wait", "--poll-interval", "300")
    seen = ""
    deadline = time.time() + 60
    while time.time() < deadline:
        line = p.stdout.readline()
        seen += line
        if "executing change set" in line or not line:
            break
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    tap.ok("executing change set" in seen, "the deploy was killed while the stack was updating", seen)
    st = app.status("staging")
    tap.ok(st["running"] or st["interrupted"], "status shows the open action next to the busy stack", st)
    release.wait_until(lambda: not app.status("staging")["stack_status"].endswith("_IN_PROGRESS"), 60, 0.5)
    sim.config(stack_step=0.1)
    st = app.status("staging")
    last = st["last_action"] or {}
    tap.ok(not st["interrupted"] and not st["running"] and st["stack_status"] == "UPDATE_COMPLETE"
           and last.get("phase") == "outcome" and last.get("result") == "success",
           "after the stack settles, status records how the killed deploy ended", st)
    tap.ok(st["lock"]["held"] and st["lock_stale"], "and shows the dead console's lock as stale", st)
    recs = app.records("staging")
    tap.ok(recs[-1]["phase"] == "outcome" and recs[-1].get("recorded_later")
           and recs[-1]["action_id"] == recs[-2]["action_id"] and recs[-2]["phase"] == "intent",
           "the outcome is recorded for the killed deploy's intent", recs[-2:])
    app.status("staging")
    tap.eq(len(app.records("staging")), len(recs), "a second look records nothing more")
    rc, out, err = app.run("log", "--stage", "staging")
    tap.ok("success" in out.splitlines()[-1], "log shows the outcome", out)
    app.wait_deployed("staging")
    app.commit_change("src/index.js", "const RELEASE = 'r7';", "const RELEASE = 'r7b';", "handler r7b")
    rc, out, err = app.run("deploy", "--yes", "--poll-interval", "300")
    tap.ok(rc == 0 and "took over the staging lock" in out,
           "the next deploy takes over the lock of an action that has ended", out + err)

    # 7b. Killed before ExecuteChangeSet: the lock holds the stage until unlocked.
    app.wait_deployed("staging")
    app.commit_change("src/index.js", "const RELEASE = 'r7b';", "const RELEASE = 'r7c';", "handler r7c")
    # CreateChangeSet is held until the console is dead, however slowly a
    # loaded machine lets the test read its output.
    sim.fault("delay", service="cloudformation", operation="CreateChangeSet", seconds=120)
    p = app.popen("deploy", "--yes", "--poll-interval", "300")
    seen = ""
    while True:
        line = p.stdout.readline()
        seen += line
        if "ledger record" in line or not line:
            break
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    sim.ctl("DELETE", "/faults")
    sim.ctl("POST", "/faults/release")
    rc, out, err = app.run("deploy", "--yes")
    tap.ok(rc == 3 and "already running" in err and "edgeship unlock" in err,
           "the dead console's lock refuses the next deploy and says how to clear it", err)
    rc, out, err = app.run("unlock", "--stage", "staging", "--yes")
    tap.eq(rc, 0, "unlock removes the lock")
    tap.eq(app.records("staging")[-1]["kind"], "unlock", "and records who did it")
    st = app.status("staging")
    recs = app.records("staging")
    killed = [r for r in recs if r["phase"] == "intent"][-1]
    ends = [r for r in recs if r["phase"] == "outcome" and r.get("action_id") == killed["action_id"]]
    tap.ok(len(ends) == 1 and ends[0]["result"] == "cancelled",
           "once unlocked, status records the killed deploy as cancelled (never executed)", ends)

    # 8. --read-only sends nothing that changes AWS.
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("--read-only", "deploy", "--yes")
    tap.eq(rc, 3, "--read-only refuses deploy with exit 3")
    tap.eq([e for e in sim.log(since=log_start) if e.get("mutating")], [], "and sends no mutating request")


if __name__ == "__main__":
    release.run(main)
