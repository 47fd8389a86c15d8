#!/usr/bin/env python3
"""[check] lambda = FUNCTION: validation invokes the function with the
stage URL, release and stage, and reads {"ok", "message"}: it passes, it
fails with the function's message, a throw and a timeout fail with the
reason, an answer outside the contract fails saying so, a missing function
fails naming it; the results sit beside the HTTP check's, in the ledger
too, and a failed lambda check blocks promotion like any other."""

import json

import release
from simtest import zip_of

FUNCTION = "edge-demo-check"

HANDLER = r"""
exports.handler = async (event) => {
  const mode = process.env.MODE;
  if (mode === 'throw') throw new Error('the checker crashed');
  if (mode === 'slow') await new Promise((r) => setTimeout(r, 5000));
  if (mode === 'garbage') return 'hello';
  const seen = `${event.stage} ${event.release} at ${event.url}`;
  if (mode === 'fail') return { ok: false, message: 'banner missing: ' + seen };
  return { ok: true, message: 'banner present: ' + seen };
};
"""


def main(tap, sim, app):
    lam = sim.client("lambda")
    role = sim.client("iam").create_role(RoleName="checker", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    lam.create_function(FunctionName=FUNCTION, Runtime="nodejs20.x", Role=role, Handler="index.handler",
                        Code={"ZipFile": zip_of({"index.js": HANDLER})}, Timeout=2,
                        Environment={"Variables": {"MODE": "pass"}})
    with open(app.conf_path, "a") as f:
        f.write(f'\n[check "checker"]\n\tlambda = {FUNCTION}\n\tstage = staging\n\ttimeout = 20s\n')
    app.git("commit", "-q", "-am", "a lambda check")
    rc, out, err = app.run("deploy", "--yes", "--stage", "staging")
    tap.ok(rc == 0, "staging deployed", out + err)
    app.wait_deployed("staging", 60)
    domain = app.distribution("staging")["DomainName"]
    rel = app.status("staging")["release"]

    def checks():
        rc, js, err = app.json("validate", "--stage", "staging")
        return rc, {c["name"]: c for c in (js or {}).get("checks", [])}, js, err

    rc, cs, js, err = checks()
    c = cs.get("checker", {})
    tap.ok(rc == 0 and c.get("passed") is True and cs.get("home", {}).get("passed") is True,
           "the lambda check passes beside the HTTP check", js or err)
    tap.eq(c.get("detail"), f"banner present: staging {rel} at https://{domain}/",
           "the function got the stage, the release and the stage URL; its message is the detail")
    tap.eq(c.get("url"), f"lambda:{FUNCTION}", "the check names its function")

    def with_mode(mode):
        lam.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": {"MODE": mode}})
        return checks()

    rc, cs, js, err = with_mode("fail")
    c = cs.get("checker", {})
    tap.ok(rc == 1 and c.get("passed") is False and c.get("detail", "").startswith("banner missing: staging")
           and js["passed"] is False, "ok: false fails validation with the function's message", js or err)
    rc, out, err = app.run("validate", "--stage", "staging")
    tap.ok(rc == 1 and "checker" in out and "banner missing" in out, "the text output shows it", out + err)
    rc, out, err = app.run("promote", "--to", "production", "--yes")
    tap.ok(rc == 3 and "failed" in err, "a failed lambda check blocks promotion", err)

    rc, cs, js, err = with_mode("throw")
    c = cs.get("checker", {})
    tap.ok(rc == 1 and c.get("passed") is False and "Unhandled" in c.get("detail", "")
           and "the checker crashed" in c.get("detail", ""), "a throw is a failure with the error", c)

    rc, cs, js, err = with_mode("slow")
    c = cs.get("checker", {})
    tap.ok(rc == 1 and c.get("passed") is False and "timed out" in c.get("detail", ""),
           "a function past its timeout is a failure saying so", c)

    rc, cs, js, err = with_mode("garbage")
    c = cs.get("checker", {})
    tap.ok(rc == 1 and c.get("passed") is False and "not {\"ok\"" in c.get("detail", ""),
           "an answer outside the contract fails, saying what it should be", c)

    lam.delete_function(FunctionName=FUNCTION)
    rc, cs, js, err = checks()
    c = cs.get("checker", {})
    tap.ok(rc == 1 and c.get("passed") is False and FUNCTION in c.get("detail", "")
           and "ResourceNotFoundException" in c.get("detail", "") + json.dumps(js),
           "a missing function fails the check, naming it", c)

    recs = [r for r in app.records("staging") if r.get("kind") == "validation"]
    last = recs[-1] if recs else {}
    ck = next((x for x in last.get("checks", []) if x["name"] == "checker"), {})
    tap.ok(last.get("result") == "failed" and ck.get("passed") is False and ck.get("url") == f"lambda:{FUNCTION}",
           "the ledger's validation record holds the lambda check", last)


if __name__ == "__main__":
    release.run(main)
