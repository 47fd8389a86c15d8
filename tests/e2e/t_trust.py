#!/usr/bin/env python3
"""Validation fails closed and nothing from outside the commit is deployed,
end to end against the simulator: a validation while the edge is down is
recorded failed with the release and distribution state it saw, and
promotion refuses it; a validation taken while InProgress or before a newer
deploy no longer counts; a deploy whose template reaches outside the
repository (by path or by symbolic link) fails before anything is uploaded;
edgeship.conf paths that leave the repository are refused on load."""

import os
import re
import socket

import release


def deploy(app, *extra):
    return app.run("deploy", "--yes", "--wait", "--poll-interval", "300", *extra)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def with_staging_probe(conf, probe):
    """conf with staging's probe lines replaced by one probe."""
    staging, rest = conf.split('[stage "production"]', 1)
    staging = re.sub(r"\tprobe = .*\n", "", staging)
    staging = staging.replace('[stage "staging"]\n', f'[stage "staging"]\n\tprobe = {probe}\n')
    return staging + '[stage "production"]' + rest


def last_validation(app, stage):
    recs = [r for r in app.records(stage) if r["kind"] == "validation"]
    return recs[-1] if recs else None


def uploads_or_changes(log):
    """What a refused deploy must never have sent: artifact, template or
    ledger writes, and any CloudFormation change."""
    bad = []
    for e in log:
        path = e.get("path") or ""
        if e.get("service") == "s3" and e.get("method") in ("PUT", "POST") and (
                "/artifacts/" in path or "/templates/" in path or "/ledger/" in path):
            bad.append(e)
        if e.get("service") == "cloudformation" and e.get("mutating"):
            bad.append(e)
    return bad


