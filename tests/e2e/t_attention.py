#!/usr/bin/env python3
"""Attention and the desktop, from the dashboard against the simulator: the
bell and a notification (notify-send, OSC 9 wrapped for tmux) when a deploy
ends, a distribution reaches Deployed, a validation fails and a promotion
awaits approval, with escape sequences and credentials stripped from what
the commit and the ledger say; the ledger view (L) by stage and for all
stages (t), a whole record on Enter; y copies with OSC 52; o opens the
stage URL with xdg-open, or says where to go without it."""

import base64
import json
import os
import re
import signal
import subprocess
import time

import release
from release import BLOCKED, screen

# The credentials the console itself runs with.
SECRET_KEY = release.simtest.SECRET
KEY_ID = release.simtest.KEY_ID


def fake_program(folder, name):
    """A stand-in on PATH that records its arguments (US between them, RS
    after the last) in CALLS_<NAME>."""
    path = os.path.join(folder, name)
    var = "ES_FAKE_" + name.replace("-", "_").upper()
    with open(path, "w") as f:
        f.write("#!/bin/sh\n{ printf '%s' \"$0\"; for a in \"$@\"; do printf '\\037%s' \"$a\"; done; "
                f"printf '\\036'; }} >> \"${var}\"\n")
    os.chmod(path, 0o755)
    return var


def calls(path):
    try:
        data = open(path, "rb").read().decode("utf-8", "replace")
    except OSError:
        return []
    return [c.split("\x1f")[1:] for c in data.split("\x1e") if c]


def user_config(app, text):
    d = os.path.join(app.home, ".config", "edgeship")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config"), "w") as f:
        f.write(text)


def dash_env(app, path, **extra):
    env = dict(app.env(), COLUMNS="140", LINES="40", TERM="xterm-256color",
               ES_ASSERT_NO_UI_BLOCK="1", PATH=path)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "TMUX", "TERM_PROGRAM"):
        env.pop(k, None)
    env.update(extra)
    return env


def keys_file(app, name, text):
    path = os.path.join(app.sim.tmp, name + ".keys")
    with open(path, "w") as f:
        f.write(text.replace("{tmp}", app.sim.tmp))
    return path


def note_blocking(name, err):
    waits = re.search(r"edgeship: (\d+) blocking waits? on the screen's loop", err)
    if "synchronous wait on the screen's loop" in err or (waits and waits.group(1) != "0"):
        BLOCKED.append((name, err[-3000:]))


def put_record(sim, app, fields):
    """Write a ledger record straight into the bucket, as anyone with write
    access to it could."""
    seq = max([r["seq"] for r in app.records()] or [0]) + 1
    rec = dict(seq=seq, when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               record_id=f"outside-{seq}", action_id=f"outside-{seq}", **fields)
    sim.client("s3").put_object(Bucket="edge-demo-artifacts", Key=f"edge-demo/ledger/{seq:010d}.json",
                                Body=json.dumps(rec, indent=2).encode())
    return seq


def tmux_wrapped(seq):
    return b"\x1bPtmux;" + seq.replace(b"\x1b", b"\x1b\x1b") + b"\x1b\\"


