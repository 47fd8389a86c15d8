"""CloudFront continuous deployment, which moto 5.2.1 lacks: staging
distributions, continuous deployment policies, promotion, and the edges
routing a primary's requests to its staging distribution.

API (botocore's cloudfront 2020-05-31 shapes, moto's own serializer):
CopyDistribution, Create/Get/GetConfig/Update/Delete/List
ContinuousDeploymentPolicy and UpdateDistributionWithStagingConfig, with
If-Match (InvalidIfMatchVersion when missing, PreconditionFailed 412 when
stale), the validation CloudFront does (weight 0-0.15, stickiness TTLs
300-3600 with idle <= maximum, header names starting aws-cf-cd-) and its
quotas (20 policies, 20 staging distributions per account).

Distributions keep DistributionConfig.Staging and
ContinuousDeploymentPolicyId through every update, CloudFormation's
included: an update without the element keeps the attached policy, an empty
one detaches it, an id attaches that policy. A staging distribution whose
policy is attached and enabled cannot be deleted (StagingDistributionInUse).
Promotion copies staging's configuration onto the primary (except Aliases,
ContinuousDeploymentPolicyId, CallerReference and Staging) as a new
generation that propagates like any change, and disables the policy.

Edges: the attachment takes effect at an edge once the primary's generation
that made it is active there; the policy itself (enabled, weight, header)
is read as it is now. A request for the primary goes to staging when the
staging distribution has an active generation at that edge and the policy
says so: SingleHeader when the request carries the header with the value,
SingleWeight by weight (random numbers from POST /canary/seed), sticky
through the cookie COOKIE when the policy has SessionStickinessConfig (its
times on the server clock, so POST /clock expires sessions). POST
/canary/peak sends everything to the primary, as CloudFront does at peak.
"""

import copy
import http.cookies
import random
import threading
import uuid

from moto.cloudfront import models as cfm
from moto.cloudfront import urls as cfu
from moto.cloudfront.exceptions import (
    CloudFrontException, DistributionAlreadyExists, InvalidIfMatchVersion, NoSuchDistribution)
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult

from . import cloudfront_ext, edges
from .state import SIM

COOKIE = "edgesim-cd-session"
MAX_POLICIES = 20
MAX_STAGING = 20
LOCATION = "https://cloudfront.amazonaws.com/2020-05-31/continuous-deployment-policy/"


class CDError(CloudFrontException):
    def __init__(self, code, message):
        super().__init__(code, message)


def invalid(message):
    return CDError("InvalidArgument", message)


def illegal_update(message="One or more fields updated are not supported for continuous deployment."):
    return CDError("IllegalUpdate", message)


def no_such_policy():
    return CDError("NoSuchContinuousDeploymentPolicy", "The continuous deployment policy doesn't exist.")


# ------------------------------------------------------------------ policies
class Policy:
    def __init__(self, account_id, config):
        self.account_id = account_id
        self.id = str(uuid.uuid4())
        self.config = config
        self.etag = cfm.random_id()
        self.modified = SIM.utcnow()
        # Sessions end when the policy is toggled or its stickiness changes.
        self.epoch = 0

    def replace(self, config):
        old = self.config
        if old["Enabled"] != config["Enabled"] or _stickiness(old) != _stickiness(config):
            self.epoch += 1
        self.config = config
        self.etag = cfm.random_id()
        self.modified = SIM.utcnow()

    def view(self):
        return {"Id": self.id, "LastModifiedTime": self.modified,
                "ContinuousDeploymentPolicyConfig": copy.deepcopy(self.config)}

    @property
    def dns_names(self):
        return self.config["StagingDistributionDnsNames"].get("Items") or []


POLICIES = {}  # account id -> {policy id -> Policy}


def policies(account_id):
    return POLICIES.setdefault(account_id, {})


def find_policy(policy_id):
    for pols in POLICIES.values():
        if policy_id in pols:
            return pols[policy_id]
    return None


def _stickiness(config):
    tc = config.get("TrafficConfig") or {}
    return (tc.get("SingleWeightConfig") or {}).get("SessionStickinessConfig")


