#!/usr/bin/env python3
"""A minimal stand-in for kube-apiserver on 127.0.0.1, over TLS, for the real kubectl.

It serves core/v1 discovery and Nodes only: GET /api, /apis, /api/v1 (resource list),
GET /api/v1/nodes (the NodeList from the config file) and DELETE /api/v1/nodes/<name>
(recorded). It requires a client certificate signed by the CA it is given, and logs
each request (method, path, client certificate subject) as a JSON line.
Usage: fake-apiserver.py CONFIG LOG PORTFILE CERT KEY CA
"""
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

CONFIG, LOG, PORTFILE, CERT, KEY, CA = sys.argv[1:7]


def nodes():
    with open(CONFIG) as f:
        return json.load(f)["nodes"]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self):
        cert = self.connection.getpeercert() or {}
        subject = [v for rdn in cert.get("subject", ()) for (_, v) in rdn]
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "subject": subject}) + "\n")

    def do_GET(self):
        self.record()
        path = self.path.split("?")[0]
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if path == "/apis":
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            return self.reply(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["get", "list", "delete"]}]})
        if path == "/api/v1/nodes":
            items = [{"metadata": {"name": n["name"]}, "status": {"addresses": [{"type": "Hostname", "address": n["name"]}, {"type": "InternalIP", "address": n["ip"]}]}} for n in nodes()]
            return self.reply(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": items})
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404})

    def do_DELETE(self):
        self.record()
        self.reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


server = HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
context.load_verify_locations(CA)
context.verify_mode = ssl.CERT_REQUIRED
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
