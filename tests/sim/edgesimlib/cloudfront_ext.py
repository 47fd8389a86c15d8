"""CloudFront over time, on top of moto's CloudFront backend.

moto keeps a distribution's configuration but never goes back to InProgress
after an update, keeps LastModifiedTime constant, drops Lambda associations,
and completes invalidations at once (as "COMPLETED"). Here every change
opens a new configuration generation that each simulated edge applies after
its own delay; the distribution is Deployed when the last edge has it.
"""

import datetime
import json
import re
import urllib.parse

from moto.cloudfront import models as cfm
from moto.cloudfront.exceptions import CloudFrontException
from moto.moto_api._internal import mock_random

from .state import SIM


class InvalidLambdaFunctionAssociation(CloudFrontException):
    def __init__(self, message):
        super().__init__("InvalidLambdaFunctionAssociation", message)


class PreconditionFailed(CloudFrontException):
    def __init__(self):
        super().__init__(
            "PreconditionFailed",
            "The precondition given in one or more of the request-header fields evaluated to false.",
        )


class InvalidationBatchAlreadyExists(CloudFrontException):
    def __init__(self, inv_id):
        super().__init__(
            "InvalidationBatchAlreadyExists",
            "The CallerReference you attempted to use is already associated with another "
            f"invalidation batch ({inv_id}) whose paths differ from the ones in this request.",
        )


class InvalidArgument(CloudFrontException):
    def __init__(self, message):
        super().__init__("InvalidArgument", message)


# dist_id -> list of Generation; dist_id -> list of invalidations
GENERATIONS = {}
INVALIDATIONS = {}


def edge_count():
    return max(1, len(SIM.edges) or 4)


def _spread(start, n, lo, hi):
    """Per-edge times in [start+lo, start+hi], one per slot, shuffled, so
    edges switch one after another rather than all at once."""
    order = list(range(n))
    SIM.rng.shuffle(order)
    times = [0.0] * n
    for slot, edge in enumerate(order):
        frac = (slot + 0.1 + 0.8 * SIM.rng.random()) / n
        times[edge] = start + lo + (hi - lo) * frac
    return times


def _behaviour_snapshot(b, path="*"):
    lambdas = {}
    lfa = getattr(b, "lambda_function_associations", None) or {}
    for item in lfa.get("Items") or []:
        lambdas[item.get("EventType")] = item.get("LambdaFunctionARN")
    fwd = getattr(b, "forwarded_values", None)
    query = bool(getattr(fwd, "QueryString", False)) if fwd else False
    if isinstance(query, str):
        query = query.lower() == "true"
    return {
        "path": path,
        "lambdas": lambdas,
        "min_ttl": int(b.min_ttl or 0),
        "default_ttl": int(b.default_ttl or 0),
        "max_ttl": int(b.max_ttl or 0),
        "query": query,
    }


def snapshot(dist):
    cfg = dist.distribution_config
    behaviours = []
    cbs = getattr(cfg, "CacheBehaviors", {}) or {}
    for cb in cbs.get("Items") or []:
        behaviours.append(_behaviour_snapshot(cb, cb.path_pattern))
    origins = [o.domain_name for o in cfg.Origins["Items"]]
    return {
        "id": dist.distribution_id,
        "domain": dist.domain_name,
        "aliases": list((cfg.Aliases or {}).get("Items") or []),
        "enabled": str(getattr(cfg, "Enabled", True)).lower() != "false",
        "default": _behaviour_snapshot(cfg.DefaultCacheBehavior),
        "behaviours": behaviours,
        "origin": origins[0] if origins else "",
        # continuous deployment (cd_ext): a staging distribution is not
        # served by its own domain; a primary's attached policy takes
        # effect at an edge with the generation that attached it
        "staging": bool(cfg.__dict__.get("Staging")),
        "policy": cfg.__dict__.get("ContinuousDeploymentPolicyId") or "",
    }


class Generation:
    def __init__(self, number, dist):
        now = SIM.now()
        self.number = number
        self.created = now
        self.snapshot = snapshot(dist)
        n = edge_count()
        self.apply_at = _spread(
            now, n, SIM.p("propagation_min"), SIM.p("propagation_max")
        )
        self.deployed_at = max(self.apply_at) + 0.05


def record_change(dist):
    """A distribution was created or changed: new generation, InProgress."""
    gens = GENERATIONS.setdefault(dist.distribution_id, [])
    gens.append(Generation(len(gens) + 1, dist))
    dist.last_modified_time = SIM.utcnow()


