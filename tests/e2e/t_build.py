#!/usr/bin/env python3
"""The build step end to end against the simulator, on tests/apps/ts-esbuild
(a TypeScript handler bundled by esbuild from the npm registry; the template
deploys the gitignored dist/): a clean clone deploys with `build = npm ci &&
npm run build`, its edges answer what the bundle returns, the same commit
deployed again uploads nothing and builds nothing, promotion and rollback
build nothing; a failing build, a build past its time limit and a build
without the handler's module are refused before any upload; a build that
stamps the time into an output is reported as not reproducible, naming the
file; and against `aws cloudformation package` run after the same build by
hand it packages the same template and artifacts, which cfn-lint accepts."""

import json
import os
import shutil
import subprocess
import time

import release
from cfnpkg import Normaliser, diff
from release import BLOCKED, run_script, screen, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(os.path.dirname(HERE), "apps", "ts-esbuild")
BUCKET = "ts-edge-artifacts"


class TsApp(release.App):
    """A clean clone of a repository of tests/apps/ts-esbuild."""

    def __init__(self, sim):  # noqa: D107 - replaces App's example copy
        self.sim = sim
        self.home = os.path.join(sim.tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        self.build_log = os.path.join(sim.tmp, "builds.log")
        origin = os.path.join(sim.tmp, "ts-origin")
        shutil.copytree(APP, origin, ignore=shutil.ignore_patterns("node_modules", "dist"))
        conf = open(os.path.join(origin, "edgeship.conf")).read()
        probes = "".join(f"\tprobe = {e['url']}\n" for e in sim.edges)
        for stage in ("staging", "production"):
            conf = conf.replace(f'[stage "{stage}"]\n', f'[stage "{stage}"]\n{probes}')
        # Each build that runs says so in a file outside the export, with
        # the environment it saw.
        conf = conf.replace("\tbuild = npm ci && npm run build\n",
                            "\tbuild = npm ci && npm run build && echo built >> $BUILD_LOG"
                            " && env > $BUILD_LOG.env\n\tbuild-env = BUILD_LOG\n")
        open(os.path.join(origin, "edgeship.conf"), "w").write(conf)
        git = lambda *a: subprocess.run(["git", *a], cwd=origin, check=True, capture_output=True)  # noqa: E731
        git("init", "-q", "-b", "main", ".")
        git("add", ".")
        git("-c", "user.name=Ann", "-c", "user.email=ann@example.com", "-c", "commit.gpgsign=false",
            "commit", "-q", "-m", "TypeScript handler bundled by esbuild")
        self.dir = os.path.join(sim.tmp, "ts-clone")
        subprocess.run(["git", "clone", "-q", origin, self.dir], check=True, capture_output=True)
        self.git("config", "user.name", "Ann Operator")
        self.git("config", "user.email", "ann@example.com")
        self.git("config", "commit.gpgsign", "false")

    def env(self):
        return self.sim.env(XDG_STATE_HOME=os.path.join(self.sim.tmp, "state-home"),
                            XDG_CACHE_HOME=os.path.join(self.sim.tmp, "cache-home"),
                            HOME=self.home, BUILD_LOG=self.build_log,
                            npm_config_cache=os.path.join(self.sim.tmp, "npm-cache"))

    def builds(self):
        try:
            return open(self.build_log).read().count("built")
        except OSError:
            return 0

    def set_build(self, line):
        """Replace the build line of edgeship.conf (uncommitted: the file is
        read from the working tree); build-timeout goes back to its default
        unless line sets it."""
        conf = open(self.conf_path).read().splitlines(True)
        conf = [line + "\n" if l.startswith("\tbuild =") else l for l in conf
                if not l.startswith("\tbuild-timeout =")]
        open(self.conf_path, "w").write("".join(conf))


def uploads(sim, since):
    return [e for e in sim.log() if e["seq"] > since and e.get("method") == "PUT"
            and ("/artifacts/" in (e.get("path") or "") or "/templates/" in (e.get("path") or ""))]


def edge_answers(sim, app, text, path):
    """Every edge answers text for a path of its own on each round: an edge
    asked before the new function reached it caches the old answer, and a
    path asked again would keep it until the cache expires."""
    domain = app.status("staging")["outputs"]["DistributionDomainName"]
    seen = []
    rounds = [0]

    def all_new():
        seen.clear()
        rounds[0] += 1
        for e in sim.edges:
            st, _, body = sim.edge_get(e, domain, f"{path}-{rounds[0]}")
            seen.append((st, body))
        return all(st == 200 and text in body for st, body in seen)
    return wait_until(all_new, 60, 0.3), seen


def main(tap, sim, _example):
    sim.config(propagation_min=0.3, propagation_max=0.8)
    app = TsApp(sim)
    c1 = app.head()
    tap.ok(not os.path.exists(os.path.join(app.dir, "dist"))
           and not os.path.exists(os.path.join(app.dir, "node_modules")),
           "the clean clone has neither dist/ nor node_modules/")

    # 1. A clean clone deploys: npm ci and esbuild run in a fresh export.
    t0 = time.monotonic()
    rc, res, err = app.json("deploy", "--stage", "staging", "--yes", "--wait", "--poll-interval", "300")
    took = time.monotonic() - t0
    tap.eq(rc, 0, "the TypeScript app deploys from a clean clone")
    tap.ok(res and res["result"] == "success", "the deploy reports success", err[-3000:])
    b = (res or {}).get("build") or {}
    tap.ok(b.get("ran") is True and b.get("cache") == "miss" and len(b.get("key", "")) == 64
           and b.get("duration_ms", 0) > 0, "--json says the build ran: a cache miss, its key and duration", b)
    tap.diag(f"first deploy with npm ci + esbuild took {took:.1f}s (build {b.get('duration_ms', 0)} ms)")
    tap.eq(app.builds(), 1, "the build ran once")
    lines = err.splitlines()
    tap.ok(any("build: " in l and "dist/index.js" in l for l in lines),
           "the build's output (esbuild naming dist/index.js) is streamed to stderr", err[-3000:])
    tap.ok(not os.path.exists(os.path.join(app.dir, "dist")),
           "nothing was built in the working directory")
    env = dict(l.split("=", 1) for l in open(app.build_log + ".env").read().splitlines() if "=" in l)
    tap.ok(not [k for k in env if k.startswith("AWS_")], "the build saw no AWS_* variable", sorted(env))
    tap.ok(env.get("HOME") not in (None, app.home) and "edgeship-build-home-" in env.get("HOME", ""),
           "the build's HOME is a temporary directory", env.get("HOME"))
    tap.ok(env.get("npm_config_cache") == os.path.join(sim.tmp, "npm-cache")
           and env.get("BUILD_LOG") == app.build_log, "allow-listed variables reach the build")
    ok, seen = edge_answers(sim, app, "Bundled TypeScript at the edge (ts-r1) for /x", "/x")
    tap.ok(ok, "every edge answers with what the bundled handler returns", seen)
    recs = [r for r in app.records("staging") if r["kind"] == "deploy"]
    tap.ok(recs and recs[-1].get("build", {}).get("ran") is True,
           "the ledger records that the deploy built", recs[-1:] and recs[-1].get("build"))

    # 2. The same commit again: a cache hit, nothing built, nothing uploaded.
    app.wait_deployed("staging", 60)
    since = sim.log()[-1]["seq"]
    rc, res, err = app.json("deploy", "--stage", "staging", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "deploying the same commit again exits 0")
    tap.ok(res and res["result"] in ("no-changes", "success"), "it reports no changes", res and res["result"])
    b = (res or {}).get("build") or {}
    tap.ok(b.get("ran") is False and b.get("cache") == "hit", "--json says: no build, a cache hit", b)
    tap.eq(app.builds(), 1, "no build ran")
    tap.eq(uploads(sim, since), [], "nothing was uploaded")

    # 3. Promotion runs no build: it deploys staging's recorded artifacts.
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.eq(rc, 0, "staging validates")
    since = sim.log()[-1]["seq"]
    rc, res, err = app.json("promote", "--to", "production", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "promotion to production exits 0")
    b = (res or {}).get("build") or {}
    tap.ok(b.get("ran") is False, "--json of the promotion says no build ran", b)
    tap.eq(app.builds(), 1, "promotion ran no build")
    tap.eq(uploads(sim, since), [], "promotion uploaded nothing")

    # 4. A new commit builds again; rollback to the first builds nothing.
    app.wait_deployed("staging", 60)
    release_ts = os.path.join(app.dir, "src", "release.ts")
    text = open(release_ts).read()
    open(release_ts, "w").write(text.replace("'ts-r1'", "'ts-r2'"))
    app.git("commit", "-q", "-am", "release ts-r2")
    rc, res, err = app.json("deploy", "--stage", "staging", "--yes", "--wait", "--poll-interval", "300")
    tap.ok(rc == 0 and (res or {}).get("build", {}).get("ran") is True and app.builds() == 2,
           "a new commit is built and deployed", err[-2000:])
    # A path no edge has cached: an origin-request function runs on misses.
    ok, seen = edge_answers(sim, app, "(ts-r2) for /r2", "/r2")
    tap.ok(ok, "the edges answer the new bundle",
           (seen, sim.ctl("GET", "/edges").get("lambda_errors", [])[-2:]))
    app.wait_deployed("staging", 60)
    since = sim.log()[-1]["seq"]
    rc, res, err = app.json("rollback", "--stage", "staging", "--to", c1, "--yes", "--wait",
                            "--poll-interval", "300")
    tap.eq(rc, 0, "rollback to the first commit exits 0")
    tap.ok((res or {}).get("build", {}).get("ran") is False, "--json of the rollback says no build ran",
           res and res.get("build"))
    tap.eq(app.builds(), 2, "rollback ran no build")
    tap.eq(uploads(sim, since), [], "rollback uploaded nothing")
    app.wait_deployed("staging", 60)

    # 5. A failing build: the command, its status and its last lines; nothing uploaded.
    app.set_build("\tbuild = echo compiling && echo step two went wrong >&2 && exit 3")
    since = sim.log()[-1]["seq"]
    rc, res, err = app.json("deploy", "--stage", "staging", "--yes")
    msg = ((res or {}).get("error") or {}).get("message", "") + err
    tap.eq(rc, 1, "a build that exits 3 fails the deploy (exit 1)")
    tap.ok(res and res.get("ok") is False and res.get("command") == "deploy",
           "--json reports the deploy's failure", res)
    tap.ok("`echo compiling && echo step two went wrong >&2 && exit 3`" in msg
           and "exited with status 3" in msg and "step two went wrong" in msg,
           "the failure names the command, its exit status and its last lines", msg)
    tap.eq(uploads(sim, since), [], "nothing was uploaded")

    # 6. A build past its time limit is killed.
    app.set_build("\tbuild = echo waiting && sleep 60\n\tbuild-timeout = 1s")
    t0 = time.monotonic()
    rc, out, err = app.run("package", "--no-upload")
    took = time.monotonic() - t0
    tap.ok(rc == 1 and "time limit" in err and "process group was killed" in err and "waiting" in err,
           "a build past build-timeout is killed and reported", err[-2000:])
    tap.ok(took < 20, f"it stops at the limit ({took:.1f}s)")

    # 7. A build whose output lacks the handler's module is refused before any upload.
    app.set_build("\tbuild = mkdir -p dist && echo 'exports.other = 1' > dist/other.js")
    since = sim.log()[-1]["seq"]
    rc, res, err = app.json("deploy", "--stage", "staging", "--yes")
    msg = ((res or {}).get("error") or {}).get("message", "") + err
    tap.eq(rc, 3, "a build without the handler's module is refused (exit 3)")
    tap.ok("index" in msg and "other.js" in msg, "the refusal names the handler and what the zip holds", msg)
    tap.eq(uploads(sim, since), [], "nothing was uploaded")

    # 8. A build output that links out of the export is refused like any path.
    app.set_build("\tbuild = ln -s /etc dist")
    rc, out, err = app.run("package", "--no-upload")
    tap.ok(rc == 3 and "dist" in err and "link" in err,
           "a build output linking outside the export is refused", err[-1500:])

    # 9. Reproducibility: the real build is; one that stamps the time is not.
    app.set_build("\tbuild = npm ci && npm run build")
    rc, rep, err = app.json("package", "--check-reproducible", "--no-upload")
    r = (rep or {}).get("reproducible", {})
    tap.ok(rc == 0 and r.get("same") is True and r.get("differences") == [],
           "two fresh builds of the esbuild app give the same artifacts", (r, err[-2000:]))
    app.set_build("\tbuild = npm ci && npm run build && date +%s%N > dist/built-at.txt")
    rc, rep, err = app.json("package", "--check-reproducible", "--no-upload")
    r = (rep or {}).get("reproducible", {})
    tap.eq(rc, 1, "a build that stamps the time is not reproducible (exit 1)")
    tap.ok(r.get("same") is False and any(d.get("file") == "built-at.txt" and d.get("what") == "differs"
                                         and "EdgeFunction CodeUri (dist)" in d.get("artifact", "")
                                         for d in r.get("differences", [])),
           "it names the file that differs inside the artifact", r)
    rc, out, err = app.run("package", "--check-reproducible", "--no-upload")
    tap.ok(rc == 1 and "EdgeFunction CodeUri (dist): built-at.txt differs" in out,
           "the text report names it too", out + err[-1000:])

    # 9b. The report of a built commit is the same bytes twice, built or cached.
    app.set_build("\tbuild = npm ci && npm run build")
    rc1, out1, err1 = app.run("--json", "package", "--no-upload")
    rc2, out2, err2 = app.run("--json", "package", "--no-upload")
    tap.ok(rc1 == 0 and rc2 == 0 and out1 == out2 and '"key"' in out1,
           "package --json --no-upload prints the same bytes twice with a build configured",
           (err1[-800:], err2[-800:]))
    tap.ok("cache hit" in err2, "whether it built or hit the cache goes to stderr", err2[-800:])

    # 10. The dashboard: the build's lines reach the Activity strip while it
    # runs, and the screen never waits for it.
    app.set_build("\tbuild = echo dashboard build starts && sleep 8 && npm ci && npm run build")
    text = open(release_ts).read()
    open(release_ts, "w").write(text.replace("'ts-r2'", "'ts-r3'"))
    app.git("commit", "-q", "-am", "release ts-r3")
    rc, out, err = run_script(app, "dash-build", """:wait-idle
D
:wait-idle
:nowait
y
:wait-text build: dashboard build starts
:dump-screen {tmp}/during.txt
:wait
:dump-screen {tmp}/after.txt
n
:wait-idle
q
""", lines=50)
    # One look as soon as the build's first line is on the screen, while it sleeps.
    during = [screen(app, "during.txt")]
    after = screen(app, "after.txt")
    tap.ok(rc == 0 and any("build: dashboard build starts" in d and "changes)?" not in d for d in during),
           "the Activity strip shows the build's output while it runs",
           "\n".join("\n".join(d.splitlines()[-12:]) for d in during) + err[-1000:])
    tap.ok("to staging (" in after and "changes)?" in after, "then the change set is asked about", after)
    tap.eq(BLOCKED, [], "the dashboard never waited on the build")

    # 11. Against `aws cloudformation package` run after the same build by
    # hand: the same packaged template once keys are normalised, the same
    # artifacts; cfn-lint finds no error in edgeship's.
    app.set_build("\tbuild = npm ci && npm run build")
    ours_path = os.path.join(sim.tmp, "ts-edgeship.json")
    rc, out, err = app.run("package", "HEAD", "--json", "--output-template", ours_path)
    tap.ok(rc == 0, "edgeship package of the built app exits 0", err[-1500:])
    scratch = os.path.join(sim.tmp, "ts-by-hand")
    subprocess.run(["git", "clone", "-q", app.dir, scratch], check=True, capture_output=True)
    b = subprocess.run(["sh", "-c", "npm ci && npm run build"], cwd=scratch, capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, npm_config_cache=os.path.join(
                           sim.tmp, "npm-cache")))
    tap.ok(b.returncode == 0, "the same build by hand", b.stdout[-1000:] + b.stderr[-1000:])
    cli_path = os.path.join(sim.tmp, "ts-aws.json")
    c = sim.aws("cloudformation", "package", "--template-file", "template.yaml", "--s3-bucket",
                BUCKET, "--output-template-file", cli_path, "--use-json", cwd=scratch)
    tap.ok(c.returncode == 0, "aws cloudformation package of the built app exits 0",
           c.stderr[-1500:])
    if rc == 0 and c.returncode == 0:
        s3 = sim.client("s3")
        ours_n, cli_n = Normaliser(s3, BUCKET), Normaliser(s3, BUCKET)
        d = diff(ours_n.norm(json.load(open(ours_path))), cli_n.norm(json.load(open(cli_path))))
        tap.ok(not d, "the packaged templates match once keys are normalised", "\n".join(d))
        tap.ok(ours_n.artifacts and sorted(set(ours_n.artifacts)) == sorted(set(cli_n.artifacts)),
               "the same artifacts: the bundle, not the TypeScript sources",
               (ours_n.artifacts, cli_n.artifacts))
        lint = subprocess.run(["cfn-lint", "--format", "parseable", ours_path],
                              capture_output=True, text=True, timeout=300)
        tap.ok(lint.returncode & 2 == 0, "cfn-lint finds no error in edgeship's packaged template",
               lint.stdout + lint.stderr)


if __name__ == "__main__":
    release.run(main)
