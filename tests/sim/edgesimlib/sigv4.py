"""SigV4 verification with botocore's signer.

The canonical request is rebuilt from the request exactly as received: the
client's own SignedHeaders list, the raw path (normalised by botocore for
every service but S3) and the raw query string; the payload hash is the
x-amz-content-sha256 header when present, else sha256 of the body. botocore
is independent of the C signer under test, so a signing bug fails here.
"""

import datetime
import hmac
import re

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .state import SIM

MAX_SKEW = 15 * 60

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request\s*,\s*"
    r"SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$"
)


class AuthFailure(Exception):
    def __init__(self, code, message, status=403, extra=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}


class Keys:
    """The credentials the simulator accepts."""

    def __init__(self, access_key_id, secret):
        self.access_key_id = access_key_id
        self._secret = secret

    def lookup(self, akid):
        """(secret, session_token or None, expiration or None) or None."""
        if akid == self.access_key_id:
            return self._secret, None, None
        from moto.sts.models import sts_backends

        for acct in list(sts_backends.keys()):
            for region in list(sts_backends[acct].keys()):
                for role in list(sts_backends[acct][region].assumed_roles):
                    if role.access_key_id == akid:
                        return role.secret_access_key, role.session_token, role.expiration
        return None


def _exact_headers_auth(base):
    class Exact(base):
        def __init__(self, creds, service, region, signed):
            super().__init__(creds, service, region)
            self._signed = signed

        def headers_to_sign(self, request):
            hm = HTTPHeaders()
            for name in self._signed:
                for v in request.headers.get_all(name) or []:
                    hm[name] = v
            return hm

    return Exact


ExactSigV4 = _exact_headers_auth(SigV4Auth)
ExactS3SigV4 = _exact_headers_auth(S3SigV4Auth)


def _header(environ, name):
    lname = name.lower()
    if lname == "content-type":
        return environ.get("CONTENT_TYPE")
    if lname == "content-length":
        return environ.get("CONTENT_LENGTH")
    return environ.get("HTTP_" + lname.upper().replace("-", "_"))


def raw_path_and_query(environ):
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if "://" in raw:  # absolute-form request target
            raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
        path, _, query = raw.partition("?")
        return path, query
    from urllib.parse import quote

    return quote(environ.get("PATH_INFO", "")), environ.get("QUERY_STRING", "")


def parse_amz_date(value):
    try:
        return datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def skew_error(service, req_time, now):
    req_s = req_time.strftime("%Y%m%dT%H%M%SZ")
    now_s = now.strftime("%Y%m%dT%H%M%SZ")
    if service == "s3":
        return AuthFailure(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            extra={
                "RequestTime": req_time.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "MaxAllowedSkewMilliseconds": "900000",
            },
        )
    if req_time < now:
        lim = (now - datetime.timedelta(seconds=MAX_SKEW)).strftime("%Y%m%dT%H%M%SZ")
        msg = f"Signature expired: {req_s} is now earlier than {lim} ({now_s} - 15 min.)"
    else:
        lim = (now + datetime.timedelta(seconds=MAX_SKEW)).strftime("%Y%m%dT%H%M%SZ")
        msg = f"Signature not yet current: {req_s} is still later than {lim} ({now_s} + 15 min.)"
    code = "InvalidSignatureException" if service in ("codepipeline", "lambda") else "SignatureDoesNotMatch"
    return AuthFailure(code, msg)


def verify(environ, body, keys):
    """Raise AuthFailure unless the request is correctly signed."""
    auth = _header(environ, "authorization")
    if not auth:
        if "X-Amz-Signature=" in (environ.get("QUERY_STRING") or ""):
            raise AuthFailure("AccessDenied", "Presigned URLs are not supported by the simulator.")
        raise AuthFailure("MissingAuthenticationToken", "Request is missing Authentication Token")
    m = AUTH_RE.match(auth.strip())
    if not m:
        raise AuthFailure(
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
            "of the AWS4-HMAC-SHA256 algorithm. Authorization=" + auth.split(" ")[0],
            status=400,
        )
    akid, scope_date, region, service, signed_headers, signature = m.groups()
    found = keys.lookup(akid)
    if found is None:
        if service == "s3":
            raise AuthFailure("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        raise AuthFailure("InvalidClientTokenId", "The security token included in the request is invalid.")
    secret, token, expiration = found
    signed = signed_headers.split(";")
    if "host" not in signed:
        raise AuthFailure("SignatureDoesNotMatch", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if token is not None:
        given = _header(environ, "x-amz-security-token")
        if not given or given != token:
            raise AuthFailure(
                "InvalidClientTokenId" if service != "s3" else "InvalidToken",
                "The security token included in the request is invalid.",
            )
        if "x-amz-security-token" not in signed and service != "s3":
            pass  # AWS accepts an unsigned token header for most services
        now_naive = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        exp = expiration.replace(tzinfo=None) if expiration.tzinfo else expiration
        if exp < now_naive:
            raise AuthFailure("ExpiredToken", "The security token included in the request is expired", status=400 if service != "s3" else 400)
    amz_date = _header(environ, "x-amz-date")
    req_time = parse_amz_date(amz_date)
    if req_time is None:
        raise AuthFailure(
            "IncompleteSignature" if service != "s3" else "AccessDenied",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            status=400 if service != "s3" else 403,
        )
    now = datetime.datetime.fromtimestamp(SIM.server_time(), datetime.timezone.utc)
    if abs((now - req_time).total_seconds()) > MAX_SKEW:
        raise skew_error(service, req_time, now)
    if amz_date[:8] != scope_date:
        raise AuthFailure("SignatureDoesNotMatch", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")

    path, query = raw_path_and_query(environ)
    host = _header(environ, "host") or ""
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"), url=url, data=body or b"")
    for name in signed:
        v = _header(environ, name)
        if v is None:
            raise AuthFailure("SignatureDoesNotMatch", f"Signed header '{name}' is missing from the request.")
        req.headers[name] = v
    sha = _header(environ, "x-amz-content-sha256")
    if sha is not None and "X-Amz-Content-SHA256" not in req.headers:
        req.headers["X-Amz-Content-SHA256"] = sha
    req.context["timestamp"] = amz_date
    cls = ExactS3SigV4 if service == "s3" else ExactSigV4
    signer = cls(Credentials(akid, secret), service, region, signed)
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    expected = signer.signature(sts, req)
    if not hmac.compare_digest(expected, signature):
        if service == "s3":
            raise AuthFailure(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                extra={"AWSAccessKeyId": akid, "StringToSign": sts, "CanonicalRequest": canonical},
            )
        raise AuthFailure(
            "SignatureDoesNotMatch" if service not in ("codepipeline", "lambda") else "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            f"The Canonical String for this request should have been\n'{canonical}'\n\n"
            f"The String-to-Sign should have been\n'{sts}'\n",
        )
    return akid, service, region
