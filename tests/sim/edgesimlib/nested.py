"""Nested stacks as CloudFormation runs them. moto makes the child stack of
an AWS::CloudFormation::Stack resource (also what the SAM transform makes of
AWS::Serverless::Application), but answers before the child is done, cannot
read its outputs and replaces it on every update. Here the parent's step
waits for the child and fails with its reason, Fn::GetAtt Child.Outputs.Name
reads the child's outputs, and an update updates the child in place."""

import time

from moto.cloudformation import models as cm
from moto.cloudformation.exceptions import ValidationError
from moto.utilities.utils import get_partition

from .state import SIM

STACK = "AWS::CloudFormation::Stack"


def _get_att(self, name):
    """Fn::GetAtt on a nested stack: Outputs.NAME is the child's output."""
    if not name.startswith("Outputs."):
        raise NotImplementedError(f"Fn::GetAtt {name} of a nested stack")
    key = name[len("Outputs."):]
    out = None
    if self.output_map is not None and key in (self.output_map.outputs or ()):
        out = self.output_map[key]
    if out is None:
        raise ValueError("ValidationError", f"Output '{key}' not found in stack {self.stack_id}")
    return out.value


def _update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    """Update the child with its new template and parameters; no change is
    no update (the child keeps running what it has)."""
    del cls, new_resource_name
    backend = cm.cloudformation_backends[account_id][region_name]
    props = cloudformation_json["Properties"]
    body = cm.get_stack_from_s3_url(props["TemplateURL"], account_id=account_id,
                                    partition=get_partition(region_name))
    params = [{"ParameterKey": k, "ParameterValue": str(v)}
              for k, v in (props.get("Parameters") or {}).items()]
    try:
        backend.update_stack(original_resource.name, body, None, params, None)
    except ValidationError as e:
        if "No updates are to be performed" not in str(e):
            raise
    return original_resource


def outputs(child):
    """A nested stack's outputs as {key: value}; {} for anything else."""
    if not isinstance(child, cm.Stack) or child.output_map is None:
        return {}
    with SIM.lock:
        out = {}
        for key in child.output_map.outputs or ():
            o = child.output_map[key]
            out[key] = o.value if o is not None else None
        return out


def _reason(child):
    """Why the child failed: its own status reason, as the parent shows it."""
    why = ""
    for ev in reversed(child.events):
        if ev.logical_resource_id == child.name and ev.resource_status_reason and \
                "failed" in ev.resource_status_reason:
            why = ev.resource_status_reason
            break
    return why


def wait(child, verb):
    """Wait (outside the lock) until the child stack's operation ends.
    Returns None when it succeeded, else the reason the parent's resource
    fails with."""
    while True:
        with SIM.lock:
            status = child.status
        if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
            break
        time.sleep(0.05)
    if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"):
        return None
    done = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted"}.get(verb, "updated")
    return f"Embedded stack {child.stack_id} was not successfully {done}: {_reason(child) or status}"


cm.Stack.get_cfn_attribute = _get_att
cm.Stack.update_from_cloudformation_json = classmethod(_update)
