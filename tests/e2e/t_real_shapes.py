#!/usr/bin/env python3
"""Templates shaped like public Lambda@Edge projects (tests/apps/): nested
stacks with local TemplateURL/Location, layers next to an edge function, one
function per CloudFront trigger, a template in infra/ pointing at ../src, and
Python beside Node.js. For each: edgeship package and `aws cloudformation
package`, both against the simulator, give the same template once keys are
normalised (the CLI names objects by MD5, edgeship by SHA-256; zips compared
by their entries, nested templates by their own packaged content) and the
same artifacts; cfn-lint finds no error in edgeship's template; edgeship
deploys it to the simulator and the edges answer through the function. Also
what must be refused: a layer on an edge function, a path out of the
repository, an edge rule broken inside a nested stack."""

import json
import os
import shutil
import subprocess

import release
from cfnpkg import Normaliser, diff

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(os.path.dirname(HERE), "apps")
BUCKET = "shapes-artifacts"
GIT_ID = ["-c", "user.name=Ann", "-c", "user.email=ann@example.com", "-c", "commit.gpgsign=false"]


class Repo:
    """A git repository holding a copy of one test application."""

    def __init__(self, sim, name):
        self.sim = sim
        self.name = name
        self.dir = os.path.join(sim.tmp, "apps", name)
        shutil.copytree(os.path.join(APPS, name), self.dir)
        self.git("init", "-q", "-b", "main", ".")
        self.commit(f"the {name} app")
        conf = subprocess.run(["git", "config", "-f", "edgeship.conf", "app.template"], cwd=self.dir,
                              capture_output=True, text=True, check=True)
        self.template = conf.stdout.strip()

    def git(self, *args):
        return subprocess.run(["git", *GIT_ID, *args], cwd=self.dir, check=True, capture_output=True,
                              text=True).stdout

    def commit(self, message):
        self.git("add", "-A", ".")
        self.git("commit", "-q", "-m", message)

    def edit(self, path, old, new, message):
        p = os.path.join(self.dir, path)
        text = open(p).read()
        assert old in text, f"{old!r} not in {path}"
        open(p, "w").write(text.replace(old, new, 1))
        self.commit(message)

    def env(self):
        home = os.path.join(self.sim.tmp, "home")
        os.makedirs(home, exist_ok=True)
        return self.sim.env(XDG_STATE_HOME=os.path.join(self.sim.tmp, "state-home"), HOME=home)

    def run(self, *args, timeout=180):
        p = subprocess.run([release.EDGESHIP, *args], cwd=self.dir, env=self.env(), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr


def compare_with_cli(tap, sim, repo):
    """Package with both; returns (edgeship's report, the CLI's template path) or None."""
    ours_path = os.path.join(sim.tmp, f"{repo.name}-edgeship.json")
    rc, out, err = repo.run("package", "HEAD", "--json", "--output-template", ours_path)
    tap.eq(rc, 0, f"{repo.name}: edgeship package exits 0")
    if rc:
        tap.diag(err)
        return None
    report = json.loads(out)
    cli_path = os.path.join(sim.tmp, f"{repo.name}-aws.json")
    c = sim.aws("cloudformation", "package", "--template-file", repo.template, "--s3-bucket", BUCKET,
                "--output-template-file", cli_path, "--use-json", cwd=repo.dir)
    tap.eq(c.returncode, 0, f"{repo.name}: aws cloudformation package exits 0")
    if c.returncode:
        tap.diag(c.stderr)
        return None
    s3 = sim.client("s3")
    ours_n, cli_n = Normaliser(s3, BUCKET), Normaliser(s3, BUCKET)
    ours = ours_n.norm(json.load(open(ours_path)))
    cli = cli_n.norm(json.load(open(cli_path)))
    d = diff(ours, cli)
    tap.ok(not d, f"{repo.name}: the packaged templates match once keys are normalised", "\n".join(d))
    tap.eq(sorted(ours_n.kinds), sorted(cli_n.kinds),
           f"{repo.name}: the same properties became S3 references of the same forms")
    tap.ok(ours_n.artifacts and sorted(set(ours_n.artifacts)) == sorted(set(cli_n.artifacts)),
           f"{repo.name}: the same set of artifacts (zip entries and digests, files, nested templates)",
           f"edgeship {len(set(ours_n.artifacts))}, aws {len(set(cli_n.artifacts))}")
    # The packaged template, and each nested template as edgeship uploaded it.
    linted = [ours_path]
    for a in report["artifacts"]:
        if a["property"] in ("TemplateURL", "Location"):
            path = os.path.join(sim.tmp, f"{repo.name}-{a['resource']}.json")
            with open(path, "wb") as f:
                f.write(s3.get_object(Bucket=BUCKET, Key=a["s3_key"])["Body"].read())
            linted.append(path)
    lint = subprocess.run(["cfn-lint", "--format", "parseable", *linted],
                          capture_output=True, text=True, timeout=300)
    tap.ok(lint.returncode & 2 == 0,
           f"{repo.name}: cfn-lint finds no error in edgeship's {len(linted)} packaged template(s)",
           lint.stdout + lint.stderr)
    return report, cli_path


def deploy_and_ask_edges(tap, sim, repo, want_body, want_status="CREATE_COMPLETE", what="it"):
    """Deploy to staging; once Deployed, every edge answers through the function."""
    rc, out, err = repo.run("deploy", "--stage", "staging", "--yes", "--wait")
    tap.eq(rc, 0, f"{repo.name}: edgeship deploys {what} to the simulator")
    if rc:
        tap.diag(out + err)
        return None
    rc, out, err = repo.run("status", "--json")
    st = next((s for s in json.loads(out)["stages"] if s["stage"] == "staging"), {}) if rc == 0 else {}
    tap.eq(st.get("stack_status"), want_status, f"{repo.name}: the staging stack is {want_status}")
    dist_id = st.get("distribution_id")
    tap.ok(bool(dist_id), f"{repo.name}: status finds the stage's distribution", st)
    if not dist_id:
        return None
    cf = sim.client("cloudfront")
    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    dist = cf.get_distribution(Id=dist_id)["Distribution"]
    tap.eq(dist["Status"], "Deployed", f"{repo.name}: its distribution reaches Deployed")
    sim.ctl("DELETE", "/edges/cache")  # the answers of an earlier release are not this test's
    answers = [sim.edge_get(e, dist["DomainName"], "/shape/") for e in sim.edges]
    good = [a for a in answers if a[0] == 200 and a[1].get("x-app-shape") == repo.name
            and want_body in a[2]]
    tap.ok(len(good) == len(sim.edges), f"{repo.name}: every edge answers through its function",
           [(a[0], a[1].get("x-cache"), a[2][:200]) for a in answers])
    return st


def refused(tap, repo, what, *needles):
    rc, out, err = repo.run("package", "HEAD")
    tap.eq(rc, 3, f"{repo.name}: {what} is refused (exit 3)")
    tap.ok(all(n in err for n in needles), f"{repo.name}: the refusal says {needles}", err)


# ------------------------------------------------------------------ the apps

def t_nested(tap, sim):
    repo = Repo(sim, "nested")
    got = compare_with_cli(tap, sim, repo)
    if got:
        report, _ = got
        nested = sorted(a["local_path"] for a in report["artifacts"]
                        if a["property"] in ("TemplateURL", "Location"))
        tap.eq(nested, ["stacks/assets.yaml", "stacks/edge.yaml"],
               "nested: both child templates are packaged and uploaded")
        # Nested templates are packaged reproducibly: the same commit gives
        # the same report, and a commit outside the code changes nothing.
        def without_upload(r):
            def drop(d):
                return {k: v for k, v in d.items() if k != "upload"}  # what S3 held decides it
            return [drop(a) for a in r["artifacts"]], drop(r["template"])
        rc, out, err = repo.run("package", "HEAD", "--json")
        again = json.loads(out) if rc == 0 else {"artifacts": [], "template": err}
        tap.eq(without_upload(again), without_upload(report), "nested: packaging it again gives the same")
        with open(os.path.join(repo.dir, "NOTES.md"), "w") as f:
            f.write("Notes that are not deployed.\n")
        repo.commit("notes")
        rc, out, err = repo.run("package", "HEAD")
        tap.ok(rc == 0 and "no change since the parent" in out + err,
               "nested: a commit of notes only is no change", out + err)
    st = deploy_and_ask_edges(tap, sim, repo, "served from a nested stack: /shape/")
    if st:
        cfn = sim.client("cloudformation")
        names = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]]
        children = [n for n in names if n.startswith("nested-staging-")]
        tap.ok(len(children) == 2, "nested: CloudFormation made the two nested stacks", names)
        # New code in the child: the child stack is updated in place, and
        # the distribution, which reads its output, runs the new version.
        repo.edit("src/edge/index.js", "served from a nested stack:", "served from a nested stack (r2):",
                  "edge function r2")
        deploy_and_ask_edges(tap, sim, repo, "served from a nested stack (r2): /shape/",
                             "UPDATE_COMPLETE", "new code in the child stack")
        names = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
                 if s["StackName"].startswith("nested-staging-")]
        tap.eq(sorted(names), sorted(children), "nested: the same two nested stacks, updated in place")
    if got:
        # The CLI's packaged template (TemplateURLs on the endpoint) deploys
        # with the CLI too: the simulator's nested stacks, a second client.
        p = sim.aws("cloudformation", "deploy", "--template-file", got[1], "--stack-name", "nested-cli",
                    "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
                    "--parameter-overrides", "Stage=production")
        tap.ok(p.returncode == 0, "nested: aws cloudformation deploy of the CLI's packaged template works",
               p.stdout + p.stderr)
    # An edge rule broken inside the child is refused from the parent.
    repo.edit("stacks/edge.yaml", "      AutoPublishAlias: live\n",
              "      AutoPublishAlias: live\n      Environment:\n        Variables:\n          MODE: x\n",
              "an environment variable on the nested edge function")
    refused(tap, repo, "an environment variable on the nested edge function",
            'Lambda@Edge rule "no environment variables"', "stacks/edge.yaml", "OriginRequest")


