"""CloudFormation pieces a generated pipeline template needs (edgeship init
--pipeline) that moto 5.2.1 lacks: the AWS::CodePipeline::Pipeline type,
made through moto's CodePipeline backend (so GetPipeline shows what the stack
made), and AWS::Lambda::Function inline code (`ZipFile`) for Node.js kept as
CloudFormation keeps it, in `index.js` (moto writes every runtime's inline
code to index.py)."""

import base64
import io
import threading
import zipfile

from moto.awslambda import models as lm
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.codepipeline.models import codepipeline_backends
from moto.core.common_models import CloudFormationModel

# CloudFormation-only properties, not part of the pipeline's declaration.
_CFN_ONLY = {"Tags", "RestartExecutionOnUpdate", "DisableInboundStageTransitions"}


def _api(value, key=None):
    """CloudFormation's PascalCase into the API's camelCase; an action's
    Configuration keeps its keys and has every value as a string."""
    if key == "Configuration" and isinstance(value, dict):
        return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _api(v, k) for k, v in value.items() if k not in _CFN_ONLY}
    if isinstance(value, list):
        return [_api(v, key) for v in value]
    if key == "RunOrder":
        return int(value)
    return value


class CfnPipeline(CloudFormationModel):
    def __init__(self, account_id, region, name):
        self.account_id = account_id
        self.region = region
        self.name = name

    @staticmethod
    def cloudformation_type():
        return "AWS::CodePipeline::Pipeline"

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @property
    def physical_resource_id(self):
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Version"

    def get_cfn_attribute(self, attr):
        if attr == "Version":
            return str(codepipeline_backends[self.account_id][self.region].pipelines[self.name].pipeline["version"])
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _declaration(name, props):
        p = _api(props)
        p["name"] = name
        return p

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        name = props.get("Name") or resource_name
        tags = [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags", [])]
        codepipeline_backends[account_id][region_name].create_pipeline(cls._declaration(name, props), tags)
        return cls(account_id, region_name, name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json["Properties"]
        name = props.get("Name") or original_resource.name
        if name != original_resource.name:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        codepipeline_backends[account_id][region_name].update_pipeline(cls._declaration(name, props))
        return original_resource

    def delete(self, account_id, region):
        try:
            codepipeline_backends[self.account_id][self.region].delete_pipeline(self.name)
        except Exception:
            pass


# ---------------------------------------------------------------- inline Node.js code
_runtime = threading.local()
_plaintext_zip = lm.LambdaFunction._create_zipfile_from_plaintext_code
_create_function = lm.LambdaFunction.create_from_cloudformation_json.__func__
_update_function = lm.LambdaFunction.update_from_cloudformation_json.__func__


def _index_js_zip(code):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.js", code)
    return out.getvalue()


def _zip_plaintext(code):
    if getattr(_runtime, "name", "").startswith("nodejs"):
        return _index_js_zip(code)
    return _plaintext_zip(code)


def _create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    _runtime.name = str(cloudformation_json["Properties"].get("Runtime") or "")
    try:
        return _create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    finally:
        _runtime.name = ""


def _update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    props = cloudformation_json["Properties"]
    code = props.get("Code") or {}
    if isinstance(code.get("ZipFile"), str):
        # update_function_code takes the zip base64-encoded, as the API does.
        _runtime.name = str(props.get("Runtime") or "")
        zipped = base64.b64encode(_zip_plaintext(code["ZipFile"])).decode()
        _runtime.name = ""
        props = dict(props, Code={"ZipFile": zipped})
        cloudformation_json = dict(cloudformation_json, Properties=props)
    return _update_function(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)


lm.LambdaFunction._create_zipfile_from_plaintext_code = staticmethod(_zip_plaintext)
lm.LambdaFunction.create_from_cloudformation_json = classmethod(_create)
lm.LambdaFunction.update_from_cloudformation_json = classmethod(_update)
