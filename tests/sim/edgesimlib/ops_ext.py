"""Stack operations moto lacks: drift detection and the recovery of a stack
stuck in UPDATE_ROLLBACK_FAILED.

Drift: DetectStackDrift compares each resource's template properties (as
resolved when the stack was made) with what the service holds now, for the
types checked here (Lambda functions and CloudFront distributions; others
are NOT_CHECKED, as CloudFormation says of types it cannot check). A
property changed through the API outside the stack (lambda
UpdateFunctionConfiguration, cloudfront UpdateDistribution) shows as
MODIFIED with expected and actual values. The detection stays
DETECTION_IN_PROGRESS for one stack_step, so clients must poll.

Recovery: the control endpoint's POST /stacks/rollback-failed puts a stack
in UPDATE_ROLLBACK_FAILED with a failing resource and its event;
ContinueUpdateRollback then completes the rollback when that resource is in
ResourcesToSkip (its event says it was skipped) or has been marked fixed,
and fails again, as CloudFormation does, otherwise.
"""

import json

from moto.cloudformation import models as cm
from moto.cloudformation import parsing
from moto.cloudformation import responses as cr
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random

from . import cfn_ext
from .state import SIM

# Stacks forced into UPDATE_ROLLBACK_FAILED: stack id -> {"resource", "type", "reason", "fixed"}.
STUCK = {}
# Drift detections: detection id -> dict.
DETECTIONS = {}

LAMBDA_PROPS = {
    "MemorySize": "memory_size",
    "Timeout": "timeout",
    "Description": "description",
    "Handler": "handler",
    "Runtime": "run_time",
}


def _stack(backend, name):
    for s in list(backend.stacks.values()):
        if name in (s.name, s.stack_id) and s.status != "DELETE_COMPLETE":
            return s
    raise ValidationError(name, message=f"Stack with id {name} does not exist")


def _resolve(stack, value):
    try:
        return parsing.clean_json(value, stack.resource_map)
    except Exception:  # noqa: BLE001 - an unresolvable value is compared as written
        return value


def _lambda_actual(account, region, physical):
    from moto.awslambda.models import lambda_backends

    fn = lambda_backends[account][region].get_function(physical)
    return {k: getattr(fn, attr, None) for k, attr in LAMBDA_PROPS.items()}


def _distribution_actual(account, physical):
    from moto.cloudfront.models import cloudfront_backends

    d = cloudfront_backends[account]["global"].distributions.get(physical)
    if d is None:
        return None
    cfg = d.distribution_config
    # moto keeps the configuration as its XML keys.
    return {"DistributionConfig.Comment": cfg.__dict__.get("Comment"),
            "DistributionConfig.Enabled": cfg.__dict__.get("Enabled")}


