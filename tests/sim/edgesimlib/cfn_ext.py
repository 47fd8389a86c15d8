"""CloudFormation over time, on top of moto's CloudFormation backend.

moto runs a stack operation to the end inside the API call and ignores
transforms. Here: templates with the SAM transform are expanded with
samtranslator; stack operations run in a worker thread one resource at a
time, pass through *_IN_PROGRESS with per-resource events, and roll back
with the resource's real error as reason when a resource fails. Resources
themselves are still made by moto's models (and ours in resources.py).
"""

import json
import re
import threading
import traceback

import boto3
import yaml
from moto.cloudformation import models as cm
from moto.cloudformation import parsing
from moto.cloudformation import responses as cr
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.utils import yaml_tag_constructor
from moto.core.exceptions import ServiceException
from moto.moto_api._internal import mock_random

from . import cloudfront_ext, nested
from .state import SIM

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# ------------------------------------------------------------------ templates


def parse_template(body):
    yaml.add_multi_constructor("", yaml_tag_constructor)
    if isinstance(body, dict):
        return body
    try:
        return json.loads(body)
    except ValueError:
        return yaml.load(body, Loader=yaml.Loader)


def _transforms(tpl):
    t = tpl.get("Transform") if isinstance(tpl, dict) else None
    if t is None:
        return []
    return t if isinstance(t, list) else [t]


