"""Packaged templates compared across packagers: every reference to an
object in the artifact bucket is replaced by what the object holds (a zip by
its entries' digests, a file by its digest, a nested template by its own
normalised content), so edgeship's output and `aws cloudformation package`'s
can be compared although they name objects differently (SHA-256 and MD5)."""

import hashlib
import io
import json
import zipfile

import yaml


class Normaliser:
    """Replaces each reference to an object in bucket by what it holds, and
    collects those contents (the artifacts) as it goes."""

    def __init__(self, s3, bucket):
        self.s3 = s3
        self.bucket = bucket
        self.kinds = []
        self.artifacts = []

    def _get(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def content(self, key):
        data = self._get(key)
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                out = ["zip"] + sorted((n, hashlib.sha256(z.read(n)).hexdigest())
                                       for n in z.namelist() if not n.endswith("/"))
        else:
            out = ["file", hashlib.sha256(data).hexdigest()]
        self.artifacts.append(json.dumps(out))
        return out

    def template(self, key):
        out = ["template", self.norm(yaml.safe_load(self._get(key).decode()))]
        self.artifacts.append(json.dumps(out))
        return out

    def norm(self, v):
        b = self.bucket
        if isinstance(v, dict):
            if v.get("S3Bucket") == b and "S3Key" in v:
                self.kinds.append("S3Bucket/S3Key")
                return ["S3Bucket/S3Key", self.content(v["S3Key"])]
            if v.get("Bucket") == b and "Key" in v:
                self.kinds.append("Bucket/Key")
                return ["Bucket/Key", self.content(v["Key"])]
            return {k: self.norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.norm(x) for x in v]
        if isinstance(v, str) and v.startswith(f"s3://{b}/"):
            self.kinds.append("s3-uri")
            return ["s3-uri", self.content(v[len(f"s3://{b}/"):])]
        if isinstance(v, str) and v.startswith("http") and f"/{b}/" in v:
            self.kinds.append("url")
            return ["url", self.template(v.split(f"/{b}/", 1)[1].split("?")[0])]
        return v


def diff(a, b, path=""):
    """Where two normalised templates differ, one line per place."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k), b.get(k), f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: edgeship {a!r} / aws {b!r}"]
