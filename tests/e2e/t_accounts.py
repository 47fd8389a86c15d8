#!/usr/bin/env python3
"""Stages in separate AWS accounts: staging in the simulator's own account
(A), production in account B through role-arn, each with its own bucket,
and the ledger in one home bucket. Deploy and validate staging; promote:
the validated artifacts are copied into B's bucket (downloaded and uploaded
while B may not read A's bucket, copied inside S3 once A's bucket policy
lets it), checked by digest, nothing built or uploaded from the repository;
roll back production (--read-only refused, a CopyObject whose answer was
cut sent again); status and the dashboard show each stage's account, and
the dashboard's A key promotes into B too; a console holding
only B's credentials reads the same ledger; a missing permission and a
bucket in another region each get a message that says what to do."""

import hashlib
import json
import os

import release

A = "123456789012"
B = "222222222222"
DEPLOY_ROLE = f"arn:aws:iam::{B}:role/edgeship-deploy"
LEDGER_ROLE = f"arn:aws:iam::{A}:role/edgeship-ledger"
STAGING_BUCKET = "edge-demo-artifacts"
PROD_BUCKET = "edge-demo-prod-artifacts"
LEDGER_BUCKET = "edge-demo-ledger"


def eq(tap, got, want, desc, diag=""):
    return tap.ok(got == want, desc, f"got:  {got!r}\nwant: {want!r}\n{diag}"[-3000:])


def two_accounts(app):
    conf = open(app.conf_path).read()
    conf = conf.replace('\tpromotes-from = staging\n',
                        '\tpromotes-from = staging\n'
                        f'\trole-arn = {DEPLOY_ROLE}\n'
                        '\texternal-id = edge-demo-release\n'
                        '\tsession-name = edgeship-production\n'
                        f'\tbucket = {PROD_BUCKET}\n')
    conf += f'\n[ledger]\n\tbucket = {LEDGER_BUCKET}\n\trole-arn = {LEDGER_ROLE}\n'
    open(app.conf_path, "w").write(conf)
    app.git("commit", "-q", "-am", "production in its own account")