def sam_transform(body, parameters, stack_name, account_id, region):
    """Expand the SAM transform; returns the template body moto should see."""
    tpl = parse_template(body)
    transforms = _transforms(tpl)
    if not transforms:
        return body
    others = [t for t in transforms if t != SAM_TRANSFORM]
    if others:
        raise ValidationError(message=f"Template format error: Unsupported transform(s): {others}")
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.translator import Translator

    ArnGenerator.BOTO_SESSION_REGION_NAME = region
    values = dict(parameters or {})
    values.update(
        {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
    )
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        out = translator.translate(tpl, parameter_values=values, get_managed_policy_map=_managed_policies)
    except InvalidDocumentException as e:
        msgs = "; ".join(str(c) for c in e.causes) or str(e)
        raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {msgs}")
    out.pop("Transform", None)
    return json.dumps(out, indent=1, sort_keys=True)


def _managed_policies():
    from moto.iam.models import iam_backends

    from .state import ACCOUNT_ID

    policies = {}
    try:
        for p in iam_backends[ACCOUNT_ID]["aws"].managed_policies.values():
            policies[p.name] = p.arn
    except Exception:  # noqa: BLE001 - SAM only needs this for policy names
        pass
    return policies


def check_resource_types(body):
    tpl = parse_template(body)
    unknown = []
    for lid, res in (tpl.get("Resources") or {}).items():
        rtype = res.get("Type", "")
        if rtype.startswith("Custom::") or rtype in parsing.NULL_MODELS:
            continue
        if rtype not in parsing.get_model_map():
            unknown.append(rtype)
    if unknown:
        raise ValidationError(
            message="Template format error: Unrecognized resource types: [" + ", ".join(sorted(set(unknown))) + "]"
        )


def _params_with_defaults(body, parameters):
    tpl = parse_template(body)
    values = {}
    for k, v in (tpl.get("Parameters") or {}).items():
        if isinstance(v, dict) and "Default" in v:
            values[k] = v["Default"]
    values.update(parameters or {})
    return values


def prepare(body, parameters, stack_name, account_id, region):
    body = sam_transform(body, _params_with_defaults(body, parameters), stack_name, account_id, region)
    check_resource_types(body)
    return body


# ------------------------------------------------------------------ ordering


def _refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                if isinstance(v, list) and v:
                    out.add(v[0])
                elif isinstance(v, str):
                    out.add(v.split(".")[0])
            elif k == "Fn::Sub":
                s = v[0] if isinstance(v, list) else v
                if isinstance(s, str):

                    for m in re.findall(r"\$\{([^!}][^}]*)\}", s):
                        out.add(m.split(".")[0])
                if isinstance(v, list) and len(v) > 1:
                    _refs(v[1], out)
            else:
                _refs(v, out)
    elif isinstance(node, list):
        for x in node:
            _refs(x, out)


def dependency_order(resources):
    deps = {}
    for lid, res in resources.items():
        found = set()
        _refs(res.get("Properties", {}), found)
        d = res.get("DependsOn") or []
        found.update([d] if isinstance(d, str) else d)
        deps[lid] = {x for x in found if x in resources and x != lid}
    order, done = [], set()
    pending = list(resources)
    while pending:
        progressed = False
        for lid in list(pending):
            if deps[lid] <= done:
                order.append(lid)
                done.add(lid)
                pending.remove(lid)
                progressed = True
        if not progressed:
            raise ValidationError(message="Circular dependency between resources: " + str(sorted(pending)))
    return order


# ------------------------------------------------------------------ events

SERVICE_NAMES = {
    "CloudFront": "CloudFront",
    "Lambda": "Lambda",
    "IAM": "Iam",
    "S3": "S3",
}


def failure_reason(rtype, exc):
    token = str(mock_random.uuid4())
    rid = str(mock_random.uuid4())
    service = rtype.split("::")[1] if rtype.count("::") >= 2 else "CloudFormation"
    if isinstance(exc, ServiceException):
        msg = f"{exc.message} (Service: {service}, Status Code: 400, Request ID: {rid})"
        code = "InvalidRequest"
        if exc.code.startswith("NoSuch") or "NotFound" in exc.code:
            code = "NotFound"
        return f'Resource handler returned message: "{msg}" (RequestToken: {token}, HandlerErrorCode: {code})'
    if isinstance(exc, ValueError) and len(exc.args) == 2:
        code, msg = exc.args
        return (
            f'Resource handler returned message: "{msg} (Service: {service}, Status Code: 400, '
            f'Request ID: {rid})" (RequestToken: {token}, HandlerErrorCode: InvalidRequest)'
        )
    if isinstance(exc, KeyError):
        return f"Property validation failure: [Required property {exc.args[0]!r} is missing or invalid]"
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f'Resource handler returned message: "{text}" (RequestToken: {token}, HandlerErrorCode: GeneralServiceException)'


def _event(stack, lid, rtype, status, reason=None, physical=""):
    ev = cm.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=lid,
        physical_resource_id=physical or "",
        resource_type=rtype,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(ev)
    if lid != stack.name:
        stack._es_res_status[lid] = status


def _stack_event(stack, status, reason=None):
    stack.status = status
    ev = cm.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=stack.name,
        physical_resource_id=stack.stack_id,
        resource_type="AWS::CloudFormation::Stack",
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(ev)


def _phys(inst):
    return getattr(inst, "physical_resource_id", "") if inst is not None and not isinstance(inst, str) else ""


# ------------------------------------------------------------------ engine

BUSY = ("_IN_PROGRESS",)


def is_busy(stack):
    return stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS"


class StepFailed(Exception):
    def __init__(self, lid, reason):
        super().__init__(reason)
        self.lid = lid
        self.reason = reason


def _run(fn, stack):
    """Run a stack operation: inline when stack_step is 0, else in a thread."""
    if SIM.p("stack_step") <= 0:
        fn()
        return

    def body():
        try:
            fn()
        except Exception:
            traceback.print_exc()

    t = threading.Thread(target=body, name=f"stack-{stack.name}", daemon=True)
    t.start()


def _pause():
    SIM.sleep(SIM.p("stack_step"))
    # A held operation waits here, in its worker thread (stack_step > 0);
    # an inline one (stack_step 0) runs in a request thread and never holds.
    if SIM.p("stack_step") > 0:
        SIM.stack_gate.wait()


def _create_one(stack, rm, lid, verb="CREATE"):
    res = rm._resource_json_map[lid]
    rtype = res["Type"]
    cond = res.get("Condition")
    if cond and not rm.lazy_condition_map[cond]:
        return False
    with SIM.lock:
        _event(stack, lid, rtype, f"{verb}_IN_PROGRESS")
    _pause()
    with SIM.lock:
        try:
            inst = rm[lid]
        except Exception as e:  # noqa: BLE001 - any resource error fails the step
            rm._parsed_resources.pop(lid, None)
            reason = failure_reason(rtype, e)
            _event(stack, lid, rtype, f"{verb}_FAILED", reason)
            raise StepFailed(lid, reason)
        _event(stack, lid, rtype, f"{verb}_IN_PROGRESS", "Resource creation Initiated", _phys(inst))
    if rtype == "AWS::CloudFront::Distribution" and SIM.cfn_wait_deployed:
        _wait_deployed(inst)
    if rtype == nested.STACK:
        _wait_nested(stack, lid, rtype, inst, "CREATE", verb)
    _pause()
    with SIM.lock:
        _event(stack, lid, rtype, f"{verb}_COMPLETE", None, _phys(inst))
    return True


def _wait_nested(stack, lid, rtype, child, op, verb):
    """A nested stack's step ends when the child's operation does."""
    reason = nested.wait(child, op)
    if reason:
        with SIM.lock:
            _event(stack, lid, rtype, f"{verb}_FAILED", reason, _phys(child))
        raise StepFailed(lid, reason)


def _wait_deployed(inst):
    import time

    while True:
        with SIM.lock:
            if inst.dist.status == "Deployed":
                return
        time.sleep(0.1)


def _delete_one(stack, rm, lid, res_json, status_prefix="DELETE"):
    rtype = res_json["Type"]
    inst = rm._parsed_resources.get(lid)
    if inst is None or isinstance(inst, str):
        return
    if res_json.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate") and status_prefix == "DELETE":
        with SIM.lock:
            _event(stack, lid, rtype, "DELETE_SKIPPED", None, _phys(inst))
            rm._parsed_resources.pop(lid, None)
        return
    with SIM.lock:
        _event(stack, lid, rtype, "DELETE_IN_PROGRESS", None, _phys(inst))
    _pause()
    with SIM.lock:
        try:
            rm._delete_resource(inst, res_json)
        except Exception as e:  # noqa: BLE001
            reason = failure_reason(rtype, e)
            _event(stack, lid, rtype, "DELETE_FAILED", reason, _phys(inst))
            raise StepFailed(lid, reason)
    if rtype == nested.STACK:
        _wait_nested(stack, lid, rtype, inst, "DELETE", "DELETE")
    with SIM.lock:
        rm._parsed_resources.pop(lid, None)
        _event(stack, lid, rtype, "DELETE_COMPLETE", None, _phys(inst))


def _finish_outputs(stack):
    stack.output_map = stack._create_output_map()
    try:
        stack._es_outputs = _orig_outputs.fget(stack)
    except Exception:  # noqa: BLE001
        stack._es_outputs = None


def _op_create(stack, disable_rollback=False):
    rm = stack.resource_map
    created = []
    try:
        for lid in dependency_order(rm._resource_json_map):
            if _create_one(stack, rm, lid):
                created.append(lid)
    except StepFailed as f:
        with SIM.lock:
            # resources that were waiting on the failed one are cancelled
            if disable_rollback:
                _stack_event(stack, "CREATE_FAILED", f"The following resource(s) failed to create: [{f.lid}]. ")
                return
            _stack_event(
                stack,
                "ROLLBACK_IN_PROGRESS",
                f"The following resource(s) failed to create: [{f.lid}]. Rollback requested by user.",
            )
        for lid in reversed(created):
            try:
                _delete_one(stack, rm, lid, rm._resource_json_map[lid], status_prefix="ROLLBACK")
            except StepFailed:
                with SIM.lock:
                    _stack_event(stack, "ROLLBACK_FAILED", "The following resource(s) failed to delete: [" + lid + "]. ")
                return
        with SIM.lock:
            _event(stack, f.lid, rm._resource_json_map[f.lid]["Type"], "DELETE_COMPLETE")
            stack._es_outputs = None
            _stack_event(stack, "ROLLBACK_COMPLETE")
        return
    with SIM.lock:
        _finish_outputs(stack)
        _stack_event(stack, "CREATE_COMPLETE")


def _set_template_context(rm, tpl, params):
    rm._template = tpl
    rm.input_parameters = params
    rm.resolved_parameters = {}
    rm.load_mapping()
    rm.load_parameters()
    rm.load_conditions()
    rm._resource_json_map = tpl["Resources"]


def _op_update(stack, new_body, params, tags=None, disable_rollback=False):
    rm = stack.resource_map
    new_tpl = parse_template(new_body)
    with SIM.lock:
        old_tpl = rm._template
        old_params = dict(rm.input_parameters or {})
        old_body = stack.template
        old_json = dict(rm._resource_json_map)
        diff = rm.build_resource_diff(new_tpl, params)
        _set_template_context(rm, new_tpl, params)
    added, modified = [], []
    phase_lid = None
    # Nested stacks whose outputs this update changed: what reads them
    # (Fn::GetAtt Child.Outputs.X) is updated too, as CloudFormation does.
    changed_nested = set()
    try:
        for lid in dependency_order(rm._resource_json_map):
            phase_lid = lid
            res_json = rm._resource_json_map[lid]
            if lid in diff["Add"]:
                if _create_one(stack, rm, lid):
                    added.append(lid)
            elif lid in diff["Modify"] or _referenced(res_json.get("Properties")) & changed_nested:
                before = nested.outputs(rm._parsed_resources.get(lid))
                _update_one(stack, rm, lid, res_json)
                modified.append(lid)
                if res_json.get("Type") == nested.STACK and \
                        nested.outputs(rm._parsed_resources.get(lid)) != before:
                    changed_nested.add(lid)
    except StepFailed as f:
        _rollback_update(stack, rm, f, old_tpl, old_params, old_json, added, modified, disable_rollback)
        return
    with SIM.lock:
        stack.template = new_body
        stack._parse_template()
        if params:
            stack.parameters = params
        if tags is not None:
            stack.tags = tags
        _stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    for lid in reversed(dependency_order(old_json)):
        if lid in diff["Remove"]:
            try:
                _delete_one(stack, rm, lid, old_json[lid])
            except StepFailed:
                pass  # AWS completes the update; the resource is left behind
    with SIM.lock:
        _finish_outputs(stack)
        _stack_event(stack, "UPDATE_COMPLETE")
    del phase_lid, old_body


def _update_one(stack, rm, lid, res_json):
    rtype = res_json["Type"]
    with SIM.lock:
        inst = rm._parsed_resources.get(lid)
        _event(stack, lid, rtype, "UPDATE_IN_PROGRESS", None, _phys(inst))
    _pause()
    with SIM.lock:
        try:
            new = parsing.parse_and_update_resource(lid, res_json, rm, rm._account_id, rm._region_name)
        except Exception as e:  # noqa: BLE001
            reason = failure_reason(rtype, e)
            _event(stack, lid, rtype, "UPDATE_FAILED", reason, _phys(inst))
            raise StepFailed(lid, reason)
        if new is not None:
            rm._parsed_resources[lid] = new
            inst = new
    if rtype == "AWS::CloudFront::Distribution" and SIM.cfn_wait_deployed:
        _wait_deployed(inst)
    if rtype == nested.STACK:
        _wait_nested(stack, lid, rtype, inst, "UPDATE", "UPDATE")
    _pause()
    with SIM.lock:
        _event(stack, lid, rtype, "UPDATE_COMPLETE", None, _phys(inst))


def _rollback_update(stack, rm, f, old_tpl, old_params, old_json, added, modified, disable_rollback):
    with SIM.lock:
        if disable_rollback:
            _stack_event(stack, "UPDATE_FAILED", f"The following resource(s) failed to update: [{f.lid}]. ")
            return
        _stack_event(
            stack,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            f"The following resource(s) failed to update: [{f.lid}]. ",
        )
        new_json = dict(rm._resource_json_map)
        _set_template_context(rm, old_tpl, old_params)
    try:
        for lid in reversed(modified):
            _update_one(stack, rm, lid, old_json[lid])
    except StepFailed:
        with SIM.lock:
            _stack_event(stack, "UPDATE_ROLLBACK_FAILED", "The following resource(s) failed to update: [" + f.lid + "]. ")
        return
    with SIM.lock:
        _stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    for lid in reversed(added):
        try:
            _delete_one(stack, rm, lid, new_json[lid], status_prefix="ROLLBACK")
        except StepFailed:
            pass
    with SIM.lock:
        _finish_outputs(stack)
        _stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")


def _op_delete(backend, stack):
    rm = stack.resource_map
    json_map = dict(rm._resource_json_map)
    try:
        for lid in reversed(dependency_order(json_map)):
            _delete_one(stack, rm, lid, json_map[lid])
    except StepFailed as f:
        with SIM.lock:
            _stack_event(stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{f.lid}]. ")
        return
    with SIM.lock:
        _stack_event(stack, "DELETE_COMPLETE")
        stack._es_outputs = None
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack
        for export in list(backend.exports.values()):
            if export.exporting_stack_id == stack.stack_id:
                backend.exports.pop(export.name, None)


# ------------------------------------------------------------------ replacement

# Properties whose change replaces the resource ("Update requires:
# Replacement" in the CloudFormation resource reference). Every other
# property of these types updates in place; AWS::CloudFront::Distribution has
# none (DistributionConfig and Tags update without interruption).
REPLACING = {
    "AWS::Lambda::Function": {"FunctionName", "PackageType"},
    "AWS::Lambda::Version": {"FunctionName", "CodeSha256", "Description"},
    "AWS::Lambda::Alias": {"FunctionName", "Name"},
    "AWS::Lambda::Permission": {"Action", "FunctionName", "Principal", "SourceAccount", "SourceArn",
                                "EventSourceToken", "FunctionUrlAuthType"},
    "AWS::IAM::Role": {"RoleName", "Path"},
    "AWS::S3::Bucket": {"BucketName"},
    "AWS::CloudFront::Distribution": set(),
}


def _referenced(value, by_ref=None):
    """Names a template value refers to. by_ref collects those named by Ref
    or ${X} (the physical id, which only a replacement changes); the result
    also has those named by Fn::GetAtt or ${X.Attr} (any update may change
    an attribute)."""
    out = set()
    by_ref = set() if by_ref is None else by_ref
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
                by_ref.add(v)
            elif k == "Fn::GetAtt":
                out.add(v[0] if isinstance(v, list) and v else str(v).split(".")[0])
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) and v else v
                if isinstance(text, str):
                    for m in re.findall(r"\$\{([^}!]+)\}", text):
                        out.add(m.split(".")[0])
                        if "." not in m:
                            by_ref.add(m)
                out |= _referenced(v[1] if isinstance(v, list) and len(v) > 1 else None, by_ref)
            else:
                out |= _referenced(v, by_ref)
    elif isinstance(value, list):
        for v in value:
            out |= _referenced(v, by_ref)
    return out


