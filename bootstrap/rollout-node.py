#!/usr/bin/env python3
"""The staged rollout's eyes and hands inside the cluster, run by Cloud Assistant on a
control plane with kubeadm's admin.conf (components/rollout/, plan/rollout/node-script.ts).

    rollout-node.py observe PAGE                  the rollout's snapshot of the cluster
    rollout-node.py mark STEADY NODE...           tag old nodes for replacement
    rollout-node.py gate NODE VERSION SECONDS     a new pool node: Ready at VERSION, its
                                                  DaemonSet pods Ready; then recorded
    rollout-node.py cp-gate NODE VERSION SECONDS  a control plane after its upgrade
    rollout-node.py uncordon NODE
    rollout-node.py adopt NODE VERSION SECONDS    an adopted instance's node: the gate,
                                                  then marked adopted and held for good
    rollout-node.py release NODE...               the pool is done: drop the rollout's
                                                  annotations (and its autoscaler hold,
                                                  unless the node is adopted)
    rollout-node.py preflight VERSION REPO_URL    before the first control plane moves:
                                                  deprecated APIs requested, etcd members,
                                                  the target's package repository

Progress lives on the Nodes, so a rerun resumes from what they show:
  kubeadm-alicloud.io/rollout-replace=STEADY  an old node to replace; STEADY is the pool's
      size before the wave (the wave ends with that many nodes again)
  kubeadm-alicloud.io/rollout-gated=VERSION   a new node passed the gate at VERSION
  cluster-autoscaler.kubernetes.io/scale-down-disabled=true  set with the gate, so that
      the autoscaler does not remove a node the rollout counts on (kubernetes/autoscaler
      cluster-autoscaler FAQ "How can I prevent Cluster Autoscaler from scaling down a
      particular node?"); removed by `release` at the pool's end.
  kubeadm-alicloud.io/drained=true  set by drain.sh when a drain finished (a cordon alone may be
      a drain killed halfway); dropped by `uncordon`.
  kubeadm-alicloud.io/adopted=true  an instance the operator brought (nodePools[].adoptInstanceIds):
      only removing it from that list takes it out, so its autoscaler hold stays for good.
The last output line is `kubeadm-alicloud-rollout: {json}`; exit 0 when the step held,
1 when a gate timed out (the reason in the result), 2 on bad arguments, 4 when the API
did not answer. Environment: KUBEADM_ALICLOUD_KUBECONFIG (admin.conf),
KUBEADM_ALICLOUD_LOCAL_API (this control plane's own API server, for /readyz),
KUBEADM_ALICLOUD_GATE_INTERVAL (seconds between the gate's passes, 10),
KUBEADM_ALICLOUD_LOG_DIR, ETCD_EXEC (runs etcdctl directly: tests).
"""
import base64
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

PREFIX = "kubeadm-alicloud-rollout: "
REPLACE = "kubeadm-alicloud.io/rollout-replace"
GATED = "kubeadm-alicloud.io/rollout-gated"
HOLD = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
ADOPTED = "kubeadm-alicloud.io/adopted"
DRAINED = "kubeadm-alicloud.io/drained"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# The static pods kubeadm writes on every control plane, named <component>-<node> and
# labelled component=<component> (kubernetes/kubernetes cmd/kubeadm/app/util/staticpod/
# utils.go ComponentPod: Name and the component label are the container's name; the
# kubelet's pkg/kubelet/config/common.go generatePodName appends "-<node name>", lower-cased).
STATIC = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
VERSION = re.compile(r"^1\.\d+\.\d+$")
KUBECONFIG = os.environ.get("KUBEADM_ALICLOUD_KUBECONFIG", "/etc/kubernetes/admin.conf")
LOG_DIR = os.environ.get("KUBEADM_ALICLOUD_LOG_DIR", "/var/log/kubeadm-alicloud")


class ApiDown(Exception):
    pass