def main(tap, sim, app):
    conf = open(app.conf_path).read()
    # Long enough that a validation right after a deploy surely sees
    # InProgress, even on a loaded machine.
    sim.config(propagation_min=12.0, propagation_max=14.0)

    # 1. Nothing to validate before a deploy.
    rc, out, err = app.run("validate", "--stage", "production")
    tap.ok(rc == 3 and "production is not deployed" in err,
           "validation refuses a stage with no successful deploy", (rc, out, err))

    # 2. A validation taken while the distribution is InProgress is recorded
    #    as such and promotion does not accept it.
    c1 = app.head()
    rc, out, err = deploy(app)
    tap.eq(rc, 0, "commit 1 deploys to staging")
    rc, res, err = app.json("validate", "--stage", "staging")
    tap.ok(res is not None and res["distribution_status"] == "InProgress"
           and res["counts_for_promotion"] is False,
           "a validation during propagation says the distribution was InProgress", (res, err))
    rec = last_validation(app, "staging")
    tap.ok(rec and rec["distribution_status"] == "InProgress", "the ledger record says InProgress", rec)
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and "InProgress" in err, "promotion refuses a validation taken while InProgress", err)
    sim.config(propagation_min=0.3, propagation_max=1.2)

    # 3. The edge is down: every sample fails, the validation is recorded
    #    failed with the release and distribution state, promotion refuses.
    st = app.status("staging")
    dist = sim.client("cloudfront").get_distribution(Id=st["distribution_id"])
    port = closed_port()
    open(app.conf_path, "w").write(with_staging_probe(conf, f"http://127.0.0.1:{port}"))
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.eq(rc, 1, "validation against an unreachable edge exits 1")
    tap.ok(re.search(r"^FAIL home .* 0/1 ok", out, re.M) and "sample 1: unreachable: " in out
           and f"via 127.0.0.1:{port}" in out,
           "the output names the failed sample and why", out)
    tap.ok("validation failed for release " + st["release"] in out, "and the release it validated", out)
    rec = last_validation(app, "staging")
    tap.ok(rec and rec["result"] == "failed" and rec["release"] == st["release"]
           and rec["commit"] == c1 and rec["stack_status"] == st["stack_status"],
           "the record names the release, commit and stack status it saw", rec)
    tap.ok(rec and rec["distribution_id"] == st["distribution_id"]
           and rec["distribution_status"] == "Deployed"
           and rec["distribution_etag"] == dist["ETag"]
           and rec["distribution_modified"],
           "the record names the distribution's Id, ETag, LastModifiedTime and status", (rec, dist["ETag"]))
    samples = rec["checks"][0]["samples"] if rec else []
    tap.ok(len(samples) == 1 and not samples[0]["ok"] and samples[0]["why"].startswith("unreachable: ")
           and samples[0]["status"] == 0, "each sample's failure is recorded", samples)
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and "failed" in err and "unreachable" in err,
           "promotion refuses after the failed validation and says why", err)
    tap.eq(app.status("staging")["validation"]["state"], "failed", "status shows the validation failed")

    # 4. Back up: validation passes and counts.
    open(app.conf_path, "w").write(conf)
    rc, res, err = app.json("validate", "--stage", "staging")
    tap.ok(rc == 0 and res["passed"] and res["counts_for_promotion"], "validation passes once the edge answers",
           (res, err))
    validated = app.status("staging")
    tap.ok(validated["validation"]["state"] == "passed" and validated["validation"]["seq"] == res["seq"],
           "status shows the release running in staging as validated", validated["validation"])

    # 5. A path outside the repository: the deploy fails before anything is
    #    uploaded or changed, and names the template line.
    outside = os.path.join(os.path.dirname(app.dir), "outside-dir")
    os.makedirs(outside, exist_ok=True)
    open(os.path.join(outside, "index.js"), "w").write("exports.handler = () => 'not committed';\n")
    tpl = open(os.path.join(app.dir, "template.yaml")).read().splitlines()
    line = next(i + 1 for i, l in enumerate(tpl) if "CodeUri: src/" in l)
    app.commit_change("template.yaml", "CodeUri: src/", "CodeUri: ../outside-dir/", "code from outside")
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("deploy", "--yes", "--poll-interval", "300")
    log = sim.log(since=log_start)
    tap.ok(rc == 3 and f"template.yaml:{line}: resource LambdaEdgeFunctionSample property CodeUri: "
           "../outside-dir/ leaves" in err and "only files committed" in err,
           "a CodeUri outside the repository is refused with the template's line", (rc, err))
    tap.eq(uploads_or_changes(log), [], "nothing was uploaded, recorded or changed")
    # The deploy engine checks the bucket and takes the stage lock before it
    # packages; those are the only S3 requests a refused deploy may make.
    s3 = [(e["method"], e["path"]) for e in log if e.get("service") == "s3"]
    tap.ok(all(m == "HEAD" or "/locks/staging.json" in p for m, p in s3),
           "its only S3 requests were the bucket check and the stage lock", s3)
    app.git("reset", "-q", "--hard", "HEAD~1")

    # 6. A committed symbolic link that leads out of the repository.
    os.symlink(outside, os.path.join(app.dir, "src", "vendor"))
    app.git("add", "src/vendor")
    app.git("commit", "-q", "-m", "link to outside")
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("deploy", "--yes", "--poll-interval", "300")
    log = sim.log(since=log_start)
    tap.ok(rc == 3 and "src/vendor is a symbolic link to " in err and "outside the repository" in err,
           "a symbolic link out of the repository is refused", (rc, err))
    tap.eq(uploads_or_changes(log), [], "nothing was uploaded for it either")
    app.git("reset", "-q", "--hard", "HEAD~1")

    # 7. edgeship.conf paths that leave the repository are refused on load.
    for old, new, want in [
        ("template = template.yaml", "template = ../x.json", "template = ../x.json leaves the repository"),
        ("prefix = edge-demo", "prefix = ../edge-demo", "a '.' or '..' segment"),
        ('[stage "production"]', '[stage "prod/../x"]', "a stage name has only letters"),
    ]:
        assert old in conf, old
        bad = conf.replace(old, new, 1)
        open(app.conf_path, "w").write(bad)
        conf_line = next(i + 1 for i, l in enumerate(bad.splitlines()) if new.strip() in l)
        log_start = sim.log()[-1]["seq"]
        rc, out, err = app.run("status")
        tap.ok(rc == 5 and f"edgeship.conf:{conf_line}: " in err and want in err,
               f"edgeship.conf refuses {new!r} with its line", (rc, err))
        tap.eq(sim.log(since=log_start), [], f"nothing was sent with {new!r}")
    open(app.conf_path, "w").write(conf)

    # 8. After a new deploy the old validation no longer counts.
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "handler r2")
    rc, out, err = deploy(app)
    tap.eq(rc, 0, "commit 2 deploys to staging")
    app.wait_deployed("staging", 60)
    now = app.status("staging")
    tap.ok(now["release"] != validated["release"], "staging runs a new release", now["release"])
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and f"was for release {validated['release']}" in err,
           "promotion refuses: the validation was of the previous release", err)
    tap.ok(now["validation"]["state"] == "stale" and validated["release"] in now["validation"]["note"],
           "status no longer shows the release as validated", now["validation"])
    rc, out, err = app.run("status")
    tap.ok(re.search(r"validation stale: staging's latest validation \(#\d+\) was for release "
                     + re.escape(validated["release"]), out),
           "status text says the validation was of the previous release", out)
    rec = last_validation(app, "staging")
    tap.ok(rec["release"] == validated["release"] and rec["release"] != now["release"],
           "the log keeps the validation under the release it validated", rec)
    tap.eq(app.status("production")["exists"], False, "production was never deployed")


if __name__ == "__main__":
    release.run(main)
