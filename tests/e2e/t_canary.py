#!/usr/bin/env python3
"""The canary through CloudFront continuous deployment, against the
simulator's staging distributions, policies and edge routing.

production runs r1. A release whose handler throws on every fifth
request (a one-request validation of / passes) is validated in staging,
then tried on production:
- a weight canary at 10 %: the primary keeps r1 and the stack's function is
  untouched; about a tenth of the requests go to staging, and the errors
  show in the staging distribution's figures only;
- widen to 15 %; beyond CloudFront's 15 % and below today's are refused;
- discard: every request goes to the primary, which still serves r1;
- a header canary: requests with the header reach staging, the others
  not; `canary check` sends the checks with the header, so they reach it;
- faults: the policy's creation fails after the staging copy was made, and
  the rerun reuses that copy instead of making a second; --read-only and a
  second console holding the stage lock are refused;
- promote: the primary serves the tried release at every edge, the policy
  is disabled, the stack is deployed with that release, and the ledger has
  each step.
"""

import os
import shutil
import urllib.error
import urllib.request

import release
from release import App, EDGESHIP, run, run_script, screen, wait_until  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
FLAKY = os.path.join(os.path.dirname(HERE), "apps", "flaky-edge", "index.js")


def ask_edge(sim, host, path, headers=None):
    """One request through the first edge: (status, served-by, release)."""
    edge = sim.edges[0]["url"]
    req = urllib.request.Request(edge + path, headers={"Host": host, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            h = r.headers
            return r.status, h.get("X-Edgesim-Distribution"), h.get("X-Edgeship-Release")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Edgesim-Distribution"), e.headers.get("X-Edgeship-Release")


def dist_status(sim, dist_id):
    return sim.client("cloudfront").get_distribution(Id=dist_id)["Distribution"]["Status"]


def deployed(sim, *ids):
    return wait_until(lambda: all(dist_status(sim, i) == "Deployed" for i in ids), 60, 0.2)


def policy_of(sim, policy_id):
    return next((p for p in sim.ctl("GET", "/canary")["policies"] if p["id"] == policy_id), None)


def canary_records(app):
    return [r for r in app.records("production") if r.get("kind") == "canary"]


def release_to_staging(tap, app, what):
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging", timeout=240)
    tap.ok(rc == 0, f"{what} is deployed to staging", out[-800:] + err[-800:])
    app.wait_deployed("staging")
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.ok(rc == 0, f"{what} is validated in staging", out[-800:] + err[-800:])


def main(tap, sim, app):
    text = open(app.conf_path).read()
    text = text.replace('[stage "production"]\n',
                        '[stage "production"]\n\tcanary = weight 10%\n'
                        '\tguard-error-rate = 50%\n\tguard-period = 2s\n')
    open(app.conf_path, "w").write(text)
    app.git("commit", "-qam", "production: a canary of 10 %")

    release_to_staging(tap, app, "r1")
    rc, out, err = app.run("promote", "--to", "production", "--yes", "--wait", timeout=240)
    tap.ok(rc == 0, "r1 is promoted to production", out[-800:] + err[-800:])
    app.wait_deployed("production")
    prod = app.status("production")
    primary = prod["distribution_id"]
    primary_host = app.distribution("production")["DomainName"]
    r1_commit = prod["commit"]

    # ---- the canary needs a release production does not run
    rc, out, err = app.run("canary", "start", "--yes", "--stage", "production")
    tap.ok(rc == 3 and "nothing for a canary to try" in err,
           "a canary of a release with production's own function code is refused",
           f"rc={rc} {err[-400:]}")

    shutil.copy(FLAKY, os.path.join(app.dir, "src", "index.js"))
    app.git("commit", "-qam", "flaky: throws on every fifth request")
    flaky = app.head()
    release_to_staging(tap, app, "the flaky release")

    lam = sim.client("lambda")
    fn_arn_before = app.distribution("production")["DistributionConfig"]["DefaultCacheBehavior"][
        "LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"]
    stack_fn = fn_arn_before.split(":")[6]
    sha_before = lam.get_function_configuration(FunctionName=stack_fn)["CodeSha256"]

    # ---- read-only refuses
    rc, out, err = app.run("--read-only", "canary", "start", "--yes", "--stage", "production")
    tap.ok(rc == 3 and "read-only" in err, "--read-only refuses canary start", err[-300:])
    mark = len(sim.log())
    rc, out, err = app.run("canary", "start", "--stage", "production")
    tap.ok(rc == 4 and "cancelled" in err and not [e for e in sim.log()[mark:] if e.get("mutating")],
           "without --yes and no terminal to ask on, canary start changes nothing", f"rc={rc} {err[-300:]}")

    # ---- a fault after the staging copy: the rerun reuses it
    sim.fault("error500", "cloudfront", "CreateContinuousDeploymentPolicy", count=10)
    rc, out, err = app.run("canary", "start", "--yes", "--stage", "production", timeout=240)
    tap.ok(rc == 1, "a failing CreateContinuousDeploymentPolicy fails the start", f"rc={rc} {err[-600:]}")
    sim.ctl("DELETE", "/faults")
    stagings = [d for d in sim.client("cloudfront").list_distributions()["DistributionList"].get("Items", [])
                if d.get("Staging")]
    tap.ok(len(stagings) == 1, "the failed start left one staging distribution", str([d["Id"] for d in stagings]))
    recs = canary_records(app)
    tap.ok(recs and recs[-1].get("phase") == "outcome" and recs[-1].get("result") == "failed",
           "the ledger records the failed start", str(recs[-1:]))

    # Propagation held (the control endpoint moves it on): attaching the
    # policy leaves the primary InProgress until then.
    sim.config(propagation_min=600, propagation_max=600)
    rc, js, err = app.json("canary", "start", "--yes", "--stage", "production")
    tap.ok(rc == 0 and js and js.get("staging"), "canary start at 10 % succeeds", err[-1500:])
    js = js or {}
    rc, out, err = app.run("canary", "start", "--yes", "--stage", "production")
    tap.ok(rc == 3 and "InProgress" in err,
           "another start while the primary takes the attachment is refused as busy", f"rc={rc} {err[-400:]}")
    mark = len(sim.log())
    waiter = app.popen("canary", "start", "--yes", "--wait", "--stage", "production")
    wait_until(lambda: len([e for e in sim.log()[mark:] if e.get("operation") == "GetDistribution"]) >= 2,
               60, 0.1)
    sim.config(propagation_min=0.3, propagation_max=1.2)
    sim.ctl("POST", "/distributions/advance", {})
    w_out, w_err = waiter.communicate(timeout=240)
    tap.ok(waiter.returncode == 0 and "waiting:" in w_err + w_out,
           "with --wait it waits for the primary, then starts", f"rc={waiter.returncode} {w_err[-600:]}")
    staging = js.get("staging")
    tap.ok(stagings and staging == stagings[0]["Id"], "the rerun reused the staging copy",
           f"{staging} vs {[d['Id'] for d in stagings]}")
    stagings = [d for d in sim.client("cloudfront").list_distributions()["DistributionList"].get("Items", [])
                if d.get("Staging")]
    tap.ok(len(stagings) == 1, "still one staging distribution", str([d["Id"] for d in stagings]))
    fns = js.get("functions") or []
    tap.ok(len(fns) == 1 and fns[0]["function"] == stack_fn and ":function:es-canary-" in fns[0]["version"],
           "the changed function got a canary function version", str(fns))
    pol = policy_of(sim, js.get("policy"))
    tap.ok(pol and pol["config"]["Enabled"] and primary in pol["attached_to"],
           "the policy is enabled and attached to the primary", str(pol))
    tap.ok(abs(float(pol["config"]["TrafficConfig"]["SingleWeightConfig"]["Weight"]) - 0.10) < 1e-9
           if pol else False, "the policy sends 10 % to staging", str(pol))
    fn_arn_now = app.distribution("production")["DistributionConfig"]["DefaultCacheBehavior"][
        "LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"]
    tap.ok(fn_arn_now == fn_arn_before, "the primary still runs r1's function version", fn_arn_now)
    tap.ok(lam.get_function_configuration(FunctionName=stack_fn)["CodeSha256"] == sha_before,
           "the stack's own function is untouched")
    tap.ok(app.status("production")["commit"] == r1_commit, "production's stack still runs r1")

    # ---- traffic: a tenth to staging, errors there only
    deployed(sim, primary, staging)
    sim.ctl("POST", "/canary/seed", {"seed": 7})
    sim.ctl("DELETE", "/canary")
    sim.ctl("DELETE", "/traffic")
    sim.ctl("POST", "/traffic", {"rate": 25, "distribution": primary})
    wait_until(lambda: sum(sim.ctl("GET", "/canary")["counts"].values()) >= 400, 120, 0.5)
    sim.ctl("POST", "/traffic", {"rate": 0, "distribution": primary})
    counts = sim.ctl("GET", "/canary")["counts"]
    total = sum(counts.values())
    share = counts.get(staging, 0) / total if total else 0
    tap.ok(0.04 <= share <= 0.18, "about a tenth of the requests went to staging",
           f"{counts} share {share:.3f}")
    traffic = sim.ctl("GET", "/traffic")["distributions"]
    tap.ok(traffic.get(staging, {}).get("recent_5xx"), "staging answered 5xx (the flaky release)",
           str(traffic.get(staging, {}))[:400])
    tap.ok(not traffic.get(primary, {}).get("recent_5xx"), "the primary answered no 5xx",
           str(traffic.get(primary, {}))[:400])

    def figures():
        rc, st, err = app.json("canary", "status", "--stage", "production")
        s = ((st or {}).get("staging") or {}).get("figures") or {}
        return st if rc == 0 and s.get("errors_5xx", 0) > 0 else None

    st = wait_until(figures, 60, 1) or {}
    sf = (st.get("staging") or {}).get("figures") or {}
    pf = (st.get("primary") or {}).get("figures") or {}
    tap.ok(sf.get("errors_5xx", 0) > 0 and sf.get("requests", 0) > 0,
           "canary status: the staging distribution's figures show the errors", str(sf))
    tap.ok(pf.get("requests", 0) > 0 and pf.get("errors_5xx", 1) == 0,
           "canary status: the primary's figures show none", str(pf))
    tap.ok(st.get("active") is True and st.get("commit") == flaky,
           "canary status: active, staging runs the flaky release", str({k: st.get(k) for k in ("active", "commit")}))
    rc, out, err = app.run("canary", "status", "--stage", "production")
    tap.ok(rc == 0 and "primary" in out and "staging" in out and "weight 10%" in out,
           "canary status for people: both distributions and the weight", out[-1200:])

    # ---- widen
    rc, out, err = app.run("canary", "widen", "--yes", "15%", "--stage", "production")
    tap.ok(rc == 0, "widen to 15 %", out + err[-400:])
    pol = policy_of(sim, js.get("policy"))
    tap.ok(pol and abs(float(pol["config"]["TrafficConfig"]["SingleWeightConfig"]["Weight"]) - 0.15) < 1e-9,
           "the policy now sends 15 %", str(pol))
    rc, out, err = app.run("canary", "widen", "--yes", "20%", "--stage", "production")
    tap.ok(rc != 0 and "15%" in err, "widening beyond CloudFront's 15 % is refused", f"rc={rc} {err[-300:]}")
    rc, out, err = app.run("canary", "widen", "--yes", "5%", "--stage", "production")
    tap.ok(rc == 3 and "already gets" in err, "widening to less is refused", f"rc={rc} {err[-300:]}")

    # ---- discard
    rc, out, err = app.run("canary", "discard", "--yes", "--stage", "production")
    tap.ok(rc == 0 and "discarded" in out, "discard", out + err[-400:])
    pol = policy_of(sim, js.get("policy"))
    tap.ok(pol and not pol["config"]["Enabled"], "the policy is disabled", str(pol))
    answers = [ask_edge(sim, primary_host, f"/d/{i}") for i in range(1, 41)]
    tap.ok(all(a[1] == primary and a[2] == "r1" for a in answers),
           "after discard every request is served by the primary, with r1",
           str([a for a in answers if a[1] != primary or a[2] != "r1"][:5]))

    # ---- a header canary: the header reaches staging, validation with it
    rc, out, err = app.run("canary", "check", "--stage", "production")
    tap.ok(rc == 3, "canary check is refused while the canary is off", f"rc={rc} {err[-300:]}")
    rc, js2, err = app.json("canary", "start", "--yes", "--stage", "production", "--header", "aws-cf-cd-canary: yes")
    tap.ok(rc == 0 and js2 and js2.get("staging") == staging, "a header canary on the same staging copy",
           err[-800:])
    deployed(sim, primary, staging)
    with_h = [ask_edge(sim, primary_host, f"/h/{i}", {"aws-cf-cd-canary": "yes"}) for i in (1, 2, 3, 4, 6, 7)]
    without = [ask_edge(sim, primary_host, f"/h/{i}") for i in (1, 2, 3, 4, 6, 7)]
    tap.ok(all(a[1] == staging and a[2] == "flaky" for a in with_h),
           "requests with the header are served by staging, with the flaky release", str(with_h))
    tap.ok(all(a[1] == primary and a[2] == "r1" for a in without),
           "requests without it by the primary, with r1", str(without))
    rc, out, err = app.run("canary", "check", "--stage", "production")
    tap.ok(rc == 0 and "canary check passed" in out, "canary check passes against staging", out + err[-600:])
    tap.ok(staging in out, "canary check names the staging distribution it reached", out)
    rc, out, err = app.run("canary", "widen", "--yes", "10%", "--stage", "production")
    tap.ok(rc == 3 and "header" in err, "a header canary cannot be widened", err[-300:])

    # ---- the dashboard: c shows both sides, Z discards (asked first), read-only refuses
    rc, out, err = run_script(app, "canary-ro", """:wait-idle
<Tab>
j
c
:wait-text canary on
Z
:wait-idle
:dump-screen {tmp}/canary-ro.txt
q
q
""", "--read-only")
    tap.ok(rc == 0 and "--read-only" in screen(app, "canary-ro.txt"),
           "a --read-only dashboard refuses Z and says why", screen(app, "canary-ro.txt") + err[-600:])
    tap.ok(policy_of(sim, js.get("policy"))["config"]["Enabled"], "and the canary still runs")
    rc, out, err = run_script(app, "canary-dash", """:wait-idle
<Tab>
j
c
:wait-text canary on
:dump-screen {tmp}/canary-view.txt
Z
:wait-dialog
:dump-screen {tmp}/canary-discard.txt
y
:wait-text canary off
:wait-idle
:dump-screen {tmp}/canary-off.txt
q
q
""")
    view = screen(app, "canary-view.txt")
    tap.ok(rc == 0, "the dashboard script ran to the end", err[-1500:])
    tap.ok("Canary production" in view and primary in view and staging in view,
           "c shows production's primary and staging distributions side by side", view)
    tap.ok("header aws-cf-cd-canary: yes" in view and flaky[:7] in view,
           "the view says which requests go to staging and the release it runs", view)
    tap.ok("Discard production's canary" in screen(app, "canary-discard.txt"),
           "Z asks before discarding", screen(app, "canary-discard.txt"))
    tap.ok("canary off" in screen(app, "canary-off.txt")
           and not policy_of(sim, js.get("policy"))["config"]["Enabled"],
           "Z discarded the canary and the view shows it off", screen(app, "canary-off.txt"))
    tap.ok(not release.BLOCKED, "the screen never waited on the canary's calls", str(release.BLOCKED)[:1500])

    # ---- a second console holding the stage lock
    # The first console is held inside its locked section (a delayed Lambda
    # call, released through the control endpoint), not raced by the clock.
    sim.fault("delay", "lambda", "UpdateFunctionConfiguration", count=1, seconds=120)
    holder = app.popen("canary", "start", "--yes", "--stage", "production", "--weight", "10%")
    wait_until(lambda: not sim.ctl("GET", "/faults")["faults"], 60, 0.1)
    rc, out, err = app.run("canary", "discard", "--yes", "--stage", "production")
    sim.ctl("POST", "/faults/release")
    hold_out, hold_err = holder.communicate(timeout=240)
    tap.ok(rc == 3 and "lock" in err.lower(), "a second console is refused while the first holds the lock",
           f"rc={rc} {err[-400:]}")
    tap.ok(holder.returncode == 0, "the first console's start completes", hold_err[-800:])

    # ---- promote
    deployed(sim, primary, staging)
    rc, out, err = app.run("canary", "promote", "--stage", "production", "--yes", timeout=400)
    tap.ok(rc == 0, "canary promote, and the deploy that follows, succeed", out[-1500:] + err[-1500:])
    pol = policy_of(sim, js.get("policy"))
    tap.ok(pol and not pol["config"]["Enabled"], "promotion disabled the policy", str(pol))
    app.wait_deployed("production", timeout=60)
    answers = [ask_edge(sim, primary_host, f"/p/{i}") for i in (1, 2, 3, 4, 6, 7)]
    tap.ok(all(a[2] == "flaky" and a[1] == primary for a in answers),
           "the primary serves the tried release", str(answers))
    tap.ok(app.status("production")["commit"] == flaky,
           "production's stack is deployed with the tried release")
    acts = [(r.get("action"), r.get("result")) for r in canary_records(app) if r.get("phase") == "outcome"]
    tap.ok(("start", "success") in acts and ("discard", "success") in acts and ("promote", "success") in acts
           and ("check", "success") in acts and ("start", "failed") in acts,
           "the ledger has every canary action and its outcome", str(acts))
    deploys = [r for r in app.records("production")
               if r.get("kind") == "promotion" and r.get("phase") == "outcome" and r.get("commit") == flaky]
    tap.ok(deploys and deploys[-1].get("result") == "success",
           "the deploy after the promotion is recorded", str(deploys[-1:]))

    # ---- the dashboard's promote: a fixed release tried, then A in the canary view
    good = open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "lambda-edge-app",
                             "src", "index.js")).read()
    open(os.path.join(app.dir, "src", "index.js"), "w").write(
        good.replace("const RELEASE = 'r1';", "const RELEASE = 'fixed';"))
    app.git("commit", "-qam", "fixed: the handler no longer throws")
    fixed = app.head()
    release_to_staging(tap, app, "the fixed release")
    rc, out, err = app.run("canary", "start", "--yes", "--wait", "--stage", "production", timeout=300)
    tap.ok(rc == 0, "a canary of the fixed release starts", out[-800:] + err[-800:])
    deployed(sim, primary, staging)
    rc, out, err = run_script(app, "canary-promote", """:wait-idle
<Tab>
j
c
:wait-text canary on
A
:wait-dialog
:dump-screen {tmp}/canary-promote-ask.txt
production<Enter>
:wait-text canary off
:wait-idle
:dump-screen {tmp}/canary-promoted.txt
q
q
""")
    ask = screen(app, "canary-promote-ask.txt")
    tap.ok(rc == 0 and "Promote production's canary" in ask,
           "A in the canary view asks before promoting", ask + err[-800:])
    app.wait_deployed("production", timeout=60)
    tap.ok(app.status("production")["commit"] == fixed,
           "the dashboard's promote deployed the tried release to the stack",
           screen(app, "canary-promoted.txt") + err[-1500:])
    answers = [ask_edge(sim, primary_host, f"/q/{i}") for i in (1, 2, 3)]
    tap.ok(all(a[2] == "fixed" for a in answers), "the primary serves it", str(answers))
    tap.ok(not release.BLOCKED, "the screen never waited on the promotion", str(release.BLOCKED)[:1500])

    # ---- destroy takes the canary's own resources with the stage
    canary_fn = fns[0]["version"].split(":")[6] if fns else "?"
    rc, out, err = app.run("destroy", "--stage", "production", "--yes", timeout=600)
    tap.ok(rc == 0, "destroying production succeeds", out[-1500:] + err[-1500:])
    left = [d["Id"] for d in sim.client("cloudfront").list_distributions()["DistributionList"].get("Items", [])
            if d.get("Staging")]
    tap.ok(not left, "its staging distribution is deleted", str(left))
    tap.ok(not [p for p in sim.ctl("GET", "/canary")["policies"] if p["id"] == js.get("policy")],
           "its canary policy is deleted", str(sim.ctl("GET", "/canary")["policies"]))
    retained = [r for r in app.records() if r.get("kind") == "destroy" and r.get("step") == "function-retained"]
    tap.ok(any(r.get("function") == canary_fn for r in retained),
           "the canary function is recorded for cleanup (its replicas outlive staging)",
           str([r.get("function") for r in retained]))
    sim.ctl("POST", "/replicas/release", {})
    rc, out, err = app.run("cleanup")
    fn_names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    tap.ok(rc == 0 and canary_fn not in fn_names, "cleanup deletes the canary function",
           f"rc={rc} {out}{err}")


run(main)
