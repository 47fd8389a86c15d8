#!/usr/bin/env python3
"""A packaged template over 51,200 bytes (CloudFormation's TemplateBody limit)
goes to CloudFormation as a TemplateURL on the artifact bucket: against the
simulator it deploys to staging, is promoted to production and is rolled
back, then destroyed (its template without the associations also by URL), and
the `aws` CLI's own large-template deploy works there too."""

import json
import os

import release

PADDING_LINES = 700


def pad(app):
    """Metadata that makes the packaged template about 60 kB."""
    p = os.path.join(app.dir, "template.yaml")
    text = open(p).read()
    lines = "".join(f"    - 'note {i:04d}: {'x' * 64}'\n" for i in range(PADDING_LINES))
    text = text.replace("Parameters:\n", "Metadata:\n  Padding:\n" + lines + "\nParameters:\n", 1)
    open(p, "w").write(text)
    app.git("commit", "-q", "-am", "a template past 51,200 bytes")
    return app.head()


def template_urls(sim, since):
    """The TemplateURL of each CreateChangeSet since seq (from the request log)."""
    out = []
    for e in sim.log(since=since):
        if e.get("operation") == "CreateChangeSet":
            out.append(e.get("template_url") or e.get("params", {}).get("TemplateURL"))
    return out


def main(tap, sim, app):
    sim.config(propagation_min=0.3, propagation_max=0.8)
    c1 = pad(app)
    rc, r, err = app.json("package", "--no-upload")
    tap.ok(rc == 0 and r["template"]["bytes"] > 51200,
           "the packaged template is over 51,200 bytes", (r or {}).get("template", err))

    # Deploy: the template goes by URL on the simulator's own endpoint.
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "the large template deploys to staging")
    st = app.status("staging")
    tap.eq(st["stack_status"], "CREATE_COMPLETE", "the staging stack is created")
    tap.eq(st["commit"], c1, "staging runs the large template's commit")
    body = sim.client("cloudformation").get_template(StackName="edge-demo-staging")["TemplateBody"]
    text = body if isinstance(body, str) else json.dumps(body)
    tap.ok("note 0699" in text, "CloudFormation holds the whole template, padding included")
    key = app.records("staging")[-1]["template"]["key"]
    obj = sim.client("s3").get_object(Bucket="edge-demo-artifacts", Key=key)["Body"].read().decode()
    held = body if isinstance(body, dict) else json.loads(body)
    sent = json.loads(obj)
    # The simulator keeps the template after the SAM transform: compare what it leaves.
    tap.ok(len(obj) > 51200 and held["Metadata"] == sent["Metadata"]
           and held["Parameters"] == sent["Parameters"],
           "the template it read is the uploaded object")

    # Validate and promote that release to production.
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.eq(rc, 0, "staging validates")
    rc, out, err = app.run("promote", "--to", "production", "--yes", "--wait", "--poll-interval", "300")
    tap.eq(rc, 0, "the large template is promoted to production")
    prod = app.status("production")
    tap.ok(prod["stack_status"] == "CREATE_COMPLETE" and prod["release"] == st["release"],
           "production runs the release staging validated", prod)

    # A new commit, then a rollback to the large template's release.
    app.wait_deployed("staging", 60)
    c2 = app.commit_change("src/index.js", "const RELEASE = 'r1';", "const RELEASE = 'r2';", "handler r2")
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--wait", "--poll-interval", "300")
    tap.ok(rc == 0 and app.status("staging")["commit"] == c2, "commit 2 deploys to staging", out + err)
    app.wait_deployed("staging", 60)
    rc, out, err = app.run("rollback", "--stage", "staging", "--to", c1, "--yes", "--wait",
                           "--poll-interval", "300")
    tap.eq(rc, 0, "staging rolls back to the large template's release")
    back = app.status("staging")
    tap.ok(back["commit"] == c1 and back["release"] == st["release"]
           and back["stack_status"] == "UPDATE_COMPLETE",
           "staging runs the large template's release again", back)

    # destroy sends the template without its associations by URL as well.
    seq = sim.log()[-1]["seq"]
    rc, out, err = app.run("destroy", "--stage", "staging", "--force", "--yes",
                           "--poll-interval", "300")
    log = sim.log(since=seq)
    ops = [e["operation"] for e in log if e.get("mutating") and e.get("status", 0) < 300]
    tap.ok(rc == 0 and "removing 1 Lambda@Edge association" in out
           and release.mutating_puts(log, "/templates/") and "UpdateStack" in ops
           and ops.index("PutObject") < ops.index("UpdateStack") < ops.index("DeleteStack"),
           "destroy uploads the large template without its associations, then updates and "
           "deletes", f"rc={rc} {ops} {out}{err}")

    # The aws CLI's deploy of a large template (path-style URL on the endpoint) works too.
    tpl = os.path.join(sim.tmp, "large-cli.yaml")
    params = "".join(f"  P{i:03d}:\n    Type: String\n    Default: '{'y' * 300}'\n" for i in range(200))
    open(tpl, "w").write("Parameters:\n" + params +
                         "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    tap.ok(os.path.getsize(tpl) > 51200, "the CLI's template is over 51,200 bytes")
    p = sim.aws("cloudformation", "deploy", "--template-file", tpl, "--stack-name", "cli-large",
                "--s3-bucket", "edge-demo-artifacts")
    tap.eq(p.returncode, 0, "aws cloudformation deploy --s3-bucket works against the simulator")
    if p.returncode:
        tap.diag(p.stdout + p.stderr)


if __name__ == "__main__":
    release.run(main)
