#!/usr/bin/env python3
"""Teardown with Lambda@Edge replicas: destroy refuses under --read-only,
for a stage another stage promotes from (without --force) and when the
typed name is wrong, sending nothing; a fault on UpdateStack, DeleteStack
and the DeleteStack that retains, and a lost answer after DeleteStack, each
leave a failed outcome in the ledger and a command that goes on when run
again; the delete that fails
on the replicated function is explained and finished with the function
retained and recorded; status counts it; cleanup says politely that the
replicas remain, fails on a DeleteFunction fault, and deletes the function
once the simulator has removed its replicas (so does the dashboard, on a
background job, and not under --read-only); watch names the resource that
failed and why; nothing is left, and the ledger tells the story in order."""

import os
import pty
import select
import subprocess
import time

import release

STACK = "edge-demo-staging"
FN = "LambdaEdgeFunctionSample"


def stack_status(sim):
    cf = sim.client("cloudformation")
    try:
        return cf.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
    except cf.exceptions.ClientError:
        return None


def mutating(sim, since):
    return [e for e in sim.ctl("GET", f"/log?since={since}")["entries"] if e.get("mutating")
            and e["service"] in ("cloudformation", "lambda", "cloudfront")]


def last_seq(sim):
    entries = sim.ctl("GET", "/log")["entries"]
    return entries[-1]["seq"] if entries else 0


def destroy_records(app):
    return [r for r in app.records() if r.get("kind") in ("destroy", "cleanup")]


def outcomes(recs):
    return [r for r in recs if r.get("kind") == "destroy" and r.get("phase") == "outcome"]


def typed(app, answer, *args):
    """Run edgeship with a terminal on stdin and stderr; type answer."""
    master, slave = pty.openpty()
    p = subprocess.Popen([release.EDGESHIP, *args], cwd=app.dir, env=app.env(), stdin=slave,
                         stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    seen = b""
    deadline = time.time() + 60
    while b"type" not in seen.lower() and time.time() < deadline and p.poll() is None:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    os.write(master, (answer + "\n").encode())
    out, _ = p.communicate(timeout=60)
    try:
        while select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 4096)
    except OSError:
        pass
    os.close(master)
    return p.returncode, out, seen.decode(errors="replace")


