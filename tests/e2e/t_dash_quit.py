#!/usr/bin/env python3
"""Quitting the dashboard with a deploy queued (D while the stage's
distribution is InProgress) asks first, default No: n keeps the dashboard
and the queue; y leaves, says the queued deploy was dropped, and nothing of
it reaches AWS. The distribution is held InProgress by the simulator (a
long propagation time), never raced."""

import os

import release
from release import BLOCKED, run_script, screen


def change(app, n):
    with open(os.path.join(app.dir, "src", "index.js"), "a") as f:
        f.write(f"// quit {n}\n")
    app.git("commit", "-q", "-am", f"quit {n}")
    return app.head()


def last_seq(sim):
    log = sim.log()
    return log[-1]["seq"] if log else 0


def ops_since(sim, seq):
    return [e["operation"] for e in sim.log(since=seq)]


def main(tap, sim, app):
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.ok(rc == 0, "a first deploy to staging", err[-1500:])
    app.wait_deployed("staging")
    # Hold the next distribution change InProgress until the test moves it on.
    sim.config(propagation_min=600.0, propagation_max=900.0)
    change(app, "in flight")
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.ok(rc == 0, "a deploy leaves staging's distribution InProgress", err[-1500:])
    tap.eq(app.distribution("staging")["Status"], "InProgress", "the distribution is InProgress")
    queued_oid = change(app, "queued")
    start = last_seq(sim)

    # The distribution's status comes with the model's second round: the
    # Stages pane shows InProgress once it has.
    rc, out, err = run_script(app, "quitq", """:wait-idle
:wait-text InProgress
:wait-idle
D
:wait-dialog
<Enter>
:wait-idle
:dump-screen {tmp}/qq-queued.txt
q
:wait-dialog
:dump-screen {tmp}/qq-ask.txt
n
:wait-idle
:dump-screen {tmp}/qq-no.txt
q
:wait-dialog
:dump-screen {tmp}/qq-ask2.txt
y
""")
    queued = screen(app, "qq-queued.txt")
    tap.ok("queued: deploy" in queued, "D queued the deploy", queued)
    ask = screen(app, "qq-ask.txt")
    tap.ok(f"A deploy of {queued_oid[:7]} to staging is queued and has not started" in ask
           and "Quit and drop" in ask and "n / Enter / Esc: no" in ask,
           "q with a deploy queued asks before dropping it", ask)
    no = screen(app, "qq-no.txt")
    tap.ok(f"the deploy of {queued_oid[:7]} to staging stays queued" in no and "dropped" not in no,
           "n keeps the dashboard and the queue", no)
    ask2 = screen(app, "qq-ask2.txt")
    tap.ok("Quit and drop" in ask2, "q asks again", ask2)
    tap.ok(rc == 0, "y leaves the dashboard", err[-1500:])
    tap.ok(f"queued deploy of {queued_oid[:7]} to staging was dropped" in err
           and "nothing was sent" in err,
           "leaving says the queued deploy was dropped and nothing was sent", err[-1500:])
    tap.eq([o for o in ops_since(sim, start) if o in ("CreateChangeSet", "ExecuteChangeSet")],
           [], "the simulator received no change set for it")
    tap.eq(release.mutating_puts(sim.log(since=start), "artifacts/"), [],
           "and no upload of its artifacts")
    sim.ctl("POST", "/distributions/advance", {})
    sim.config(propagation_min=0.3, propagation_max=0.8)
    tap.eq(BLOCKED, [], "no script waited synchronously on the screen's loop")


if __name__ == "__main__":
    release.run(main)