def log(message):
    line = "kubeadm-alicloud: {} {}".format(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message)
    print(line, flush=True)
    try:
        os.makedirs(LOG_DIR, exist_ok=True)
        with open(os.path.join(LOG_DIR, "rollout.log"), "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def result(payload, code):
    print(PREFIX + json.dumps(payload, separators=(",", ":")), flush=True)
    sys.exit(code)


def kubectl(args, server=None):
    command = ["kubectl", "--kubeconfig", KUBECONFIG, "--request-timeout=20s"] + (server or []) + args
    try:
        p = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    except subprocess.TimeoutExpired:
        raise ApiDown("kubectl {} timed out".format(" ".join(args[:3])))
    if p.returncode != 0:
        raise ApiDown("kubectl {}: {}".format(" ".join(args[:3]), p.stderr.decode("utf-8", "replace").strip()))
    return p.stdout.decode("utf-8")


def get_json(args):
    return json.loads(kubectl(args + ["-o", "json"]))


def ready(obj):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def bare(version):
    return (version or "").lstrip("v")


def image_version(pod):
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    image = containers[0].get("image", "")
    return bare(image.rsplit(":", 1)[-1]) if ":" in image.rsplit("/", 1)[-1] else ""


PAGE_NODES = 600


def observe(page):
    """One page of the snapshot plan/rollout/node-script.ts parses into the engine's
    Observed: Nodes sorted by name, PAGE_NODES a page (DescribeInvocationResults keeps
    only the last 24 KB of a command's output), gzip and Base64."""
    cm = get_json(["get", "configmap", "-n", "kube-system", "kubeadm-config"])
    # kubeadm keeps ClusterConfiguration as YAML in this ConfigMap; `kubeadm upgrade
    # apply` rewrites kubernetesVersion (cmd/kubeadm/app/phases/uploadconfig/uploadconfig.go).
    m = re.search(r"^kubernetesVersion:\s*\"?v?([0-9.]+)", (cm.get("data") or {}).get("ClusterConfiguration", ""), re.M)
    items = sorted(get_json(["get", "nodes"])["items"], key=lambda n: n["metadata"]["name"])
    pages = max(1, (len(items) + PAGE_NODES - 1) // PAGE_NODES)
    nodes = []
    for n in items[page * PAGE_NODES:(page + 1) * PAGE_NODES]:
        meta, spec = n["metadata"], n.get("spec") or {}
        ann = meta.get("annotations") or {}
        flags = (1 if ready(n) else 0) | (2 if spec.get("unschedulable") else 0) | (
            4 if CONTROL_PLANE_LABEL in (meta.get("labels") or {}) else 0) | (
            8 if (meta.get("annotations") or {}).get(DRAINED) == "true" else 0)
        steady = ann.get(REPLACE, "")
        instance = spec.get("providerID", "").rsplit(".", 1)[-1]
        # The instance id is left out when the name already ends with it (the name is
        # <region>.<instance-id>: bootstrap/node-bootstrap.sh), halving the snapshot.
        nodes.append([meta["name"], "" if meta["name"].endswith("." + instance) else instance,
                      bare((n.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion")), flags,
                      int(steady) if steady.isdigit() else -1, ann.get(GATED, "")])
    api = {}
    for p in get_json(["get", "pods", "-A", "-l", "component=kube-apiserver"])["items"]:
        if p["metadata"].get("namespace") == "kube-system" and (p["metadata"].get("labels") or {}).get(
                "component") == "kube-apiserver":
            api[(p.get("spec") or {}).get("nodeName", "")] = image_version(p)
    snapshot = {"clusterVersion": m.group(1) if m else "", "nodes": nodes, "apiServers": api,
                "page": page, "pages": pages}
    packed = base64.b64encode(gzip.compress(json.dumps(snapshot, separators=(",", ":")).encode())).decode()
    log("observed page {} of {} ({} nodes)".format(page + 1, pages, len(nodes)))
    result({"ok": True, "gz": packed}, 0)


def annotate(node, pairs):
    kubectl(["annotate", "node", node, "--overwrite"] + pairs)


def pool_gate_problems(node, version):
    n = get_json(["get", "node", node])
    problems = []
    if not ready(n):
        problems.append("not Ready")
    kubelet = bare((n.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion"))
    if kubelet != version:
        problems.append("kubelet {} (want {})".format(kubelet or "unknown", version))
    for p in get_json(["get", "pods", "-A", "--field-selector", "spec.nodeName=" + node])["items"]:
        owners = p["metadata"].get("ownerReferences") or []
        if any(o.get("kind") == "DaemonSet" for o in owners) and not ready(p):
            problems.append("DaemonSet pod {}/{} not Ready".format(p["metadata"]["namespace"], p["metadata"]["name"]))
    return problems


def cp_gate_problems(node, version):
    problems = pool_gate_problems(node, version)
    for component in STATIC:
        name = "{}-{}".format(component, node)
        try:
            p = get_json(["get", "pod", "-n", "kube-system", name])
        except ApiDown:
            problems.append("{} not found".format(name))
            continue
        if image_version(p) != version:
            problems.append("{} runs {} (want {})".format(name, image_version(p) or "an unknown image", version))
        if not ready(p):
            problems.append(name + " not Ready")
    # /readyz of this node's own API server, not the load balancer's pick: it includes
    # the etcd check against the local member, since kubeadm points a stacked control
    # plane's API server at https://127.0.0.1:2379 (kubernetes/kubernetes
    # cmd/kubeadm/app/phases/controlplane/manifests.go getAPIServerCommand). The
    # serving certificate names the node (cmd/kubeadm/app/util/pkiutil/pki_helpers.go
    # GetAPIServerAltNames), hence --tls-server-name.
    local = os.environ.get("KUBEADM_ALICLOUD_LOCAL_API", "https://127.0.0.1:6443")
    server = ["--server", local] + (["--tls-server-name", node] if local.startswith("https:") else [])
    try:
        body = kubectl(["get", "--raw", "/readyz"], server).strip()
        if body != "ok":
            problems.append("/readyz answered " + body[:200])
    except ApiDown as e:
        problems.append("/readyz: {}".format(e))
    return problems


def gate(check, node, version, seconds, record):
    """RECORD: the annotations a passed gate leaves on the node (none for a control plane)."""
    """Two passes in a row, GATE_INTERVAL apart, within SECONDS (kops validates twice)."""
    interval = float(os.environ.get("KUBEADM_ALICLOUD_GATE_INTERVAL", "10"))
    deadline = time.monotonic() + seconds
    passes, problems = 0, ["not checked"]
    while True:
        try:
            problems = check(node, version)
        except ApiDown as e:
            problems = [str(e)]
        passes = passes + 1 if not problems else 0
        if passes >= 2:
            break
        log("{}: {}".format(node, "; ".join(problems) if problems else "passed once"))
        if time.monotonic() + interval > deadline:
            result({"ok": False, "node": node, "problems": problems}, 1)
        time.sleep(interval)
    if record:
        annotate(node, record)
    log("{} passed the gate at {}".format(node, version))
    result({"ok": True, "node": node}, 0)


def etcdctl(args):
    """etcdctl as it runs in kubeadm's etcd static pod, against the local member, as
    bootstrap/etcd-backup.sh runs it (its comments cite where kubeadm mounts the PKI)."""
    if os.environ.get("ETCD_EXEC"):
        prefix = [os.environ["ETCD_EXEC"]]
    else:
        ps = subprocess.run(["crictl", "ps", "--quiet", "--state", "Running", "--label",
                             "io.kubernetes.container.name=etcd"], stdout=subprocess.PIPE, timeout=30)
        ids = ps.stdout.decode().split()
        if not ids:
            raise ApiDown("no running etcd container")
        prefix = ["crictl", "exec", ids[0]]
    tls = ["--endpoints=https://127.0.0.1:2379", "--dial-timeout=10s", "--command-timeout=10s",
           "--cacert=/etc/kubernetes/pki/etcd/ca.crt", "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
           "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key"]
    # `endpoint health` exits 1 when a member is unhealthy, after printing every result.
    p = subprocess.run(prefix + ["etcdctl"] + tls + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    try:
        return json.loads(p.stdout.decode() or "null")
    except ValueError:
        raise ApiDown("etcdctl {}: {}".format(args[0], p.stderr.decode("utf-8", "replace").strip()[:300]))


def preflight(version, repository):
    """What plan/upgrade/preflight.ts judges and the snapshot does not hold."""
    minor = ".".join(version.split(".")[:2])
    # apiserver_requested_deprecated_apis: a gauge per deprecated API requested since
    # the API server started (kubernetes/apiserver pkg/endpoints/metrics/metrics.go).
    metrics = [line for line in kubectl(["get", "--raw", "/metrics"]).splitlines()
               if line.startswith("apiserver_requested_deprecated_apis{")]
    # Member names and learners (member list), health per client URL (endpoint health
    # --cluster): etcdctl's JSON printer (etcd etcdctl/ctlv3/command/printer_json.go).
    members = (etcdctl(["member", "list", "-w", "json"]) or {}).get("members") or []
    health = {h.get("endpoint"): bool(h.get("health")) for h in (etcdctl(["endpoint", "health", "--cluster", "-w", "json"]) or [])}
    etcd = [{"name": m.get("name", ""), "learner": bool(m.get("isLearner")),
             "healthy": bool(m.get("clientURLs")) and all(health.get(u, False) for u in m.get("clientURLs", []))}
            for m in members]
    # The target minor's apt repository (deb/Release); the rpm tree sits beside it.
    url = "{}/deb/Release".format(repository.rstrip("/"))
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            reachable = r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        reachable = False
    log("preflight for {}: {} deprecated API series, {} etcd members, {} {}".format(
        minor, len(metrics), len(etcd), url, "answered" if reachable else "did not answer"))
    result({"ok": True, "metrics": metrics, "etcd": etcd, "repository": reachable}, 0)


def main(argv):
    if not argv:
        return usage()
    cmd, args = argv[0], argv[1:]
    nodes_ok = all(NODE_NAME.match(a) for a in args if not a.isdigit() and not VERSION.match(a))
    if not nodes_ok and cmd != "preflight":
        return usage()
    if cmd == "observe" and len(args) == 1 and args[0].isdigit():
        return observe(int(args[0]))
    if cmd == "mark" and len(args) >= 2 and args[0].isdigit():
        for node in args[1:]:
            annotate(node, ["{}={}".format(REPLACE, args[0])])
        log("marked {} for replacement (pool size {})".format(", ".join(args[1:]), args[0]))
        return result({"ok": True}, 0)
    if cmd in ("gate", "cp-gate") and len(args) == 3 and VERSION.match(args[1]) and args[2].isdigit():
        if cmd == "cp-gate":
            return gate(cp_gate_problems, args[0], args[1], int(args[2]), [])
        return gate(pool_gate_problems, args[0], args[1], int(args[2]),
                    ["{}={}".format(GATED, args[1]), "{}=true".format(HOLD)])
    if cmd == "adopt" and len(args) == 3 and VERSION.match(args[1]) and args[2].isdigit():
        return gate(pool_gate_problems, args[0], args[1], int(args[2]),
                    ["{}=true".format(ADOPTED), "{}=true".format(HOLD)])
    if cmd == "uncordon" and len(args) == 1:
        kubectl(["uncordon", args[0]])
        annotate(args[0], [DRAINED + "-"])
        return result({"ok": True}, 0)
    if cmd == "preflight" and len(argv) == 3 and VERSION.match(argv[1]) and re.match(r"^https?://[^\s]+$", argv[2]):
        return preflight(argv[1], argv[2])
    if cmd == "release" and args:
        nodes = get_json(["get", "nodes"] + args)
        # One name gives the Node, several a List of them (kubectl get).
        items = nodes["items"] if "items" in nodes else [nodes]
        adopted = {n["metadata"]["name"] for n in items
                   if (n["metadata"].get("annotations") or {}).get(ADOPTED) == "true"}
        for node in args:
            annotate(node, [GATED + "-"] if node in adopted else [GATED + "-", HOLD + "-"])
        log("released " + ", ".join(args))
        return result({"ok": True}, 0)
    return usage()


def usage():
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    result({"ok": False, "reason": "usage"}, 2)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ApiDown as e:
        log("the API did not answer: {}".format(e))
        result({"ok": False, "reason": "api", "message": str(e)}, 4)