def main(tap, sim, app):
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    tap.ok(rc == 0 and app.wait_deployed("staging"), "staging is deployed", out + err)
    fn_name = sim.client("cloudformation").describe_stack_resource(
        StackName=STACK, LogicalResourceId=FN)["StackResourceDetail"]["PhysicalResourceId"]
    dist_id = app.status("staging")["distribution_id"]
    # Replicas stay until the test lets them go (POST /replicas/release).
    sim.config(replica_cleanup=86400)

    # Refusals: nothing is sent.
    seq = last_seq(sim)
    rc, out, err = app.run("--read-only", "destroy", "--stage", "staging", "--force", "--yes")
    tap.ok(rc == 3 and "--read-only" in err, "--read-only refuses destroy (exit 3)", f"rc={rc} {err}")
    rc, out, err = app.run("destroy", "--stage", "staging", "--yes")
    tap.ok(rc == 3 and "production promotes from staging" in err and "--force" in err,
           "a stage another stage promotes from is refused without --force (exit 3)",
           f"rc={rc} {err}")
    rc, out, err = app.run("destroy", "--yes")
    tap.ok(rc == 2 and "--stage" in err, "destroy never implies a stage (exit 2)", f"rc={rc} {err}")
    rc, out, err = app.run("destroy", "--stage", "staging", "--force")
    tap.ok(rc == 4 and "--yes" in out + err, "no terminal and no --yes: exit 4", f"rc={rc} {out}{err}")
    rc, out, screen = typed(app, "production", "destroy", "--stage", "staging", "--force")
    tap.ok(rc == 4 and "edge-demo-staging" in screen, "a wrong typed stage name cancels (exit 4)",
           f"rc={rc} {out} {screen}")
    tap.ok(mutating(sim, seq) == [] and stack_status(sim) in ("CREATE_COMPLETE", "UPDATE_COMPLETE"),
           "the refusals sent nothing that changes AWS", mutating(sim, seq))

    # A fault on UpdateStack: nothing changed, the failure recorded.
    sim.fault("error500", "cloudformation", "UpdateStack", count=20)
    rc, out, err = app.run("destroy", "--stage", "staging", "--force", "--yes",
                           "--poll-interval", "100")
    sim.ctl("DELETE", "/faults")
    dist = sim.client("cloudfront").get_distribution(Id=dist_id)["Distribution"]
    lfa = dist["DistributionConfig"]["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
    outs = outcomes(destroy_records(app))
    tap.ok(rc == 1 and "InternalFailure" in err and lfa["Quantity"] == 1,
           "a fault on UpdateStack fails with AWS's error; the association stays",
           f"rc={rc} {err} {lfa}")
    tap.ok(len(outs) == 1 and outs[0]["result"] == "failed" and "InternalFailure" in outs[0]["message"],
           "the ledger records the failed destroy", outs)

    # Run again, with a fault on DeleteStack: the associations go, the stack stays.
    sim.fault("error500", "cloudformation", "DeleteStack", count=20)
    rc, out, err = app.run("destroy", "--stage", "staging", "--force", "--yes",
                           "--poll-interval", "100")
    sim.ctl("DELETE", "/faults")
    dist = sim.client("cloudfront").get_distribution(Id=dist_id)["Distribution"]
    lfa = dist["DistributionConfig"]["DefaultCacheBehavior"].get("LambdaFunctionAssociations") or {}
    tap.ok(rc == 1 and "InternalFailure" in err and lfa.get("Quantity", 0) == 0
           and stack_status(sim) == "UPDATE_COMPLETE" and dist["Status"] == "Deployed",
           "the associations are removed and Deployed before DeleteStack, whose fault fails it",
           f"rc={rc} {out}{err} {lfa} {stack_status(sim)}")
    recs = destroy_records(app)
    tap.ok([r.get("step") for r in recs if r.get("phase") == "step"] == ["associations-removed"]
           and outcomes(recs)[-1]["result"] == "failed",
           "the ledger has the associations' removal, then the failed delete", recs)

    # A lost answer after DeleteStack: the delete runs, the command fails.
    sim.fault("truncate", "cloudformation", "DeleteStack", count=20)
    rc, out, err = app.run("destroy", "--stage", "staging", "--force", "--yes",
                           "--poll-interval", "100")
    sim.ctl("DELETE", "/faults")
    tap.ok(rc == 1 and "no Lambda@Edge associations left" in out + err,
           "a lost answer after DeleteStack fails the command (exit 1), no second update",
           f"rc={rc} {out}{err}")
    tap.ok(release.wait_until(lambda: stack_status(sim) == "DELETE_FAILED", 30, 0.1),
           "the delete it started ends DELETE_FAILED on the replicated function", stack_status(sim))
    events = sim.client("cloudformation").describe_stack_events(StackName=STACK)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "DELETE_FAILED" and e["LogicalResourceId"] == FN]
    tap.ok(failed and "because it is a replicated function" in failed[0]["ResourceStatusReason"]
           and fn_name in failed[0]["ResourceStatusReason"],
           "the stack events say why, as CloudFormation words it", failed[:1])
    tap.ok(outcomes(destroy_records(app))[-1]["result"] == "failed",
           "the ledger records that run as failed", outcomes(destroy_records(app))[-1])
    rc, out, err = app.run("watch", "--stage", "staging", timeout=60)
    tap.ok(rc == 0 and "DELETE_FAILED" in out and f"failed     {FN}: " in out
           and "because it is a replicated function" in out
           and "`edgeship destroy --stage staging` retains the function" in out,
           "watch shows the failing resource, the reason and what to do", out + err)

    # Run again with a fault on the DeleteStack that retains the function:
    # the retention is recorded, the stack stays DELETE_FAILED.
    sim.fault("error500", "cloudformation", "DeleteStack", count=20)
    rc, out, err = app.run("destroy", "--stage", "staging", "--force", "--yes",
                           "--poll-interval", "100")
    sim.ctl("DELETE", "/faults")
    recs = destroy_records(app)
    tap.ok(rc == 1 and "InternalFailure" in err and stack_status(sim) == "DELETE_FAILED"
           and recs[-2].get("step") == "function-retained" and recs[-1]["result"] == "failed",
           "a fault on DeleteStack with RetainResources: recorded, the stack still DELETE_FAILED",
           f"rc={rc} {err} {recs[-2:]}")

    # Run again: the replicated function is retained, the delete completes.
    rc, js, err = app.json("destroy", "--stage", "staging", "--force", "--yes",
                           "--poll-interval", "100")
    tap.ok(rc == 0 and js and js["stack_status"] == "DELETE_COMPLETE" and js["retained"] == "1"
           and stack_status(sim) is None,
           "run again, the stack delete completes with the function retained", f"rc={rc} {js} {err}")
    tap.ok("replicated Lambda@Edge function" in err and "few hours" in err
           and "edgeship cleanup" in err and "cannot be removed by hand" in err,
           "it explains what is happening and how long it can take", err)
    fns = [f["FunctionName"] for f in sim.client("lambda").list_functions()["Functions"]]
    tap.ok(fn_name in fns, "the function is still there", fns)
    recs = destroy_records(app)
    kept = [r for r in recs if r.get("step") == "function-retained"][-1:]
    tap.ok(len(kept) == 1 and kept[0]["function"] == fn_name and kept[0]["stage"] == "staging"
           and kept[0]["region"] == "us-east-1" and kept[0]["when"]
           and kept[0]["arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}",
           "the ledger records the retained function: name, ARN, region, stage, time", kept)

    # status counts it.
    rc, out, err = app.run("status")
    tap.ok(rc == 0 and "replicas pending cleanup: 1" in out, "status shows replicas pending cleanup",
           out + err)
    rc, st, err = app.json("status")
    tap.ok(rc == 0 and st["replicas_pending"] == 1, "status --json counts them", st and st.get("replicas_pending"))

    # cleanup while the replicas remain: polite, nothing recorded.
    rc, out, err = app.run("cleanup")
    tap.ok(rc == 3 and "still has edge replicas" in out + err and "few hours" in err
           and "again later" in err,
           "cleanup while replicas remain says so politely (exit 3)", f"rc={rc} {out}{err}")
    rc, out, err = app.run("--read-only", "cleanup")
    tap.ok(rc == 3 and "--read-only" in err, "--read-only refuses cleanup", f"rc={rc} {err}")

    # The dashboard tries too, on a background job, and says what it found;
    # under --read-only it tries nothing.
    seq = last_seq(sim)
    rc, out, err = release.run_script(app, "ro", ":wait-idle\n:dump-screen {tmp}/ro.txt\nq\n",
                                      "--read-only")
    tap.ok(rc == 0 and not [e for e in sim.ctl("GET", f"/log?since={seq}")["entries"]
                            if e["operation"] == "DeleteFunction"],
           "a --read-only dashboard tries no cleanup", err[-2000:])
    rc, out, err = release.run_script(app, "pending", ":wait-idle\n:dump-screen {tmp}/pending.txt\nq\n")
    screen = release.screen(app, "pending.txt")
    tap.ok(rc == 0 and "still has edge replicas" in screen and fn_name in fns,
           "the dashboard's cleanup says the replicas remain", screen)

    # The replicas go; a fault on DeleteFunction fails the first try.
    sim.ctl("POST", "/replicas/release", {"function": fn_name})
    sim.fault("error500", "lambda", "DeleteFunction", count=20)
    rc, js, err = app.json("cleanup")
    sim.ctl("DELETE", "/faults")
    fns = [f["FunctionName"] for f in sim.client("lambda").list_functions()["Functions"]]
    tap.ok(rc == 1 and "InternalFailure" in str(js) + err
           and fn_name in fns and not [r for r in destroy_records(app) if r["kind"] == "cleanup"],
           "a fault on DeleteFunction fails cleanup, nothing recorded", f"rc={rc} {js} {err}")

    # The dashboard's next try deletes it.
    rc, out, err = release.run_script(app, "deleted", ":wait-idle\n:dump-screen {tmp}/deleted.txt\nq\n")
    screen = release.screen(app, "deleted.txt")
    fns = [f["FunctionName"] for f in sim.client("lambda").list_functions()["Functions"]]
    tap.ok(rc == 0 and "cleanup:" in screen and "deleted with every version" in screen
           and fn_name not in fns,
           "the dashboard deletes the function once its replicas are gone", screen)
    tap.ok(not release.BLOCKED, "no dashboard run waited on the screen's loop", release.BLOCKED)
    rc, out, err = app.run("cleanup")
    tap.ok(rc == 0 and "no replicated functions are waiting" in out, "then nothing waits", out + err)
    rc, out, err = app.run("status")
    tap.ok("replicas pending" not in out, "status no longer counts it", out)

    # Nothing is left.
    dists = sim.client("cloudfront").list_distributions()["DistributionList"].get("Items") or []
    fns = [f["FunctionName"] for f in sim.client("lambda").list_functions()["Functions"]]
    tap.ok(stack_status(sim) is None and dist_id not in [d["Id"] for d in dists]
           and not [f for f in fns if f.startswith(STACK)],
           "no stack, distribution or function of staging is left", (dists, fns))

    # The ledger tells the story in order.
    story = [(r["kind"], r["phase"], r.get("step") or r.get("result")) for r in destroy_records(app)]
    want = [("destroy", "intent", None), ("destroy", "outcome", "failed"),
            ("destroy", "intent", None), ("destroy", "step", "associations-removed"),
            ("destroy", "outcome", "failed"),
            ("destroy", "intent", None), ("destroy", "outcome", "failed"),
            ("destroy", "intent", None), ("destroy", "step", "function-retained"),
            ("destroy", "outcome", "failed"),
            ("destroy", "intent", None), ("destroy", "step", "function-retained"),
            ("destroy", "outcome", "success"),
            ("cleanup", "outcome", "success")]
    tap.ok(story == want, "the ledger tells the story in order", story)

    rc, out, err = app.run("destroy", "--stage", "staging", "--force", "--yes")
    tap.ok(rc == 0 and "nothing to destroy" in out, "destroy of a stage with no stack says so", out + err)


if __name__ == "__main__":
    release.run(main)