def _bool(v):
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() == "true"


def _items(v):
    if v is None:
        return []
    if isinstance(v, (str, int, float)):
        return [v]
    if isinstance(v, dict):
        return list(v.values())
    return list(v)


def _int(v, what):
    try:
        return int(v)
    except (TypeError, ValueError):
        raise invalid(f"{what} must be an integer.")


def check_config(backend, raw, policy_id=None):
    """A ContinuousDeploymentPolicyConfig as CloudFront validates it; the
    normalised config."""
    if not isinstance(raw, dict) or not raw:
        raise CDError("MissingBody", "This operation requires a body. Ensure that the body is present "
                      "and the Content-Type header is set.")
    names = raw.get("StagingDistributionDnsNames")
    if not isinstance(names, dict) or names.get("Quantity") in (None, ""):
        raise invalid("StagingDistributionDnsNames is required.")
    items = [str(x) for x in _items(names.get("Items"))]
    if _int(names["Quantity"], "StagingDistributionDnsNames.Quantity") != len(items):
        raise CDError("InconsistentQuantities",
                      "The value of Quantity and the size of Items don't match.")
    if len(items) != 1:
        raise invalid("StagingDistributionDnsNames must contain exactly one staging distribution DNS name.")
    if raw.get("Enabled") in (None, ""):
        raise invalid("Enabled is required.")
    for name in items:
        dist = next((d for d in backend.distributions.values() if d.domain_name == name), None)
        if dist is None or not cloudfront_ext.is_staging(dist):
            raise invalid(f"The staging distribution DNS name {name} does not refer to a staging "
                          "distribution in this account.")
    out = {"StagingDistributionDnsNames": {"Quantity": len(items), "Items": items},
           "Enabled": _bool(raw["Enabled"])}
    tc = raw.get("TrafficConfig")
    if tc:
        kind = tc.get("Type")
        if kind == "SingleWeight":
            swc = tc.get("SingleWeightConfig")
            if not isinstance(swc, dict) or swc.get("Weight") in (None, ""):
                raise invalid("SingleWeightConfig with a Weight is required for the SingleWeight type.")
            if tc.get("SingleHeaderConfig"):
                raise invalid("SingleHeaderConfig is not valid for the SingleWeight type.")
            try:
                weight = float(swc["Weight"])
            except (TypeError, ValueError):
                raise invalid("Weight must be a number.")
            if not 0.0 <= weight <= 0.15:
                raise invalid("Weight must be between 0.0 and 0.15 (15% of traffic).")
            conf = {"Weight": weight}
            sticky = swc.get("SessionStickinessConfig")
            if sticky:
                idle = _int(sticky.get("IdleTTL"), "IdleTTL")
                most = _int(sticky.get("MaximumTTL"), "MaximumTTL")
                if not 300 <= idle <= 3600 or not 300 <= most <= 3600:
                    raise invalid("IdleTTL and MaximumTTL must be between 300 and 3600 seconds.")
                if idle > most:
                    raise invalid("IdleTTL must be less than or equal to MaximumTTL.")
                conf["SessionStickinessConfig"] = {"IdleTTL": idle, "MaximumTTL": most}
            out["TrafficConfig"] = {"Type": kind, "SingleWeightConfig": conf}
        elif kind == "SingleHeader":
            shc = tc.get("SingleHeaderConfig")
            if not isinstance(shc, dict) or not shc.get("Header") or not shc.get("Value"):
                raise invalid("SingleHeaderConfig with a Header and a Value is required for the SingleHeader type.")
            if tc.get("SingleWeightConfig"):
                raise invalid("SingleWeightConfig is not valid for the SingleHeader type.")
            header = str(shc["Header"])
            if not header.lower().startswith("aws-cf-cd-"):
                raise invalid("The header name must start with aws-cf-cd-.")
            out["TrafficConfig"] = {"Type": kind, "SingleHeaderConfig": {"Header": header,
                                                                         "Value": str(shc["Value"])}}
        else:
            raise invalid("TrafficConfig Type must be SingleWeight or SingleHeader.")
    for other in policies(backend.account_id).values():
        if other.id == policy_id:
            continue
        if other.config == out:
            raise CDError("ContinuousDeploymentPolicyAlreadyExists",
                          f"A continuous deployment policy with this configuration already exists: {other.id}")
        if set(other.dns_names) & set(items):
            raise CDError("StagingDistributionInUse",
                          "A continuous deployment policy for this staging distribution already exists.")
    return out