def _norm(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return str(v)


def _check(stack, account, region, lid, res):
    rtype = res.get("Type", "")
    props = res.get("Properties") or {}
    physical = cfn_ext._phys(stack.resource_map._parsed_resources.get(lid))
    out = {"StackId": stack.stack_id, "LogicalResourceId": lid, "PhysicalResourceId": physical,
           "ResourceType": rtype, "PropertyDifferences": []}
    expected, actual = {}, None
    if rtype == "AWS::Lambda::Function":
        expected = {k: _resolve(stack, props[k]) for k in LAMBDA_PROPS if k in props}
        try:
            actual = _lambda_actual(account, region, physical)
        except Exception:  # noqa: BLE001 - the function is gone
            actual = None
    elif rtype == "AWS::CloudFront::Distribution":
        cfg = props.get("DistributionConfig") or {}
        expected = {f"DistributionConfig.{k}": _resolve(stack, cfg[k]) for k in ("Comment", "Enabled") if k in cfg}
        actual = _distribution_actual(account, physical)
    else:
        out["StackResourceDriftStatus"] = "NOT_CHECKED"
        return out
    out["ExpectedProperties"] = json.dumps(expected, default=str)
    if actual is None:
        out["StackResourceDriftStatus"] = "DELETED"
        return out
    actual = {k: actual.get(k) for k in expected}
    out["ActualProperties"] = json.dumps(actual, default=str)
    for k, want in expected.items():
        have = actual.get(k)
        if _norm(want) != _norm(have):
            out["PropertyDifferences"].append({
                "PropertyPath": "/" + k.replace(".", "/"),
                "ExpectedValue": _norm(want), "ActualValue": _norm(have),
                "DifferenceType": "REMOVE" if have is None else "NOT_EQUAL"})
    out["StackResourceDriftStatus"] = "MODIFIED" if out["PropertyDifferences"] else "IN_SYNC"
    return out


def detect_stack_drift(self):
    name = self._get_param("StackName")
    stack = _stack(self.cloudformation_backend, name)
    if cfn_ext.is_busy(stack):
        raise ValidationError(name, message=f"Stack {name} is in {stack.status} state; "
                                            "drift detection is not allowed while an operation runs")
    with SIM.lock:
        tpl = stack.template_dict.get("Resources") or {}
        drifts = [_check(stack, self.current_account, self.region, lid, res) for lid, res in tpl.items()]
    for d in drifts:
        d["Timestamp"] = cm.utcnow()
    modified = sum(1 for d in drifts if d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED"))
    det_id = str(mock_random.uuid4())
    DETECTIONS[det_id] = {"stack_id": stack.stack_id, "drifts": drifts, "modified": modified,
                          "ready_at": SIM.now() + max(SIM.p("stack_step"), 0)}
    stack._es_drift = det_id
    # DescribeStacks reports the last detection's result, as CloudFormation does.
    stack.drift_information = {"StackDriftStatus": "DRIFTED" if modified else "IN_SYNC",
                               "LastCheckTimestamp": cm.utcnow()}
    return ActionResult({"StackDriftDetectionId": det_id})


def describe_stack_drift_detection_status(self):
    det_id = self._get_param("StackDriftDetectionId")
    d = DETECTIONS.get(det_id)
    if d is None:
        raise ValidationError(det_id, message=f"Drift detection {det_id} does not exist")
    # A detection held by POST /stacks/hold stays in progress too.
    done = SIM.now() >= d["ready_at"] and SIM.stack_gate.is_set()
    out = {"StackId": d["stack_id"], "StackDriftDetectionId": det_id, "Timestamp": cm.utcnow(),
           "DetectionStatus": "DETECTION_COMPLETE" if done else "DETECTION_IN_PROGRESS"}
    if done:
        out["StackDriftStatus"] = "DRIFTED" if d["modified"] else "IN_SYNC"
        out["DriftedStackResourceCount"] = d["modified"]
    return ActionResult(out)


def describe_stack_resource_drifts(self):
    name = self._get_param("StackName")
    stack = _stack(self.cloudformation_backend, name)
    det_id = getattr(stack, "_es_drift", None)
    drifts = DETECTIONS[det_id]["drifts"] if det_id else []
    filters = self._get_param("StackResourceDriftStatusFilters") or []
    if filters:
        drifts = [d for d in drifts if d["StackResourceDriftStatus"] in filters]
    size = int(self._get_param("MaxResults") or 100)
    start = int(self._get_param("NextToken") or 0)
    out = {"StackResourceDrifts": drifts[start:start + size]}
    if start + size < len(drifts):
        out["NextToken"] = str(start + size)
    return ActionResult(out)


def _rollback_failed_event(stack, stuck):
    cfn_ext._event(stack, stuck["resource"], stuck["type"], "UPDATE_FAILED", stuck["reason"],
                   stuck.get("physical", ""))
    cfn_ext._stack_event(stack, "UPDATE_ROLLBACK_FAILED",
                         "The following resource(s) failed to update: [%s]. " % stuck["resource"])


def force_rollback_failed(body):
    """Control: put a stack in UPDATE_ROLLBACK_FAILED, its failing resource's
    event the newest *_FAILED one."""
    name = body["stack"]
    for backend in _backends():
        try:
            stack = _stack(backend, name)
        except ValidationError:
            continue
        tpl = stack.template_dict.get("Resources") or {}
        lid = body.get("resource") or next(iter(tpl))
        if lid not in tpl:
            raise KeyError(f"stack {name} has no resource {lid}")
        rtype = tpl[lid].get("Type", "")
        inst = stack.resource_map._parsed_resources.get(lid)
        stuck = {"resource": lid, "type": rtype, "physical": cfn_ext._phys(inst),
                 "reason": body.get("reason") or (
                     f"Resource handler returned message: \"{lid} could not be restored to its "
                     "previous state\" (HandlerErrorCode: NotStabilized)"),
                 "fixed": bool(body.get("fixed", False))}
        with SIM.lock:
            cfn_ext._stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
            cfn_ext._event(stack, lid, rtype, "UPDATE_FAILED", "Update failed on request of the simulator",
                           stuck["physical"])
            cfn_ext._stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS",
                                 f"The following resource(s) failed to update: [{lid}]. ")
            _rollback_failed_event(stack, stuck)
        STUCK[stack.stack_id] = stuck
        return {"stack": stack.name, "status": stack.status, "resource": lid}
    raise KeyError(f"no stack {name}")


def _backends():
    for regions in cm.cloudformation_backends.values():
        for backend in regions.values():
            yield backend


def continue_update_rollback(self):
    name = self._get_param("StackName")
    skip = self._get_param("ResourcesToSkip") or []
    stack = _stack(self.cloudformation_backend, name)
    if stack.status != "UPDATE_ROLLBACK_FAILED":
        raise ValidationError(name, message=f"Stack:{stack.stack_id} is in {stack.status} state and "
                                            "can not continue the update rollback: only a stack in "
                                            "UPDATE_ROLLBACK_FAILED can.")
    stuck = STUCK.get(stack.stack_id, {})
    tpl = stack.template_dict.get("Resources") or {}
    for lid in skip:
        if lid not in tpl:
            raise ValidationError(name, message=f"Resource {lid} is not in the stack {stack.name}")
    with SIM.lock:
        cfn_ext._stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated")

    def op():
        cfn_ext._pause()
        with SIM.lock:
            lid = stuck.get("resource")
            if lid and lid in skip:
                cfn_ext._event(stack, lid, stuck["type"], "UPDATE_COMPLETE",
                               "Resource skipped during the update rollback (ResourcesToSkip)",
                               stuck.get("physical", ""))
            elif lid and not stuck.get("fixed"):
                _rollback_failed_event(stack, stuck)
                return
            elif lid:
                cfn_ext._event(stack, lid, stuck["type"], "UPDATE_COMPLETE", None, stuck.get("physical", ""))
            cfn_ext._stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        cfn_ext._pause()
        with SIM.lock:
            cfn_ext._stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
            STUCK.pop(stack.stack_id, None)

    cfn_ext._run(op, stack)
    return ActionResult({})


# Capabilities, checked as CloudFormation does once a test asks for it
# (POST /stacks/require-capabilities): IAM resources need CAPABILITY_IAM
# (or _NAMED_IAM), a transform CAPABILITY_AUTO_EXPAND.
REQUIRE_CAPABILITIES = {"on": False}


class InsufficientCapabilities(CloudFormationError):
    code = "InsufficientCapabilitiesException"


def require_capabilities(body):
    REQUIRE_CAPABILITIES["on"] = bool(body.get("on", True))
    return dict(REQUIRE_CAPABILITIES)


def _needed(body):
    tpl = cfn_ext.parse_template(body) or {}
    need = []
    if any(str(r.get("Type", "")).startswith("AWS::IAM::") or r.get("Type") == "AWS::Serverless::Function"
           for r in (tpl.get("Resources") or {}).values() if isinstance(r, dict)):
        need.append("CAPABILITY_IAM")
    if tpl.get("Transform"):
        need.append("CAPABILITY_AUTO_EXPAND")
    return need


_orig_create_change_set = cr.CloudFormationResponse.create_change_set


def create_change_set(self):
    if REQUIRE_CAPABILITIES["on"]:
        body = self._get_param("TemplateBody")
        url = self._get_param("TemplateURL")
        if not body and url:
            body = self._get_stack_from_s3_url(url)
        have = set(self._get_param("Capabilities") or [])
        if "CAPABILITY_NAMED_IAM" in have:
            have.add("CAPABILITY_IAM")
        missing = [c for c in _needed(body or "{}") if c not in have]
        if missing:
            raise InsufficientCapabilities(f"Requires capabilities : [{', '.join(missing)}]")
    return _orig_create_change_set(self)


cr.CloudFormationResponse.create_change_set = create_change_set
cr.CloudFormationResponse.detect_stack_drift = detect_stack_drift
cr.CloudFormationResponse.describe_stack_drift_detection_status = describe_stack_drift_detection_status
cr.CloudFormationResponse.describe_stack_resource_drifts = describe_stack_resource_drifts
cr.CloudFormationResponse.continue_update_rollback = continue_update_rollback
