#!/usr/bin/env python3
"""A stand-in for the Alibaba Cloud services our node scripts talk to, on localhost.

It imitates the metadata service's hardened mode (PUT /latest/api/token, then the
token header on every read; a RAM role that appears after a few polls), OOS
GetSecretParameter (JSON errors with Code and Message), two ESS calls, and OSS PutObject (any other
PUT: the object is kept under CONFIG's directory, objects/<path>; its body is logged as
its MD5 and size; x-oss-forbid-overwrite answers 409 FileAlreadyExists for a key it
has). It does NOT check signatures: it logs every request as a JSON line, and the test
recomputes the signature with its own implementation. Behaviour comes from a JSON file:
  parameters   {name: value} OOS knows
  deny         names OOS answers 403 Forbidden.RAM for, every time
  failFirst    how many OOS requests get 503 ServiceUnavailable first
  roleAfter    how many credential polls answer 404 before the role shows up
  ossStatus    the status every OSS PUT gets instead of 200 (e.g. 403), if set
  scalingInstances  {scalingGroupId: [{InstanceId, CreationTime, LifecycleState,
               HealthStatus}]} for ESS DescribeScalingInstances / SetInstanceHealth
  essDeny      ESS actions answered 403 Forbidden.RAM
Usage: fake-cloud.py CONFIG LOG PORTFILE
"""
import base64
import hashlib
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

CONFIG, LOG, PORTFILE = sys.argv[1:4]
ROLE = "stub-node-role"
TOKEN = "md-token-123"
lock = threading.Lock()
counts = {"oos": 0, "role": 0}


def config():
    with open(CONFIG) as f:
        return json.load(f)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self, body):
        entry = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, status, payload):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_PUT(self):
        if self.path != "/latest/api/token":
            return self.put_object()
        self.record(self.body())
        if self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds"):
            return self.reply(200, TOKEN.encode())
        self.reply(400, b"bad token request")

    def put_object(self):
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        self.record({"md5": md5, "size": len(data)})
        status = config().get("ossStatus")
        if status:
            return self.reply(status, b"<Error><Code>AccessDenied</Code></Error>")
        if self.headers.get("Content-MD5") != md5:
            return self.reply(400, b"<Error><Code>InvalidDigest</Code></Error>")
        target = os.path.join(os.path.dirname(CONFIG), "objects", urllib.parse.unquote(self.path.lstrip("/")))
        if os.path.exists(target) and self.headers.get("x-oss-forbid-overwrite") == "true":
            return self.reply(409, b"<Error><Code>FileAlreadyExists</Code></Error>")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
        self.reply(200, b"")

    def do_GET(self):
        self.record("")
        if self.headers.get("X-aliyun-ecs-metadata-token") != TOKEN:
            return self.reply(401, b"token required")
        if self.path == "/latest/meta-data/ram/security-credentials/":
            with lock:
                counts["role"] += 1
                early = counts["role"] <= config().get("roleAfter", 0)
            return self.reply(404, b"") if early else self.reply(200, ROLE.encode())
        if self.path == "/latest/meta-data/ram/security-credentials/" + ROLE:
            return self.reply(200, {"AccessKeyId": "STS.stub-id", "AccessKeySecret": "stub-secret", "SecurityToken": "stub-sts-token", "Expiration": "2099-01-01T00:00:00Z"})
        self.reply(404, b"")

    def do_POST(self):
        self.record(self.body())
        cfg = config()
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
        with lock:
            counts["oos"] += 1
            failing = counts["oos"] <= cfg.get("failFirst", 0)
        if failing:
            return self.reply(503, {"Code": "ServiceUnavailable", "Message": "stub outage", "RequestId": "r"})
        if self.headers.get("x-acs-action") in ("DescribeScalingInstances", "SetInstanceHealth"):
            return self.ess(cfg, self.headers.get("x-acs-action"), query)
        if self.headers.get("x-acs-action") != "GetSecretParameter" or not self.headers.get("Authorization", "").startswith("ACS3-HMAC-SHA256 "):
            return self.reply(400, {"Code": "InvalidParameter", "Message": "unexpected request", "RequestId": "r"})
        name = query.get("Name", "")
        if name in cfg.get("deny", []):
            return self.reply(403, {"Code": "Forbidden.RAM", "Message": "User not authorized to operate on the specified resource.", "RequestId": "r"})
        if name not in cfg.get("parameters", {}) or query.get("WithDecryption") != "true":
            return self.reply(404, {"Code": "EntityNotExists.SecretParameter", "Message": "no such parameter", "RequestId": "r"})
        self.reply(200, {"RequestId": "r", "Parameter": {"Name": name, "Type": "Secret", "Value": cfg["parameters"][name]}})


    def ess(self, cfg, action, query):
        """ESS 2014-08-28: DescribeScalingInstances (paged, filtered by LifecycleState) and
        SetInstanceHealth, answered from cfg["scalingInstances"]; cfg["essDeny"] lists
        actions answered 403 Forbidden.RAM."""
        if self.headers.get("x-acs-version") != "2014-08-28" or not self.headers.get("Authorization", "").startswith("ACS3-HMAC-SHA256 "):
            return self.reply(400, {"Code": "InvalidParameter", "Message": "unexpected request", "RequestId": "r"})
        if action in cfg.get("essDeny", []):
            return self.reply(403, {"Code": "Forbidden.RAM", "Message": "User not authorized to operate on the specified resource.", "RequestId": "r"})
        if action == "SetInstanceHealth":
            known = any(i["InstanceId"] == query.get("InstanceId") for g in cfg.get("scalingInstances", {}).values() for i in g)
            if not known or query.get("HealthStatus") not in ("Healthy", "Unhealthy"):
                return self.reply(404, {"Code": "InvalidInstanceId.NotFound", "Message": "no such instance", "RequestId": "r"})
            return self.reply(200, {"RequestId": "r"})
        group = cfg.get("scalingInstances", {}).get(query.get("ScalingGroupId", ""), [])
        state = query.get("LifecycleState")
        matching = [i for i in group if state is None or i.get("LifecycleState", "InService") == state]
        size, page = int(query.get("PageSize", "10")), int(query.get("PageNumber", "1"))
        self.reply(200, {"RequestId": "r", "TotalCount": len(matching), "PageNumber": page, "PageSize": size,
                         "ScalingInstances": {"ScalingInstance": matching[(page - 1) * size:page * size]}})


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