def attached_to(policy_id):
    """Distributions whose configuration has this policy attached."""
    return [d for d in cloudfront_ext.all_distributions()
            if d.distribution_config.__dict__.get("ContinuousDeploymentPolicyId") == policy_id]


def _get_policy(backend, policy_id):
    pol = policies(backend.account_id).get(policy_id)
    if pol is None:
        raise no_such_policy()
    return pol


def _check_if_match(if_match, etag):
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != etag:
        raise cloudfront_ext.PreconditionFailed()


def create_policy(backend, raw):
    if len(policies(backend.account_id)) >= MAX_POLICIES:
        raise CDError("TooManyContinuousDeploymentPolicies",
                      f"You have reached the maximum number of continuous deployment policies ({MAX_POLICIES}) "
                      "for this AWS account.")
    pol = Policy(backend.account_id, check_config(backend, raw))
    policies(backend.account_id)[pol.id] = pol
    return pol


def update_policy(backend, policy_id, raw, if_match):
    pol = _get_policy(backend, policy_id)
    _check_if_match(if_match, pol.etag)
    pol.replace(check_config(backend, raw, policy_id))
    return pol


def delete_policy(backend, policy_id, if_match):
    pol = _get_policy(backend, policy_id)
    _check_if_match(if_match, pol.etag)
    if attached_to(policy_id):
        raise CDError("ContinuousDeploymentPolicyInUse",
                      "You cannot delete a continuous deployment policy that is associated with a "
                      "primary distribution.")
    del policies(backend.account_id)[policy_id]


# ------------------------------------------------------------- distributions
def _staging_count(backend):
    return sum(1 for d in backend.distributions.values() if cloudfront_ext.is_staging(d))


def copy_distribution(backend, primary_id, staging, if_match, caller_ref, enabled):
    primary = backend.distributions.get(primary_id)
    if primary is None:
        raise NoSuchDistribution()
    _check_if_match(if_match, primary.etag)
    if not caller_ref:
        raise invalid("CallerReference is required.")
    existing = backend._distribution_with_caller_reference(caller_ref)
    if existing is not None:
        raise DistributionAlreadyExists(existing.distribution_id)
    if cloudfront_ext.is_staging(primary):
        raise invalid("You can't copy a staging distribution.")
    if staging and _staging_count(backend) >= MAX_STAGING:
        raise CDError("TooManyDistributions",
                      f"Your request contains more staging distributions than are allowed per AWS account "
                      f"({MAX_STAGING}).")
    dist = copy.deepcopy(primary)
    new_id = cfm.random_id()
    dist.distribution_id = dist.id = new_id
    dist.arn = primary.arn.rsplit("/", 1)[0] + "/" + new_id
    dist.domain_name = f"{cfm.random_id(uppercase=False)}.cloudfront.net"
    dist.etag = cfm.random_id()
    cfg = dist.distribution_config
    cfg.__dict__.update(CallerReference=caller_ref, Aliases={"Quantity": 0},
                        Enabled=True if enabled is None else _bool(enabled),
                        Staging=bool(staging), ContinuousDeploymentPolicyId="")
    cfg.caller_reference = caller_ref
    backend.distributions[new_id] = dist
    cloudfront_ext.record_change(dist)
    return dist


def _aliases(cfg_dict):
    return sorted(str(a).lower() for a in _items((cfg_dict.get("Aliases") or {}).get("Items")))


