#!/usr/bin/env python3
"""A fresh application, before its first deploy (no artifact bucket yet):
`edgeship status` says no releases are recorded yet, and so does the
dashboard's ledger view (L)."""

import release
from release import BLOCKED, run_script, screen


def main(tap, sim, app):
    rc, out, err = app.run("status")
    tap.ok(rc == 0 and "no releases recorded yet" in out,
           "status on a fresh application says no releases recorded yet", out + err[-1500:])
    rc, out, err = run_script(app, "fresh", """:wait-idle
L
:wait-text the artifact bucket does not exist yet
:dump-screen {tmp}/fresh-ledger.txt
<Esc>
q
""")
    tap.ok(rc == 0, "the dashboard ran its script", err[-1500:])
    s = screen(app, "fresh-ledger.txt")
    tap.ok("no releases recorded yet: the artifact bucket does not exist yet" in s,
           "the ledger view says no releases recorded yet, as status does", s)

    # The script's :wait-text: text on the screen lets it go on; text that
    # never comes fails the run, saying so, once its :timeout runs out.
    rc, out, err = run_script(app, "text", """:wait-text first: the sample app
:dump-screen {tmp}/text-shown.txt
:timeout 700
:wait-text words that never appear
:dump-screen {tmp}/text-absent.txt
q
""")
    tap.ok("first: the sample app" in screen(app, "text-shown.txt"),
           ":wait-text goes on once the text is on the screen", screen(app, "text-shown.txt"))
    tap.ok(rc != 0 and 'text.keys:4: "words that never appear" not on the screen after 700 ms' in err,
           ":wait-text for text that never comes fails the run and names the line", (rc, err[-800:]))
    tap.ok("first: the sample app" in screen(app, "text-absent.txt"),
           "and the script goes on (its next dump is written)", screen(app, "text-absent.txt"))
    tap.eq(BLOCKED, [], "no script waited synchronously on the screen's loop")


if __name__ == "__main__":
    release.run(main)
