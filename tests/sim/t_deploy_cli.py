#!/usr/bin/env python3
"""The real aws CLI against edgesim: package + deploy the reference app,
watch the distribution go InProgress -> Deployed, the edges answer, a code
change reach the edges one by one, and an invalidation complete."""

import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simtest  # noqa: E402

STACK = "edge-app-staging"


def package_and_deploy(tap, sim, app_dir, label):
    out = os.path.join(sim.tmp, f"packaged-{label}.yaml")
    p = sim.aws("cloudformation", "package", "--template-file", os.path.join(app_dir, "template.yaml"),
                "--s3-bucket", "edge-artifacts", "--output-template-file", out)
    tap.ok(p.returncode == 0, f"aws cloudformation package ({label})", p.stderr)
    t0 = time.time()
    p = sim.aws("cloudformation", "deploy", "--template-file", out, "--stack-name", STACK,
                "--parameter-overrides", "Stage=staging", "--capabilities", "CAPABILITY_IAM")
    tap.ok(p.returncode == 0 and "Successfully created/updated stack" in p.stdout,
           f"aws cloudformation deploy ({label}) succeeds", p.stdout + p.stderr)
    tap.diag(f"deploy {label} took {time.time() - t0:.1f}s")
    return out


def outputs(sim):
    st = sim.aws_json("cloudformation", "describe-stacks", "--stack-name", STACK)["Stacks"][0]
    return st, {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs") or []}


def probe_all(sim, host, path):
    res = {}
    for e in sim.edges:
        status, headers, body = sim.edge_get(e, host, path)
        res[e["pop"]] = (status, headers.get("x-edgeship-release"), headers.get("x-cache"), body)
    return res


def main(tap, sim):
    # The aws CLI polls stacks every 30 s: make stack operations finish
    # within the call. Propagation is held (ten minutes and more) and moved
    # on by the test through the control endpoint, never raced.
    sim.config(stack_step=0, propagation_min=600.0, propagation_max=900.0, invalidation=1.5)
    # Cached answers stay until an invalidation, whatever their TTL: the
    # check that '/' still shows r1 after the code change never races it.
    sim.ctl("POST", "/edges/cache", {"pin": True})
    p = sim.aws("s3", "mb", "s3://edge-artifacts")
    tap.ok(p.returncode == 0, "aws s3 mb creates the artifact bucket", p.stderr)

    app = simtest.copy_example(os.path.join(sim.tmp, "app"))
    package_and_deploy(tap, sim, app, "r1")

    st, out = outputs(sim)
    tap.eq(st["StackStatus"], "CREATE_COMPLETE", "describe-stacks: CREATE_COMPLETE")
    tap.eq(sorted(out), ["DistributionDomainName", "DistributionId", "FunctionVersion"],
           "describe-stacks shows the three outputs")
    dist_id = out.get("DistributionId", "")
    domain = out.get("DistributionDomainName", "")
    tap.ok(domain.endswith(".cloudfront.net"), "DistributionDomainName is a cloudfront.net name", domain)
    tap.ok(out.get("FunctionVersion", "").endswith(":1"), "FunctionVersion is version 1's ARN", out.get("FunctionVersion"))

    got = sim.aws_json("cloudfront", "get-distribution", "--id", dist_id)
    d, etag1 = got["Distribution"], got["ETag"]
    tap.eq(d["Status"], "InProgress", "get-distribution right after deploy: InProgress")
    assoc = d["DistributionConfig"]["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
    tap.ok(assoc.get("Quantity") == 1 and assoc["Items"][0]["LambdaFunctionARN"] == out["FunctionVersion"]
           and assoc["Items"][0]["EventType"] == "origin-request",
           "the distribution's origin-request association is the published version", assoc)
    tap.eq(d["DistributionConfig"]["Aliases"].get("Items"), ["staging.edge.example.com"],
           "the Stage mapping picked the staging CNAME")

    sim.ctl("POST", "/distributions/advance", {"id": dist_id})
    status = simtest.wait_until(
        lambda: sim.aws_json("cloudfront", "get-distribution", "--id", dist_id)["Distribution"]["Status"] == "Deployed",
        timeout=30, interval=0.3)
    tap.ok(status, "get-distribution later: Deployed")
    # The waiter polls every 60 s: ending well inside that means its first
    # look saw Deployed, however slowly the CLI starts on a loaded machine.
    t0 = time.time()
    p = sim.aws("cloudfront", "wait", "distribution-deployed", "--id", dist_id)
    tap.ok(p.returncode == 0 and time.time() - t0 < 45, "aws cloudfront wait distribution-deployed ends",
           f"{time.time() - t0:.1f}s " + p.stderr)

    res = probe_all(sim, domain, "/")
    tap.ok(all(r[0] == 200 and r[3] == "Lambda@Edge is awesome!" for r in res.values()),
           f"every edge ({len(res)}) answers 'Lambda@Edge is awesome!'", res)
    tap.ok(all(r[1] == "r1" and r[2] == "LambdaGeneratedResponse from cloudfront" for r in res.values()),
           "first answers are LambdaGeneratedResponse with release r1", res)
    res = probe_all(sim, "staging.edge.example.com", "/")
    tap.ok(all(r[2] == "Hit from cloudfront" and r[1] == "r1" for r in res.values()),
           "the alias reaches the same distribution, now from each edge's cache", res)

    # A redeploy with no change is an empty change set.
    p = sim.aws("cloudformation", "deploy", "--template-file", os.path.join(sim.tmp, "packaged-r1.yaml"),
                "--stack-name", STACK, "--parameter-overrides", "Stage=staging", "--capabilities",
                "CAPABILITY_IAM", "--no-fail-on-empty-changeset")
    tap.ok(p.returncode == 0 and "No changes to deploy" in p.stdout, "redeploying the same package: no changes",
           p.stdout + p.stderr)

    # Change the code: a new version, a distribution update, edges one by one.
    src = os.path.join(app, "src", "index.js")
    code = open(src).read().replace("const RELEASE = 'r1';", "const RELEASE = 'r2';")
    open(src, "w").write(code)
    package_and_deploy(tap, sim, app, "r2")
    st, out2 = outputs(sim)
    tap.eq(st["StackStatus"], "UPDATE_COMPLETE", "describe-stacks: UPDATE_COMPLETE")
    tap.ok(out2.get("FunctionVersion", "").endswith(":2"), "FunctionVersion moved to version 2", out2)
    tap.eq(out2.get("DistributionId"), dist_id, "same distribution (updated in place)")
    d2 = sim.aws_json("cloudfront", "get-distribution", "--id", dist_id)
    tap.ok(d2["Distribution"]["Status"] == "InProgress" and d2["Distribution"]["LastModifiedTime"] != d["LastModifiedTime"]
           and d2["ETag"] != etag1, "after the update: InProgress again, new LastModifiedTime and ETag",
           [d2["Distribution"]["Status"], d2["Distribution"]["LastModifiedTime"], d["LastModifiedTime"], d2["ETag"], etag1])

    seen_mixed = False
    switched_at = {}
    regressed = False
    n = 0
    end = time.time() + 60
    while time.time() < end and len(switched_at) < len(sim.edges):
        n += 1
        # One more edge takes the change, then every edge is asked.
        sim.ctl("POST", "/distributions/advance", {"id": dist_id, "edges": 1})
        time.sleep(0.35)
        res = probe_all(sim, domain, f"/probe/{uuid.uuid4().hex}")
        new = {pop for pop, r in res.items() if r[1] == "r2"}
        for pop in new:
            switched_at.setdefault(pop, time.time())
        if any(pop in switched_at and res[pop][1] != "r2" for pop in res):
            regressed = True
        if 0 < len(new) < len(res):
            seen_mixed = True
    tap.ok(len(switched_at) == len(sim.edges), "every edge ends up running the new function", switched_at)
    tap.ok(seen_mixed, "for a while some edges served r1 and others r2")
    tap.ok(not regressed, "an edge that switched never went back")
    times = sorted(switched_at.values())
    tap.ok(len(times) > 1 and times[-1] - times[0] > 0.3, "edges switched one by one, not at once",
           [round(t - times[0], 2) for t in times])
    tap.diag(f"{n} probe rounds")

    res = probe_all(sim, domain, "/")
    tap.ok(all(r[1] == "r1" and r[2] == "Hit from cloudfront" for r in res.values()),
           "cached '/' still shows r1 on every edge until an invalidation", res)

    ref = "release-r2-" + uuid.uuid4().hex[:8]
    inv = sim.aws_json("cloudfront", "create-invalidation", "--distribution-id", dist_id,
                       "--invalidation-batch", json.dumps({"Paths": {"Quantity": 1, "Items": ["/*"]},
                                                           "CallerReference": ref}))
    inv_id = inv["Invalidation"]["Id"]
    tap.eq(inv["Invalidation"]["Status"], "InProgress", "create-invalidation: InProgress")
    again = sim.aws_json("cloudfront", "create-invalidation", "--distribution-id", dist_id,
                         "--invalidation-batch", json.dumps({"Paths": {"Quantity": 1, "Items": ["/*"]},
                                                             "CallerReference": ref}))
    tap.eq(again["Invalidation"]["Id"], inv_id, "same CallerReference and paths returns the same invalidation")
    p = sim.aws("cloudfront", "create-invalidation", "--distribution-id", dist_id, "--invalidation-batch",
                json.dumps({"Paths": {"Quantity": 1, "Items": ["/other"]}, "CallerReference": ref}))
    tap.ok(p.returncode != 0 and "InvalidationBatchAlreadyExists" in p.stderr,
           "same CallerReference with other paths: InvalidationBatchAlreadyExists", p.stderr)
    done = simtest.wait_until(
        lambda: sim.aws_json("cloudfront", "get-invalidation", "--distribution-id", dist_id, "--id", inv_id)
        ["Invalidation"]["Status"] == "Completed", timeout=30, interval=0.3)
    tap.ok(done, "get-invalidation later: Completed")
    t0 = time.time()  # this waiter polls every 20 s
    p = sim.aws("cloudfront", "wait", "invalidation-completed", "--distribution-id", dist_id, "--id", inv_id)
    tap.ok(p.returncode == 0 and time.time() - t0 < 18, "aws cloudfront wait invalidation-completed ends",
           f"{time.time() - t0:.1f}s " + p.stderr)
    res = probe_all(sim, domain, "/")
    tap.ok(all(r[1] == "r2" and r[2] == "LambdaGeneratedResponse from cloudfront" for r in res.values()),
           "after the invalidation every edge serves r2 at '/'", res)

    # A wrongly signed request is refused, by the CLI's own account.
    p = sim.aws("cloudformation", "describe-stacks", "--stack-name", STACK, AWS_SECRET_ACCESS_KEY="wrong-secret")
    tap.ok(p.returncode != 0 and "SignatureDoesNotMatch" in p.stderr, "a wrongly signed aws call is refused", p.stderr)

    log = sim.log()
    ops = [(e["service"], e["operation"]) for e in log]
    tap.ok(("cloudformation", "ExecuteChangeSet") in ops and ("s3", "PutObject") in ops
           and ("cloudfront", "CreateInvalidation") in ops, "the request log names services and operations",
           sorted(set(map(str, ops))))
    ex = next(e for e in log if e["operation"] == "ExecuteChangeSet")
    gd = next(e for e in log if e["operation"] == "GetDistribution")
    tap.ok(ex["mutating"] and not gd["mutating"] and ex["status"] == 200 and gd["method"] == "GET"
           and gd["path"].startswith("/2020-05-31/distribution/"), "log entries carry method, path, status, mutating",
           [ex, gd])


if __name__ == "__main__":
    simtest.run(main)
