"""CloudFormation resource types moto lacks: AWS::CloudFront::Distribution
and AWS::Lambda::Alias, plus Ref/GetAtt for AWS::Lambda::Version, and the
VersioningConfiguration of an AWS::S3::Bucket (moto's drops it). Each one
works through moto's own backend, so the service APIs see what a stack made.
"""

import copy

from moto.awslambda import models as lm
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.s3 import models as s3m

from . import cloudfront_ext


# ---------------------------------------------------------------- Lambda version
def _version_arn(self):
    return self._es_arn


def _version_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    props = cloudformation_json["Properties"]
    backend = lm.lambda_backends[account_id][region_name]
    fn = backend.publish_version(props["FunctionName"], props.get("Description", ""))
    v = lm.LambdaVersion({"Version": fn.version})
    v._es_arn = fn.function_arn
    v._es_function = fn.function_name
    return v


def _version_attr(self, name):
    if name == "Version":
        return str(self.version)
    if name == "FunctionArn":
        return self._es_arn.rsplit(":", 1)[0]
    raise UnformattedGetAttTemplateException()


def _version_delete(self, account_id, region):
    # A version is immutable; SAM marks it Retain. Deleting the stack
    # removes it with the function.
    try:
        lm.lambda_backends[account_id][region].delete_function(self._es_function, str(self.version))
    except Exception:
        pass


lm.LambdaVersion.physical_resource_id = property(_version_arn)
lm.LambdaVersion.create_from_cloudformation_json = classmethod(_version_create)
lm.LambdaVersion.get_cfn_attribute = _version_attr
lm.LambdaVersion.has_cfn_attr = classmethod(lambda cls, a: a in ("Version", "FunctionArn"))
lm.LambdaVersion.delete = _version_delete


# ---------------------------------------------------------------- S3 bucket versioning
_bucket_create = s3m.FakeBucket.create_from_cloudformation_json.__func__


def _bucket_create_versioned(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    status = ((cloudformation_json.get("Properties") or {}).get("VersioningConfiguration") or {}).get("Status")
    if status in ("Enabled", "Suspended"):
        bucket.versioning_status = status
    return bucket


s3m.FakeBucket.create_from_cloudformation_json = classmethod(_bucket_create_versioned)


# ---------------------------------------------------------------- Lambda alias
class CfnLambdaAlias(CloudFormationModel):
    def __init__(self, account_id, region, alias, function_name):
        self.account_id = account_id
        self.region = region
        self.alias = alias
        self.function_name = function_name

    @staticmethod
    def cloudformation_type():
        return "AWS::Lambda::Alias"

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @property
    def physical_resource_id(self):
        return self.alias.arn

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("AliasArn",)

    def get_cfn_attribute(self, attr):
        if attr == "AliasArn":
            return self.alias.arn
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _fn_name(value):
        return value.split(":function:")[-1].split(":")[0] if ":function:" in value else value

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        fn = cls._fn_name(p["FunctionName"])
        backend = lm.lambda_backends[account_id][region_name]
        alias = backend.create_alias(
            p["Name"], fn, str(p["FunctionVersion"]), p.get("Description", ""),
            p.get("RoutingConfig") or None,
        )
        return cls(account_id, region_name, alias, fn)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        p = cloudformation_json["Properties"]
        fn = cls._fn_name(p["FunctionName"])
        backend = lm.lambda_backends[account_id][region_name]
        if p["Name"] != original_resource.alias.name or fn != original_resource.function_name:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        alias = backend.update_alias(
            p["Name"], fn, str(p["FunctionVersion"]), p.get("Description", ""),
            p.get("RoutingConfig") or None,
        )
        original_resource.alias = alias
        return original_resource

    def delete(self, account_id, region):
        try:
            lm.lambda_backends[account_id][region].delete_alias(self.alias.name, self.function_name)
        except Exception:
            pass


# ---------------------------------------------------------------- CloudFront
# CloudFormation spells lists as lists; the CloudFront API as Quantity+Items.
_LISTS = {
    "Aliases", "Origins", "CacheBehaviors", "LambdaFunctionAssociations",
    "FunctionAssociations", "CustomErrorResponses", "OriginSSLProtocols",
    "OriginCustomHeaders", "Headers", "QueryStringCacheKeys", "WhitelistedNames",
    "TrustedSigners", "TrustedKeyGroups", "Locations", "CachedMethods",
}
_RENAME = {
    "OriginSSLProtocols": "OriginSslProtocols",
    "OriginCustomHeaders": "CustomHeaders",
    "IPV6Enabled": "IsIPV6Enabled",
    "AcmCertificateArn": "ACMCertificateArn",
    "IamCertificateId": "IAMCertificateId",
    "SslSupportMethod": "SSLSupportMethod",
    "Locations": "Items",
}


def cfn_to_api(value, key=None):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "AllowedMethods" and isinstance(v, list):
                out[k] = {"Quantity": len(v), "Items": v}
                continue
            if k == "CachedMethods" and isinstance(v, list):
                out[k] = {"Quantity": len(v), "Items": v}
                continue
            if k == "Locations" and isinstance(v, list):
                out["Quantity"] = len(v)
                out["Items"] = v
                continue
            nk = _RENAME.get(k, k)
            if k in _LISTS and isinstance(v, list):
                items = [cfn_to_api(x, k) for x in v]
                out[nk] = {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}
            else:
                out[nk] = cfn_to_api(v, k)
        # CachedMethods live inside AllowedMethods in the API
        if "CachedMethods" in out and "AllowedMethods" in out:
            out["AllowedMethods"]["CachedMethods"] = out.pop("CachedMethods")
        return out
    if isinstance(value, list):
        return [cfn_to_api(x, key) for x in value]
    return value


class CfnDistribution(CloudFormationModel):
    def __init__(self, account_id, dist):
        self.account_id = account_id
        self.dist = dist

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudFront::Distribution"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @property
    def physical_resource_id(self):
        return self.dist.distribution_id

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("DomainName", "Id")

    def get_cfn_attribute(self, attr):
        if attr == "DomainName":
            return self.dist.domain_name
        if attr == "Id":
            return self.dist.distribution_id
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _config(cloudformation_json, caller_reference):
        cfg = cfn_to_api(copy.deepcopy(cloudformation_json["Properties"]["DistributionConfig"]))
        cfg["CallerReference"] = caller_reference
        cfg.setdefault("Comment", "")
        return cfg

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        ref = f"{kwargs.get('StackId', '')}:{kwargs.get('LogicalId', resource_name)}:{mock_random.uuid4()}"
        cfg = cls._config(cloudformation_json, ref)
        tags = [
            {"Key": t["Key"], "Value": t["Value"]}
            for t in cloudformation_json["Properties"].get("Tags", [])
        ]
        dist, _, _ = cloudfront_ext.backend(account_id).create_distribution(cfg, tags)
        return cls(account_id, dist)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        dist = original_resource.dist
        cfg = cls._config(cloudformation_json, dist.distribution_config.caller_reference)
        cloudfront_ext.backend(account_id).update_distribution(cfg, dist.distribution_id, dist.etag)
        return original_resource

    def delete(self, account_id, region):
        backend = cloudfront_ext.backend(self.account_id)
        if self.dist.distribution_id in backend.distributions:
            backend.delete_distribution(self.dist.distribution_id, self.dist.etag)


def register():
    """Make moto's CloudFormation see the new types (its lookup is cached)."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    types = parsing.get_model_map()
    assert "AWS::CloudFront::Distribution" in types
    assert "AWS::Lambda::Alias" in types
