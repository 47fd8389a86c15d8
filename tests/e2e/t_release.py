#!/usr/bin/env python3
"""Release engine part 2 end to end against the simulator: propagation and
edge sampling, validation, promotion and its refusals, the InProgress rule
and --wait, racing promotions, rollback without rebuilding, and an
invalidation retried after a dropped connection."""

import json
import re
import subprocess
import threading
import time

import release


def deploy(app, *extra):
    return app.run("deploy", "--yes", "--wait", "--poll-interval", "300", *extra)


def main(tap, sim, app):
    c1 = app.head()
    # Propagation is held (ten minutes and more) and moved on by the test
    # through the simulator's control endpoint: nothing here races the clock.
    sim.config(propagation_min=600.0, propagation_max=900.0)

    # 1. Deploy to staging and follow propagation to Deployed with watch.
    rc, out, err = deploy(app)
    tap.eq(rc, 0, "commit 1 deploys to staging")
    dist_id = app.status("staging")["distribution_id"]
    t0 = time.time()
    watch = app.popen("watch", "--stage", "staging")
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(watch.stdout), daemon=True)
    reader.start()
    release.wait_until(lambda: any("InProgress" in l for l in lines), 60, 0.2)
    # The edges take the change one at a time, each seen by watch's sampling.
    for k in range(1, len(sim.edges) + 1):
        sim.ctl("POST", "/distributions/advance", {"id": dist_id, "edges": 1})
        flip = time.time()
        release.wait_until(lambda: any(f": {k} of" in l for l in lines), 30, 0.2)
    try:
        watch.wait(120)
    except subprocess.TimeoutExpired:
        watch.kill()
        watch.wait()
    reader.join(10)
    seen = time.time()
    rc, out = watch.returncode, "".join(lines)
    tap.eq(rc, 0, "watch ends once everything settled")
    tap.ok(re.search(r"distribution \S+ Deployed after", out) and out.strip().endswith("settled"),
           "watch reports the distribution reaching Deployed", out)
    dist = sim.ctl("GET", "/distributions")["distributions"][dist_id]
    gen = dist["generations"][-1]
    tap.ok(dist["status"] == "Deployed" and gen["edges_applied"] == len(sim.edges),
           "the simulator agrees every edge applied the change", dist)
    sampled = [l for l in out.splitlines() if "sampled edges serve version" in l]
    counts = [int(m.group(1)) for m in (re.search(r": (\d+) of", l) for l in sampled) if m]
    tap.ok(counts and counts[-1] == len(sim.edges), f"edges reported k of n: {counts}", out)

    props = [r for r in app.records("staging") if r["kind"] == "propagation"]
    tap.ok(len(props) == 1 and props[0]["seconds"] > 0 and props[0]["who"].startswith("arn:aws:"),
           "watch recorded how long the propagation took, once", props)

    # Detection latency is a figure, not a check (a loaded machine slows it).
    tap.diag(f"Deployed detected {seen - flip:.2f}s after the last edge took the change "
             f"(goal: within 3 s); watch ran {seen - t0:.1f}s")

    # 2. Rule: no deploy while the distribution is InProgress; --wait queues it.
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "handler r2")
    rc, out, err = deploy(app)
    tap.eq(rc, 0, "commit 2 deploys")
    c2 = app.head()
    tap.eq(app.distribution("staging")["Status"], "InProgress", "the distribution is InProgress after it")
    app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r3';", "handler r3")
    rc, out, err = app.run("deploy", "--yes")
    tap.ok(rc == 3 and "InProgress" in err, "a deploy is refused while the distribution is InProgress", err)
    app.git("reset", "-q", "--hard", "HEAD~1")

    # 3. Validation before Deployed does not count for promotion.
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.ok(rc in (0, 1), "validation runs while InProgress", out + err)
    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    # From here on nothing needs InProgress held: propagation takes a moment.
    sim.config(propagation_min=0.3, propagation_max=0.8)
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and "InProgress" in err, "promotion is refused: validation ran before Deployed", err)

    # 4. A failing validation blocks promotion.
    conf = open(app.conf_path).read()
    open(app.conf_path, "w").write(conf.replace("body-contains = Lambda@Edge is awesome!",
                                                "body-contains = something else"))
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.ok(rc == 1 and "FAIL" in out, "validation fails when the body check does not match", out + err)
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and "failed" in err, "promotion is refused after a failed validation", err)
    open(app.conf_path, "w").write(conf)

    # 5. A validation of another release does not count.
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.eq(rc, 0, "staging validates once Deployed")
    app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r4';", "handler r4")
    rc, out, err = deploy(app)
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and "was for release" in err, "promotion is refused when staging runs another release", err)

    # 6. Validate, then two promotions at once: exactly one happens.
    rc, out, err = app.run("validate", "--stage", "staging", "--json")
    tap.eq(rc, 0, "staging validates the new release")
    staging = app.status("staging")
    log_start = sim.log()[-1]["seq"]
    procs = [app.popen("promote", "--to", "production", "--yes", "--json", "--poll-interval", "300")
             for _ in range(2)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    rcs = sorted(r[0] for r in results)
    tap.eq(rcs, [0, 3], "of two promotions started at once, one runs and one is refused")
    refused = [r for r in results if r[0] == 3]
    why = (refused[0][1] + refused[0][2]) if refused else ""
    tap.ok("already running" in why or "_IN_PROGRESS" in why, "the refusal says why", refused)
    prod = app.status("production")
    tap.eq(prod["release"], staging["release"], "production runs the release validated in staging")
    recs = app.records()
    promo = [r for r in recs if r["kind"] == "promotion" and r["phase"] == "outcome"][-1]
    dep = [r for r in recs if r["kind"] == "deploy" and r["phase"] == "outcome"
           and r["release"] == staging["release"]][-1]
    tap.eq(promo["template"], dep["template"], "the promotion deployed the same packaged template")
    tap.eq(promo["artifacts"], [], "a promotion packages nothing")
    tap.eq(release.mutating_puts(sim.log(since=log_start), "/artifacts/"), [],
           "no artifact was uploaded for the promotion")

    # 7. Production validates too.
    app.wait_deployed("production", 60)
    rc, out, err = app.run("validate", "--stage", "production")
    tap.eq(rc, 0, "production validation passes")

    # 8. Rollback production to commit 1: its recorded artifacts, no upload.
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("rollback", "--stage", "production", "--to", c1, "--yes", "--wait",
                           "--poll-interval", "300")
    tap.eq(rc, 0, "production rolls back to commit 1")
    tap.eq(app.status("production")["commit"], c1, "production runs commit 1 again")
    log = sim.log(since=log_start)
    tap.eq(release.mutating_puts(log, "/artifacts/") + release.mutating_puts(log, "/templates/"), [],
           "the rollback uploaded nothing: it reused what was recorded")
    app.wait_deployed("production", 60)
    rc, out, err = app.run("rollback", "--stage", "production", "--to", c1, "--yes")
    tap.ok(rc == 0 and "already running this release" in out, "rolling back again says so", out + err)
    app.commit_change("README.md", "#", "# (never deployed)\n#", "docs, never deployed")
    rc, out, err = app.run("rollback", "--stage", "production", "--to", "HEAD", "--yes")
    tap.ok(rc == 3 and "was ever deployed" in err and "edgeship deploy" in err,
           "a never-deployed commit cannot be rolled back to, and the message says what to do", err)

    # 9. An invalidation retried after a dropped connection exists once.
    prod_dist = app.status("production")["distribution_id"]
    sim.fault("truncate", service="cloudfront", operation="CreateInvalidation", count=1)
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("invalidate", "--stage", "production", "/*", "--wait", "--yes",
                           "--poll-interval", "300", "--json")
    creates = [e for e in sim.log(since=log_start) if e.get("operation") == "CreateInvalidation"]
    tap.eq(rc, 0, "the invalidation completes")
    tap.ok(len(creates) == 2, "CreateInvalidation was sent twice (the first answer was cut)", creates)
    invs = sim.client("cloudfront").list_invalidations(DistributionId=prod_dist)["InvalidationList"]
    tap.eq(invs.get("Quantity"), 1, "exactly one invalidation exists")
    rc, out, err = app.run("invalidate", "--stage", "production", "no-slash")
    tap.ok(rc == 2 and "must start with '/'" in err, "bad paths are refused before anything is sent", err)

    # 10. Machine-readable output.
    rc, out, err = app.run("watch", "--json", timeout=120)
    try:
        docs = [json.loads(l) for l in out.splitlines() if l.strip()]
    except ValueError:
        docs = []
    tap.ok(rc == 0 and docs and docs[-1].get("type") == "settled"
           and any(d.get("type") == "stage" and d.get("stage") == "production" for d in docs),
           "watch --json prints one JSON object a line and ends settled", out)
    staging_views = [d for d in docs if d.get("type") == "stage" and d.get("stage") == "staging"]
    tap.ok(staging_views and staging_views[-1]["propagation_estimate_s"] is not None,
           "earlier propagations give staging an estimate", staging_views[-1:])
    rc, res, err = app.json("validate", "--stage", "production")
    tap.ok(rc == 0 and res and res["passed"] is True and res["checks"][0]["name"] == "home",
           "validate --json reports each check", res)

    # 11. The ledger names who approved what.
    recs = app.records("production")
    tap.ok(any(r["kind"] == "promotion" and r["who"].startswith("arn:aws:") for r in recs),
           "the ledger records who promoted which release")


if __name__ == "__main__":
    release.run(main)
