#!/usr/bin/env python3
"""Fetch this node's secrets from OOS secret parameters, with the instance's RAM role.

kubeadm-alicloud keeps CA keys, the service-account key, the encryption key and join
tokens out of user data: they live in OOS secret parameters (encrypted with KMS), and
only the role of the node that needs one may read it. This script runs at first boot,
before kubeadm, from node-bootstrap.sh:

    fetch-secrets.py --region cn-hangzhou --manifest secrets.list --dest DIR

The manifest has one "<parameter name> <path under DIR>" line per secret. The script
  1. asks the metadata service for a session token (tokens are required on our nodes),
     then for the role's temporary credentials, retrying while the role is not yet
     attached: Pulumi attaches it after the instance is created, and a control plane's
     bootstrap role only after its create returned, so this step has a time budget of
     its own (--role-wait-seconds, default 600: ROLE_WAIT_SECONDS in plan/timeouts.ts);
  2. calls OOS GetSecretParameter (WithDecryption) for each name, signed with
     ACS3-HMAC-SHA256, retrying network errors, throttling, 5xx and 403 (RAM
     changes take a moment to reach OOS) with exponential backoff;
  3. only when every secret was read, writes each one atomically, mode 0600, in
     directories of mode 0700. On any failure it writes nothing and exits 1: it
     fails closed.
It never prints a secret value. Standard library only, Python 3.6 or newer (Alibaba
Cloud Linux 3 has 3.6 as platform-python; Ubuntu 22.04 has 3.10).
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

OOS_VERSION = "2019-06-01"
ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{2,180}$")
PATH_PART_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# HTTP statuses worth another try: throttling, server trouble, and 403 while a new
# role's policy propagates.
RETRY_STATUS = {403, 429, 500, 502, 503, 504}


class FetchError(Exception):
    pass


def log(message):
    sys.stderr.write("{} fetch-secrets: {}\n".format(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message))
    sys.stderr.flush()


def percent_encode(value):
    """RFC 3986 encoding, as Alibaba Cloud's signature V3 requires."""
    return urllib.parse.quote(value, safe="-_.~")


def canonical_query(params):
    return "&".join("{}={}".format(percent_encode(k), percent_encode(v)) for k, v in sorted(params.items()))