def advance(dist_id=None, edges=None):
    """Apply the newest change on the next `edges` edges (None: all) now, so a
    test pins propagation instead of racing it. Returns what each touched
    distribution looks like after."""
    now = SIM.now()
    out = {}
    with SIM.lock:
        for did, gens in GENERATIONS.items():
            if dist_id and did != dist_id or not gens:
                continue
            g = gens[-1]
            pending = sorted((t, i) for i, t in enumerate(g.apply_at) if t > now)
            for _, i in pending[: len(pending) if edges is None else int(edges)]:
                g.apply_at[i] = now
            g.deployed_at = max(g.apply_at) + (0.05 if max(g.apply_at) > now else 0.0)
            out[did] = {"edges_applied": sum(1 for t in g.apply_at if t <= now),
                        "edges": len(g.apply_at)}
    return out


def complete_invalidations(dist_id=None):
    """Complete every InProgress invalidation (of one distribution) now, each
    edge flushing at once, so a test holds an invalidation InProgress with a
    long `invalidation` time and ends it itself instead of racing the clock.
    Returns how many were completed."""
    now = SIM.now()
    n = 0
    with SIM.lock:
        for did, invs in INVALIDATIONS.items():
            if dist_id and did != dist_id:
                continue
            for inv in invs:
                if inv._es_done > now:
                    inv._es_flush = [min(t, now) for t in inv._es_flush]
                    inv._es_done = now
                    n += 1
    return n


def active_generation(dist_id, edge_index, now=None):
    now = SIM.now() if now is None else now
    gens = GENERATIONS.get(dist_id) or []
    active = None
    for g in gens:
        if edge_index >= len(g.apply_at) or g.apply_at[edge_index] <= now:
            active = g
    return active


def _status_get(self):
    gens = GENERATIONS.get(self.distribution_id)
    if not gens:
        return "Deployed"
    return "InProgress" if SIM.now() < gens[-1].deployed_at else "Deployed"


def _status_set(self, value):
    pass


def _inprogress_get(self):
    return sum(
        1 for inv in INVALIDATIONS.get(self.distribution_id, []) if inv.status == "InProgress"
    )


cfm.Distribution.status = property(_status_get, _status_set)
cfm.Distribution.in_progress_invalidation_batches = property(_inprogress_get, _status_set)


# --- cache behaviours: keep Lambda associations and AWS's default TTLs ----
_orig_dcb_init = cfm.DefaultCacheBehaviour.__init__


def _quantity_items(value):
    if value is None:
        return {"Quantity": 0}
    if isinstance(value, list):
        return {"Quantity": len(value), "Items": value} if value else {"Quantity": 0}
    items = value.get("Items") or []
    if isinstance(items, dict):  # a single item parsed from XML
        items = list(items.values())
    return {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}


def _dcb_init(self, config):
    _orig_dcb_init(self, config)
    lfa = _quantity_items(config.get("LambdaFunctionAssociations"))
    for item in lfa.get("Items", []):
        item.setdefault("IncludeBody", False)
    self.lambda_function_associations = lfa
    if config.get("DefaultTTL") in (None, ""):
        self.default_ttl = 86400
    if config.get("MaxTTL") in (None, ""):
        self.max_ttl = 31536000


cfm.DefaultCacheBehaviour.__init__ = _dcb_init

# A custom origin without ports (CloudFormation allows it) reads back with
# CloudFront's 80 and 443, so a GetDistributionConfig -> UpdateDistribution
# round trip passes botocore's validation (moto leaves them out).
_orig_coc_init = cfm.CustomOriginConfig.__init__


def _coc_init(self, config):
    _orig_coc_init(self, config)
    if self.http_port in (None, ""):
        self.http_port = 80
    if self.https_port in (None, ""):
        self.https_port = 443


cfm.CustomOriginConfig.__init__ = _coc_init


def validate_lambda_associations(config_obj, account_id):
    """What CloudFront checks on Lambda@Edge associations, with its words."""
    from moto.awslambda.models import lambda_backends
    from moto.iam.models import iam_backends

    behaviours = [config_obj.DefaultCacheBehavior]
    cbs = getattr(config_obj, "CacheBehaviors", {}) or {}
    behaviours += list(cbs.get("Items") or [])
    for b in behaviours:
        for item in (b.lambda_function_associations or {}).get("Items") or []:
            arn = item.get("LambdaFunctionARN") or ""
            m = re.match(r"^arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)(?::([^:]+))?$", arn)
            if not m:
                raise InvalidLambdaFunctionAssociation(
                    f"The function ARN {arn} is not valid."
                )
            region, acct, name, qualifier = m.groups()
            if not qualifier or not qualifier.isdigit():
                raise InvalidLambdaFunctionAssociation(
                    "The function ARN must reference a specific function version. "
                    "(The ARN must end with the version number.) ARN: " + arn
                )
            if region != "us-east-1":
                raise InvalidLambdaFunctionAssociation(
                    f"The function must be in region 'us-east-1'. ARN: {arn}"
                )
            try:
                fn = lambda_backends[acct][region].get_function(name, qualifier)
            except Exception:
                raise InvalidLambdaFunctionAssociation(
                    f"The function ARN {arn} does not exist or is not accessible."
                )
            role_name = (fn.role or "").split("/")[-1]
            doc = ""
            try:
                role = iam_backends[acct]["aws"].get_role(role_name)
                doc = role.assume_role_policy_document or ""
            except Exception:
                doc = ""
            if not isinstance(doc, str):
                doc = json.dumps(doc)
            doc = urllib.parse.unquote(doc)
            if "edgelambda.amazonaws.com" not in doc:
                raise InvalidLambdaFunctionAssociation(
                    "The function execution role must be assumable with edgelambda.amazonaws.com "
                    "as well as lambda.amazonaws.com principals. Update the IAM role and try again. "
                    f"Role: {fn.role}"
                )


