#!/usr/bin/env python3
"""edgeship package against `aws cloudformation package`, both run against
the simulator on tests/apps/every-kind (a template naming every property the
CLI uploads): once keys are normalised (the CLI names objects by MD5,
edgeship by SHA-256; zips compared by their entries, nested templates by
their own packaged content) the two packaged templates are the same, and
cfn-lint finds no error in edgeship's."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile

import yaml

import release

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(os.path.dirname(HERE), "apps", "every-kind")
BUCKET = "every-kind-artifacts"


class Normaliser:
    """Replaces each reference to an object in BUCKET by what it holds."""

    def __init__(self, s3):
        self.s3 = s3
        self.kinds = []

    def content(self, key):
        data = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return ["zip"] + sorted((n, hashlib.sha256(z.read(n)).hexdigest())
                                        for n in z.namelist() if not n.endswith("/"))
        return ["file", hashlib.sha256(data).hexdigest()]

    def template(self, key):
        data = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        return ["template", self.norm(yaml.safe_load(data))]

    def norm(self, v):
        if isinstance(v, dict):
            if v.get("S3Bucket") == BUCKET and "S3Key" in v:
                self.kinds.append("S3Bucket/S3Key")
                return ["S3Bucket/S3Key", self.content(v["S3Key"])]
            if v.get("Bucket") == BUCKET and "Key" in v:
                self.kinds.append("Bucket/Key")
                return ["Bucket/Key", self.content(v["Key"])]
            return {k: self.norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.norm(x) for x in v]
        if isinstance(v, str) and v.startswith(f"s3://{BUCKET}/"):
            self.kinds.append("s3-uri")
            return ["s3-uri", self.content(v[len(f"s3://{BUCKET}/"):])]
        if isinstance(v, str) and v.startswith("http") and f"/{BUCKET}/" in v:
            self.kinds.append("url")
            return ["url", self.template(v.split(f"/{BUCKET}/", 1)[1].split("?")[0])]
        return v


def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k), b.get(k), f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: edgeship {a!r} / aws {b!r}"]


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

    ours_n, cli_n = Normaliser(s3), Normaliser(s3)
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