def resolve_update(backend, dist, dist_config):
    """Staging and ContinuousDeploymentPolicyId of an UpdateDistribution
    (CloudFormation's included): Staging never changes; the policy id
    absent = keep, empty = detach, an id = attach."""
    cur = dist.distribution_config.__dict__
    staging = bool(cur.get("Staging"))
    if dist_config.get("Staging") not in (None, "") and _bool(dist_config["Staging"]) != staging:
        raise illegal_update("You can't change whether a distribution is a staging distribution.")
    dist_config["Staging"] = staging
    current = cur.get("ContinuousDeploymentPolicyId") or ""
    want = dist_config.get("ContinuousDeploymentPolicyId")
    want = current if want is None else str(want).strip()
    if want:
        if staging:
            raise invalid("A continuous deployment policy can't be attached to a staging distribution.")
        pol = policies(backend.account_id).get(want)
        if pol is None:
            raise no_such_policy()
        if any(d.distribution_id != dist.distribution_id for d in attached_to(want)):
            raise CDError("ContinuousDeploymentPolicyInUse",
                          "The continuous deployment policy is associated with another primary distribution.")
        if dist.domain_name in pol.dns_names:
            raise invalid("A distribution can't be its own staging distribution.")
        if current and want == current and _aliases(dist_config) != _aliases(cur):
            raise illegal_update()
    if staging and _aliases(dist_config):
        raise invalid("A staging distribution can't have alternate domain names (CNAMEs).")
    if staging:
        # while a primary routes to it, staging's path patterns must be the
        # primary's or a subset of them
        mine = set(_patterns(dist_config.get("CacheBehaviors")))
        for prim in attached_primaries(dist):
            theirs = set(_patterns(prim.distribution_config.__dict__.get("CacheBehaviors")))
            if not mine <= theirs:
                raise illegal_update("The staging distribution's cache behavior path patterns must be the same "
                                     "as, or a subset of, the primary distribution's.")
    dist_config["ContinuousDeploymentPolicyId"] = want


def _patterns(cbs):
    out = []
    for cb in _items((cbs or {}).get("Items")):
        out.append(cb.get("PathPattern") if isinstance(cb, dict) else getattr(cb, "path_pattern", ""))
    return out


def attached_primaries(staging):
    """Distributions with a policy attached that names this staging distribution."""
    out = []
    for d in cloudfront_ext.all_distributions():
        pol = find_policy(d.distribution_config.__dict__.get("ContinuousDeploymentPolicyId") or "")
        if pol is not None and staging.domain_name in pol.dns_names:
            out.append(d)
    return out


def staging_in_use(dist):
    """The attached, enabled policy that routes to this staging distribution."""
    for pol_id in {d.distribution_config.__dict__.get("ContinuousDeploymentPolicyId") for d in
                   cloudfront_ext.all_distributions()} - {None, ""}:
        pol = find_policy(pol_id)
        if pol is not None and pol.config["Enabled"] and dist.domain_name in pol.dns_names:
            return pol
    return None


def promote(backend, primary_id, staging_id, if_match):
    primary = backend.distributions.get(primary_id)
    if primary is None:
        raise NoSuchDistribution()
    if not staging_id:
        raise invalid("StagingDistributionId is required.")
    staging = backend.distributions.get(staging_id)
    if staging is None:
        raise CDError("EntityNotFound", "The staging distribution does not exist.")
    if not if_match:
        raise InvalidIfMatchVersion()
    etags = [e.strip() for e in if_match.split(",")]
    if len(etags) != 2:
        raise InvalidIfMatchVersion()
    if etags != [primary.etag, staging.etag]:
        raise cloudfront_ext.PreconditionFailed()
    if cloudfront_ext.is_staging(primary) or not cloudfront_ext.is_staging(staging):
        raise illegal_update("The distribution to update must be a primary distribution and "
                             "StagingDistributionId a staging distribution.")
    pol = find_policy(primary.distribution_config.__dict__.get("ContinuousDeploymentPolicyId") or "")
    if pol is None or staging.domain_name not in pol.dns_names:
        raise illegal_update("The staging distribution is not associated with the primary distribution's "
                             "continuous deployment policy.")
    new = copy.deepcopy(staging.distribution_config)
    mine = primary.distribution_config.__dict__
    new.__dict__.update(Aliases=copy.deepcopy(mine.get("Aliases") or {"Quantity": 0}),
                        CallerReference=mine.get("CallerReference"),
                        ContinuousDeploymentPolicyId=mine.get("ContinuousDeploymentPolicyId") or "",
                        Staging=False)
    new.caller_reference = primary.distribution_config.caller_reference
    primary.distribution_config = new
    primary.etag = cfm.random_id()
    cloudfront_ext.record_change(primary)
    cfg = copy.deepcopy(pol.config)
    cfg["Enabled"] = False
    pol.replace(cfg)
    return primary


