#!/usr/bin/env python3
"""The dashboard tells the truth at the moments that matter: the history
follows the repository, an action still running is "running" (here and in
`status`), relative times move on while it idles, refusals come when the key
is pressed, before any question, and whole errors can be opened."""

import os
import subprocess

import release
from release import BLOCKED, EDGESHIP, run_script, screen


def start_script(app, name, text, cols=140, lines=40):
    """The dashboard on a key script, in the background: the test acts on
    the repository while it runs (run_script waits for the end)."""
    path = os.path.join(app.sim.tmp, name + ".keys")
    with open(path, "w") as f:
        f.write(text.replace("{tmp}", app.sim.tmp))
    env = dict(app.env(), COLUMNS=str(cols), LINES=str(lines), TERM="xterm-256color",
               ES_ASSERT_NO_UI_BLOCK="1")
    return subprocess.Popen([EDGESHIP, "--script", path], cwd=app.dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def dumped(app, name, timeout=120):
    """Wait until the running script wrote screen name."""
    path = os.path.join(app.sim.tmp, name)
    # a dump is renamed into place whole
    release.wait_until(lambda: os.path.exists(path), timeout, 0.05)
    return screen(app, name)


def change(app, n):
    with open(os.path.join(app.dir, "src", "index.js"), "a") as f:
        f.write(f"// truth {n}\n")
    app.git("commit", "-q", "-am", f"truth {n}")
    return app.head()


def stack_status(app):
    return app.sim.client("cloudformation").describe_stacks(StackName="edge-demo-staging")[
        "Stacks"][0]["StackStatus"]


def line_with(text, needle):
    return next((ln for ln in text.splitlines() if needle in ln), "")


def history_follows(tap, sim, app):
    """1. A commit made in another terminal appears without a key; a branch
    switch too; R reloads."""
    p = start_script(app, "hist", """:wait-idle
:dump-screen {tmp}/hist0.txt
:wait-text made while the dashboard runs
:wait-text the repository changed
:dump-screen {tmp}/hist1.txt
:wait-text on the side branch
:dump-screen {tmp}/hist2.txt
R
:wait-idle
:dump-screen {tmp}/hist3.txt
q
""")
    before = dumped(app, "hist0.txt")
    tap.ok("made while the dashboard runs" not in before, "the commit is not there at first", before)
    new = change(app, "made while the dashboard runs")
    after = dumped(app, "hist1.txt")
    tap.ok("truth made while the dashboard runs" in after and new[:7] in after,
           "a commit made while the dashboard runs shows up without a key", after)
    app.git("checkout", "-q", "-b", "side", "HEAD~1")
    side = change(app, "on the side branch")
    switched = dumped(app, "hist2.txt")
    tap.ok("truth on the side branch" in switched and side[:7] in switched
           and "made while the dashboard runs" not in switched,
           "a branch switch (and a commit on it) shows the branch's history", switched)
    out, err = p.communicate(timeout=120)
    tap.eq(p.returncode, 0, "the history script ran")
    s = screen(app, "hist3.txt")
    tap.ok("truth on the side branch" in s and "refreshing" in s, "R reloads the history too", s)
    tap.ok("the repository changed" in after, "the Activity says the history was reloaded", after)
    app.git("checkout", "-q", "main")


def running_not_interrupted(tap, sim, app):
    """5. A deploy still running (its lock live, its stack held in
    UPDATE_IN_PROGRESS) is running, by whom, in `status` and the dashboard."""
    change(app, "held deploy")
    sim.hold_stacks(True)
    cli = app.popen("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    try:
        release.wait_until(lambda: stack_status(app).endswith("_IN_PROGRESS"), 120, 0.2)
        st = app.status("staging")
        tap.ok(st["running"] and not st["interrupted"] and not st["detached"],
               "status from another terminal: running, not interrupted", st)
        rc, out, err = app.run("status")
        tap.ok("interrupted" not in out and "running" in out,
               "status's text says running", out + err)
        rc, out, err = run_script(app, "running", """:wait-idle
:dump-screen {tmp}/running.txt
q
""")
        s = screen(app, "running.txt")
        tap.ok("interrupted" not in s, "the dashboard does not call it interrupted", s)
        tap.ok("deploy running by moto" in s, "it says running, and by whom",
               line_with(s, "last "))
        tap.ok("staging      not yet validated: a release is on its way in" in s,
               "no validation stands for a stage while a release is on its way in", s)
    finally:
        sim.hold_stacks(False)
    out, err = cli.communicate(timeout=180)
    tap.ok(cli.returncode == 0, "the held deploy then ends", err[-1500:])


def times_tick(tap, sim, app):
    """5. "N s ago" moves on every second while the dashboard idles."""
    rc, out, err = run_script(app, "tick", """:wait-idle
:dump-screen {tmp}/tick0.txt
:sleep 2500
:dump-screen {tmp}/tick1.txt
q
""")
    a, b = (line_with(screen(app, n), "deploy success by") for n in ("tick0.txt", "tick1.txt"))
    tap.ok(a and b and a != b and " ago" in b, "the last action's age moved on while idle", (a, b))


def ops_since(sim, seq):
    return [e["operation"] for e in sim.log(since=seq)]


def last_seq(sim):
    log = sim.log()
    return log[-1]["seq"] if log else 0


def refusals_come_first(tap, sim, app):
    """3. Deploying into an InProgress stage is refused when D is pressed,
    before any question, in the dashboard's words, and offers a queue that
    starts the deploy by itself once the distribution reports Deployed;
    promoting an unvalidated release offers to validate staging now.
    4. Validation results stay under the release they were taken for, and
    validating during InProgress warns."""
    app.wait_deployed("staging")
    sim.config(propagation_min=600.0, propagation_max=900.0)
    change(app, "in flight")
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.ok(rc == 0, "a deploy leaves staging's distribution InProgress", err[-1500:])
    dist_id = app.status("staging")["distribution_id"]
    tap.eq(app.distribution("staging")["Status"], "InProgress", "the distribution is InProgress")
    queued_oid = change(app, "queued")
    start = last_seq(sim)
    # The distribution's status comes with the model's second round: the
    # script waits until the screen shows it.
    p = start_script(app, "queue", """:wait-idle
:wait-text InProgress
:wait-idle
V
:wait-dialog
<Enter>
:wait-dialog
:dump-screen {tmp}/v-warn.txt
<Esc>
:wait-idle
D
:wait-dialog
:dump-screen {tmp}/q-offer.txt
<Enter>
:wait-idle
:dump-screen {tmp}/q-queued.txt
:wait-dialog
:dump-screen {tmp}/q-started.txt
n
:wait-idle
:dump-screen {tmp}/q-done.txt
q
""")
    warn = dumped(app, "v-warn.txt")
    tap.ok("Warning: staging is InProgress" in warn and "results may come from" in warn,
           "V during InProgress warns that results may come from edges on the old release", warn)
    offer = dumped(app, "q-offer.txt")
    tap.ok("deploy to staging: not now" in offer and "distribution is InProgress" in offer,
           "D into an InProgress stage is refused at once, saying why", offer)
    tap.ok("queue: deploy when Deployed" in offer and "--wait" not in offer,
           "the refusal offers the queue, not a command-line option", offer)
    tap.ok("Prepare a deploy of" not in offer, "no confirmation came before the refusal", offer)
    queued = dumped(app, "q-queued.txt")
    tap.ok("queued: deploy" in queued and "queued: it starts by itself" in queued,
           "the queued deploy is shown on the status line and in the Activity", queued)
    tap.eq([o for o in ops_since(sim, start) if o in ("CreateChangeSet", "PutObject")], [],
           "nothing was sent while it waits")
    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    started = dumped(app, "q-started.txt")
    tap.ok("deploy to staging: change set" in started and queued_oid[:7] in started,
           "once Deployed, the queued deploy starts by itself and reaches its change set", started)
    out, err = p.communicate(timeout=180)
    tap.eq(p.returncode, 0, "the queue script ran")
    tap.ok("CreateChangeSet" in ops_since(sim, start), "the queued deploy made a change set")

    # Promotion of a release nobody validated: refused at A, V offered.
    rc, out, err = run_script(app, "promote", """:wait-idle
:wait-text Deployed
:wait-idle
A
:wait-dialog
:dump-screen {tmp}/p-offer.txt
<Enter>
:wait-idle
:dump-screen {tmp}/p-validated.txt
q
""")
    offer, after = screen(app, "p-offer.txt"), screen(app, "p-validated.txt")
    tap.ok("promotion to production: refused" in offer and "is not validated" in offer
           and "V validates staging now" in offer,
           "A on an unvalidated release is refused at once and offers V", offer)
    tap.ok("Type \"production\"" not in offer, "before the stage name is asked for", offer)
    tap.ok("validation of staging: passed" in after, "choosing it validates staging", after)
    validated_release = app.status("staging")["release"]

    # A new release in staging: the old results stay under their release.
    change(app, "newer")
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.ok(rc == 0, "a newer release goes to staging", err[-1500:])
    rc, out, err = run_script(app, "stale", """:wait-idle
:wait-text InProgress
:wait-idle
:dump-screen {tmp}/stale.txt
q
""")
    s = screen(app, "stale.txt")
    row = line_with(s, "not yet validated")
    tap.ok("staging      not yet validated" in row, "staging shows not yet validated", s)
    tap.ok(f"earlier results, of release {validated_release}" in s,
           "its old results stand under the release they were taken for", s)
    tap.ok("passed" not in line_with(s, "staging      not"), "and no passed for the new one", s)
    sim.ctl("POST", "/distributions/advance", {})
    sim.config(propagation_min=0.3, propagation_max=0.8)


def errors_open_whole(tap, sim, app):
    """2. A failed deploy's root cause is longer than the screen is wide:
    the dialog wraps it, and Enter on its Activity line opens the whole
    record with the stack events around it."""
    app.wait_deployed("staging")
    app.commit_change("template.yaml", "!Ref LambdaEdgeFunctionSample.Version",
                      "!GetAtt LambdaEdgeFunctionSample.Arn", "associate an unversioned ARN")
    rc, out, err = run_script(app, "fail", """:wait-idle
:wait-text Deployed
:wait-idle
D
:wait-dialog
y
:wait-dialog
y
<Enter>
:wait-dialog
:dump-screen {tmp}/fail-dialog.txt
<Esc>
:wait-idle
:dump-screen {tmp}/fail-activity.txt
<Tab><Tab><Tab><Tab>
/
:wait-dialog
root cause
<Enter>
:wait-idle
<Enter>
:dump-screen {tmp}/fail-pager.txt
G
:dump-screen {tmp}/fail-pager-end.txt
q
q
""", cols=90, lines=40)
    tap.eq(rc, 0, "the failing deploy's script ran")
    dialog, strip, pager = (screen(app, n) for n in ("fail-dialog.txt", "fail-activity.txt",
                                                     "fail-pager.txt"))
    cause = line_with(strip, "root cause: CFDistribution")
    tap.ok(cause and cause.rstrip().endswith("|"), "the root cause runs off the Activity strip",
           strip)
    rows = [ln.strip("| ") for ln in pager.splitlines()]
    start = next((i for i, ln in enumerate(rows) if ln.startswith("root cause: CFDistribution")), -1)
    whole = ""
    for ln in rows[start:] if start >= 0 else []:
        if not ln or ln.startswith("Around it"):
            break
        whole += " " + ln
    # the strip cuts text with an ellipsis: the cut word's start is in the whole
    tail = cause.strip("| ").split()[-1].rstrip("…") if cause else "?"
    tap.ok(start >= 0 and len(whole) > 90 and tail in whole,
           "Enter on it opens the whole root cause in the pager, wrapped", pager)
    # The events come just before the opened line: on the first screen, or
    # once the pager is scrolled to its end (uploads before them can fill it).
    pager_end = screen(app, "fail-pager-end.txt")
    around = pager.split("Around it:")[-1] + "\n" + pager_end.split("Around it:")[-1]
    events = [ln for ln in around.splitlines() if "UPDATE_FAILED" in ln and "root cause" not in ln]
    tap.ok("Around it:" in pager and events, "with the stack events around it", pager + pager_end)
    body = [ln.strip("| ") for ln in dialog.splitlines() if "root cause" in ln]
    tap.ok(body and not dialog.count("root cause") == 0, "the failure dialog shows the root cause",
           dialog)
    # what the dialog shows of the root cause, joined over its wrapped lines
    words = " ".join(ln.strip("| ") for ln in dialog.splitlines())
    reason = whole.split("UPDATE_FAILED", 1)[-1].split()
    tap.ok(reason and all(w in words for w in reason[-3:]),
           "the dialog wraps it instead of cutting it off", (dialog, reason[-3:]))


def main(tap, sim, app):
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.ok(rc == 0, "a first deploy to staging", err[-1500:])
    app.wait_deployed("staging")
    history_follows(tap, sim, app)
    times_tick(tap, sim, app)
    running_not_interrupted(tap, sim, app)
    refusals_come_first(tap, sim, app)
    errors_open_whole(tap, sim, app)
    tap.eq(BLOCKED, [], "no script waited synchronously on the screen's loop")


if __name__ == "__main__":
    release.run(main)