def _depends(value, replaced, modified):
    """Whether value may change because of this change set: a Ref to a
    resource being replaced, or an attribute of one being modified."""
    by_ref = set()
    every = _referenced(value, by_ref)
    return bool(by_ref & replaced) or bool((every - by_ref) & modified)


def _replacement(rtype, old_props, new_props, changed_params, replaced, modified):
    """Replacement of a Modify as CloudFormation computes it: True when a
    property that requires replacement changes to a known value (static),
    Conditional when its value depends on a resource this change set
    replaces or updates (dynamic: known only while the update runs), else
    False. Returns (replacement, details)."""
    replacing = REPLACING.get(rtype, set())
    worst, details = "False", []
    for name in sorted(set(old_props) | set(new_props)):
        old, new = old_props.get(name), new_props.get(name)
        static = old != new or bool(_referenced(new) & changed_params)
        dynamic = _depends(new, replaced, modified)
        if not static and not dynamic:
            continue
        recreate = "Always" if name in replacing else "Never"
        details.append({
            "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreate},
            "Evaluation": "Static" if static and not dynamic else "Dynamic",
            "ChangeSource": "DirectModification" if static else "ResourceReference",
        })
        if recreate == "Always":
            if static and not dynamic:
                worst = "True"
            elif worst != "True":
                worst = "Conditional"
    return worst, details


