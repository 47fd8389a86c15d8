"""Lambda@Edge replicas, which moto lacks: a function associated with a
distribution is replicated to the edges, and its replicas stay for a while
after the last association is gone from every distribution (CloudFront
removes them "typically within a few hours"). Until then Lambda refuses
DeleteFunction with InvalidParameterValueException ("... because it is a
replicated function"), and so CloudFormation's delete of the function ends
DELETE_FAILED with that text as the reason. DeleteStack takes
RetainResources on a stack in DELETE_FAILED and skips those resources.

How long the replicas stay is `replica_cleanup` seconds, counted from the
moment the change that removed the last association is Deployed (0, the
test profile's value, removes them at once); POST /replicas/release on the
control endpoint removes them now, so a test never waits on the clock.
"""

from moto.awslambda import models as lm
from moto.awslambda.exceptions import InvalidParameterValueException
from moto.cloudformation import responses as cr
from moto.cloudformation.exceptions import ValidationError
from moto.cloudfront import models as cfm
from moto.core.responses import ActionResult

from . import cfn_ext, cloudfront_ext
from .state import SIM

# (account, function name) -> {"version", "region", "free_at" (None while
# associated), "released"}
REPLICATED = {}


def _name_of(arn):
    """(account, region, name, version) of a function version ARN."""
    parts = (arn or "").split(":")
    if len(parts) < 7 or parts[5] != "function":
        return None
    return parts[4], parts[3], parts[6], parts[7] if len(parts) > 7 else ""


def _associated():
    out = {}
    for dist in cloudfront_ext.all_distributions():
        snap = cloudfront_ext.snapshot(dist)
        for b in [snap["default"], *snap["behaviours"]]:
            for arn in b["lambdas"].values():
                n = _name_of(arn)
                if n:
                    out[(n[0], n[2])] = (n[1], n[3])
    return out


def _recount(free_at):
    now = _associated()
    for key, (region, version) in now.items():
        REPLICATED[key] = {"version": version, "region": region, "free_at": None, "released": False}
    for key, r in REPLICATED.items():
        if key not in now and r["free_at"] is None:
            r["free_at"] = free_at


def replicated(account, name):
    r = REPLICATED.get((account, name))
    if r is None or r["released"]:
        return None
    if r["free_at"] is not None and SIM.now() >= r["free_at"] + SIM.p("replica_cleanup"):
        return None
    return r


# --- CloudFront: every change recounts the associations ------------------
_orig_record_change = cloudfront_ext.record_change


def _record_change(dist):
    _orig_record_change(dist)
    gens = cloudfront_ext.GENERATIONS.get(dist.distribution_id) or []
    _recount(gens[-1].deployed_at if gens else SIM.now())


cloudfront_ext.record_change = _record_change

_orig_delete_distribution = cfm.CloudFrontBackend.delete_distribution


def _delete_distribution(self, distribution_id, if_match):
    _orig_delete_distribution(self, distribution_id, if_match)
    _recount(SIM.now())


cfm.CloudFrontBackend.delete_distribution = _delete_distribution


# --- Lambda: DeleteFunction refused while replicas remain ----------------
_orig_delete_function = lm.LambdaBackend.delete_function


def _delete_function(self, function_name, qualifier=None):
    name = function_name
    if ":function:" in name:
        name = name.split(":function:")[1].split(":")[0]
    r = replicated(self.account_id, name)
    if r is not None:
        raise InvalidParameterValueException(
            f"Lambda was unable to delete arn:aws:lambda:{self.region_name}:{self.account_id}:"
            f"function:{name}:{r['version']} because it is a replicated function. Please see "
            "our documentation for Deleting Lambda@Edge Functions and Replicas.")
    _orig_delete_function(self, function_name, qualifier)
    if not qualifier:
        REPLICATED.pop((self.account_id, name), None)


lm.LambdaBackend.delete_function = _delete_function


# --- CloudFormation: the reason as the resource handler words it ---------
_orig_failure_reason = cfn_ext.failure_reason


def _failure_reason(rtype, exc):
    if isinstance(exc, InvalidParameterValueException):
        rid = cfn_ext.mock_random.uuid4()
        token = cfn_ext.mock_random.uuid4()
        return (f'Resource handler returned message: "{exc.message} (Service: Lambda, Status Code: '
                f'400, Request ID: {rid})" (RequestToken: {token}, HandlerErrorCode: InvalidRequest)')
    return _orig_failure_reason(rtype, exc)


cfn_ext.failure_reason = _failure_reason


# --- DeleteStack RetainResources ------------------------------------------
_orig_delete_one = cfn_ext._delete_one


def _delete_one(stack, rm, lid, res_json, status_prefix="DELETE"):
    inst = rm._parsed_resources.get(lid)
    if lid in getattr(stack, "_es_retain", ()) and inst is not None and not isinstance(inst, str):
        with SIM.lock:
            cfn_ext._event(stack, lid, res_json["Type"], "DELETE_SKIPPED", None, cfn_ext._phys(inst))
            rm._parsed_resources.pop(lid, None)
        return
    _orig_delete_one(stack, rm, lid, res_json, status_prefix)


cfn_ext._delete_one = _delete_one


def delete_stack(self):
    name = self._get_param("StackName")
    retain = self._get_param("RetainResources") or []
    backend = self.cloudformation_backend
    stack = next((s for s in list(backend.stacks.values())
                  if name in (s.name, s.stack_id) and s.status != "DELETE_COMPLETE"), None)
    if retain and stack is not None:
        if stack.status != "DELETE_FAILED":
            raise ValidationError(name, message=(
                f"Invalid operation on stack [{stack.stack_id}]: RetainResources can only be "
                f"specified when the stack is in the DELETE_FAILED state; it is {stack.status}"))
        tpl = stack.template_dict.get("Resources") or {}
        for lid in retain:
            if lid not in tpl:
                raise ValidationError(name, message=f"Resource {lid} is not in the stack {stack.name}")
        stack._es_retain = set(retain)
    backend.delete_stack(name)
    return ActionResult({})


cr.CloudFormationResponse.delete_stack = delete_stack


# --- control ----------------------------------------------------------------
def release(body):
    """Control: replicas of one function (or all) are gone now."""
    name = body.get("function")
    out = []
    for (account, fn), r in REPLICATED.items():
        if name in (None, fn):
            r["released"] = True
            out.append(fn)
    return {"released": out}


def listing():
    now = SIM.now()
    return {"functions": [
        {"function": fn, "account": account, "version": r["version"],
         "associated": r["free_at"] is None, "released": r["released"],
         "replicated": replicated(account, fn) is not None,
         "gone_in": None if r["free_at"] is None or r["released"]
         else max(0.0, round(r["free_at"] + SIM.p("replica_cleanup") - now, 3))}
        for (account, fn), r in REPLICATED.items()]}
