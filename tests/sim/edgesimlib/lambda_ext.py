"""Lambda Invoke for ordinary functions: the function's zip (held by moto)
runs with node, one process per invocation.

invoke(account, region, name, payload) is what the rest of the simulator
calls (the gateway for the Invoke API, pipeline_ext for a Lambda invoke
action). The handler sees the function's environment variables plus
AWS_REGION and AWS_LAMBDA_FUNCTION_NAME; EDGESIM_CONTROL points at the
control endpoint, which the simulator's @aws-sdk/client-codepipeline
(tests/sim/edgesimlib/node, on NODE_PATH and beside the unpacked code) posts
job results to.

The function reaches the simulated distributions by name: EDGESIM_ROUTES
maps each distribution's domain and aliases to the first edge, and
node/edgesim-routes.js, preloaded with --require, sends fetch and
http(s).request for those hosts to that edge with the Host header set.
"""

import json
import os
import subprocess
import uuid

from moto.awslambda.models import lambda_backends

from .state import SIM

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "lambda_runner.js")
NODE_MODULES = os.path.join(HERE, "node")
ROUTES_JS = os.path.join(NODE_MODULES, "edgesim-routes.js")


class LambdaError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _split(name, qualifier):
    # NAME, NAME:QUALIFIER, or an ARN arn:aws:lambda:R:A:function:NAME[:Q]
    if name.startswith("arn:"):
        parts = name.split(":")
        name = parts[6]
        if len(parts) > 7 and not qualifier:
            qualifier = parts[7]
    elif ":" in name:
        name, qualifier = name.split(":", 1)
    return name, qualifier


def _function(account, region, name, qualifier):
    with SIM.lock:
        try:
            fn = lambda_backends[account][region].get_function(name, qualifier)
        except Exception:
            fn = None
        if fn is None:
            raise LambdaError(404, "ResourceNotFoundException",
                              f"Function not found: arn:aws:lambda:{region}:{account}:function:{name}")
        return {
            "code": fn.code_bytes,
            "handler": fn.handler or "index.handler",
            "timeout": int(fn.timeout or 3),
            "env": dict(fn.environment_vars or {}),
            "arn": fn.function_arn,
            "name": fn.function_name,
            "version": str(fn.version),
        }


def _routes():
    """{host: edge URL} for every distribution's domain and aliases."""
    from . import cloudfront_ext

    if not SIM.edges:
        return {}
    edge = SIM.edges[0].url
    out = {}
    with SIM.lock:
        for dist in cloudfront_ext.all_distributions():
            snap = cloudfront_ext.snapshot(dist)
            for host in [snap["domain"]] + snap["aliases"]:
                out[host.lower()] = edge
    return out


def _node_modules_beside(code_dir):
    # ES modules ignore NODE_PATH: a node_modules in a parent directory of
    # the unpacked code is found by both import and require.
    link = os.path.join(os.path.dirname(code_dir), "node_modules")
    if not os.path.exists(link):
        try:
            os.symlink(NODE_MODULES, link)
        except FileExistsError:
            pass


def invoke(account, region, name, payload, qualifier=None):
    """Run the function on payload (any JSON value). Returns (result, error):
    error is None or {"errorType", "errorMessage"} when the handler threw or
    timed out. Raises LambdaError when there is no such function."""
    name, qualifier = _split(name, qualifier)
    fn = _function(account, region, name, qualifier)
    if not fn["code"]:
        return None, {"errorType": "Runtime.ImportModuleError", "errorMessage": "the function package is empty"}
    from .edges import _code_dir

    code_dir = _code_dir(fn["code"])
    _node_modules_beside(code_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({str(k): str(v) for k, v in fn["env"].items()})
    env.update(
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_LAMBDA_FUNCTION_NAME=fn["name"],
        AWS_LAMBDA_FUNCTION_VERSION=fn["version"],
        EDGESIM_FUNCTION_ARN=fn["arn"],
        EDGESIM_REQUEST_ID=str(uuid.uuid4()),
        EDGESIM_CONTROL=SIM.control_url or "",
        EDGESIM_ROUTES=json.dumps(_routes()),
        NODE_PATH=NODE_MODULES + (os.pathsep + env["NODE_PATH"] if env.get("NODE_PATH") else ""),
    )
    try:
        p = subprocess.run(
            [SIM.node, "--require", ROUTES_JS, RUNNER, code_dir, fn["handler"], str(fn["timeout"])],
            input=json.dumps(payload).encode(),
            capture_output=True,
            timeout=fn["timeout"] + 10,
            env=env,
        )
        res = json.loads(p.stdout.decode() or "{}")
    except subprocess.TimeoutExpired:
        return None, {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {fn['timeout']}.00 seconds"}
    except (OSError, ValueError) as e:
        return None, {"errorType": "Runtime.ExitError", "errorMessage": f"the runtime failed: {e}"}
    if not res.get("ok"):
        return None, {"errorType": res.get("errorType") or "Error",
                      "errorMessage": res.get("errorMessage") or p.stderr.decode()[-2000:]}
    return res.get("result"), None


def invoke_api(account, region, path, query, body, headers):
    """The Invoke API (POST /2015-03-31/functions/NAME/invocations):
    RequestResponse runs and answers the result; Event answers 202 and runs
    in the background; DryRun answers 204."""
    import threading
    import urllib.parse

    name = urllib.parse.unquote(path.split("/")[3])
    qualifier = (urllib.parse.parse_qs(query or "").get("Qualifier") or [None])[0]
    kind = headers.get("x-amz-invocation-type") or "RequestResponse"
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise LambdaError(400, "InvalidRequestContentException", "Could not parse request body into json")
    n, q = _split(name, qualifier)
    _function(account, region, n, q)
    if kind == "DryRun":
        return 204, [], b""
    if kind == "Event":
        threading.Thread(target=invoke, args=(account, region, name, payload, qualifier), daemon=True).start()
        return 202, [], b""
    result, error = invoke(account, region, name, payload, qualifier)
    hdrs = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
    if error is not None:
        hdrs.append(("X-Amz-Function-Error", "Unhandled"))
        return 200, hdrs, json.dumps(dict(error, trace=[])).encode()
    return 200, hdrs, json.dumps(result).encode()