def _set_replacement(backend, cs, template, parameters):
    """Fill Replacement, Scope and Details of cs's changes, adding the
    resources CloudFormation lists although their template is unchanged:
    those using a changed parameter, and those whose replacing property
    depends on a resource the change set replaces or updates (Modify,
    Replacement Conditional)."""
    try:
        new_res = cs.template_dict.get("Resources") or {}
    except AttributeError:
        return
    # The stack's template as written (moto resolves its resource map in place).
    yaml.add_multi_constructor("", yaml_tag_constructor)
    try:
        old_res = (yaml.load(cs.stack.template, Loader=yaml.Loader) or {}).get("Resources") or {}
    except yaml.YAMLError:
        old_res = (json.loads(cs.stack.template) or {}).get("Resources") or {}
    old_params = dict(cs.stack.stack_parameters or {})
    changed_params = {k for k, v in (parameters or {}).items() if old_params.get(k) != v}
    listed = {c.logical_resource_id for c in cs.changes}

    def props(res_map, name):
        res = res_map.get(name)
        return (res.get("Properties") or {}) if isinstance(res, dict) else {}

    def also_modify(name):
        cs.changes.append(cm.Change(action="Modify", logical_resource_id=name,
                                    resource_type=new_res[name].get("Type")))
        listed.add(name)

    for name in new_res:
        if name not in listed and name in old_res and _referenced(props(new_res, name)) & changed_params:
            also_modify(name)
    # Replacements spread along references: settle them in a few passes.
    for _ in range(len(new_res) + 1):
        replaced = {c.logical_resource_id for c in cs.changes
                    if c.action == "Remove" or getattr(c, "replacement", None) in ("True", "Conditional")}
        modified = {c.logical_resource_id for c in cs.changes if c.action in ("Modify", "Remove")}
        for ch in cs.changes:
            ch.scope, ch.details, ch.replacement = [], [], None
            if ch.action != "Modify":
                continue
            ch.replacement, ch.details = _replacement(
                ch.resource_type, props(old_res, ch.logical_resource_id),
                props(new_res, ch.logical_resource_id), changed_params,
                replaced - {ch.logical_resource_id}, modified - {ch.logical_resource_id})
            ch.scope = ["Properties"] if ch.details else []
        more = [name for name in new_res
                if name not in listed and name in old_res
                and any(_depends(props(new_res, name).get(p), replaced, modified)
                        for p in REPLACING.get(new_res[name].get("Type"), ()))]
        for name in more:
            also_modify(name)
        now = {c.logical_resource_id for c in cs.changes
               if c.action == "Remove" or getattr(c, "replacement", None) in ("True", "Conditional")}
        if not more and now == replaced:
            break