def t_layers(tap, sim):
    repo = Repo(sim, "layers")
    got = compare_with_cli(tap, sim, repo)
    if got:
        report, _ = got
        props = sorted(f"{a['resource']}.{a['property']}" for a in report["artifacts"])
        tap.ok({"SharedLayer.ContentUri", "ToolsLayer.Content"} <= set(props),
               "layers: both layers are zipped from their folders", props)
    if deploy_and_ask_edges(tap, sim, repo, "edge function beside a layered one"):
        lam = sim.client("lambda")
        layers = lam.list_layers()["Layers"]
        tap.eq(len(layers), 2, "layers: both layers are published")
    repo.edit("template.yaml", "      Timeout: 5\n      AutoPublishAlias: live\n",
              "      Timeout: 5\n      AutoPublishAlias: live\n      Layers: [!Ref SharedLayer]\n",
              "a layer on the edge function")
    refused(tap, repo, "a layer on the edge function", 'Lambda@Edge rule "no layers"', "EdgeFunction",
            "origin-request")


def t_many_functions(tap, sim):
    repo = Repo(sim, "many-functions")
    got = compare_with_cli(tap, sim, repo)
    if got:
        report, _ = got
        zips = {a["resource"]: a["local_path"] for a in report["artifacts"] if a["property"] == "CodeUri"}
        tap.eq(zips, {"ViewerRequest": "functions/viewer-request", "OriginRequest": "functions/origin-request",
                      "OriginResponse": "functions/origin-response",
                      "ViewerResponse": "functions/viewer-response"},
               "many-functions: each function has its own zip")
    # The viewer-request trigger rewrote the URI and added the header the
    # origin-request trigger reports.
    deploy_and_ask_edges(tap, sim, repo, "uri=/shape/index.html country=ZZ")
    repo.edit("template.yaml", "      MemorySize: 128\n      Timeout: 5\n",
              "      MemorySize: 128\n      Timeout: 8\n", "viewer-request over its timeout")
    refused(tap, repo, "a viewer trigger's timeout over 5 s",
            'Lambda@Edge rule "viewer triggers: timeout at most 5 s"', "ViewerRequest")