def b_credentials(sim):
    c = sim.client("sts").assume_role(RoleArn=DEPLOY_ROLE, RoleSessionName="operator-b",
                                      ExternalId="edge-demo-release")["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def objects(s3, bucket, prefix):
    out = {}
    for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        out[o["Key"]] = hashlib.sha256(body).hexdigest()
    return out


def promote(app, sim):
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("validate", "--stage", "staging")
    if rc != 0:
        return rc, out, err
    return app.run("promote", "--to", "production", "--yes", "--poll-interval", "300")


def wait_deployed_b(app, sim, creds):
    """production's distribution, read in account B, reaches Deployed."""
    cf = sim.client("cloudfront", key_id=creds[0], secret=creds[1], token=creds[2])
    dist = app.status("production")["distribution_id"]
    return release.wait_until(lambda: cf.get_distribution(Id=dist)["Distribution"]["Status"]
                              == "Deployed", 60, 0.2)


def outcome(app, kind):
    return [r for r in app.records("production") if r["kind"] == kind and r["phase"] == "outcome"][-1]


def main(tap, sim, app):
    sim.config(propagation_min=0.2, propagation_max=0.5)
    sim.ctl("POST", "/accounts/roles", {"arn": DEPLOY_ROLE, "trusted": [A, B],
                                         "external_id": "edge-demo-release"})
    sim.ctl("POST", "/accounts/roles", {"arn": LEDGER_ROLE, "trusted": [A, B]})
    s3a = sim.client("s3")
    # B's console reads the ledger in A through the ledger role only.
    two_accounts(app)
    key, secret, token = b_credentials(sim)
    s3b = sim.client("s3", key_id=key, secret=secret, token=token)

    # Without the ExternalId the role is not assumable: said, not hidden.
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    eq(tap, rc, 0, "staging deploys in account A", out + err)
    c1 = app.head()
    owners = {b["Name"] for b in s3a.list_buckets()["Buckets"]}
    tap.ok(LEDGER_BUCKET in owners and STAGING_BUCKET in owners,
           "the first deploy made the ledger's home and staging's bucket in account A", owners)
    staging_objs = objects(s3a, STAGING_BUCKET, "edge-demo/artifacts/")
    tap.ok(len(staging_objs) >= 1, "staging's artifacts are in staging's bucket", staging_objs)

    log_start = sim.log()[-1]["seq"]
    rc, out, err = promote(app, sim)
    eq(tap, rc, 0, "production is promoted into account B", out + err)
    log = sim.log(since=log_start)
    prod_objs = objects(s3b, PROD_BUCKET, "edge-demo/artifacts/")
    eq(tap, prod_objs, staging_objs, "B's bucket holds exactly staging's artifacts (same keys, same SHA-256)")
    tap.ok(all(k.split("/")[-1].startswith(v) for k, v in prod_objs.items()),
           "each copied artifact's SHA-256 is the digest its key carries", prod_objs)
    eq(tap, [e["path"] for e in release.mutating_puts(log, f"/{STAGING_BUCKET}/")
            if "/locks/" not in e["path"]], [],
           "the promotion wrote nothing into staging's bucket: nothing was built or uploaded from the repository")
    promo = outcome(app, "promotion")
    tap.ok(promo.get("build", {}).get("ran") is False, "the promotion built nothing", promo.get("build"))
    arts = promo.get("artifacts") or []
    tap.ok(arts and all(a["how"] == "download and upload" and a["from"] == STAGING_BUCKET
                        and prod_objs.get(a["key"]) == a["sha256"] for a in arts),
           "without a bucket policy for B the artifacts were downloaded and uploaded, and their digests recorded",
           arts)
    eq(tap, promo.get("account"), B, "the ledger says the promotion ran in account B")
    tap.ok(promo.get("who", "").startswith(f"arn:aws:sts::{B}:assumed-role/edgeship-deploy/"),
           "who promoted is B's role session", promo.get("who"))
    dep = [r for r in app.records("staging") if r["kind"] == "deploy" and r["phase"] == "outcome"][-1]
    eq(tap, dep.get("account"), A, "the staging deploy ran in account A")
    tap.ok(promo["template"]["key"] in objects(s3b, PROD_BUCKET, "edge-demo/templates/"),
           "production's template is in B's bucket", promo["template"])
    stacks_b = sim.client("cloudformation", key_id=key, secret=secret, token=token).describe_stacks(
        StackName="edge-demo-production")["Stacks"]
    tap.ok(stacks_b and stacks_b[0]["StackStatus"].endswith("_COMPLETE"),
           "production's stack lives in account B", stacks_b[0]["StackStatus"] if stacks_b else None)
    eq(tap, [e for e in s3b.list_buckets()["Buckets"] if e["Name"] == STAGING_BUCKET], [],
           "staging's bucket is not B's")

    rc, st, err = app.json("status")
    accts = {s["stage"]: s.get("account") for s in (st or {}).get("stages", [])}
    eq(tap, accts, {"staging": A, "production": B}, "status --json shows each stage's account", err)
    rc, out, err = app.run("status")
    tap.ok(f"account    {A}" in out and f"account    {B}" in out, "status shows each stage's account",
           out + err)
    tap.ok(secret not in out + err and token not in out + err, "no credential is shown")
    ledger_text = json.dumps(app.records())
    tap.ok(secret not in ledger_text and token not in ledger_text and key not in ledger_text,
           "no credential is in the ledger")

    # A second release, once A's bucket lets B read it: copied inside S3.
    s3a.put_bucket_policy(Bucket=STAGING_BUCKET, Policy=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{STAGING_BUCKET}/*"}]}))
    app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "handler r2")
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    eq(tap, rc, 0, "commit 2 deploys to staging", out + err)
    wait_deployed_b(app, sim, (key, secret, token))
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("validate", "--stage", "staging")
    eq(tap, rc, 0, "staging validates commit 2", out + err)
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("--read-only", "promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and not [e for e in sim.log(since=log_start) if e.get("mutating")],
           "--read-only refuses the promotion and copies nothing", f"rc={rc} {out}{err}")
    # The copy's answer is lost after S3 made it: the retry finds it made.
    sim.fault("truncate", service="s3", operation="CopyObject", count=1)
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("promote", "--to", "production", "--yes", "--poll-interval", "300")
    eq(tap, rc, 0, "commit 2 is promoted", out + err)
    tap.ok(len([e for e in sim.log(since=log_start) if e.get("operation") == "CopyObject"]) >= 2,
           "a CopyObject whose answer was cut is sent again")
    copies = [e for e in sim.log(since=log_start) if e.get("operation") == "CopyObject"]
    promo = outcome(app, "promotion")
    new = [a for a in promo.get("artifacts", []) if a["how"] != "present"]
    tap.ok(copies and new and all(a["how"] == "CopyObject" for a in new),
           "with the bucket policy the new artifact is copied inside S3 (CopyObject)", promo.get("artifacts"))
    eq(tap, app.status("production")["commit"], app.head(), "production runs commit 2")

    # Roll back production to commit 1: its template is in B's bucket already.
    wait_deployed_b(app, sim, (key, secret, token))
    log_start = sim.log()[-1]["seq"]
    rc, out, err = app.run("rollback", "--stage", "production", "--to", c1, "--yes", "--wait",
                           "--poll-interval", "300")
    eq(tap, rc, 0, "production rolls back to commit 1", out + err)
    eq(tap, app.status("production")["commit"], c1, "production runs commit 1 again")
    log = sim.log(since=log_start)
    eq(tap, release.mutating_puts(log, "/artifacts/") + release.mutating_puts(log, "/templates/")
           + [e for e in log if e.get("operation") == "CopyObject"], [],
           "the rollback copied and uploaded nothing")
    eq(tap, outcome(app, "rollback").get("account"), B, "the rollback ran in account B")

    # whoami names the identity each stage with an account of its own acts as.
    rc, out, err = app.run("whoami", "--json")
    try:
        who = json.loads(out)
    except ValueError:
        who = {}
    st = who.get("stages") or []
    tap.ok(rc == 0 and who.get("account") == A and len(st) == 1
           and st[0].get("stage") == "production" and st[0].get("account") == B
           and st[0].get("arn", "").startswith(f"arn:aws:sts::{B}:assumed-role/edgeship-deploy/"),
           "whoami --json: the default identity in A, production's role session in B", out + err)
    rc, out, err = app.run("whoami")
    tap.ok(rc == 0 and f"account {B}" in out and "stage production" in out,
           "whoami names production's account", out + err)

    # An invalidation of production's distribution, made and followed in B.
    rc, out, err = app.run("invalidate", "--stage", "production", "/*", "--wait", "--yes",
                           "--poll-interval", "300")
    tap.ok(rc == 0 and "Completed" in out + err,
           "production's cache is invalidated and followed to Completed in account B", out + err)

    # The dashboard reads each stage in its own account and names both.
    # From its keys, it promotes commit 2 again into B (staging's
    # validation of it still stands).
    wait_deployed_b(app, sim, (key, secret, token))
    c2 = app.git("rev-parse", "HEAD~0")
    rc, out, err = release.run_script(app, "accounts", """:wait-idle
:dump-screen {tmp}/accounts.txt
A
:wait-idle
:dump-screen {tmp}/acc-approve.txt
y
:wait-idle
:dump-screen {tmp}/acc-promote.txt
production<Enter>
:wait-idle
:dump-screen {tmp}/acc-promoted.txt
q
""", cols=160)
    scr = release.screen(app, "accounts.txt")
    title = scr.splitlines()[0] if scr else ""
    tap.ok(f"staging {A}" in title and f"production {B}" in title,
           "the dashboard's title bar names each stage's account", scr)
    prod_line = next((l for l in scr.splitlines() if "production" in l and "COMPLETE" in l), "")
    tap.ok(c1[:7] in prod_line, "the dashboard reads production's stack in account B", scr)
    promo = outcome(app, "promotion")
    tap.ok(app.status("production")["commit"] == c2 and promo.get("account") == B
           and promo["commit"] == c2,
           "the dashboard's promotion ran in account B and production runs commit 2 again",
           release.screen(app, "acc-promote.txt") + release.screen(app, "acc-promoted.txt"))
    tap.eq(release.BLOCKED, [], "no dashboard script waited synchronously on the screen's loop")

    # A console with only B's credentials reads the same ledger.
    env_b = dict(app.env(), AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                 AWS_SESSION_TOKEN=token)
    import subprocess
    p = subprocess.run([release.EDGESHIP, "log", "--json"], cwd=app.dir, env=env_b,
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        recs_b = json.loads(p.stdout)
    except ValueError:
        recs_b = None
    recs_a = app.records()
    tap.ok(p.returncode == 0 and recs_b and [r["seq"] for r in recs_b] == [r["seq"] for r in recs_a],
           "B's console reads the ledger's home: the same records as A's", p.stderr[-800:])

    # A missing permission reads as who cannot do what.
    sim.ctl("POST", "/accounts/deny", {"principal": DEPLOY_ROLE, "action": "s3:PutObject",
                                       "resource": f"arn:aws:s3:::{PROD_BUCKET}/edge-demo/templates/*"})
    app.commit_change("src/index.js", "const RELEASE = 'r2';", "const RELEASE = 'r3';", "handler r3")
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    eq(tap, rc, 0, "commit 3 deploys to staging", out + err)
    wait_deployed_b(app, sim, (key, secret, token))
    rc, out, err = promote(app, sim)
    tap.ok(rc != 0 and f"account {B}, role {DEPLOY_ROLE} cannot do s3:PutObject on {PROD_BUCKET}/edge-demo/templates/"
           in out + err, "a missing permission says which account and role cannot do what, on what",
           out + err)
    tap.ok("bucket's policy" in out + err, "and where to allow it", out + err)
    tap.diag("the message: " + next((l for l in (out + err).splitlines() if "cannot do" in l), ""))

    # A bucket in another region: the 301 names it.
    s3a.create_bucket(Bucket="edge-demo-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    conf = open(app.conf_path).read()
    open(app.conf_path, "w").write(conf + '\n[stage "canary"]\n\tstack = edge-demo-canary\n'
                                   '\tparameter = Stage=staging\n\tbucket = edge-demo-eu\n')
    app.git("commit", "-q", "-am", "a canary stage with a bucket in Ireland")
    rc, out, err = app.run("deploy", "--yes", "--stage", "canary")
    tap.ok(rc != 0 and "bucket edge-demo-eu is in region eu-west-1" in out + err
           and "us-east-1" in out + err and "bucket =" in out + err,
           "a bucket in another region: the message names its region and what to change", out + err)
    tap.diag("the message: " + next((l for l in (out + err).splitlines() if "eu-west-1" in l), ""))

    # Drift, destroy and cleanup reach production's stack, lock and function in B.
    creds_b = dict(key_id=key, secret=secret, token=token)
    rc, out, err = app.run("drift", "--stage", "production", "--json")
    try:
        drift = json.loads(out)
    except ValueError:
        drift = {}
    tap.ok(rc == 0 and "edge-demo-production" in out,
           "drift reads production's stack in account B (in sync)", out + err)
    sim.config(replica_cleanup=86400)
    lam_b = sim.client("lambda", **creds_b)
    fns_before = {f["FunctionName"] for f in lam_b.list_functions()["Functions"]}
    rc, out, err = app.run("destroy", "--stage", "production", "--yes", "--poll-interval", "300",
                           timeout=300)
    try:
        sim.client("cloudformation", **creds_b).describe_stacks(StackName="edge-demo-production")
        gone = False
    except Exception as e:  # noqa: BLE001 - boto3's ClientError: the stack is gone
        gone = "does not exist" in str(e)
    tap.ok(rc == 0 and gone, "destroy deletes production's stack in account B", out + err)
    retained = [r for r in app.records("production") if r.get("kind") == "destroy"
                and r.get("step") == "function-retained"]
    tap.ok(retained and all(r.get("account") == B for r in retained)
           and all(r.get("function") in fns_before for r in retained),
           "the replicated function is retained in B and recorded as B's",
           json.dumps(retained)[:800] + out + err)
    rc, out, err = app.run("cleanup")
    eq(tap, rc, 3, "cleanup waits while B's function keeps its replicas", out + err)
    sim.ctl("POST", "/replicas/release", {})
    rc, out, err = app.run("cleanup")
    fns_after = {f["FunctionName"] for f in lam_b.list_functions()["Functions"]}
    tap.ok(rc == 0 and retained and not {r.get("function") for r in retained} & fns_after,
           "cleanup deletes the retained function in account B", out + err)


if __name__ == "__main__":
    release.run(main)
