#!/usr/bin/env python3
"""`edgeship package` against the simulator: the same commit packages to the
same bytes twice, a README-only commit is reported as no change against its
parent, the packaged template is what S3 holds and passes cfn-lint, and a
function whose handler is missing from its zip is refused before anything
reaches S3 (by package and by deploy alike)."""

import hashlib
import json
import os
import shutil
import subprocess

import release


def strip_upload(report):
    """The report without where each object stood in S3 before the run."""
    r = json.loads(json.dumps(report))
    r["template"].pop("upload", None)
    for a in r["artifacts"]:
        a.pop("upload", None)
    return r


def s3_requests(sim, since):
    return [e for e in sim.log(since=since) if e.get("service") == "s3"]


def main(tap, sim, app):
    s3 = sim.client("s3")
    out1 = os.path.join(sim.tmp, "packaged-1.json")
    out2 = os.path.join(sim.tmp, "packaged-2.json")

    # 0. The help says what "no change" is compared with; a bad option is a usage error.
    rc, out, err = app.run("package", "--help")
    tap.ok(rc == 0 and "first parent" in out and "Exit codes" in out,
           "package --help defines no change and the exit codes", out + err)
    rc, out, err = app.run("package", "--output-templat", "x")
    tap.ok(rc == 2 and "unexpected '--output-templat'" in err, "a misspelt option exits 2", err)

    # 1. Without the bucket, uploading is refused with what to do (exit 5).
    rc, out, err = app.run("package", "HEAD")
    tap.eq(rc, 5, "package without the artifact bucket exits 5")
    tap.ok("edge-demo-artifacts does not exist" in err and "--no-upload" in err,
           "it names the bucket and the way out", err)
    s3.create_bucket(Bucket="edge-demo-artifacts")

    # 2. HEAD twice: the same report (but for what S3 held before), the same template bytes.
    c1 = app.head()
    rc, r1, err = app.json("package", "HEAD", "--output-template", out1)
    tap.eq(rc, 0, "package HEAD --json exits 0")
    tap.ok(r1 and r1["commit"] == c1, "the report names the commit", r1 or err)
    fn = [a for a in (r1 or {}).get("artifacts", []) if a["resource"] == "LambdaEdgeFunctionSample"]
    tap.ok(len(fn) == 1 and fn[0]["property"] == "CodeUri" and fn[0]["local_path"] == "src"
           and fn[0]["template"] == "template.yaml" and fn[0]["upload"] == "uploaded"
           and fn[0]["s3_key"] == f"edge-demo/artifacts/{fn[0]['sha256']}.zip",
           "the function's zip is listed with its path, digest, key, and uploaded", r1)
    tap.eq(r1 and r1["template"]["upload"], "uploaded", "the packaged template is uploaded")
    tap.ok(r1 and r1["change"]["compared"] is False and r1["change"]["changed"] is True
           and "is the first commit" in r1["change"]["note"] and r1["change"]["parent"] is None,
           "the first commit has nothing to compare with and says so", r1 and r1["change"])
    rc, r2, err = app.json("package", "HEAD", "--output-template", out2)
    tap.eq(rc, 0, "a second package HEAD exits 0")
    tap.eq(r2 and r2["template"]["upload"], "present", "the second run finds the template in S3")
    tap.ok(r2 and all(a["upload"] == "present" for a in r2["artifacts"]),
           "the second run finds every artifact in S3", r2)
    r2b = dict(r2 or {}, output_template=out1)
    tap.eq(strip_upload(r2b) if r2 else None, strip_upload(r1) if r1 else None,
           "both runs report the same artifacts, digests, keys and sizes")
    b1, b2 = open(out1, "rb").read(), open(out2, "rb").read()
    tap.ok(b1 == b2, "both runs write byte-identical templates")
    tap.eq(hashlib.sha256(b1).hexdigest(), r1 and r1["template"]["sha256"],
           "the written template's SHA-256 is the reported one")
    obj = s3.get_object(Bucket="edge-demo-artifacts", Key=r1["template"]["s3_key"])["Body"].read()
    tap.ok(obj == b1, "S3 holds exactly the written template")
    z = s3.get_object(Bucket="edge-demo-artifacts", Key=fn[0]["s3_key"])["Body"].read()
    tap.eq(hashlib.sha256(z).hexdigest(), fn[0]["sha256"], "S3 holds the zip under its digest")
    tpl = json.loads(b1)
    tap.eq(tpl["Resources"]["LambdaEdgeFunctionSample"]["Properties"]["CodeUri"],
           f"s3://edge-demo-artifacts/{fn[0]['s3_key']}", "the template points CodeUri at the zip")
    rc_a, na, _ = app.run("package", "HEAD", "--no-upload", "--json")
    rc_b, nb, _ = app.run("package", "HEAD", "--no-upload", "--json")
    tap.ok(rc_a == 0 and rc_b == 0 and na == nb and '"not-uploaded"' in na,
           "package --no-upload --json prints the same bytes twice", na + nb)
    if shutil.which("cfn-lint"):
        p = subprocess.run(["cfn-lint", "--format", "parseable", out1], capture_output=True, text=True)
        tap.ok(p.returncode & 2 == 0, "cfn-lint finds no error in the packaged template",
               p.stdout + p.stderr)
    else:
        tap.ok(False, "cfn-lint is installed")

    # 3. A README-only commit: no change against its parent, nothing uploaded.
    since = sim.log()[-1]["seq"]
    c2 = app.commit_change("README.md", "#", "# (docs only)\n#", "docs only")
    rc, r3, err = app.json("package", "HEAD")
    tap.eq(rc, 0, "package of a README-only commit exits 0")
    tap.ok(r3 and r3["commit"] == c2 and r3["change"]["parent"] == c1
           and r3["change"]["compared"] is True and r3["change"]["changed"] is False
           and r3["change"]["note"] is None
           and r3["change"]["parent_template_sha256"] == r1["template"]["sha256"],
           "it reports no change against the parent's packaged template", r3 and r3["change"])
    tap.ok(r3 and not any(a["changed"] for a in r3["artifacts"]), "no artifact is new", r3)
    puts = [e for e in s3_requests(sim, since) if e.get("method") == "PUT"]
    tap.eq(puts, [], "nothing is uploaded for it")
    rc, out, err = app.run("package")
    tap.ok(rc == 0 and f"no change since the parent {c1[:7]}" in out,
           "the text output says no change since the parent", out + err)

    # 4. A handler change: changed, and the zip is new.
    app.commit_change("src/index.js", "awesome", "still awesome", "new body")
    rc, r4, err = app.json("package", "HEAD", "--no-upload")
    tap.ok(rc == 0 and r4["change"]["changed"] is True
           and [a["changed"] for a in r4["artifacts"]] == [True],
           "a code change is reported as changed, with its zip new", r4 or err)

    # 5. The handler's file is not in the zip: refused before S3 hears anything.
    app.git("mv", "src/index.js", "src/main.js")
    app.git("commit", "-q", "-m", "rename the handler file")
    since = sim.log()[-1]["seq"]
    rc, out, err = app.run("package", "HEAD")
    tap.eq(rc, 3, "package of a function without its handler file exits 3")
    tap.ok("index.handler" in err and "index.js" in err and "main.js" in err,
           "the refusal names the handler, the file it wants and what the zip holds", err)
    tap.eq(s3_requests(sim, since), [], "the simulator's S3 received no request at all")
    rc, out, err = app.run("deploy", "--stage", "staging", "--yes", "--poll-interval", "300")
    tap.eq(rc, 3, "deploy of that commit is refused too (exit 3)")
    tap.ok("index.handler" in out + err, "with the same reason", out + err)
    tap.eq([e for e in s3_requests(sim, since) if e.get("method") == "PUT"], [],
           "and no object was uploaded")


if __name__ == "__main__":
    release.run(main)