# ------------------------------------------------------------------ backend

CB = cm.CloudFormationBackend
_orig_create_change_set = CB.create_change_set


def _busy_error(stack, what="updated"):
    return ValidationError(
        stack.stack_id,
        message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be {what}.",
    )


def _create_stack(self, name, template, parameters, notification_arns=None, tags=None, role_arn=None,
                  enable_termination_protection=False, timeout_in_mins=None, stack_policy_body=None):
    for s in self.stacks.values():
        if s.name == name:
            raise cm.AlreadyExistsException(f"Stack [{name}] already exists")
    template = prepare(template, parameters, name, self.account_id, self.region_name)
    stack_id = cm.generate_stack_id(name, self.region_name, self.account_id)
    stack = cm.Stack(
        stack_id=stack_id, name=name, template=template, parameters=parameters,
        account_id=self.account_id, region_name=self.region_name,
        notification_arns=notification_arns, tags=tags, role_arn=role_arn,
        cross_stack_resources=self.exports,
        enable_termination_protection=enable_termination_protection,
        timeout_in_mins=timeout_in_mins, stack_policy_body=stack_policy_body,
    )
    self.stacks[stack_id] = stack
    _stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    _run(lambda: _op_create(stack), stack)
    return stack


def _create_change_set(self, stack_name, change_set_name, template, parameters, description, change_set_type,
                       notification_arns=None, tags=None, role_arn=None):
    # As CloudFormation: a stack's change set names are unique, so a retried
    # CreateChangeSet finds its own instead of making a second one.
    for other in self.change_sets.values():
        if other.change_set_name == change_set_name and stack_name in (other.stack_name, other.stack_id):
            raise cm.AlreadyExistsException(f"ChangeSet {change_set_name} already exists")
    if change_set_type == "UPDATE":
        stack = self.get_stack(stack_name)
        if is_busy(stack):
            raise _busy_error(stack)
    template = prepare(template, parameters, stack_name, self.account_id, self.region_name)
    if change_set_type == "UPDATE":
        # moto compares templates/parameters as given; fill defaults so an
        # unchanged redeploy gives the "didn't contain changes" change set.
        parameters = dict(parameters or {})
        for k, v in stack.stack_parameters.items():
            parameters.setdefault(k, v)
    cs_id, stack_id = _orig_create_change_set(
        self, stack_name, change_set_name, template, parameters, description, change_set_type,
        notification_arns, tags, role_arn,
    )
    cs = self.change_sets[cs_id]
    if change_set_type == "UPDATE":
        _set_replacement(self, cs, template, parameters)
    for ch in cs.changes:
        if change_set_type != "UPDATE":
            ch.replacement = None
        ch.physical_resource_id = None
        if ch.action != "Add":
            inst = cs.stack.resource_map._parsed_resources.get(ch.logical_resource_id)
            ch.physical_resource_id = _phys(inst) or None
    if change_set_type == "UPDATE" and not cs.changes and cs.status != "FAILED":
        cs.status = "FAILED"
        cs.execution_status = "UNAVAILABLE"
        cs.status_reason = (
            "The submitted information didn't contain changes. Submit different information to create a change set."
        )
    return cs_id, stack_id