# --- backend hooks: create, update and delete know about staging ---------
B = cfm.CloudFrontBackend
_prev_create = B.create_distribution_with_tags
_prev_update = B.update_distribution
_prev_delete = B.delete_distribution


def _create(self, distribution_config, tags):
    if distribution_config.get("ContinuousDeploymentPolicyId"):
        raise invalid("A continuous deployment policy can't be attached when the distribution is created; "
                      "attach it with UpdateDistribution.")
    staging = _bool(distribution_config.get("Staging") or False)
    if staging and _staging_count(self) >= MAX_STAGING:
        raise CDError("TooManyDistributions",
                      f"Your request contains more staging distributions than are allowed per AWS account "
                      f"({MAX_STAGING}).")
    distribution_config["Staging"] = staging
    distribution_config["ContinuousDeploymentPolicyId"] = ""
    return _prev_create(self, distribution_config, tags)


def _update(self, dist_config, _id, if_match):
    dist = self.distributions.get(_id)
    if dist is not None and dist_config:
        _check_if_match(if_match, dist.etag)
        resolve_update(self, dist, dist_config)
    return _prev_update(self, dist_config, _id, if_match)


def _delete(self, distribution_id, if_match):
    dist = self.distributions.get(distribution_id)
    if dist is not None:
        _check_if_match(if_match, dist.etag)
        if cloudfront_ext.is_staging(dist) and staging_in_use(dist) is not None:
            raise CDError("StagingDistributionInUse",
                          "A continuous deployment policy for this staging distribution is attached to a "
                          "primary distribution and enabled; detach or disable it first.")
    return _prev_delete(self, distribution_id, if_match)


B.create_distribution_with_tags = _create
B.update_distribution = _update
B.delete_distribution = _delete

# Every configuration reads back Staging and ContinuousDeploymentPolicyId;
# ListDistributions' summaries carry Staging.
cfm.DistributionConfig.Staging = False
cfm.DistributionConfig.ContinuousDeploymentPolicyId = ""
cfm.Distribution.staging = property(lambda self: bool(self.distribution_config.__dict__.get("Staging")))


# --- the API: routes and response methods --------------------------------
_ROUTES = {
    "{0}/2020-05-31/distribution/(?P<distribution_id>[^/]+)/copy$": CloudFrontResponse.dispatch,
    "{0}/2020-05-31/distribution/(?P<distribution_id>[^/]+)/promote-staging-config$": CloudFrontResponse.dispatch,
    "{0}/2020-05-31/continuous-deployment-policy$": CloudFrontResponse.dispatch,
    "{0}/2020-05-31/continuous-deployment-policy/(?P<policy_id>[^/]+)$": CloudFrontResponse.dispatch,
    "{0}/2020-05-31/continuous-deployment-policy/(?P<policy_id>[^/]+)/config$": CloudFrontResponse.dispatch,
}
cfu.url_paths.update(_ROUTES)


def _policy_result(pol, location=False):
    out = {"ContinuousDeploymentPolicy": pol.view(), "ETag": pol.etag}
    if location:
        out["Location"] = LOCATION + pol.id
    return ActionResult(out)


