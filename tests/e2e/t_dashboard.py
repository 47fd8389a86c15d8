#!/usr/bin/env python3
"""The dashboard driven by key scripts against the simulator: answering no
and --read-only send nothing that changes AWS; the whole flow from the
keyboard deploys, validates, promotes, invalidates and rolls back; U
reverts a commit; no script makes the screen's loop wait."""

import release
from release import BLOCKED, run_script, screen


def operations_since(sim, seq):
    return [e["operation"] for e in sim.log(since=seq)]


def mutating_since(sim, seq):
    return [e["operation"] for e in sim.log(since=seq) if e.get("mutating")]


def main(tap, sim, app):
    # A stack ends only once its distribution is Deployed, as CloudFormation
    # does: when a deploy has ended (and the dashboard's refresh after it is
    # done, which :wait-idle waits for), the next D is never refused for an
    # InProgress distribution, however slowly the machine runs.
    sim.config(cfn_wait_deployed=True)
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "second: r2")

    # 1. Answering no at the first question sends nothing.
    start = sim.log()[-1]["seq"] if sim.log() else 0
    rc, out, err = run_script(app, "no", """:wait-idle
D
:wait-idle
:dump-screen {tmp}/ask.txt
n
:wait-idle
:dump-screen {tmp}/no.txt
q
""")
    tap.eq(rc, 0, "the dashboard runs the script and quits with q")
    tap.ok("Prepare a deploy of" in screen(app, "ask.txt"), "D asks before doing anything",
           screen(app, "ask.txt"))
    tap.ok("nothing was sent" in screen(app, "no.txt"), "answering n says nothing was sent",
           screen(app, "no.txt"))
    tap.eq(mutating_since(sim, start), [], "and no mutating request reached AWS")
    tap.eq(operations_since(sim, start).count("GetCallerIdentity"), 1,
           "the dashboard, its model and its ledger asked STS who we are once")

    # 2. --read-only: the action keys are off.
    start = sim.log()[-1]["seq"]
    rc, out, err = run_script(app, "ro", """:wait-idle
D
:wait-idle
:dump-screen {tmp}/ro.txt
q
""", "--read-only")
    tap.ok("read-only" in screen(app, "ro.txt"), "--read-only says the action is off", screen(app, "ro.txt"))
    tap.eq(mutating_since(sim, start), [], "and sends no mutating request")

    # 3. The whole flow from the keyboard.
    start = sim.log()[-1]["seq"]
    rc, out, err = run_script(app, "flow", """:wait-idle
# deploy the older commit, then the newer one, to staging
j
D
y
:wait-idle
:dump-screen {tmp}/changes.txt
# executing a change set takes y, then Enter
y<Enter>
:wait-idle
k
D
y
y<Enter>
:wait-idle
:dump-screen {tmp}/deployed.txt
# validate staging, then approve the promotion to production
V
:wait-idle
:dump-screen {tmp}/validate.txt
<Enter>
y
:wait-idle
A
:wait-idle
:dump-screen {tmp}/approve.txt
y
:wait-idle
:dump-screen {tmp}/promote.txt
production<Enter>
:wait-idle
:dump-screen {tmp}/promoted.txt
# invalidate production's cache
I
<Down><Enter>
:wait-idle
:dump-screen {tmp}/paths.txt
<Enter>
:wait-idle
:dump-screen {tmp}/inv-confirm.txt
production<Enter>
:wait-idle
# roll staging back to the older commit
j
X
<Enter>
:wait-idle
:dump-screen {tmp}/rb-confirm.txt
staging<Enter>
:wait-idle
:dump-screen {tmp}/rb-changes.txt
staging<Enter>
:wait-idle
:dump-screen {tmp}/rolledback.txt
q
""")
    tap.ok(rc == 0, "the flow script ran to the end", err[-2000:])
    tap.ok("Add" in screen(app, "changes.txt") and "AWS::Lambda::Version" in screen(app, "changes.txt"),
           "the change set preview is shown before executing", screen(app, "changes.txt"))
    ops = operations_since(sim, start)
    tap.eq(ops.count("GetCallerIdentity"), 1,
           "a whole session of actions (each writing the ledger) asked STS who we are once")
    tap.ok(ops.count("ExecuteChangeSet") >= 4,
           f"two deploys, a promotion and a rollback executed ({ops.count('ExecuteChangeSet')})", ops)
    tap.eq(ops.count("CreateInvalidation"), 1, "one invalidation was created")
    recs = app.records()
    kinds = [(r["kind"], r["stage"], r.get("result")) for r in recs if r["phase"] == "outcome"]
    tap.ok(("validation", "staging", "passed") in kinds, "the validation was recorded", kinds)
    tap.ok(("promotion", "production", "success") in kinds, "the promotion was recorded", kinds)
    tap.ok(("rollback", "staging", "success") in kinds, "the rollback was recorded", kinds)
    first = app.git("rev-parse", "HEAD~1")
    tap.eq(app.status("staging")["commit"], first, "staging runs the older commit after the rollback")
    tap.eq(app.status("production")["commit"], app.head(), "production runs the promoted commit")
    tap.ok("production" in screen(app, "promoted.txt"), "the promotion screen was captured",
           screen(app, "promoted.txt"))

    # 4. U reverts the selected commit (HEAD) in the background: the history
    #    then shows the new commit, and nothing reaches AWS.
    start = sim.log()[-1]["seq"]
    before = app.head()
    subject = app.git("log", "-1", "--format=%s")
    rc, out, err = run_script(app, "revert", """:wait-idle
U
:wait-idle
:dump-screen {tmp}/revert-ask.txt
y
:wait-idle
:dump-screen {tmp}/reverted.txt
q
""")
    tap.ok(rc == 0, "the revert script ran", err[-2000:])
    tap.ok("Create a commit that reverts" in screen(app, "revert-ask.txt"), "U asks first",
           screen(app, "revert-ask.txt"))
    tap.eq(app.git("rev-parse", "HEAD~1"), before, "the new commit sits on the old HEAD")
    tap.eq(app.git("log", "-1", "--format=%s"), f'Revert "{subject}"', "and reverts it")
    shown = screen(app, "reverted.txt")
    tap.ok(f"reverts {before[:7]}" in shown and f'Revert "{subject}"'[:20] in shown,
           "the dashboard says so and its history shows the new commit", shown)
    tap.eq(mutating_since(sim, start), [], "a revert sends nothing to AWS")

    tap.ok(not BLOCKED, "no script made the dashboard wait synchronously on the screen's loop",
           "\n".join(f"{name}: {err}" for name, err in BLOCKED))


if __name__ == "__main__":
    release.run(main)