def _execute_change_set(self, change_set_name, stack_name=None):
    cs = self.change_sets.get(change_set_name)
    if cs is None:
        for c in self.change_sets.values():
            if c.change_set_name == change_set_name and (not stack_name or c.stack_name == stack_name or c.stack_id == stack_name):
                cs = c
    if cs is None:
        raise ValidationError(stack_name, message=f"ChangeSet [{change_set_name}] does not exist")
    if cs.execution_status != "AVAILABLE":
        raise ValidationError(
            message=f"ChangeSet [{cs.change_set_id}] cannot be executed in its current execution status of [{cs.execution_status}]"
        )
    stack = self.stacks[cs.stack_id]
    if is_busy(stack):
        raise _busy_error(stack)
    cs.execution_status = "EXECUTE_IN_PROGRESS"
    # the other change sets of this stack are now obsolete
    for other in self.change_sets.values():
        if other is not cs and other.stack_id == cs.stack_id and other.execution_status == "AVAILABLE":
            other.execution_status = "OBSOLETE"

    if cs.change_set_type == "CREATE":
        stack.template = cs.template
        stack._parse_template()
        stack.parameters = cs.parameters
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack.description = stack.template_dict.get("Description")
        _stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")

        def op():
            _op_create(stack)
            with SIM.lock:
                cs.execution_status = "EXECUTE_COMPLETE" if stack.status == "CREATE_COMPLETE" else "EXECUTE_FAILED"
    else:
        params = self._resolve_update_parameters(
            instance=stack,
            incoming_params=[{"ParameterKey": k, "ParameterValue": v} for k, v in (cs.parameters or {}).items()],
        )
        _stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")

        def op():
            _op_update(stack, cs.template, params, tags=cs.tags or None)
            with SIM.lock:
                cs.execution_status = "EXECUTE_COMPLETE" if stack.status == "UPDATE_COMPLETE" else "EXECUTE_FAILED"

    _run(op, stack)


