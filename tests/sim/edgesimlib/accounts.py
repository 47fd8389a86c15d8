"""Several AWS accounts in one simulator.

moto already keeps a backend per account: an access key that sts:AssumeRole
issued for a role in account B acts in B (moto maps the key to B), and S3
buckets remember the account that created them. What moto does not do is
refuse anything across accounts. This module adds, before moto sees a
request:

- roles registered through the control endpoint (POST /accounts/roles) are
  the only roles assumable in accounts other than moto's own (123456789012),
  and only from the accounts they trust, with their ExternalId when they
  name one;
- S3 access to a bucket of another account is refused (403 AccessDenied,
  S3's plain "Access Denied") unless the bucket's policy allows the
  caller's account or role that action on that resource; a CopyObject also
  needs s3:GetObject on its source;
- denials set through POST /accounts/deny refuse one action on matching
  resources for one principal, as a missing IAM permission does;
- a bucket created in another region answers requests signed for this one
  with 301 PermanentRedirect and its x-amz-bucket-region, as S3 does.
"""

import fnmatch
import json
import re
import threading
import urllib.parse

from . import protocol
from .state import ACCOUNT_ID

_lock = threading.Lock()
ROLES = {}  # role ARN -> {"trusted": [account, ...], "external_id": str or None}
DENIES = []  # {"principal": ARN or account, "action": "s3:PutObject", "resource": glob}

# S3 operations as IAM names them.
S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "GetBucketLocation": "s3:GetBucketLocation",
}


def reset():
    with _lock:
        ROLES.clear()
        DENIES.clear()


def add_role(arn, trusted=None, external_id=None):
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ValueError(f"not a role ARN: {arn}")
    with _lock:
        ROLES[arn] = {"trusted": [str(a) for a in (trusted or [])], "external_id": external_id}


def add_deny(principal, action, resource):
    with _lock:
        DENIES.append({"principal": principal, "action": action, "resource": resource})


def snapshot():
    with _lock:
        return {"roles": dict(ROLES), "denies": list(DENIES)}


def caller_of(akid):
    """(account, ARN, role ARN or None) of the key that signed a request."""
    if akid:
        from moto.sts.models import sts_backends

        for acct in list(sts_backends.keys()):
            for part in list(sts_backends[acct].keys()):
                for role in list(sts_backends[acct][part].assumed_roles):
                    if role.access_key_id == akid:
                        name = role.role_arn.split("/")[-1]
                        arn = f"arn:aws:sts::{role.account_id}:assumed-role/{name}/{role.session_name}"
                        return role.account_id, arn, role.role_arn
    return ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:user/{akid or 'anonymous'}", None


def _denied_sts(arn, role_arn, why):
    return protocol.error_response(
        "sts", 403, "AccessDenied",
        f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}{why}")


def _check_assume(body, caller):
    params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    role_arn = (params.get("RoleArn") or [""])[0]
    ext = (params.get("ExternalId") or [None])[0]
    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 4 else ""
    with _lock:
        role = ROLES.get(role_arn)
    if role is None:
        if account == ACCOUNT_ID:
            return None  # moto's own account: any role, as moto does
        return _denied_sts(caller[1], role_arn, " (no such role is assumable in that account)")
    if role["trusted"] and caller[0] not in role["trusted"]:
        return _denied_sts(caller[1], role_arn, " (its trust policy does not name this account)")
    if role["external_id"] and ext != role["external_id"]:
        return _denied_sts(caller[1], role_arn, " (the ExternalId does not match)")
    return None


def _bucket_key(path):
    p = urllib.parse.unquote(path.lstrip("/"))
    bucket, _, key = p.partition("/")
    return bucket, key


def _bucket(name):
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if not owner:
        return None, None
    partition, account = owner
    try:
        return account, s3_backends[account][partition].buckets.get(name)
    except KeyError:
        return account, None


def _policy_allows(bucket, caller, action, resource):
    raw = getattr(bucket, "policy", None)
    if not raw:
        return False
    try:
        doc = json.loads(raw if isinstance(raw, str) else raw.decode("utf-8"))
    except ValueError:
        return False
    stmts = doc.get("Statement") or []
    if isinstance(stmts, dict):
        stmts = [stmts]
    account, arn, role_arn = caller
    names = {account, f"arn:aws:iam::{account}:root", arn}
    if role_arn:
        names.add(role_arn)
    for st in stmts:
        if st.get("Effect") != "Allow":
            continue
        pr = st.get("Principal")
        prs = [pr] if isinstance(pr, str) else (pr or {}).get("AWS", [])
        prs = [prs] if isinstance(prs, str) else prs
        if "*" not in prs and not names.intersection(prs):
            continue
        acts = st.get("Action") or []
        acts = [acts] if isinstance(acts, str) else acts
        if not any(fnmatch.fnmatchcase(action, a) for a in acts):
            continue
        res = st.get("Resource") or []
        res = [res] if isinstance(res, str) else res
        if any(fnmatch.fnmatchcase(resource, r) for r in res):
            return True
    return False


def _denied_by_rule(caller, action, resource):
    account, arn, role_arn = caller
    with _lock:
        rules = list(DENIES)
    for d in rules:
        if d["principal"] not in (account, arn, role_arn):
            continue
        if d["action"] == action and fnmatch.fnmatchcase(resource, d["resource"]):
            return True
    return False


def _s3_access(caller, action, bucket_name, key):
    """None when allowed, else the 403 answer."""
    resource = f"arn:aws:s3:::{bucket_name}" + (f"/{key}" if key and action != "s3:ListBucket" else "")
    if _denied_by_rule(caller, action, resource):
        return protocol.error_response("s3", 403, "AccessDenied", "Access Denied")
    owner, bucket = _bucket(bucket_name)
    if bucket is None or owner == caller[0]:
        return None
    if _policy_allows(bucket, caller, action, resource):
        return None
    return protocol.error_response("s3", 403, "AccessDenied", "Access Denied")


def check(environ, body, service, region, operation, akid, path):
    """An answer refusing the request, or None to let moto have it."""
    if not akid:  # signatures not checked: the key the request names
        m = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION") or "")
        akid = m.group(1) if m else None
    caller = caller_of(akid)
    if service == "sts" and operation == "AssumeRole":
        return _check_assume(body, caller)
    if service != "s3" or operation in (None, "ListBuckets", "CreateBucket"):
        return None
    bucket_name, key = _bucket_key(path)
    if not bucket_name:
        return None
    _, bucket = _bucket(bucket_name)
    home = getattr(bucket, "region_name", None)
    if bucket is not None and home and region and home != region:
        status, headers, body = protocol.error_response(
            "s3", 301, "PermanentRedirect",
            "The bucket you are attempting to access must be addressed using the specified "
            "endpoint. Please send all future requests to this endpoint.",
            {"Bucket": bucket_name, "Endpoint": f"{bucket_name}.s3.{home}.amazonaws.com"})
        headers.append(("x-amz-bucket-region", home))
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""
        return status, headers, body
    action = S3_ACTIONS.get(operation)
    if not action:
        return None
    refused = _s3_access(caller, action, bucket_name, key)
    if refused is None and operation == "CopyObject":
        src = urllib.parse.unquote(environ.get("HTTP_X_AMZ_COPY_SOURCE", "")).lstrip("/")
        sb, _, sk = src.partition("/")
        refused = _s3_access(caller, "s3:GetObject", sb, sk.split("?")[0])
    return refused