def t_subfolder(tap, sim):
    repo = Repo(sim, "subfolder")
    got = compare_with_cli(tap, sim, repo)
    if got:
        report, _ = got
        art = [a for a in report["artifacts"] if a["resource"] == "Rewrite"]
        tap.ok(len(art) == 1 and art[0]["local_path"] == "src",
               "subfolder: ../src from infra/ is the repository's src", art)
    deploy_and_ask_edges(tap, sim, repo, "rewritten /shape")
    os.makedirs(os.path.join(os.path.dirname(repo.dir), "outside"), exist_ok=True)
    repo.edit("infra/template.yaml", "CodeUri: ../src\n", "CodeUri: ../../outside\n", "code from outside")
    refused(tap, repo, "../../outside", "infra/template.yaml:", "../../outside leaves the repository")


def t_python(tap, sim):
    repo = Repo(sim, "python")
    got = compare_with_cli(tap, sim, repo)
    if got:
        report, _ = got
        art = [a for a in report["artifacts"] if a["resource"] == "PythonOriginResponse"]
        tap.ok(len(art) == 1 and art[0]["local_path"] == "edge-python",
               "python: the Python function is zipped from its folder", art)
    st = deploy_and_ask_edges(tap, sim, repo, "node answered /shape/")
    if st:
        lam = sim.client("lambda")
        runtimes = sorted(f["Runtime"] for f in lam.list_functions()["Functions"]
                          if "python-staging" in f["FunctionName"])
        tap.eq(runtimes, ["nodejs22.x", "python3.12"], "python: both runtimes are deployed")
    repo.edit("template.yaml", "Handler: app.handler", "Handler: main.handler", "a handler with no file")
    refused(tap, repo, "a Python handler whose module is not in the zip",
            "Handler main.handler (python3.12) needs main.py", "app.py")


def main(tap, sim, app):
    del app  # each test application has its own repository
    sim.config(propagation_min=30, propagation_max=60)
    s3 = sim.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for t in (t_nested, t_layers, t_many_functions, t_subfolder, t_python):
        try:
            t(tap, sim)
        except Exception:  # noqa: BLE001 - one app's failure does not hide the others
            import traceback
            tap.ok(False, f"{t.__name__} ran to the end", traceback.format_exc())


if __name__ == "__main__":
    release.run(main)