def _update_stack(self, name, template, role_arn, parameters, tags):
    stack = self.get_stack(name)
    if is_busy(stack):
        raise _busy_error(stack)
    if stack.status in ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED"):
        raise _busy_error(stack)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    template = prepare(template, resolved, stack.name, self.account_id, self.region_name)
    if stack.has_template(template) and stack.stack_parameters == _params_with_defaults(template, resolved):
        raise ValidationError(stack.name, message="No updates are to be performed.")
    if role_arn:
        stack.role_arn = role_arn
    _stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    _run(lambda: _op_update(stack, template, resolved, tags=tags), stack)
    return stack


def _delete_stack(self, name_or_stack_id):
    stack = None
    if name_or_stack_id in self.stacks:
        stack = self.stacks[name_or_stack_id]
    else:
        for s in self.stacks.values():
            if s.name == name_or_stack_id:
                stack = s
    if stack is None:
        return
    if stack.status == "DELETE_IN_PROGRESS":
        return
    if is_busy(stack):
        raise _busy_error(stack, "deleted")
    _stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    _run(lambda: _op_delete(self, stack), stack)


CB.create_stack = _create_stack
CB.create_change_set = _create_change_set
CB.execute_change_set = _execute_change_set
CB.update_stack = _update_stack
CB.delete_stack = _delete_stack

