#!/usr/bin/env python3
"""Pressing A shows what the promotion changes on the target stage: the
first release says so; later, the commits between what production runs and
what staging runs, the files they change and the template's resources."""

import re

import release
from release import BLOCKED, run_script, screen

# The distributions' status comes with the model's second round: A is
# pressed once the screen shows it.
ASK = """:wait-idle
:wait-text Deployed
:wait-idle
A
:wait-dialog
:dump-screen {tmp}/NAME.txt
n
:wait-idle
q
"""


def ops_since(sim, seq):
    return [e["operation"] for e in sim.log(since=seq)]


def last_seq(sim):
    log = sim.log()
    return log[-1]["seq"] if log else 0


def ask(tap, sim, app, name):
    """A in the dashboard, the question dumped, then n: nothing is sent."""
    start = last_seq(sim)
    rc, out, err = run_script(app, name, ASK.replace("NAME", name))
    tap.ok(rc == 0, f"the {name} script ran", err[-1500:])
    sent = [o for o in ops_since(sim, start) if o in ("CreateChangeSet", "PutObject",
                                                      "ExecuteChangeSet")]
    tap.eq(sent, [], "n at the promotion question sends nothing")
    return screen(app, name + ".txt")


def edit(app, path, old, new):
    p = f"{app.dir}/{path}"
    text = open(p).read()
    assert old in text, f"{old!r} not in {path}"
    open(p, "w").write(text.replace(old, new, 1))


def deploy_staging(tap, app, what):
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--wait",
                           "--poll-interval", "300")
    tap.ok(rc == 0, f"{what} deploys to staging", err[-1500:])
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.ok(rc == 0, f"staging validates {what}", out + err)


def main(tap, sim, app):
    first = app.head()
    deploy_staging(tap, app, "the first commit")
    s = ask(tap, sim, app, "first")
    tap.ok("Promote staging's release" in s and "First release to production" in s
           and first[:7] in s, "the question says it is production's first release", s)
    tap.ok("the change set is shown next" in s, "and keeps what it said before", s)

    rc, out, err = app.run("promote", "--to", "production", "--yes", "--wait",
                           "--poll-interval", "300")
    tap.ok(rc == 0, "the first commit is promoted to production", err[-1500:])
    app.wait_deployed("production", 60)

    # Two commits: a new module, then the handler, a resource changed and one added.
    with open(f"{app.dir}/src/greeting.js", "w") as f:
        f.write("'use strict';\nmodule.exports = () => 'hello';\n")
    app.git("add", "src/greeting.js")
    app.git("commit", "-q", "-m", "add the greeting module")
    edit(app, "src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';")
    edit(app, "template.yaml", "      Timeout: 5\n", "      Timeout: 4\n")
    edit(app, "template.yaml", "Resources:\n",
         "Resources:\n  ReleaseTopic:\n    Type: AWS::SNS::Topic\n\n")
    app.git("commit", "-q", "-am", "release r2 \x1b[31mwith a topic\x1b[0m")
    second = app.head()
    deploy_staging(tap, app, "the second commit")
    app.wait_deployed("production", 60)

    s = ask(tap, sim, app, "later")
    tap.ok("First release" not in s, "production runs something: not a first release", s)
    tap.ok(f"2 commits from {first[:7]} to {second[:7]}, newest first:" in s,
           "the commits between are counted, from production's to staging's", s)
    newer = s.find("release r2")
    older = s.find("add the greeting module")
    tap.ok(0 <= newer < older and "Ann Operator" in s,
           "both subjects with their author, newest first", s)
    tap.ok("\x1b" not in s and "release r2  [31mwith a topic" in s,
           "the subject's escape character is cleaned as in the history", s)
    tap.ok("3 files changed" in s, "three files changed", s)
    tap.ok(re.search(r"A src/greeting\.js\s+\| \+2 -0", s) is not None,
           "the new file with its line counts", s)
    tap.ok(re.search(r"M src/index\.js\s+\| \+1 -1", s) is not None,
           "the changed handler with its line counts", s)
    tap.ok("+ ReleaseTopic" in s and "AWS::SNS::Topic" in s,
           "the resource added to the template", s)
    tap.ok(re.search(r"~ LambdaEdgeFunctionSample\s+AWS::Serverless::Function", s)
           is not None, "the resource modified in the template", s)
    tap.ok("Type \"production\"" not in s, "the question still comes before the stage name", s)
    tap.eq(BLOCKED, [], "no script waited synchronously on the screen's loop")


if __name__ == "__main__":
    release.run(main)
