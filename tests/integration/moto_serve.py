#!/usr/bin/env python3
"""moto's server, one request at a time.

moto checks a conditional PutObject (If-None-Match: *, If-Match) and then
writes, in two steps; with its threaded server two racing writers can both
pass the check, and one record overwrites the other. S3 makes the check and
the write one step. Handling one request at a time gives the integration
tests that guarantee, so a race test measures the client, not moto.

usage: moto_serve.py -H HOST -p PORT
"""
import argparse
import sys
import threading


def main():
    p = argparse.ArgumentParser(prog="moto_serve")
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, required=True)
    args = p.parse_args()
    try:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import run_simple
    except ImportError as e:
        sys.stderr.write(f"moto_serve: {e}: pip install 'moto[server]'\n")
        return 1
    moto_app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def app(environ, start_response):
        with one_at_a_time:
            # The whole answer is produced under the lock: moto's answers
            # are lists, so this is a copy of references, not a stream.
            return list(moto_app(environ, start_response))

    run_simple(args.host, args.port, app, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