def sign(method, path, params, headers, secret, body_sha256=EMPTY_SHA256):
    """The ACS3-HMAC-SHA256 signature of a request; headers are lower-case names."""
    names = sorted(headers)
    canonical_headers = "".join("{}:{}\n".format(n, headers[n].strip()) for n in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join([method, path, canonical_query(params), canonical_headers, signed_headers, body_sha256])
    string_to_sign = "{}\n{}".format(ALGORITHM, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest())
    signature = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return signed_headers, signature


def http(request, timeout):
    """(status, body) of a request; network failures raise URLError."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Budget:
    """A time budget shared by several steps: `seconds` in total from its creation."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def left(self):
        return self.deadline - time.monotonic()


def with_retries(what, attempt, attempts, backoff, budget=None, max_delay=None):
    """Call attempt() until it returns (True, value); it returns (False, why) to retry.

    Without a budget it gives up after `attempts` tries; with one (a Budget), once the
    budget's time is spent, however many tries that took. The delay doubles from
    `backoff` up to `max_delay` (default 30 x backoff) and never outlasts the budget."""
    delay = backoff
    cap = 30 * backoff if max_delay is None else max_delay
    n = 0
    while True:
        n += 1
        try:
            done, value = attempt()
        except (urllib.error.URLError, OSError) as err:
            done, value = False, "network error: {}".format(getattr(err, "reason", err))
        if done:
            return value
        why = value
        if budget is None:
            if n >= attempts:
                raise FetchError("{}: gave up after {} tries: {}".format(what, attempts, why))
            log("{}: try {} of {} failed ({}); again in {:g}s".format(what, n, attempts, why, delay))
            pause = delay
        else:
            left = budget.left()
            if left <= 0:
                raise FetchError("{}: gave up after {:g}s ({} tries): {}".format(what, budget.seconds, n, why))
            pause = min(delay, left)
            log("{}: try {} failed ({}); again in {:g}s ({:.0f}s of {:g}s left)".format(what, n, why, pause, left, budget.seconds))
        time.sleep(pause)
        delay = min(delay * 2, cap)


class Metadata:
    def __init__(self, url, attempts, backoff, role_wait_seconds):
        self.url = url.rstrip("/")
        self.attempts = attempts
        self.backoff = backoff
        self.role_wait_seconds = role_wait_seconds
        self.token = None

    def _token(self):
        def attempt():
            req = urllib.request.Request(self.url + "/latest/api/token", data=b"", method="PUT",
                                         headers={"X-aliyun-ecs-metadata-token-ttl-seconds": "900"})
            status, body = http(req, 5)
            return (True, body.decode()) if status == 200 and body else (False, "HTTP {}".format(status))
        return with_retries("metadata token", attempt, self.attempts, self.backoff)

    def get(self, path, what, budget=None):
        if self.token is None:
            self.token = self._token()

        def attempt():
            req = urllib.request.Request(self.url + "/latest/meta-data/" + path, headers={"X-aliyun-ecs-metadata-token": self.token})
            status, body = http(req, 5)
            # 404 until Pulumi has attached the instance's RAM role.
            return (True, body.decode()) if status == 200 and body.strip() else (False, "HTTP {}".format(status))
        # Polling a local service: while waiting for a role, look at least every 5 x backoff.
        return with_retries(what, attempt, self.attempts, self.backoff, budget, None if budget is None else 5 * self.backoff)

    def credentials(self):
        # The role may be attached minutes after boot: one time budget for both reads.
        budget = Budget(self.role_wait_seconds)
        role = self.get("ram/security-credentials/", "RAM role of this instance", budget).strip().splitlines()[0].strip()
        if not PATH_PART_RE.match(role):
            raise FetchError("unexpected RAM role name from the metadata service")
        creds = json.loads(self.get("ram/security-credentials/" + role, "credentials of role " + role, budget))
        for key in ("AccessKeyId", "AccessKeySecret", "SecurityToken"):
            if not creds.get(key):
                raise FetchError("the metadata service gave credentials without {}".format(key))
        return role, creds


def acs_request(endpoint, action, version, params, creds):
    """A signed RPC-style POST of an Alibaba Cloud API (signature V3, parameters in the
    query): OOS here; ESS in node-health.py, which loads this file as a module."""
    headers = {
        "host": urllib.parse.urlparse(endpoint).netloc,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": EMPTY_SHA256,
        "x-acs-security-token": creds["SecurityToken"],
    }
    signed, signature = sign("POST", "/", params, headers, creds["AccessKeySecret"])
    headers["Authorization"] = "{} Credential={},SignedHeaders={},Signature={}".format(ALGORITHM, creds["AccessKeyId"], signed, signature)
    headers["accept"] = "application/json"
    return urllib.request.Request("{}/?{}".format(endpoint.rstrip("/"), canonical_query(params)), data=b"", method="POST", headers=headers)


class Oos:
    def __init__(self, endpoint, region, creds, attempts, backoff):
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.creds = creds
        self.attempts = attempts
        self.backoff = backoff

    def request(self, action, params):
        return acs_request(self.endpoint, action, OOS_VERSION, params, self.creds)

    def secret(self, name, optional=False):
        """The parameter's value; None for an optional parameter OOS does not have."""
        params = {"Name": name, "WithDecryption": "true", "RegionId": self.region}

        def attempt():
            status, body = http(self.request("GetSecretParameter", params), 10)
            try:
                doc = json.loads(body.decode("utf-8") or "{}")
            except ValueError:
                doc = {}
            if status == 200:
                value = (doc.get("Parameter") or {}).get("Value")
                if not value:
                    raise FetchError("OOS returned no value for {}".format(name))
                return True, value
            why = "HTTP {} {}: {}".format(status, doc.get("Code", ""), doc.get("Message", "")).strip()
            # GetSecretParameter answers EntityNotExists.SecretParameter for a name it
            # does not hold (OOS API reference, GetSecretParameter error codes).
            if optional and status == 404 and str(doc.get("Code", "")).startswith("EntityNotExists"):
                return True, None
            if status in RETRY_STATUS or "Throttling" in str(doc.get("Code", "")):
                return False, why
            raise FetchError("OOS refused {}: {}".format(name, why))
        return with_retries("secret " + name, attempt, self.attempts, self.backoff)


def read_manifest(path):
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "optional"):
                raise FetchError("{}:{}: expected '<parameter name> <path> [optional]'".format(path, number))
            name, rel = parts[0], parts[1]
            segments = rel.split("/")
            if not NAME_RE.match(name) or any(s in ("", ".", "..") or not PATH_PART_RE.match(s) for s in segments):
                raise FetchError("{}:{}: bad parameter name or path".format(path, number))
            entries.append((name, segments, len(parts) == 3))
    if not entries:
        raise FetchError("{}: no secrets listed".format(path))
    return entries


def write_secret(dest, segments, value):
    directory = dest
    for part in segments[:-1]:
        directory = os.path.join(directory, part)
        if not os.path.isdir(directory):
            os.mkdir(directory, 0o700)
        os.chmod(directory, 0o700)
    final = os.path.join(directory, segments[-1])
    tmp = "{}.tmp-{}".format(final, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, value.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def main(argv):
    parser = argparse.ArgumentParser(description="Fetch this node's secrets from OOS secret parameters.")
    parser.add_argument("--region", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--metadata-url", default="http://100.100.100.200")
    parser.add_argument("--endpoint", help="OOS endpoint URL (default https://oos.<region>.aliyuncs.com)")
    parser.add_argument("--attempts", type=int, default=8)
    parser.add_argument("--backoff-seconds", type=float, default=2.0)
    parser.add_argument("--role-wait-seconds", type=float, default=600.0,
                        help="how long to wait for the instance's RAM role to be attached (default 600)")
    args = parser.parse_args(argv)
    os.umask(0o077)
    try:
        entries = read_manifest(args.manifest)
        metadata = Metadata(args.metadata_url, args.attempts, args.backoff_seconds, args.role_wait_seconds)
        role, creds = metadata.credentials()
        log("reading {} secrets with role {}".format(len(entries), role))
        oos = Oos(args.endpoint or "https://oos.{}.aliyuncs.com".format(args.region), args.region, creds, args.attempts, args.backoff_seconds)
        values = []
        for name, segments, optional in entries:
            value = oos.secret(name, optional)
            if value is None:
                log("{} does not exist (optional): not written".format(name))
            else:
                values.append((segments, value))
        if not os.path.isdir(args.dest):
            os.makedirs(args.dest, 0o700)
        os.chmod(args.dest, 0o700)
        for segments, value in values:
            write_secret(args.dest, segments, value)
    except (FetchError, OSError, ValueError) as err:
        log("FAILED: {}".format(err))
        return 1
    log("wrote {} secrets under {}".format(len(values), args.dest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