def _r_copy_distribution(self):
    dist = copy_distribution(self.backend, self._get_param("PrimaryDistributionId"), self._get_param("Staging"),
                             self._get_param("IfMatch"), self._get_param("CallerReference"),
                             self._get_param("Enabled"))
    return ActionResult({"Distribution": dist, "ETag": dist.etag, "Location": dist.location})


def _r_create_policy(self):
    return _policy_result(create_policy(self.backend, self._get_param("ContinuousDeploymentPolicyConfig")), True)


def _r_get_policy(self):
    return _policy_result(_get_policy(self.backend, self._get_param("Id")))


def _r_get_policy_config(self):
    pol = _get_policy(self.backend, self._get_param("Id"))
    return ActionResult({"ContinuousDeploymentPolicyConfig": copy.deepcopy(pol.config), "ETag": pol.etag})


def _r_update_policy(self):
    return _policy_result(update_policy(self.backend, self._get_param("Id"),
                                        self._get_param("ContinuousDeploymentPolicyConfig"),
                                        self._get_param("IfMatch")))


def _r_delete_policy(self):
    delete_policy(self.backend, self._get_param("Id"), self._get_param("IfMatch"))
    return EmptyResult()


def _r_list_policies(self):
    pols = sorted(policies(self.backend.account_id).values(), key=lambda p: p.id)
    marker = self._get_param("Marker") or ""
    try:
        max_items = int(self._get_param("MaxItems") or 100)
    except ValueError:
        raise invalid("MaxItems must be an integer.")
    if marker:
        pols = [p for p in pols if p.id > marker]
    page = pols[:max_items]
    out = {"MaxItems": max_items, "Quantity": len(page),
           "Items": [{"ContinuousDeploymentPolicy": p.view()} for p in page] or None}
    if len(pols) > max_items:
        out["NextMarker"] = page[-1].id
    return ActionResult({"ContinuousDeploymentPolicyList": out})


def _r_promote(self):
    dist = promote(self.backend, self._get_param("Id"), self._get_param("StagingDistributionId"),
                   self._get_param("IfMatch"))
    return ActionResult({"Distribution": dist, "ETag": dist.etag})


CloudFrontResponse.copy_distribution = _r_copy_distribution
CloudFrontResponse.create_continuous_deployment_policy = _r_create_policy
CloudFrontResponse.get_continuous_deployment_policy = _r_get_policy
CloudFrontResponse.get_continuous_deployment_policy_config = _r_get_policy_config
CloudFrontResponse.update_continuous_deployment_policy = _r_update_policy
CloudFrontResponse.delete_continuous_deployment_policy = _r_delete_policy
CloudFrontResponse.list_continuous_deployment_policies = _r_list_policies
CloudFrontResponse.update_distribution_with_staging_config = _r_promote


# ------------------------------------------------------------------- edges
STATE = {"seed": 0, "peak": False}
RNG = random.Random(0)
_lock = threading.Lock()
COUNTS = {}  # distribution id -> requests it served
ROUTED = {}  # primary id -> {"primary": n, "staging": n} while a policy was in effect


def _staging_at(edge, pol):
    """(id, generation) of the policy's staging distribution active and
    enabled at this edge, else (None, None)."""
    for dist in cloudfront_ext.all_distributions():
        if dist.domain_name not in pol.dns_names:
            continue
        gen = cloudfront_ext.active_generation(dist.distribution_id, edge.index)
        if gen is not None and gen.snapshot.get("staging") and gen.snapshot["enabled"]:
            return dist.distribution_id, gen
    return None, None


def _cookie(environ):
    raw = environ.get("HTTP_COOKIE")
    if not raw:
        return None
    try:
        jar = http.cookies.SimpleCookie(raw)
    except http.cookies.CookieError:
        return None
    m = jar.get(COOKIE)
    return m.value if m else None


