#!/usr/bin/env python3
"""Put one file into OSS with the instance's RAM role: a control plane's etcd snapshot.

    oss-put.py --region cn-hangzhou --bucket B --key etcd/cp-0/...db --file SNAPSHOT

Signs with OSS's V4 signature (OSS4-HMAC-SHA256), computed as Alibaba's own SDK does
(aliyun/alibabacloud-oss-python-sdk-v2 alibabacloud_oss_v2/signer/v4.py, `_auth_header`;
test/etcd-backup.test.ts reproduces that SDK's test vectors, tests/unit/signer/test_v4.py).
The object is sent with its Content-MD5 (OSS refuses a body that does not match) and
x-oss-forbid-overwrite (a snapshot is never replaced). The role's credentials, the
retries with backoff and the time budgets come from fetch-secrets.py, installed beside
this file, loaded as a module. Standard library only, Python 3.6 or newer.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import importlib.util
import os
import sys
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# Worth another try: throttling, server trouble, and 403 while a new policy propagates.
RETRY_STATUS = {403, 429, 500, 502, 503, 504}


def load_common(path):
    spec = importlib.util.spec_from_file_location("fetch_secrets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _quote(value):
    return urllib.parse.quote(value, safe="")


def v4_authorization(method, bucket, key, query, headers, access_key_id, secret, region, when):
    """Add x-oss-date and x-oss-content-sha256 to `headers` (lower-case names, the security
    token already in) and return the Authorization value. `query`: (name, value) pairs."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    headers["x-oss-date"] = stamp
    headers["x-oss-content-sha256"] = "UNSIGNED-PAYLOAD"
    scope = "{}/{}/oss/aliyun_v4_request".format(day, region)
    uri = urllib.parse.quote("/{}/{}".format(bucket, key), safe="/")
    pairs = sorted((_quote(k), _quote(v)) for k, v in query)
    canonical_query = "&".join("{}={}".format(k, v) if v else k for k, v in pairs)
    signed = sorted((k, v) for k, v in headers.items() if k.startswith("x-oss-") or k in ("content-type", "content-md5"))
    canonical_headers = "".join("{}:{}\n".format(k, v) for k, v in signed)
    canonical_request = "\n".join([method, uri, canonical_query, canonical_headers, "", "UNSIGNED-PAYLOAD"])
    string_to_sign = "\n".join(
        ["OSS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    signing_key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (day, region, "oss", "aliyun_v4_request"):
        signing_key = hmac.new(signing_key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return "OSS4-HMAC-SHA256 Credential={}/{},Signature={}".format(access_key_id, scope, signature)


def put(common, endpoint, region, bucket, key, path, creds, attempts, backoff, timeout):
    with open(path, "rb") as f:
        body = f.read()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    url = "{}/{}".format(endpoint.rstrip("/"), urllib.parse.quote(key, safe="/"))

    def attempt():
        headers = {
            "content-type": "application/octet-stream",
            "content-md5": md5,
            "x-oss-forbid-overwrite": "true",
            "x-oss-security-token": creds["SecurityToken"],
        }
        now = datetime.datetime.now(datetime.timezone.utc)
        auth = v4_authorization("PUT", bucket, key, [], headers, creds["AccessKeyId"], creds["AccessKeySecret"], region, now)
        headers["authorization"] = auth
        headers["date"] = now.strftime("%a, %d %b %Y %H:%M:%S GMT")
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        status, answer = common.http(request, timeout)
        if status == 200:
            return True, None
        why = "HTTP {}: {}".format(status, answer[:300].decode("utf-8", "replace"))
        if status in RETRY_STATUS:
            return False, why
        raise common.FetchError("OSS refused {}: {}".format(key, why))

    common.with_retries("upload of " + key, attempt, attempts, backoff)
    return len(body)


def main(argv):
    parser = argparse.ArgumentParser(description="Put one file into OSS with the instance's RAM role.")
    parser.add_argument("--region", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--endpoint", help="default https://<bucket>.oss-<region>-internal.aliyuncs.com (from the VPC)")
    parser.add_argument("--metadata-url", default="http://100.100.100.200")
    parser.add_argument("--common", default=os.path.join(HERE, "fetch-secrets.py"))
    parser.add_argument("--attempts", type=int, default=6)
    parser.add_argument("--backoff-seconds", type=float, default=2.0)
    parser.add_argument("--timeout-seconds", type=float, default=300.0, help="one upload attempt")
    args = parser.parse_args(argv)
    common = load_common(args.common)
    try:
        metadata = common.Metadata(args.metadata_url, args.attempts, args.backoff_seconds, 60.0)
        _, creds = metadata.credentials()
        endpoint = args.endpoint or "https://{}.oss-{}-internal.aliyuncs.com".format(args.bucket, args.region)
        size = put(common, endpoint, args.region, args.bucket, args.key, args.file, creds,
                   args.attempts, args.backoff_seconds, args.timeout_seconds)
    except (common.FetchError, OSError, ValueError) as err:
        common.log("FAILED: {}".format(err))
        return 1
    common.log("put {} ({} bytes) into {}".format(args.key, size, args.bucket))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