def main(tap, sim, app):
    fakebin = os.path.join(sim.tmp, "fakebin")
    os.makedirs(fakebin)
    notify_var = fake_program(fakebin, "notify-send")
    open_var = fake_program(fakebin, "xdg-open")
    notify_log = os.path.join(sim.tmp, "notify-send.calls")
    open_log = os.path.join(sim.tmp, "xdg-open.calls")
    path = fakebin + ":" + os.environ.get("PATH", "/usr/bin:/bin")
    fakes = {notify_var: notify_log, open_var: open_log}

    # Distributions stay InProgress until the test moves them on.
    sim.config(propagation_min=3600, propagation_max=3600)
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';",
                      "Fix \x1b]0;pwned\x07 header \x1b[2J now")
    head = app.head()

    # 1. notify-send and the bell: a deploy ends, its distribution reaches
    #    Deployed, a validation record says it failed.
    user_config(app, "[attention]\n\tbell = on\n\tnotify = notify-send\n")
    script = keys_file(app, "att1", """:wait-idle
D
y
:wait-dialog
y
<Enter>
:wait-idle
:dump-screen {tmp}/att1-deployed.txt
:sleep 240000
""")
    p = subprocess.Popen([release.EDGESHIP, "--script", script], cwd=app.dir,
                         env=dash_env(app, path, **fakes), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        release.wait_until(lambda: os.path.exists(os.path.join(sim.tmp, "att1-deployed.txt")), 240, 0.2)
        release.wait_until(lambda: calls(notify_log), 60, 0.2)
        first = calls(notify_log)[:1]
        tap.ok(first and first[0][:5] == ["--app-name=edgeship", "--urgency", "normal", "--",
                                          "edgeship edge-demo"]
               and first[0][5].startswith("deploy to staging: success (by ")
               and head[:7] in first[0][5] and "pwned" in first[0][5],
               "a deploy's end runs notify-send (no shell) with what, where, the outcome, the commit",
               (first, screen(app, "att1-deployed.txt")))
        tap.ok(first and not any(c in first[0][5] for c in "\x1b\x07"),
               "the commit subject's escape sequences are stripped", first)

        dist = app.status("staging")["distribution_id"]
        # The dashboard must have seen the distribution InProgress (it stays
        # so until moved on): a deploy ends quicker than its next look.
        since = sim.log()[-1]["seq"]
        release.wait_until(lambda: any(e.get("operation") == "GetDistribution"
                                       for e in sim.log(since=since)), 60, 0.2)
        sim.ctl("POST", "/distributions/advance", {"id": dist})
        release.wait_until(lambda: len(calls(notify_log)) >= 2, 60, 0.2)
        got = calls(notify_log)
        tap.ok(len(got) >= 2 and got[1][5].startswith("staging: the distribution is Deployed"),
               "the distribution reaching Deployed is announced", got)

        put_record(sim, app, dict(
            kind="validation", phase="outcome", stage="staging", commit=head, release="r-x",
            result="failed", who="arn:aws:sts::123456789012:assumed-role/intruder/mallory",
            message=f"home: 1/1 failed: \x1b]0;pwned\x07\x1b[2J {KEY_ID} {SECRET_KEY} \x9b31m"))
        release.wait_until(lambda: len(calls(notify_log)) >= 3, 90, 0.2)
        got = calls(notify_log)
        third = got[2] if len(got) >= 3 else []
        tap.ok(third[:4] == ["--app-name=edgeship", "--urgency", "critical", "--"]
               and third[5].startswith("validation of staging failed: home: 1/1 failed:"),
               "a failed validation in the ledger is announced as critical", got)
        every = "".join("".join(c) for c in calls(notify_log))
        tap.ok("\x1b" not in every and "\x07" not in every and "\x9b" not in every,
               "no control character reaches notify-send", third)
        tap.ok(KEY_ID not in every and SECRET_KEY not in every and "[redacted]" in every,
               "credentials in AWS text are masked", third)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    err = err.decode("utf-8", "replace")
    note_blocking("att1", err)
    tap.eq(len(calls(notify_log)), 3, "each event is told once")
    tap.eq(out.count(b"\x07"), 3, "the bell rings once for each")
    tap.ok(b"\x1b" not in out, "notify-send mode writes no escape sequence to the terminal", out)

    # 2. OSC 9 under tmux, without the bell: the validation that passes
    #    leaves a promotion waiting. Then the ledger view, y and o.
    put_record(sim, app, dict(kind="invalidation", phase="outcome", stage="production",
                              result="success", who="arn:aws:iam::123456789012:user/carol",
                              message="I-OTHER: /*"))
    user_config(app, "[attention]\n\tbell = off\n\tnotify = osc9\n")
    script = keys_file(app, "att2", """:wait-idle
V
:wait-idle
<Enter>
y
:wait-idle
R
:wait-idle
L
:wait-idle
:dump-screen {tmp}/att2-ledger.txt
t
:dump-screen {tmp}/att2-ledger-all.txt
<Enter>
:dump-screen {tmp}/att2-record.txt
<Esc>
<Esc>
y
:dump-screen {tmp}/att2-copied.txt
<Tab>
y
o
:dump-screen {tmp}/att2-open.txt
q
""")
    p = subprocess.run([release.EDGESHIP, "--script", script], cwd=app.dir,
                       env=dash_env(app, path, TMUX="/tmp/tmux-1000/default,1,0", **fakes),
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=240)
    out, err = p.stdout, p.stderr.decode("utf-8", "replace")
    note_blocking("att2", err)
    tap.eq(p.returncode, 0, "the second script ran")
    m = re.search(rb"\x1bPtmux;\x1b\x1b\]9;edgeship edge-demo: staging validated ([^\x07\x1b]*): "
                  rb"promotion to production awaits approval\x07\x1b\\", out)
    tap.ok(m is not None, "a promotion awaiting approval sends OSC 9, wrapped for tmux", out)
    osc52 = tmux_wrapped(b"\x1b]52;c;" + base64.b64encode(head.encode()) + b"\x07")
    tap.ok(osc52 in out, "y in History copies the commit id with OSC 52 (base64, tmux-wrapped)", out)
    domain = sim.client("cloudfront").get_distribution(Id=dist)["Distribution"]["DomainName"]
    url = f"https://{domain}/"
    tap.ok(tmux_wrapped(b"\x1b]52;c;" + base64.b64encode(url.encode()) + b"\x07") in out,
           "y in Stages copies the stage URL", out)
    rest = out
    for seq in re.findall(rb"\x1bPtmux;.*?\x1b\\", out, re.S):
        rest = rest.replace(seq, b"")
    tap.ok(b"\x07" not in rest and b"\x1b" not in rest,
           "bell = off: nothing else reaches the terminal", rest)
    tap.eq(len(calls(notify_log)), 3, "osc9 mode runs no notify-send")

    led, led_all = screen(app, "att2-ledger.txt"), screen(app, "att2-ledger-all.txt")
    tap.ok("Ledger" in led and re.search(r"staging, \d+ records", led) and "mallory" in led
           and "passed" in led and "carol" not in led,
           "L shows the selected stage's records: who, the outcome", led)
    tap.ok("\x1b" not in led and "pwned" in led, "the hostile record is shown stripped", led)
    tap.ok(re.search(r"all stages, \d+ records", led_all) and "carol" in led_all
           and "production" in led_all, "t shows every stage", led_all)
    rec = screen(app, "att2-record.txt")
    tap.ok("ledger record #" in rec and '"kind": "validation"' in rec and '"result": "passed"' in rec,
           "Enter shows the newest record whole", rec)
    tap.ok("copied commit " + head in screen(app, "att2-copied.txt"),
           "the message line says what was copied", screen(app, "att2-copied.txt"))
    release.wait_until(lambda: calls(open_log), 30, 0.1)
    tap.eq(calls(open_log), [[url]], "o runs xdg-open with the stage URL, and only it")
    tap.ok("opening " + url in screen(app, "att2-open.txt"), "and says so",
           screen(app, "att2-open.txt"))

    # 3. Without xdg-open on PATH, o says where to go.
    empty = os.path.join(sim.tmp, "emptybin")
    os.makedirs(empty)
    # (R first: the model's first round may read the distributions before
    # the stack that names staging's)
    script = keys_file(app, "att3", ":wait-idle\nR\n:wait-idle\n<Tab>\no\n:dump-screen {tmp}/att3.txt\nq\n")
    p = subprocess.run([release.EDGESHIP, "--script", script], cwd=app.dir, env=dash_env(app, empty),
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=240)
    note_blocking("att3", p.stderr.decode("utf-8", "replace"))
    tap.ok("xdg-open not found; URL: " + url in screen(app, "att3.txt"),
           "without xdg-open, o shows the URL", screen(app, "att3.txt"))
    tap.eq(len(calls(open_log)), 1, "and nothing else ran")

    tap.eq(BLOCKED, [], "no script made the screen's loop wait")


if __name__ == "__main__":
    release.run(main)
