#!/usr/bin/env python3
"""A protocol model of kube-apiserver for draining, driven by the REAL kubectl.

Serves, over plain HTTP on 127.0.0.1: discovery (/api, /api/v1, /apis, /apis/apps/v1,
/apis/policy/v1, /apis/certificates.k8s.io/v1, /version, /readyz: the scenario's "readyz",
"ok" by default, /metrics: the scenario's "metrics" text), Nodes (list, GET, PATCH of spec.unschedulable, metadata.labels and
metadata.annotations as a merge patch, DELETE; conditions, providerID and kubeletVersion as
the scenario gives them),
ConfigMaps (GET, create, and update only with the stored resourceVersion, else 409
Conflict, as the API server's optimistic concurrency answers; "configmapConflict": true
makes every update conflict, "configmapForbidden": true every create answer 403), Pods (list by spec.nodeName, GET, the
policy/v1 Eviction subresource), DaemonSets (GET), PodDisruptionBudgets (list) and
CertificateSigningRequests (list, GET, PUT of the approval subresource, which keeps only
status.conditions of the body, as the API server's approval strategy does:
kubernetes/kubernetes pkg/registry/certificates/certificates/strategy.go). An eviction of a pod that a budget with
disruptionsAllowed 0 selects is answered 429 TooManyRequests, as the API server's
eviction REST handler does (kubernetes/kubernetes pkg/registry/core/pod/storage/
eviction.go: "Cannot evict pod as it would violate the pod's disruption budget.");
otherwise the pod is deleted at once.

What it does not model: authentication and RBAC, watches, graceful termination (a pod
is gone the moment it is evicted), budgets' own bookkeeping (disruptionsAllowed is fixed
by the scenario), resourceVersion conflicts, and every resource not listed above.

POST /fake/nodes {"node", "pods"} adds a Node and its pods (a kubelet registering, for the
rollout's end-to-end test). Usage: fake-kube.py SCENARIO.json LOG PORTFILE. The scenario: {"nodes": [{"name"}],
"pods": [{"namespace", "name", "node", "labels", "owner": {"kind", "name"} | null,
"emptyDir": bool, "image", "ready": bool}] (listed by spec.nodeName and one key=value label), "daemonsets": [{"namespace", "name"}], "pdbs": [{"namespace",
"name", "matchLabels", "disruptionsAllowed"}], "csrs": [CertificateSigningRequest objects]}. Every request is logged as a JSON line
{"method", "path"}; state changes are written back to SCENARIO.json.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

from kube_proto import csr_conditions  # beside this file

SCENARIO, LOG, PORTFILE = sys.argv[1:4]
LOCK = threading.Lock()

with open(SCENARIO) as f:
    STATE = json.load(f)


def save():
    with open(SCENARIO + ".tmp", "w") as f:
        json.dump(STATE, f)
    os.replace(SCENARIO + ".tmp", SCENARIO)


def resource(name, kind, namespaced, verbs, group="", version=""):
    r = {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs}
    if group:
        r.update({"group": group, "version": version})
    return r


DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        resource("nodes", "Node", False, ["get", "list", "patch"]),
        resource("configmaps", "ConfigMap", True, ["get", "create", "update"]),
        resource("pods", "Pod", True, ["get", "list"]),
        # kubectl's drain looks for this subresource to use the Eviction API
        # (k8s.io/kubectl/pkg/drain CheckEvictionSupport).
        resource("pods/eviction", "Eviction", True, ["create"], "policy", "v1"),
    ]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}}
        for g in ("apps", "policy", "certificates.k8s.io")]},
    "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
        resource("daemonsets", "DaemonSet", True, ["get", "list"])]},
    "/apis/policy/v1": {"kind": "APIResourceList", "groupVersion": "policy/v1", "resources": [
        resource("poddisruptionbudgets", "PodDisruptionBudget", True, ["get", "list"])]},
    "/apis/certificates.k8s.io/v1": {"kind": "APIResourceList", "groupVersion": "certificates.k8s.io/v1",
                                     "resources": [
        resource("certificatesigningrequests", "CertificateSigningRequest", False, ["get", "list"]),
        resource("certificatesigningrequests/approval", "CertificateSigningRequest", False, ["update"])]},
    "/version": {"major": "1", "minor": "36", "gitVersion": "v1.36.5"},
}


CSRS = ["apis", "certificates.k8s.io", "v1", "certificatesigningrequests"]


def node_object(n):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n["name"], "uid": "uid-" + n["name"], "resourceVersion": "1",
                         "labels": n.get("labels", {}), "annotations": n.get("annotations", {}),
                         "creationTimestamp": n.get("creationTimestamp", "2026-01-01T00:00:00Z")},
            "spec": {"unschedulable": n.get("unschedulable", False),
                     **({"providerID": n["providerID"]} if "providerID" in n else {})},
            "status": {"conditions": n.get("conditions", []),
                       "nodeInfo": {"kubeletVersion": n.get("kubeletVersion", "")}}}


def pod_object(p):
    meta = {"name": p["name"], "namespace": p["namespace"], "uid": "uid-" + p["name"],
            "labels": p.get("labels", {}), "resourceVersion": "1"}
    owner = p.get("owner")
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["name"],
                                    "uid": "uid-" + owner["name"], "controller": True}]
    volumes = [{"name": "scratch", "emptyDir": {}}] if p.get("emptyDir") else []
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": p["node"], "containers": [{"name": "c", "image": p.get("image", "x")}],
                     "volumes": volumes},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True" if p.get("ready", True) else "False"}]}}


def blocking_budget(p):
    for b in STATE.get("pdbs", []):
        if b["namespace"] == p["namespace"] and b["disruptionsAllowed"] == 0 and all(
                p.get("labels", {}).get(k) == v for k, v in b["matchLabels"].items()):
            return b
    return None


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
            "message": message, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self):
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path}) + "\n")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def find_node(self, name):
        return next((n for n in STATE["nodes"] if n["name"] == name), None)

    def find_configmap(self, ns, name):
        return next((c for c in STATE.get("configmaps", [])
                     if c["metadata"]["namespace"] == ns and c["metadata"]["name"] == name), None)

    def find_csr(self, name):
        return next((c for c in STATE.get("csrs", []) if c["metadata"]["name"] == name), None)

    def find_pod(self, ns, name):
        return next((p for p in STATE["pods"] if p["namespace"] == ns and p["name"] == name), None)

    def do_GET(self):
        self.record()
        url = urlparse(self.path)
        path = unquote(url.path)
        parts = path.strip("/").split("/")
        with LOCK:
            if path in DISCOVERY:
                return self.reply(200, DISCOVERY[path])
            if path == "/metrics":
                data = STATE.get("metrics", "").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            if path == "/readyz":
                data = STATE.get("readyz", "ok").encode()
                self.send_response(200 if data == b"ok" else 500)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            if parts[:3] == ["api", "v1", "nodes"] and len(parts) == 4:
                n = self.find_node(parts[3])
                return self.reply(200, node_object(n)) if n else self.reply(
                    404, status(404, "NotFound", f'nodes "{parts[3]}" not found'))
            if path == "/api/v1/nodes":
                return self.reply(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {},
                                        "items": [node_object(n) for n in STATE["nodes"]]})
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 6 and parts[4] == "configmaps":
                c = self.find_configmap(parts[3], parts[5])
                return self.reply(200, c) if c else self.reply(
                    404, status(404, "NotFound", f'configmaps "{parts[5]}" not found'))
            if path == "/api/v1/pods":
                selector = parse_qs(url.query).get("fieldSelector", [""])[0]
                node = selector.split("=", 1)[1] if selector.startswith("spec.nodeName=") else None
                wanted = parse_qs(url.query).get("labelSelector", [""])[0]
                label = wanted.split("=", 1) if "=" in wanted else None
                items = [pod_object(p) for p in STATE["pods"] if (node is None or p["node"] == node)
                         and (label is None or p.get("labels", {}).get(label[0]) == label[1])]
                return self.reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 6 and parts[4] == "pods":
                p = self.find_pod(parts[3], parts[5])
                return self.reply(200, pod_object(p)) if p else self.reply(
                    404, status(404, "NotFound", f'pods "{parts[5]}" not found'))
            if parts[:2] == ["apis", "apps"] and len(parts) == 7 and parts[5] == "daemonsets":
                found = any(d["namespace"] == parts[4] and d["name"] == parts[6] for d in STATE.get("daemonsets", []))
                return self.reply(200, {"apiVersion": "apps/v1", "kind": "DaemonSet",
                                        "metadata": {"name": parts[6], "namespace": parts[4]}}) if found else self.reply(
                    404, status(404, "NotFound", "not found"))
            if parts[:2] == ["apis", "policy"] and len(parts) == 6 and parts[5] == "poddisruptionbudgets":
                items = [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                          "metadata": {"name": b["name"], "namespace": b["namespace"]},
                          "spec": {"selector": {"matchLabels": b["matchLabels"]}},
                          "status": {"disruptionsAllowed": b["disruptionsAllowed"]}}
                         for b in STATE.get("pdbs", []) if b["namespace"] == parts[4]]
                return self.reply(200, {"kind": "PodDisruptionBudgetList", "apiVersion": "policy/v1",
                                        "metadata": {}, "items": items})
            if parts[:4] == CSRS:
                if len(parts) == 4:
                    return self.reply(200, {"kind": "CertificateSigningRequestList",
                                            "apiVersion": "certificates.k8s.io/v1", "metadata": {},
                                            "items": STATE.get("csrs", [])})
                c = self.find_csr(parts[4])
                return self.reply(200, c) if c and len(parts) == 5 else self.reply(
                    404, status(404, "NotFound", "not found"))
        self.reply(404, status(404, "NotFound", "the fake does not serve " + path))

    def do_PATCH(self):
        self.record()
        parts = unquote(urlparse(self.path).path).strip("/").split("/")
        with LOCK:
            if parts[:3] == ["api", "v1", "nodes"] and len(parts) == 4:
                n = self.find_node(parts[3])
                if not n:
                    return self.reply(404, status(404, "NotFound", f'nodes "{parts[3]}" not found'))
                body = self.body()
                spec = body.get("spec", {})
                if "unschedulable" in spec:
                    n["unschedulable"] = bool(spec["unschedulable"])
                # A JSON merge patch: a null value removes the key (RFC 7386), as
                # `kubectl annotate key-` sends it.
                for field in ("labels", "annotations"):
                    for k, v in ((body.get("metadata") or {}).get(field) or {}).items():
                        if v is None:
                            n.setdefault(field, {}).pop(k, None)
                        else:
                            n.setdefault(field, {})[k] = v
                save()
                return self.reply(200, node_object(n))
        self.reply(404, status(404, "NotFound", "not found"))

    def do_POST(self):
        self.record()
        parts = unquote(urlparse(self.path).path).strip("/").split("/")
        with LOCK:
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "configmaps":
                body = self.body()
                if STATE.get("configmapForbidden"):
                    return self.reply(403, status(403, "Forbidden", "configmaps is forbidden"))
                name = body["metadata"]["name"]
                if self.find_configmap(parts[3], name):
                    return self.reply(409, status(409, "AlreadyExists", f'configmaps "{name}" already exists'))
                body["metadata"].update({"namespace": parts[3], "resourceVersion": "1"})
                STATE.setdefault("configmaps", []).append(body)
                save()
                return self.reply(201, body)
            if parts == ["fake", "nodes"]:
                # The test's stand-in of a kubelet registering: {"node": scenario node, "pods": [...]}.
                body = self.body()
                STATE["nodes"].append(body["node"])
                STATE["pods"].extend(body.get("pods", []))
                save()
                return self.reply(201, {})
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 7 and parts[6] == "eviction":
                self.body()
                p = self.find_pod(parts[3], parts[5])
                if not p:
                    return self.reply(404, status(404, "NotFound", f'pods "{parts[5]}" not found'))
                if blocking_budget(p):
                    return self.reply(429, status(
                        429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."))
                STATE["pods"].remove(p)
                save()
                return self.reply(201, {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201})
        self.reply(404, status(404, "NotFound", "not found"))


    def do_PUT(self):
        self.record()
        parts = unquote(urlparse(self.path).path).strip("/").split("/")
        with LOCK:
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 6 and parts[4] == "configmaps":
                c = self.find_configmap(parts[3], parts[5])
                body = self.body()
                if not c:
                    return self.reply(404, status(404, "NotFound", f'configmaps "{parts[5]}" not found'))
                # Optimistic concurrency: an update must carry the stored resourceVersion.
                if STATE.get("configmapConflict") or body["metadata"].get("resourceVersion") != c["metadata"]["resourceVersion"]:
                    return self.reply(409, status(409, "Conflict", f'Operation cannot be fulfilled on configmaps "{parts[5]}": the object has been modified; please apply your changes to the latest version and try again'))
                body["metadata"]["resourceVersion"] = str(int(c["metadata"]["resourceVersion"]) + 1)
                STATE["configmaps"][STATE["configmaps"].index(c)] = body
                save()
                return self.reply(200, body)
            if parts[:4] == CSRS and len(parts) == 6 and parts[5] == "approval":
                c = self.find_csr(parts[4])
                if not c:
                    return self.reply(404, status(404, "NotFound", "not found"))
                n = int(self.headers.get("Content-Length") or 0)
                c.setdefault("status", {})["conditions"] = csr_conditions(self.rfile.read(n))
                save()
                return self.reply(200, c)
        self.reply(404, status(404, "NotFound", "not found"))

    def do_DELETE(self):
        self.record()
        parts = unquote(urlparse(self.path).path).strip("/").split("/")
        with LOCK:
            if parts[:3] == ["api", "v1", "nodes"] and len(parts) == 4:
                self.body()
                n = self.find_node(parts[3])
                if not n:
                    return self.reply(404, status(404, "NotFound", f'nodes "{parts[3]}" not found'))
                STATE["nodes"].remove(n)
                save()
                return self.reply(200, node_object(n))
        self.reply(404, status(404, "NotFound", "not found"))


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
