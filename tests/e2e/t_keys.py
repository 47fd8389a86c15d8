#!/usr/bin/env python3
"""Keys against the slow network, from key scripts against the simulator: a
key typed before a question was drawn never answers it, executing a change
set takes y then Enter, and keys typed while a deploy runs are handled."""

import os
import signal
import subprocess

import release
from release import BLOCKED, run_script, screen


def last_seq(sim):
    log = sim.log()
    return log[-1]["seq"] if log else 0


def ops_since(sim, seq, mutating_only=False):
    return [e["operation"] for e in sim.log(since=seq) if not mutating_only or e.get("mutating")]


def outcomes(app, stage):
    return [r.get("result") for r in app.records(stage) if r["kind"] == "deploy" and r["phase"] == "outcome"]


def change(app, n):
    with open(os.path.join(app.dir, "src", "index.js"), "a") as f:
        f.write(f"// keys {n}\n")
    app.git("commit", "-q", "-am", f"keys {n}")


def stack_status(app):
    """CloudFormation's own status of the staging stack (no edgeship look)."""
    return app.sim.client("cloudformation").describe_stacks(StackName="edge-demo-staging")[
        "Stacks"][0]["StackStatus"]


def lock_held(sim):
    try:
        sim.client("s3").head_object(Bucket="edge-demo-artifacts", Key="edge-demo/locks/staging.json")
        return True
    except Exception:  # noqa: BLE001 - 404
        return False