def _sticky(environ, pol, weight, ttl):
    """The decision for a sticky policy and the Set-Cookie that carries it:
    a session lasts IdleTTL after its last request, at most MaximumTTL."""
    now = int(SIM.server_time())
    choice = None
    issued = now
    value = _cookie(environ)
    if value:
        parts = value.split("~")
        if len(parts) == 5 and parts[0] == pol.id and parts[1] in ("P", "S") and parts[4] == str(pol.epoch):
            try:
                t_issued, t_last = int(parts[2]), int(parts[3])
            except ValueError:
                t_issued = t_last = -10 ** 9
            if now - t_last < ttl["IdleTTL"] and now - t_issued < ttl["MaximumTTL"]:
                choice, issued = parts[1], t_issued
    if choice is None:
        with _lock:
            choice = "S" if RNG.random() < weight else "P"
    age = max(0, min(ttl["IdleTTL"], ttl["MaximumTTL"] - (now - issued)))
    cookie = f"{COOKIE}={pol.id}~{choice}~{issued}~{now}~{pol.epoch}; Path=/; Max-Age={age}; HttpOnly"
    return choice == "S", [("Set-Cookie", cookie)]


def route(edge, environ, dist_id, gen):
    """Primary or staging for this request, decided once."""
    target, served, headers = dist_id, gen, []
    policy_id = gen.snapshot.get("policy")
    if policy_id and gen.snapshot["enabled"]:
        with SIM.lock:
            pol = find_policy(policy_id)
            tc = (pol.config.get("TrafficConfig") if pol is not None and pol.config["Enabled"] else None)
            staging_id, staging_gen = _staging_at(edge, pol) if tc else (None, None)
        if staging_gen is not None and not STATE["peak"]:
            if tc["Type"] == "SingleHeader":
                hc = tc["SingleHeaderConfig"]
                got = environ.get("HTTP_" + hc["Header"].upper().replace("-", "_"))
                to_staging = got == hc["Value"]
            else:
                wc = tc["SingleWeightConfig"]
                if wc.get("SessionStickinessConfig"):
                    to_staging, headers = _sticky(environ, pol, wc["Weight"], wc["SessionStickinessConfig"])
                else:
                    with _lock:
                        to_staging = RNG.random() < wc["Weight"]
            if to_staging:
                target, served = staging_id, staging_gen
            with _lock:
                r = ROUTED.setdefault(dist_id, {"primary": 0, "staging": 0})
                r["staging" if to_staging else "primary"] += 1
    with _lock:
        COUNTS[target] = COUNTS.get(target, 0) + 1
    return target, served, headers


edges.ROUTER = route


# ------------------------------------------------------------ control
def describe():
    with SIM.lock:
        pols = []
        attachments = {}
        for d in cloudfront_ext.all_distributions():
            pid = d.distribution_config.__dict__.get("ContinuousDeploymentPolicyId")
            if pid:
                attachments[d.distribution_id] = pid
        for acct, pmap in POLICIES.items():
            for p in pmap.values():
                staging = [d.distribution_id for d in cloudfront_ext.all_distributions()
                           if d.domain_name in p.dns_names]
                pols.append({"id": p.id, "account": acct, "etag": p.etag, "config": copy.deepcopy(p.config),
                             "staging_distributions": staging,
                             "attached_to": [k for k, v in attachments.items() if v == p.id],
                             "session_epoch": p.epoch})
    with _lock:
        counts, routed = dict(COUNTS), copy.deepcopy(ROUTED)
    return {"seed": STATE["seed"], "peak": STATE["peak"], "cookie": COOKIE, "policies": pols,
            "attachments": attachments, "counts": counts, "routed": routed}


def control(method, path, body):
    """The control endpoint's /canary calls."""
    if path == "/canary/seed" and method == "POST":
        seed = int(body.get("seed", 0))
        with _lock:
            RNG.seed(seed)
            STATE["seed"] = seed
        return 200, {"seed": seed}
    if path == "/canary/peak" and method == "POST":
        STATE["peak"] = bool(body.get("on", True))
        return 200, {"peak": STATE["peak"]}
    if path == "/canary" and method == "GET":
        return 200, describe()
    if path == "/canary" and method == "DELETE":
        with _lock:
            COUNTS.clear()
            ROUTED.clear()
        return 200, {"cleared": True}
    return 404, {"error": f"no such control path {method} {path}"}
