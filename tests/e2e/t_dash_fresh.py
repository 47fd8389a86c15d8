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
:sleep 1500
:wait-idle
L
:wait-idle
:dump-screen {tmp}/fresh-ledger.txt
<Esc>
q
""")
    tap.ok(rc == 0, "the dashboard ran its script", err[-1500:])
    s = screen(app, "fresh-ledger.txt")
    tap.ok("no releases recorded yet: the artifact bucket does not exist yet" in s,
           "the ledger view says no releases recorded yet, as status does", s)
    tap.eq(BLOCKED, [], "no script waited synchronously on the screen's loop")


if __name__ == "__main__":
    release.run(main)