def main(tap, sim, app):
    # 0. Script syntax: a :wait that closes nothing is refused before anything runs.
    rc, out, err = run_script(app, "bad", ":wait\nq\n")
    tap.eq(rc, 2, "a :wait without :nowait is a usage error")
    tap.ok(":wait without :nowait" in err and "bad.keys:1" in err, "and says where", err)

    # 1. Typeahead: D and y arrive together (one read). D opens the question;
    #    the y came before the question was drawn, so it answers nothing.
    start = last_seq(sim)
    rc, out, err = run_script(app, "burst", """:wait-idle
:now Dy
:dump-screen {tmp}/burst.txt
n
:wait-idle
:dump-screen {tmp}/burst-no.txt
q
""")
    tap.eq(rc, 0, "the typeahead script ran")
    s = screen(app, "burst.txt")
    tap.ok("Prepare a deploy of" in s and "y: yes" in s,
           "the question typed ahead of is still open", s)
    tap.ok("key ignored: the question had not been shown yet" in s,
           "the message line says the key was ignored", s)
    tap.ok("1 key typed before this question was shown was ignored" in s,
           "and so does the question", s)
    tap.ok("nothing was sent" in screen(app, "burst-no.txt"), "n then cancels it",
           screen(app, "burst-no.txt"))
    tap.eq(ops_since(sim, start, mutating_only=True), [], "no mutating request reached AWS")

    # 2. y typed while the change set is being made (CreateChangeSet is held
    #    2 s) goes to the dashboard, not to the question that comes later;
    #    Enter alone at the question is No.
    start = last_seq(sim)
    sim.fault("delay", service="cloudformation", operation="CreateChangeSet", seconds=2)
    rc, out, err = run_script(app, "early", """:wait-idle
D
y
:now y
:wait-dialog
:dump-screen {tmp}/early.txt
<Enter>
:wait-idle
:dump-screen {tmp}/early-no.txt
q
""")
    tap.eq(rc, 0, "the early-y script ran")
    s = screen(app, "early.txt")
    tap.ok("copied commit" in s, "the early y reached the dashboard (y copies) before the question", s)
    tap.ok("change set" in s and "[*] No" in s and "[ ] Yes" in s,
           "the change set question shows No selected", s)
    ops = ops_since(sim, start)
    tap.ok("CreateChangeSet" in ops, "a change set was made", ops)
    tap.ok("ExecuteChangeSet" not in ops, "Enter alone did not execute it", ops)
    tap.ok("cancelled" in screen(app, "early-no.txt"), "the dashboard says it was cancelled",
           screen(app, "early-no.txt"))
    tap.eq(outcomes(app, "staging")[-1:], ["cancelled"], "the ledger records the deploy cancelled")

    # 3. A single y at the change set only selects Yes; Esc then cancels.
    start = last_seq(sim)
    rc, out, err = run_script(app, "single", """:wait-idle
D
y
:wait-dialog
y
:dump-screen {tmp}/single.txt
<Esc>
:wait-idle
q
""")
    tap.eq(rc, 0, "the single-y script ran")
    s = screen(app, "single.txt")
    tap.ok("[*] Yes" in s and "Enter: yes, execute" in s, "y selects Yes and waits for Enter", s)
    ops = ops_since(sim, start)
    tap.ok("CreateChangeSet" in ops and "ExecuteChangeSet" not in ops,
           "y without Enter executed nothing", ops)
    tap.eq(outcomes(app, "staging")[-1:], ["cancelled"], "the ledger records that one cancelled too")

    # 4. y then Enter executes. The simulator holds ExecuteChangeSet 10 s,
    #    so the deploy is still running while keys are typed: ? opens the
    #    help, Esc closes it, and the screen shows the deploy under way.
    start = last_seq(sim)
    sim.fault("delay", service="cloudformation", operation="ExecuteChangeSet", seconds=10)
    rc, out, err = run_script(app, "execute", """:wait-idle
D
y
:wait-dialog
y
<Enter>
:nowait
?
:dump-screen {tmp}/help-running.txt
<Esc>
:dump-screen {tmp}/running.txt
:wait
:dump-screen {tmp}/executed.txt
q
""")
    tap.ok(rc == 0, "the execute script ran", err[-2000:])
    help_s, running, done = (screen(app, n) for n in ("help-running.txt", "running.txt", "executed.txt"))
    tap.ok("Show this help" in help_s and "move-down" in help_s,
           "? typed while the deploy runs opens the help", help_s)
    tap.ok("confirmed, executing the change set" in running and "Activity" in running,
           "Esc closes it and the dashboard shows the deploy executing", running)
    tap.ok("deploy to staging: success" not in running and "Show this help" not in running,
           "both screens were taken before the deploy ended", running)
    tap.ok("deploy to staging: success" in done, "the deploy then ends in success", done)
    ops = ops_since(sim, start)
    tap.eq(ops.count("ExecuteChangeSet"), 1, "y then Enter executed the change set once")
    tap.eq(outcomes(app, "staging")[-1:], ["success"], "the ledger records the deploy's success")
    tap.eq(app.status("staging")["commit"], app.head(), "staging runs the commit")

    # 5. q while a deploy runs asks first, and No (Enter) keeps following;
    #    yes detaches: the ledger says detached, the lock is released, and
    #    the dashboard leaves with exit 6 once that is recorded. The
    #    simulator holds the stack operation at its first step, so the deploy
    #    is still running whatever the machine's load.
    change(app, "quit")
    sim.hold_stacks(True)
    try:
        rc, out, err = run_script(app, "quit", """:wait-idle
D
y
:wait-dialog
y
<Enter>
:nowait
:wait-text UPDATE_IN_PROGRESS
q
:wait-dialog
:dump-screen {tmp}/quit-ask.txt
<Enter>
:dump-screen {tmp}/quit-no.txt
q
:wait-dialog
:dump-screen {tmp}/quit-ask2.txt
y
:dump-screen {tmp}/quit-yes.txt
:sleep 30000
""", leaks=False)
        still = stack_status(app)
    finally:
        sim.hold_stacks(False)
    ask, no = screen(app, "quit-ask.txt"), screen(app, "quit-no.txt")
    tap.ok("A deploy to staging is running. Quit anyway?" in ask and "n / Enter / Esc: no" in ask
           and "records how it ended" in ask, "q during a deploy asks, and Enter means no", ask)
    tap.ok("still here: the deploy to staging goes on" in no, "Enter alone keeps the dashboard", no)
    tap.ok(rc == 6 and outcomes(app, "staging")[-1:] == ["detached"] and still.endswith("_IN_PROGRESS"),
           "yes detaches: exit 6 and the ledger records the deploy detached",
           (rc, still, outcomes(app, "staging")[-3:], err[-1500:], screen(app, "quit-ask2.txt"),
            screen(app, "quit-yes.txt")))
    tap.ok(not lock_held(sim), "and the stage lock is released")
    release.wait_until(lambda: not app.status("staging")["stack_status"].endswith("_IN_PROGRESS"), 90, 0.3)
    tap.eq(outcomes(app, "staging")[-2:], ["detached", "success"],
           "CloudFormation carried on, and its end is recorded by the next look")

    # 6. SIGTERM while a deploy runs detaches without asking (the stack is
    #    held in progress again).
    app.wait_deployed("staging", 60)
    change(app, "term")
    start = last_seq(sim)
    sim.hold_stacks(True)
    try:
        path = os.path.join(app.sim.tmp, "term.keys")
        with open(path, "w") as f:
            f.write(":wait-idle\nD\ny\n:wait-dialog\ny\n<Enter>\n:nowait\n:sleep 60000\n")
        env = release.no_leak_check(dict(app.env(), COLUMNS="140", LINES="40", TERM="xterm-256color"))
        p = subprocess.Popen([release.EDGESHIP, "--script", path], cwd=app.dir, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
        release.wait_until(lambda: "ExecuteChangeSet" in ops_since(sim, start) and
                           stack_status(app).endswith("_IN_PROGRESS"), 120, 0.2)
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    finally:
        sim.hold_stacks(False)
    tap.ok(p.returncode == 6 and outcomes(app, "staging")[-1:] == ["detached"] and not lock_held(sim),
           "SIGTERM during a deploy detaches at once: exit 6, recorded, lock released",
           (p.returncode, outcomes(app, "staging")[-3:], err[-1500:]))
    release.wait_until(lambda: not app.status("staging")["stack_status"].endswith("_IN_PROGRESS"), 90, 0.3)
    tap.eq(outcomes(app, "staging")[-2:], ["detached", "success"],
           "that deploy's end is recorded by the next look as well")

    tap.ok(not BLOCKED, "no script made the dashboard wait synchronously on the screen's loop",
           "\n".join(f"{name}: {err}" for name, err in BLOCKED))


if __name__ == "__main__":
    release.run(main)
