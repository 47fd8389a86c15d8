#!/usr/bin/env python3
"""CloudFront continuous deployment as boto3 and the edges see it: a staging
copy of a stack's distribution, policies and their validation, attaching a
policy, routing by header and by weight (a fixed seed; CloudWatch counts the
staging share under the staging distribution), stickiness, peak, deletes
refused while in use, a CloudFormation update of the primary keeping the
attachment, and promotion. Propagation is held long and moved on through
the control endpoint, never raced."""

import http.client
import http.cookies
import json
import os
import subprocess
import sys
import time

import simtest
from simtest import wait_until

ALIAS = "www.cd.example.com"


def handler(text):
    return ("exports.handler = async () => ({status: '200', headers: {'cache-control': "
            "[{key: 'Cache-Control', value: 'max-age=3600'}]}, body: '" + text + "'});")


def template(comment):
    return json.dumps({"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
                    "Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}}]}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"S3Bucket": "cd-code", "S3Key": "v1.zip"}, "Handler": "index.handler",
            "Runtime": "nodejs22.x", "Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Ver": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Dist": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Enabled": True, "Comment": comment, "Aliases": [ALIAS],
            "Origins": [{"Id": "o", "DomainName": "origin.example.com",
                         "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}}],
            "DefaultCacheBehavior": {
                "TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all",
                "ForwardedValues": {"QueryString": False},
                "LambdaFunctionAssociations": [
                    {"EventType": "origin-request", "LambdaFunctionARN": {"Ref": "Ver"}}]}}}}}})


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - botocore's ClientError
        r = getattr(e, "response", {})
        return dict(r.get("Error", {}), Status=r.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    return {}


def get(edge, host, path="/", headers=None):
    conn = http.client.HTTPConnection(edge["url"].split("//", 1)[1], timeout=30)
    conn.request("GET", path, headers=dict({"Host": host}, **(headers or {})))
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, body


def served(edge, host, path="/", headers=None):
    return get(edge, host, path, headers)[1].get("x-edgesim-distribution")


def session(hdrs):
    """The stickiness cookie's value from Set-Cookie, or None."""
    raw = hdrs.get("set-cookie")
    if not raw:
        return None
    jar = http.cookies.SimpleCookie(raw)
    return jar["edgesim-cd-session"].value if "edgesim-cd-session" in jar else None


def weight_config(dns, weight, sticky=None, enabled=True):
    swc = {"Weight": weight}
    if sticky:
        swc["SessionStickinessConfig"] = {"IdleTTL": sticky[0], "MaximumTTL": sticky[1]}
    return {"StagingDistributionDnsNames": {"Quantity": 1, "Items": [dns]}, "Enabled": enabled,
            "TrafficConfig": {"Type": "SingleWeight", "SingleWeightConfig": swc}}


def header_config(dns, header="aws-cf-cd-canary", value="yes"):
    return {"StagingDistributionDnsNames": {"Quantity": 1, "Items": [dns]}, "Enabled": True,
            "TrafficConfig": {"Type": "SingleHeader", "SingleHeaderConfig": {"Header": header, "Value": value}}}


def requests_metric(cw, dist_id, start):
    r = cw.get_metric_data(StartTime=start, EndTime=time.time() + 60, MetricDataQueries=[{
        "Id": "r", "MetricStat": {"Metric": {"Namespace": "AWS/CloudFront", "MetricName": "Requests",
                                             "Dimensions": [{"Name": "DistributionId", "Value": dist_id},
                                                            {"Name": "Region", "Value": "Global"}]},
                                  "Period": 1, "Stat": "Sum"}}])
    return int(sum(r["MetricDataResults"][0]["Values"]))


def main(tap, sim):
    # Nothing propagates on its own: every change reaches the edges when the
    # test advances it.
    sim.config(propagation_min=600, propagation_max=600, metric_period=1)
    advance = lambda dist=None: sim.ctl("POST", "/distributions/advance", {"id": dist} if dist else {})  # noqa: E731
    edges = sim.edges
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="cd-code")
    s3.put_object(Bucket="cd-code", Key="v1.zip", Body=simtest.zip_of({"index.js": handler("v1")}))
    cfn = sim.client("cloudformation")
    cf = sim.client("cloudfront", max_attempts=1)
    lam = sim.client("lambda")
    cfn.create_stack(StackName="cd", TemplateBody=template("one"), Capabilities=["CAPABILITY_IAM"])
    stack_status = lambda: cfn.describe_stacks(StackName="cd")["Stacks"][0]["StackStatus"]  # noqa: E731
    tap.ok(wait_until(lambda: stack_status() == "CREATE_COMPLETE", 30), "the stack is created")
    res = {r["LogicalResourceId"]: r["PhysicalResourceId"]
           for r in cfn.describe_stack_resources(StackName="cd")["StackResources"]}
    prim = res["Dist"]
    advance()
    role = sim.client("iam").get_role(RoleName=res["Role"])["Role"]["Arn"]
    made = lam.create_function(FunctionName="es-canary-cd", Role=role, Runtime="nodejs22.x",
                               Handler="index.handler", Code={"ZipFile": simtest.zip_of({"index.js": handler("v2")})},
                               Publish=True)
    canary = lam.get_function_configuration(FunctionName="es-canary-cd")["FunctionArn"] + ":" + made["Version"]
    old_arn = cf.get_distribution_config(Id=prim)["DistributionConfig"]["DefaultCacheBehavior"][
        "LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"]

    got = cf.get_distribution_config(Id=prim)
    tap.ok(got["DistributionConfig"]["Staging"] is False and got["DistributionConfig"]["ContinuousDeploymentPolicyId"] == "",
           "a distribution reads back Staging false and no policy", got["DistributionConfig"])
    p_etag = got["ETag"]

    # ---- CopyDistribution
    err = error_of(lambda: cf.copy_distribution(PrimaryDistributionId=prim, Staging=True, CallerReference="s1"))
    tap.eq((err.get("Code"), err.get("Status")), ("InvalidIfMatchVersion", 400), "a copy without If-Match is refused")
    err = error_of(lambda: cf.copy_distribution(PrimaryDistributionId=prim, Staging=True, IfMatch="E0STALE",
                                                CallerReference="s1"))
    tap.eq((err.get("Code"), err.get("Status")), ("PreconditionFailed", 412), "a copy with a stale If-Match: 412")
    err = error_of(lambda: cf.copy_distribution(PrimaryDistributionId="ENOSUCH", Staging=True, IfMatch=p_etag,
                                                CallerReference="s1"))
    tap.eq((err.get("Code"), err.get("Status")), ("NoSuchDistribution", 404), "a copy of no distribution: 404")
    cp = cf.copy_distribution(PrimaryDistributionId=prim, Staging=True, IfMatch=p_etag, CallerReference="s1")
    sd = cp["Distribution"]
    stg, stg_dns = sd["Id"], sd["DomainName"]
    tap.ok(cp["ResponseMetadata"]["HTTPStatusCode"] == 201 and stg != prim and stg_dns.endswith(".cloudfront.net")
           and cp["Location"].endswith("/2020-05-31/distribution/" + stg) and cp["ETag"]
           and sd["Status"] == "InProgress",
           "CopyDistribution: 201, its own Id and DomainName, ETag and Location, InProgress",
           {k: sd.get(k) for k in ("Id", "DomainName", "Status")})
    sc = sd["DistributionConfig"]
    tap.ok(sc["Staging"] is True and sc["Aliases"]["Quantity"] == 0 and sc["CallerReference"] == "s1"
           and sc["ContinuousDeploymentPolicyId"] == ""
           and sc["DefaultCacheBehavior"]["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"] == old_arn,
           "the copy is staging, without aliases, with the primary's behaviour", sc)
    err = error_of(lambda: cf.copy_distribution(PrimaryDistributionId=prim, Staging=True, IfMatch=p_etag,
                                                CallerReference="s1"))
    tap.eq((err.get("Code"), err.get("Status")), ("DistributionAlreadyExists", 409), "a CallerReference once")
    listed = {d["Id"]: d["Staging"] for d in cf.list_distributions()["DistributionList"]["Items"]}
    tap.eq(listed, {prim: False, stg: True}, "ListDistributions shows Staging")

    # ---- staging runs the canary version; Staging is kept through an update
    g = cf.get_distribution_config(Id=stg)
    cfg = g["DistributionConfig"]
    cfg["DefaultCacheBehavior"]["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"] = canary
    bad = dict(cfg, Staging=False)
    err = error_of(lambda: cf.update_distribution(Id=stg, IfMatch=g["ETag"], DistributionConfig=bad))
    tap.eq(err.get("Code"), "IllegalUpdate", "Staging cannot be turned off by an update")
    cfg.pop("Staging")
    up = cf.update_distribution(Id=stg, IfMatch=g["ETag"], DistributionConfig=cfg)
    tap.ok(up["Distribution"]["DistributionConfig"]["Staging"] is True and up["ETag"] != g["ETag"],
           "an update without Staging keeps it (new ETag)", up["Distribution"]["DistributionConfig"].get("Staging"))
    advance()
    direct = [get(e, stg_dns) for e in edges]
    tap.ok(all(s == 403 and h.get("x-cache") == "Error from cloudfront" and "x-edgesim-distribution" not in h
               for s, h, _ in direct),
           "requests straight to the staging domain get CloudFront's 403 on every edge", [d[:2] for d in direct])

    # ---- policy validation
    cases = [
        ("a weight above 0.15", weight_config(stg_dns, 0.2), "InvalidArgument"),
        ("a negative weight", weight_config(stg_dns, -0.01), "InvalidArgument"),
        ("an IdleTTL below 300", weight_config(stg_dns, 0.1, (200, 600)), "InvalidArgument"),
        ("a MaximumTTL above 3600", weight_config(stg_dns, 0.1, (300, 4000)), "InvalidArgument"),
        ("IdleTTL above MaximumTTL", weight_config(stg_dns, 0.1, (900, 600)), "InvalidArgument"),
        ("a header without aws-cf-cd-", header_config(stg_dns, "x-canary"), "InvalidArgument"),
        ("a DNS name that is no staging distribution", weight_config(ALIAS, 0.1), "InvalidArgument"),
        ("the primary's own domain", weight_config(sim_domain(cf, prim), 0.1), "InvalidArgument"),
        ("Quantity not the number of Items", dict(weight_config(stg_dns, 0.1),
                                                  StagingDistributionDnsNames={"Quantity": 2, "Items": [stg_dns]}),
         "InconsistentQuantities"),
    ]
    for what, conf, code in cases:
        err = error_of(lambda: cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=conf))
        tap.eq((err.get("Code"), err.get("Status")), (code, 400), f"a policy with {what} is refused")

    # ---- policy CRUD
    made = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=header_config(stg_dns))
    pol = made["ContinuousDeploymentPolicy"]
    pid, pol_etag = pol["Id"], made["ETag"]
    tap.ok(made["ResponseMetadata"]["HTTPStatusCode"] == 201 and pol_etag and made["Location"].endswith(
        "/2020-05-31/continuous-deployment-policy/" + pid) and pol["LastModifiedTime"]
        and pol["ContinuousDeploymentPolicyConfig"] == header_config(stg_dns),
        "CreateContinuousDeploymentPolicy: 201, Id, ETag, Location, the config back", made)
    tap.ok(cf.get_continuous_deployment_policy(Id=pid)["ContinuousDeploymentPolicy"]["Id"] == pid
           and cf.get_continuous_deployment_policy_config(Id=pid)["ContinuousDeploymentPolicyConfig"]
           == header_config(stg_dns) and cf.get_continuous_deployment_policy_config(Id=pid)["ETag"] == pol_etag,
           "Get and GetConfig answer it with its ETag")
    lst = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    tap.ok(lst["Quantity"] == 1 and lst["Items"][0]["ContinuousDeploymentPolicy"]["Id"] == pid, "List has it", lst)
    err = error_of(lambda: cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=header_config(stg_dns)))
    tap.eq((err.get("Code"), err.get("Status")), ("ContinuousDeploymentPolicyAlreadyExists", 409),
           "the same configuration twice")
    err = error_of(lambda: cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_config(stg_dns, 0.05)))
    tap.eq((err.get("Code"), err.get("Status")), ("StagingDistributionInUse", 409),
           "a second policy for the same staging distribution")
    err = error_of(lambda: cf.get_continuous_deployment_policy(Id="00000000-0000-0000-0000-000000000000"))
    tap.eq((err.get("Code"), err.get("Status")), ("NoSuchContinuousDeploymentPolicy", 404), "an unknown policy")
    err = error_of(lambda: cf.update_continuous_deployment_policy(
        Id=pid, ContinuousDeploymentPolicyConfig=header_config(stg_dns, value="on")))
    tap.eq(err.get("Code"), "InvalidIfMatchVersion", "an update without If-Match")
    err = error_of(lambda: cf.update_continuous_deployment_policy(
        Id=pid, IfMatch="E0STALE", ContinuousDeploymentPolicyConfig=header_config(stg_dns, value="on")))
    tap.eq((err.get("Code"), err.get("Status")), ("PreconditionFailed", 412), "an update with a stale If-Match")

    # ---- attach
    g = cf.get_distribution_config(Id=prim)
    err = error_of(lambda: cf.update_distribution(Id=prim, IfMatch=g["ETag"], DistributionConfig=dict(
        g["DistributionConfig"], ContinuousDeploymentPolicyId="00000000-0000-0000-0000-000000000000")))
    tap.eq((err.get("Code"), err.get("Status")), ("NoSuchContinuousDeploymentPolicy", 404),
           "attaching an unknown policy")
    cf.update_distribution(Id=prim, IfMatch=g["ETag"],
                           DistributionConfig=dict(g["DistributionConfig"], ContinuousDeploymentPolicyId=pid))
    tap.eq(cf.get_distribution_config(Id=prim)["DistributionConfig"]["ContinuousDeploymentPolicyId"], pid,
           "UpdateDistribution attaches the policy")
    g = cf.get_distribution_config(Id=stg)
    extra = {"Quantity": 1, "Items": [{"PathPattern": "/extra/*", "TargetOriginId": "o",
                                       "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                                       "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}]}
    err = error_of(lambda: cf.update_distribution(Id=stg, IfMatch=g["ETag"], DistributionConfig=dict(
        g["DistributionConfig"], CacheBehaviors=extra)))
    tap.eq(err.get("Code"), "IllegalUpdate", "while attached, staging cannot have a path pattern the primary lacks")
    hdr = {"aws-cf-cd-canary": "yes"}
    tap.ok(all(served(e, ALIAS, "/h", hdr) == prim for e in edges),
           "until the attachment propagates, the header changes nothing")
    advance(prim)

    # ---- routing by header
    with_h = [get(e, ALIAS, "/h", hdr) for _ in range(5) for e in edges]
    tap.ok(all(h.get("x-edgesim-distribution") == stg and b == "v2" and h.get("x-edgesim-function") == canary
               for _, h, b in with_h),
           "every request with the header is served by staging, with the canary version",
           [(h.get("x-edgesim-distribution"), b) for _, h, b in with_h][:6])
    without = [get(e, ALIAS, "/h") for _ in range(5) for e in edges]
    wrong = [get(e, ALIAS, "/h", {"aws-cf-cd-canary": "no"}) for e in edges]
    tap.ok(all(h.get("x-edgesim-distribution") == prim and b == "v1" for _, h, b in without + wrong),
           "no request without the header (or with another value) is", [(h.get("x-edgesim-distribution"), b)
                                                                         for _, h, b in without + wrong][:6])
    via_domain = [served(e, sim_domain(cf, prim), "/h", hdr) for e in edges]
    tap.eq(via_domain, [stg] * len(edges), "the primary's cloudfront.net domain routes the same way")

    # ---- routing by weight, a fixed seed
    g = cf.get_continuous_deployment_policy(Id=pid)
    up = cf.update_continuous_deployment_policy(Id=pid, IfMatch=g["ETag"],
                                                ContinuousDeploymentPolicyConfig=weight_config(stg_dns, 0.15))
    tap.ok(up["ETag"] != g["ETag"], "UpdateContinuousDeploymentPolicy: a new ETag")
    sim.ctl("DELETE", "/traffic")
    sim.ctl("DELETE", "/canary")
    start = time.time() - 1

    def run(seed, n=400):
        sim.ctl("POST", "/canary/seed", {"seed": seed})
        return [served(edges[i % len(edges)], ALIAS, "/w") for i in range(n)]

    first = run(42)
    share = first.count(stg) / len(first)
    tap.ok(abs(share - 0.15) <= 0.05 and set(first) == {prim, stg},
           "weight 0.15 over 400 requests: staging's share within 0.15 +- 0.05", share)
    again = run(42)
    tap.ok(again == first, "the same seed makes the same decisions")
    n_stg, n_prim = first.count(stg) * 2, first.count(prim) * 2
    counts = sim.ctl("GET", "/canary")["counts"]
    tap.eq((counts.get(stg), counts.get(prim)), (n_stg, n_prim), "GET /canary counts what each distribution served")
    cw = sim.client("cloudwatch")
    ok = wait_until(lambda: (requests_metric(cw, stg, start), requests_metric(cw, prim, start)) == (n_stg, n_prim),
                    15, 0.2)
    tap.ok(ok, "CloudWatch Requests of the staging id are the staging answers, the primary's the rest",
           ((requests_metric(cw, stg, start), requests_metric(cw, prim, start)), (n_stg, n_prim)))

    # ---- stickiness
    g = cf.get_continuous_deployment_policy(Id=pid)
    cf.update_continuous_deployment_policy(Id=pid, IfMatch=g["ETag"],
                                           ContinuousDeploymentPolicyConfig=weight_config(stg_dns, 0.15, (300, 600)))
    cookies = {}
    for i in range(300):
        _, h, _ = get(edges[i % len(edges)], ALIAS, "/s")
        c = session(h)
        if c and h.get("x-edgesim-distribution") not in cookies:
            cookies[h.get("x-edgesim-distribution")] = c
        if len(cookies) == 2:
            break
    tap.ok(set(cookies) == {prim, stg}, "a sticky policy sets the edgesim-cd-session cookie for both sides",
           cookies)
    for dist_id, c in cookies.items():
        seen = {served(e, ALIAS, "/s", {"Cookie": f"edgesim-cd-session={c}"}) for _ in range(5) for e in edges}
        tap.eq(seen, {dist_id}, f"with its cookie a session stays on {'staging' if dist_id == stg else 'primary'}")
    s_cookie = cookies.get(stg, "")
    sim.ctl("POST", "/clock", {"offset": 400})
    _, h, _ = get(edges[0], ALIAS, "/s", {"Cookie": f"edgesim-cd-session={s_cookie}"})
    renewed = session(h) or ""
    sim.ctl("POST", "/clock", {"offset": 0})
    tap.ok(renewed.split("~")[2:3] != s_cookie.split("~")[2:3] and renewed.split("~")[0] == pid,
           "past IdleTTL (server clock +400 s) the session starts again", (s_cookie, renewed))

    # ---- peak
    sim.ctl("POST", "/canary/peak", {"on": True})
    at_peak = {served(e, ALIAS, "/s", {"Cookie": f"edgesim-cd-session={s_cookie}"}) for e in edges}
    at_peak |= {served(edges[i % len(edges)], ALIAS, "/s") for i in range(60)}
    sim.ctl("POST", "/canary/peak", {"on": False})
    tap.eq(at_peak, {prim}, "at peak everything goes to the primary, sessions too")
    tap.eq(served(edges[0], ALIAS, "/s", {"Cookie": f"edgesim-cd-session={s_cookie}"}), stg,
           "after the peak the staging session is back")

    # ---- deletes refused while in use
    err = error_of(lambda: cf.delete_distribution(Id=stg, IfMatch=cf.get_distribution(Id=stg)["ETag"]))
    tap.eq((err.get("Code"), err.get("Status")), ("StagingDistributionInUse", 409),
           "the staging distribution of an attached, enabled policy cannot be deleted")
    err = error_of(lambda: cf.delete_continuous_deployment_policy(
        Id=pid, IfMatch=cf.get_continuous_deployment_policy(Id=pid)["ETag"]))
    tap.eq((err.get("Code"), err.get("Status")), ("ContinuousDeploymentPolicyInUse", 409),
           "an attached policy cannot be deleted")

    # ---- CloudFormation updates the primary: the attachment stays
    cfn.update_stack(StackName="cd", TemplateBody=template("two"), Capabilities=["CAPABILITY_IAM"])
    tap.ok(wait_until(lambda: stack_status() == "UPDATE_COMPLETE", 30), "the stack update completes")
    cfg = cf.get_distribution_config(Id=prim)["DistributionConfig"]
    tap.ok(cfg["Comment"] == "two" and cfg["ContinuousDeploymentPolicyId"] == pid,
           "a template without a policy id keeps the attached policy", cfg.get("ContinuousDeploymentPolicyId"))
    advance(prim)
    tap.eq(served(edges[1], ALIAS, "/s", {"Cookie": f"edgesim-cd-session={s_cookie}"}), stg,
           "and the stack's new generation still routes to staging")
    for enabled in (False, True):
        g = cf.get_continuous_deployment_policy(Id=pid)
        cf.update_continuous_deployment_policy(Id=pid, IfMatch=g["ETag"], ContinuousDeploymentPolicyConfig=weight_config(
            stg_dns, 0.15, (300, 600), enabled=enabled))
    _, h, _ = get(edges[1], ALIAS, "/s", {"Cookie": f"edgesim-cd-session={s_cookie}"})
    fresh = session(h) or ""
    tap.ok(fresh.split("~")[4:] != s_cookie.split("~")[4:] and fresh.split("~")[0] == pid,
           "disabling and enabling the policy ends the sessions", (s_cookie, fresh))

    # ---- promote
    pe, se = cf.get_distribution(Id=prim)["ETag"], cf.get_distribution(Id=stg)["ETag"]
    err = error_of(lambda: cf.update_distribution_with_staging_config(Id=prim, StagingDistributionId=stg,
                                                                      IfMatch=f"{pe},E0STALE"))
    tap.eq((err.get("Code"), err.get("Status")), ("PreconditionFailed", 412), "promote with a stale staging ETag")
    err = error_of(lambda: cf.update_distribution_with_staging_config(Id=prim, StagingDistributionId=stg,
                                                                      IfMatch=pe))
    tap.eq(err.get("Code"), "InvalidIfMatchVersion", "promote needs both ETags")
    pr = cf.update_distribution_with_staging_config(Id=prim, StagingDistributionId=stg, IfMatch=f"{pe},{se}")
    d = pr["Distribution"]
    dc = d["DistributionConfig"]
    tap.ok(pr["ResponseMetadata"]["HTTPStatusCode"] == 200 and d["Id"] == prim and d["Status"] == "InProgress"
           and pr["ETag"] != pe
           and dc["DefaultCacheBehavior"]["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"] == canary
           and dc["Aliases"].get("Items") == [ALIAS] and dc["Staging"] is False
           and dc["ContinuousDeploymentPolicyId"] == pid and dc["CallerReference"] != "s1",
           "promote: the primary takes staging's config but its aliases, policy and CallerReference; InProgress",
           dc)
    tap.eq(cf.get_continuous_deployment_policy_config(Id=pid)["ContinuousDeploymentPolicyConfig"]["Enabled"], False,
           "promote disables the policy")
    before = [get(e, ALIAS, f"/p{i}") for i, e in enumerate(edges)]
    tap.ok(all(h.get("x-edgesim-distribution") == prim and b == "v1" for _, h, b in before),
           "until it propagates the primary serves its old version, staging nothing",
           [(h.get("x-edgesim-distribution"), b) for _, h, b in before])
    advance(prim)
    after = [get(e, ALIAS, f"/q{i}", {"Cookie": f"edgesim-cd-session={s_cookie}"}) for i, e in enumerate(edges)]
    tap.ok(all(h.get("x-edgesim-distribution") == prim and b == "v2" and h.get("x-edgesim-function") == canary
               for _, h, b in after),
           "once propagated the primary serves staging's Lambda version on every edge",
           [(h.get("x-edgesim-distribution"), b, h.get("x-edgesim-function")) for _, h, b in after])

    # ---- detach, then the policy and the staging distribution can go
    g = cf.get_distribution_config(Id=prim)
    cf.update_distribution(Id=prim, IfMatch=g["ETag"],
                           DistributionConfig=dict(g["DistributionConfig"], ContinuousDeploymentPolicyId=""))
    tap.eq(cf.get_distribution_config(Id=prim)["DistributionConfig"]["ContinuousDeploymentPolicyId"], "",
           "an empty ContinuousDeploymentPolicyId detaches")
    dl = cf.delete_continuous_deployment_policy(Id=pid, IfMatch=cf.get_continuous_deployment_policy(Id=pid)["ETag"])
    tap.eq(dl["ResponseMetadata"]["HTTPStatusCode"], 204, "a detached policy is deleted")
    dl = cf.delete_distribution(Id=stg, IfMatch=cf.get_distribution(Id=stg)["ETag"])
    tap.eq(dl["ResponseMetadata"]["HTTPStatusCode"], 204, "and the staging distribution")

    # ---- quotas: 20 staging distributions, 20 policies
    pe = cf.get_distribution(Id=prim)["ETag"]
    dns = [cf.copy_distribution(PrimaryDistributionId=prim, Staging=True, IfMatch=pe, CallerReference=f"q{i}")[
        "Distribution"]["DomainName"] for i in range(20)]
    err = error_of(lambda: cf.copy_distribution(PrimaryDistributionId=prim, Staging=True, IfMatch=pe,
                                                CallerReference="q20"))
    tap.eq(err.get("Code"), "TooManyDistributions", "a 21st staging distribution is refused")
    for name in dns:
        cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(name, 0.05))
    err = error_of(lambda: cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_config(dns[0], 0.1)))
    tap.eq(err.get("Code"), "TooManyContinuousDeploymentPolicies", "a 21st policy is refused")
    page = cf.list_continuous_deployment_policies(MaxItems="15")["ContinuousDeploymentPolicyList"]
    rest = cf.list_continuous_deployment_policies(Marker=page["NextMarker"])["ContinuousDeploymentPolicyList"]
    tap.ok(page["Quantity"] == 15 and rest["Quantity"] == 5 and "NextMarker" not in rest,
           "ListContinuousDeploymentPolicies pages with MaxItems and Marker", (page["Quantity"], rest["Quantity"]))

    # ---- edgesim-ctl
    p = subprocess.run([sys.executable, os.path.join(simtest.HERE, "edgesim-ctl"), "--control", sim.control,
                        "canary", "--seed", "5", "--peak", "on"], capture_output=True, text=True, timeout=30)
    out = json.loads(p.stdout or "{}")
    tap.ok(p.returncode == 0 and out.get("seed") == 5 and out.get("peak") is True
           and len(out.get("policies", [])) == 20 and out.get("cookie") == "edgesim-cd-session",
           "edgesim-ctl canary seeds, sets peak and shows the policies", p.stderr or out.get("seed"))


def sim_domain(cf, dist_id):
    return cf.get_distribution(Id=dist_id)["Distribution"]["DomainName"]


if __name__ == "__main__":
    simtest.run(main)
