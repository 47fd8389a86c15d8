#!/usr/bin/env python3
"""edgeship package against `aws cloudformation package`, both run against
the simulator on tests/apps/every-kind (a template naming every property the
CLI uploads): once keys are normalised (the CLI names objects by MD5,
edgeship by SHA-256; zips compared by their entries, nested templates by
their own packaged content) the two packaged templates are the same, and
cfn-lint finds no error in edgeship's."""

import json
import os
import shutil
import subprocess

import release
from cfnpkg import Normaliser, diff

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(os.path.dirname(HERE), "apps", "every-kind")
BUCKET = "every-kind-artifacts"


def main(tap, sim, app):
    repo = os.path.join(sim.tmp, "every-kind")
    shutil.copytree(APP, repo)
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    git("init", "-q", "-b", "main", ".")
    git("-c", "user.name=Ann", "-c", "user.email=ann@example.com", "add", ".")
    git("-c", "user.name=Ann", "-c", "user.email=ann@example.com", "-c", "commit.gpgsign=false",
        "commit", "-q", "-m", "every kind")
    s3 = sim.client("s3")
    s3.create_bucket(Bucket=BUCKET)

    ours_path = os.path.join(sim.tmp, "edgeship-packaged.json")
    p = subprocess.run([release.EDGESHIP, "package", "HEAD", "--json", "--output-template", ours_path],
                       cwd=repo, env=app.env(), capture_output=True, text=True, timeout=120)
    tap.eq(p.returncode, 0, "edgeship package exits 0 on the every-kind app")
    if p.returncode:
        tap.diag(p.stderr)
        return
    report = json.loads(p.stdout)
    props = sorted({f"{a['template']}:{a['resource']}.{a['property']}" for a in report["artifacts"]})
    tap.diag("artifacts: " + ", ".join(props))

    cli_path = os.path.join(sim.tmp, "aws-packaged.json")
    c = sim.aws("cloudformation", "package", "--template-file", "template.yaml", "--s3-bucket", BUCKET,
                "--output-template-file", cli_path, "--use-json", cwd=repo)
    tap.eq(c.returncode, 0, "aws cloudformation package exits 0 on it")
    if c.returncode:
        tap.diag(c.stderr)
        return

    ours_n, cli_n = Normaliser(s3, BUCKET), Normaliser(s3, BUCKET)
    ours = ours_n.norm(json.load(open(ours_path)))
    cli = cli_n.norm(json.load(open(cli_path)))
    d = diff(ours, cli)
    tap.ok(not d, "the packaged templates match once keys are normalised", "\n".join(d))
    tap.eq(sorted(ours_n.kinds), sorted(cli_n.kinds),
           "the same properties became s3:// URIs, {S3Bucket,S3Key}, {Bucket,Key} and URLs")
    tap.ok({"S3Bucket/S3Key", "Bucket/Key", "s3-uri", "url"} <= set(ours_n.kinds),
           "every form of reference is exercised", ours_n.kinds)
    tap.ok(len(report["artifacts"]) >= 15, "edgeship lists every artifact", props)

    if shutil.which("cfn-lint"):
        lint = subprocess.run(["cfn-lint", "--format", "parseable", ours_path],
                              capture_output=True, text=True, timeout=300)
        tap.ok(lint.returncode & 2 == 0, "cfn-lint finds no error in edgeship's packaged template",
               lint.stdout + lint.stderr)
    else:
        tap.ok(False, "cfn-lint is installed")


if __name__ == "__main__":
    release.run(main)
