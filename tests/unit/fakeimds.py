#!/usr/bin/env python3
"""A stand-in for the EC2 instance metadata service (IMDSv2 only) and the
ECS/EKS container credentials endpoint, for the credentials unit tests.

Listens on 127.0.0.1 on a free port and prints that port on its first
stdout line. Standard library only.

  PUT /latest/api/token                              needs the TTL header
  GET /latest/meta-data/iam/security-credentials/    needs the token header
  GET /latest/meta-data/iam/security-credentials/ROLE
  GET /container/creds                               needs Authorization
"""
import datetime
import http.server
import json
import sys

IMDS_TOKEN = "fake-imds-session-token"
ROLE = "edgeship-test-role"
CONTAINER_TOKEN = "container-auth-token"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def expiration():
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    return later.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the test output clean
        pass

    def reply(self, status, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_PUT(self):
        self.drain()
        if self.path != "/latest/api/token":
            return self.reply(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "missing or bad TTL header")
        return self.reply(200, IMDS_TOKEN)

    def do_GET(self):
        if self.path == "/container/creds":
            if self.headers.get("Authorization") != CONTAINER_TOKEN:
                return self.reply(401, "bad authorization")
            return self.reply(200, json.dumps({
                "AccessKeyId": "ASIACONTAINERKEY",
                "SecretAccessKey": "container-secret-key",
                "Token": "container-session-token",
                "Expiration": expiration(),
            }), "application/json")
        if self.path.startswith("/latest/"):
            # IMDSv2: every read needs the session token.
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self.reply(401, "token required")
            if self.path == CREDS_PATH:
                return self.reply(200, ROLE)
            if self.path == CREDS_PATH + ROLE:
                return self.reply(200, json.dumps({
                    "Code": "Success",
                    "LastUpdated": "2026-01-01T00:00:00Z",
                    "Type": "AWS-HMAC",
                    "AccessKeyId": "ASIAIMDSKEY",
                    "SecretAccessKey": "imds-secret-key",
                    "Token": "imds-session-token",
                    "Expiration": expiration(),
                }), "application/json")
        return self.reply(404, "not found")


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