# --- backend methods ---------------------------------------------------
B = cfm.CloudFrontBackend
_orig_create = B.create_distribution_with_tags
_orig_update = B.update_distribution
_orig_delete = B.delete_distribution
_orig_create_inv = B.create_invalidation


def _create(self, distribution_config, tags):
    dist, location, etag = _orig_create(self, distribution_config, tags)
    try:
        validate_lambda_associations(dist.distribution_config, self.account_id)
    except Exception:
        self.distributions.pop(dist.distribution_id, None)
        raise
    record_change(dist)
    return dist, location, etag


def _update(self, dist_config, _id, if_match):
    dist = self.distributions.get(_id)
    if dist is not None and if_match and if_match != dist.etag:
        raise PreconditionFailed()
    old_config = dist.distribution_config if dist is not None else None
    dist, location, etag = _orig_update(self, dist_config, _id, if_match)
    try:
        validate_lambda_associations(dist.distribution_config, self.account_id)
    except Exception:
        dist.distribution_config = old_config
        raise
    dist.etag = cfm.random_id()
    record_change(dist)
    return dist, location, dist.etag


def _delete(self, distribution_id, if_match):
    dist = self.distributions.get(distribution_id)
    if dist is not None and if_match and if_match != dist.etag:
        raise PreconditionFailed()
    _orig_delete(self, distribution_id, if_match)
    GENERATIONS.pop(distribution_id, None)


def _create_invalidation(self, dist_id, paths, caller_ref):
    if dist_id not in self.distributions:
        raise cfm.NoSuchDistribution
    for p in paths:
        if not p.startswith("/") or "*" in p[:-1]:
            raise InvalidArgument("Your request contains one or more invalid invalidation paths.")
    for inv in self.invalidations.get(dist_id, []):
        if inv.caller_ref == caller_ref:
            if sorted(inv.paths) == sorted(paths):
                return inv
            raise InvalidationBatchAlreadyExists(inv.id)
    inv = _orig_create_inv(self, dist_id, paths, caller_ref)
    INVALIDATIONS.setdefault(dist_id, []).append(inv)
    return inv


B.create_distribution_with_tags = _create
B.update_distribution = _update
B.delete_distribution = _delete
B.create_invalidation = _create_invalidation


# --- invalidations: InProgress, then Completed; each edge flushes on its own
_orig_inv_init = cfm.Invalidation.__init__


def _inv_init(self, distribution, paths, caller_ref):
    _orig_inv_init(self, distribution, paths, caller_ref)
    now = SIM.now()
    self.create_time = SIM.utcnow()
    delay = SIM.p("invalidation")
    self._es_created = now
    self._es_flush = _spread(now, edge_count(), 0.0, delay * 0.9)
    self._es_done = now + delay


def _inv_status_get(self):
    return "InProgress" if SIM.now() < self._es_done else "Completed"


cfm.Invalidation.__init__ = _inv_init
cfm.Invalidation.status = property(_inv_status_get, _status_set)


def path_matches(pattern, path):
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def invalidated_since(dist_id, edge_index, path, stored_at, now=None):
    """True if an invalidation flushed `path` on this edge after stored_at."""
    now = SIM.now() if now is None else now
    for inv in INVALIDATIONS.get(dist_id, []):
        t = inv._es_flush[edge_index] if edge_index < len(inv._es_flush) else inv._es_done
        if stored_at < t <= now and any(path_matches(p, path) for p in inv.paths):
            return True
    return False


def all_distributions():
    out = []
    for acct in list(cfm.cloudfront_backends.keys()):
        for part in ("aws",):
            try:
                backend = cfm.cloudfront_backends[acct][part]
            except KeyError:
                continue
            out.extend(backend.distributions.values())
    return out


def is_staging(dist):
    """A staging distribution (CopyDistribution with Staging, or
    DistributionConfig.Staging at create)."""
    return bool(dist.distribution_config.__dict__.get("Staging"))


def backend(account_id):
    return cfm.cloudfront_backends[account_id]["aws"]


def new_request_id():
    return str(mock_random.uuid4())


def utc_iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat()
