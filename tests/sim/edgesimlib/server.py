"""Start moto's server in-process with the extensions, the control
endpoint and the edge fleet; print one JSON line; stop on SIGTERM."""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading

DEFAULT_KEY_ID = "AKIAEDGESIM000000001"
DEFAULT_SECRET = "edgesim/test/secret/not-a-real-key/0001"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="edgesim", description="moto with edgeship's AWS behaviour over time")
    p.add_argument("--port", type=int, default=0, help="AWS endpoint port (default: a free one)")
    p.add_argument("--control-port", type=int, default=0, help="control endpoint port (default: a free one)")
    p.add_argument("--speed", choices=("test", "demo"), default="test",
                   help="timing profile: test (about a second) or demo (tens of seconds)")
    p.add_argument("--seed", type=int, default=0, help="random seed for propagation order and delays")
    p.add_argument("--state-dir", help="directory for the request log and unpacked function code "
                   "(default: a new temporary directory)")
    p.add_argument("--edges", type=int, default=4, help="number of simulated edge locations (default 4)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--no-verify-signatures", action="store_true", help="accept any (or no) signature")
    p.add_argument("--cfn-wait-deployed", action="store_true",
                   help="make a stack's distribution step wait for Deployed, as real CloudFormation does")
    p.add_argument("--set", action="append", default=[], metavar="NAME=SECONDS",
                   help="override one timing value: stack_step, changeset_delay, propagation_min, "
                   "propagation_max, invalidation, pipeline_step, metric_period")
    p.add_argument("--traffic", type=float, default=0, metavar="RATE",
                   help="send RATE requests/s to every distribution through the edges")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import moto.server  # noqa: F401
        import samtranslator  # noqa: F401
    except ImportError as e:
        sys.stderr.write(f"edgesim: {e}: pip install 'moto[server]' aws-sam-translator\n")
        return 2

    from .state import SIM

    state_dir = args.state_dir or tempfile.mkdtemp(prefix="edgesim.")
    SIM.configure(args.speed, args.seed, state_dir, args.region)
    for item in args.set:
        k, _, v = item.partition("=")
        if k not in SIM.params:
            sys.stderr.write(f"edgesim: unknown timing value {k}\n")
            return 2
        SIM.params[k] = float(v)
    SIM.verify_signatures = not args.no_verify_signatures
    SIM.cfn_wait_deployed = args.cfn_wait_deployed

    # The extensions patch moto when imported.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import (  # noqa: F401
        cd_ext, cfn_ext, cloudfront_ext, control, edges, gateway, metrics_ext, ops_ext, pipeline_cfn,
        replicas, resources)
    from .sigv4 import Keys

    resources.register()

    key_id = os.environ.get("AWS_ACCESS_KEY_ID") or DEFAULT_KEY_ID
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or DEFAULT_SECRET
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        secret = DEFAULT_SECRET
    keys = Keys(key_id, secret)

    log = gateway.RequestLog(os.path.join(state_dir, "requests.jsonl"))
    faults = gateway.Faults()
    moto_app = DomainDispatcherApplication(create_backend_app)
    app = gateway.Gateway(moto_app, keys, log, faults)
    aws = gateway.make_server(args.port, app)
    fleet = edges.start_fleet(args.edges) if args.edges > 0 else []
    info = {}
    ctl = gateway.make_server(args.control_port, control.Control(faults, log, info))

    endpoint = f"http://127.0.0.1:{aws.server_port}"
    SIM.control_url = f"http://127.0.0.1:{ctl.server_port}"
    info.update(
        endpoint=endpoint,
        control=f"http://127.0.0.1:{ctl.server_port}",
        edges=[{"pop": e.pop, "code": e.code, "url": e.url} for e in fleet],
        region=args.region,
        pid=os.getpid(),
        log=log.path,
        state_dir=state_dir,
        access_key_id=key_id,
        speed=args.speed,
        seed=args.seed,
        verify_signatures=SIM.verify_signatures,
    )

    threads = [
        threading.Thread(target=aws.serve_forever, daemon=True, name="aws"),
        threading.Thread(target=ctl.serve_forever, daemon=True, name="control"),
    ]
    for t in threads:
        t.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())

    if args.traffic > 0:
        metrics_ext.start_traffic(args.traffic)
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    for srv in [aws, ctl] + [e.server for e in fleet]:
        srv.shutdown()
        srv.server_close()
    return 0