# --- what the read APIs show while an operation runs ---------------------
_orig_outputs = cm.Stack.outputs
_orig_stack_init = cm.Stack.__init__


def _stack_init(self, *a, **kw):
    _orig_stack_init(self, *a, **kw)
    self._es_res_status = {}
    self._es_outputs = None


def _outputs(self):
    return getattr(self, "_es_outputs", None)


def _stack_resources(self):
    rm = self.resource_map
    out = []
    for lid, v in list(rm._parsed_resources.items()):
        if lid in rm._resource_json_map and v is not None and not isinstance(v, (str, int, float, list, dict)):
            out.append(v)
    return out


cm.Stack.__init__ = _stack_init
cm.Stack.outputs = property(_outputs)
cm.Stack.stack_resources = property(_stack_resources)

_orig_dto_init = cr.StackResourceDTO.__init__


def _dto_init(self, stack, resource):
    _orig_dto_init(self, stack, resource)
    lid = getattr(resource, "logical_resource_id", None)
    st = getattr(stack, "_es_res_status", {}).get(lid)
    if st:
        self.resource_status = st
    self.timestamp = SIM.utcnow()


cr.StackResourceDTO.__init__ = _dto_init

_orig_get_template = CB.get_template


def _get_template(self, name_or_stack_id):
    return self.get_stack(name_or_stack_id).template


CB.get_template = _get_template


# TemplateURL on the simulator's own endpoint: CloudFormation reads S3 URLs
# path-style there (http://127.0.0.1:PORT/BUCKET/KEY, as `aws cloudformation
# deploy --s3-bucket` and edgeship's large templates write them), where moto
# would take "127" of the host for a bucket. Other URLs keep moto's rules.
_orig_stack_from_s3_url = cm.get_stack_from_s3_url


def _is_own_endpoint(parts):
    return parts.hostname in ("127.0.0.1", "localhost", "::1") or (
        parts.hostname or "").endswith(".localhost")


def _stack_from_s3_url(template_url, account_id, partition):
    from urllib.parse import unquote, urlparse

    from moto.s3.models import s3_backends

    parts = urlparse(template_url)
    if not _is_own_endpoint(parts):
        return _orig_stack_from_s3_url(template_url, account_id, partition)
    path = unquote(parts.path).lstrip("/")
    if "/" not in path:
        raise ValidationError(message=f"TemplateURL {template_url} names no object: "
                                      "write it as http://HOST:PORT/BUCKET/KEY")
    bucket, key = path.split("/", 1)
    obj = s3_backends[account_id][partition].get_object(bucket, key)
    return obj.value.decode("utf-8")


cm.get_stack_from_s3_url = _stack_from_s3_url
cr.get_stack_from_s3_url = _stack_from_s3_url
