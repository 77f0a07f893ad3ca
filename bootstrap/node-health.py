#!/usr/bin/env python3
"""Report pool instances whose node never came, or broke, Unhealthy to ESS: with a brake.

Runs on every control plane under a systemd timer (plan/node-health.ts). One pass:
  1. reads the ledger of earlier reports, the ConfigMap kube-system/kubeadm-alicloud-node-health;
  2. observes each pool's in-service instances (ESS DescribeScalingInstances) and the Nodes;
  3. decides (decide() below): an instance is unhealthy when it has been in service past
     the join deadline with no Node of its name (`<region>.<instance-id>`,
     bootstrap/node-bootstrap.sh), when its Node's Ready condition has not been True for
     longer than the unready limit, or when node-problem-detector has held one of its
     permanent conditions (KernelDeadlock, ReadonlyFilesystem, XfsShutdown: the default
     kernel and readonly monitors of the deliveryhero node-problem-detector chart,
     kubernetes/node-problem-detector config/kernel-monitor.json, readonly-monitor.json)
     True that long. At most max(1, floor(MAX_SHARE x in-service)) of a pool are reported
     per rolling window; the rest are named as held back and wait for a later pass;
  4. writes the ledger back, with this pass's reports and everything it saw unhealthy,
     BEFORE acting: the ConfigMap's resourceVersion makes the write fail when another
     control plane wrote since this one read, and then this pass does nothing;
  5. tells ESS each report (SetInstanceHealth Unhealthy): ESS removes the instance, which
     passes through the pool's scale-in lifecycle hook (drained, its Node deleted:
     bootstrap/scale-in-drain.sh), and launches a replacement.

    node-health.py --settings FILE          one pass
    node-health.py --decide                 decisions for JSON cases on stdin (tests)

Settings (KEY=value): REGION, ESS_ENDPOINT, POOLS (name=scaling-group-id, comma
separated), JOIN_DEADLINE_MINUTES, UNREADY_MINUTES, WINDOW_MINUTES, MAX_SHARE,
KUBECONFIG, LOG, METADATA_URL, RETRY_ATTEMPTS, RETRY_BACKOFF_SECONDS, KUBECTL_SECONDS,
PASS_BUDGET_SECONDS (no ESS call starts after it), ROLE_WAIT_SECONDS.
The credentials, signing and retries come from fetch-secrets.py, installed beside this
file and loaded as a module. Standard library only, Python 3.6 or newer.
"""
import argparse
import calendar
import importlib.util
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ESS_VERSION = "2014-08-28"
PERMANENT_PROBLEMS = ("KernelDeadlock", "ReadonlyFilesystem", "XfsShutdown")
LEDGER = ("kube-system", "kubeadm-alicloud-node-health")
# A Node annotated so is never reported (an operator investigating it, or work that takes it
# down on purpose), as Cluster API's MachineHealthCheck skips Machines annotated
# cluster.x-k8s.io/skip-remediation (Cluster API book, "Configure a MachineHealthCheck",
# "Skipping Remediation").
SKIP_ANNOTATION = "kubeadm-alicloud.io/skip-health-replacement"
MINUTE = 60.0


def brake_cap(in_service, s):
    return max(1, int(math.floor(in_service * s["max_share"])))


def decide(region, instances, nodes, ledger, now, s):
    """{"report", "braked", "ledger"} for one pass. instances: [{"id", "pool",
    "inServiceSince"}]; nodes: [{"name", "ready", "readySince", "problems": [{"type",
    "since"}], "skip": bool}]; ledger: {pool: [{"id", "at"}]}, the reports made; times in epoch seconds.
    An instance reported within the window is not judged again: ESS is replacing it (its
    scale-in hook may hold it in service for the drain)."""
    by_name = {n["name"]: n for n in nodes}
    kept = {}
    for pool, entries in ledger.items():
        recent = [e for e in entries if now - e["at"] < s["window"] * MINUTE]
        if recent:
            kept[pool] = recent
    pending = {e["id"] for entries in kept.values() for e in entries}
    unhealthy = []
    for i in sorted(instances, key=lambda x: (x["pool"], x["id"])):
        if i["id"] in pending:
            continue
        node = by_name.get("{}.{}".format(region, i["id"]))
        verdict = {"id": i["id"], "pool": i["pool"]}
        if node is not None and node.get("skip"):
            continue
        if node is None:
            minutes = (now - i["inServiceSince"]) / MINUTE
            if minutes > s["join_deadline"]:
                unhealthy.append(dict(verdict, reason="no Node after {} min in service".format(int(minutes))))
        elif node["ready"] != "True" and (now - node["readySince"]) / MINUTE > s["unready"]:
            minutes = int((now - node["readySince"]) / MINUTE)
            unhealthy.append(dict(verdict, reason="Node Ready={} for {} min".format(node["ready"], minutes)))
        else:
            for p in node.get("problems") or []:
                if p["type"] in PERMANENT_PROBLEMS and (now - p["since"]) / MINUTE > s["unready"]:
                    minutes = int((now - p["since"]) / MINUTE)
                    unhealthy.append(dict(verdict, reason="{} for {} min (node-problem-detector)".format(p["type"], minutes)))
                    break
    report, braked = [], []
    for v in unhealthy:
        cap = brake_cap(sum(1 for i in instances if i["pool"] == v["pool"]), s)
        used = kept.get(v["pool"], [])
        if len(used) < cap:
            report.append(v)
            kept[v["pool"]] = used + [{"id": v["id"], "at": now}]
        else:
            braked.append(dict(v, reason="{}; held back: {} of {} replacements in the last {} min".format(
                v["reason"], len(used), cap, s["window"])))
    return {"report": report, "braked": braked, "ledger": kept}


def parse_time(value):
    """Epoch seconds of an RFC 3339 UTC time, with or without seconds (ESS writes
    CreationTime as 2014-08-14T10:58Z; Kubernetes as 2026-01-01T00:00:00Z)."""
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return float(calendar.timegm(time.strptime(value, layout)))
        except ValueError:
            pass
    raise ValueError("unrecognised time {!r}".format(value))


def observed_nodes(items):
    """The decide() view of a NodeList's items."""
    out = []
    for n in items:
        conditions = (n.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        out.append({
            "name": n["metadata"]["name"],
            "skip": (n["metadata"].get("annotations") or {}).get(SKIP_ANNOTATION) == "true",
            "ready": ready.get("status", "Unknown") if ready else "Unknown",
            # A Node that has never reported is as old as the Node object.
            "readySince": parse_time((ready or {}).get("lastTransitionTime") or n["metadata"]["creationTimestamp"]),
            "problems": [{"type": c["type"], "since": parse_time(c["lastTransitionTime"])}
                         for c in conditions if c.get("status") == "True" and c.get("type") != "Ready"
                         and c.get("lastTransitionTime")],
        })
    return out


def load_common():
    spec = importlib.util.spec_from_file_location("fetch_secrets", os.path.join(HERE, "fetch-secrets.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_settings(path):
    values = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                values[key] = value
    return values


def limits(v):
    return {"join_deadline": float(v["JOIN_DEADLINE_MINUTES"]), "unready": float(v["UNREADY_MINUTES"]),
            "window": float(v["WINDOW_MINUTES"]), "max_share": float(v["MAX_SHARE"])}


class Pass:
    def __init__(self, v, common):
        self.v = v
        self.common = common
        self.kubectl_seconds = int(v.get("KUBECTL_SECONDS", "30"))
        self.attempts = int(v.get("RETRY_ATTEMPTS", "5"))
        self.backoff = float(v.get("RETRY_BACKOFF_SECONDS", "2"))
        # No ESS call starts once the pass's budget is spent (the unit's limit is above it).
        self.deadline = time.monotonic() + float(v.get("PASS_BUDGET_SECONDS", "600"))

    def log(self, message):
        line = "{} {}".format(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message)
        print(line)
        sys.stdout.flush()
        os.makedirs(os.path.dirname(self.v["LOG"]), exist_ok=True)
        with open(self.v["LOG"], "a") as f:
            f.write(line + "\n")

    def kubectl(self, args, stdin=None):
        command = ["kubectl", "--kubeconfig", self.v["KUBECONFIG"], "--request-timeout=20s"] + args
        try:
            return subprocess.run(command, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=self.kubectl_seconds)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(command, 124, b"", b"timed out")

    def ess(self, creds, action, params):
        c = self.common
        if time.monotonic() > self.deadline:
            raise c.FetchError("the pass's budget of {} s is spent before ESS {}".format(
                self.v.get("PASS_BUDGET_SECONDS", "600"), action))

        def attempt():
            status, body = c.http(c.acs_request(self.v["ESS_ENDPOINT"], action, ESS_VERSION, params, creds), 10)
            try:
                doc = json.loads(body.decode("utf-8") or "{}")
            except ValueError:
                doc = {}
            if status == 200:
                return True, doc
            why = "HTTP {} {}: {}".format(status, doc.get("Code", ""), doc.get("Message", "")).strip()
            if status in c.RETRY_STATUS or "Throttling" in str(doc.get("Code", "")):
                return False, why
            raise c.FetchError("ESS refused {}: {}".format(action, why))
        return c.with_retries("ESS " + action, attempt, self.attempts, self.backoff)

    def in_service(self, creds, pool, group):
        """The group's InService instances ESS holds Healthy. Fields and parameters as in
        Alibaba's Go SDK, services/ess/describe_scaling_instances.go (ESS 2014-08-28:
        ScalingGroupId, LifecycleState, PageNumber, PageSize; ScalingInstances.ScalingInstance[]
        with InstanceId, CreationTime, HealthStatus, LifecycleState; TotalCount)."""
        instances, page, seen = [], 1, 0
        while True:
            doc = self.ess(creds, "DescribeScalingInstances", {
                "RegionId": self.v["REGION"], "ScalingGroupId": group, "LifecycleState": "InService",
                "PageSize": "50", "PageNumber": str(page)})
            batch = ((doc.get("ScalingInstances") or {}).get("ScalingInstance")) or []
            # Already Unhealthy: ESS is removing it (ours, or its own ECS status check).
            for i in batch:
                if i.get("HealthStatus", "Healthy") != "Healthy":
                    continue
                try:
                    since = parse_time(i["CreationTime"])
                except (KeyError, ValueError) as e:
                    # An unreadable time never counts against the join deadline.
                    self.log("{} ({}): no usable CreationTime ({}); judged as just launched".format(i["InstanceId"], pool, e))
                    since = time.time()
                instances.append({"id": i["InstanceId"], "pool": pool, "inServiceSince": since})
            seen += len(batch)
            if not batch or seen >= int(doc.get("TotalCount", 0)):
                return instances
            page += 1

    def run(self):
        namespace, name = LEDGER
        got = self.kubectl(["get", "configmap", "-n", namespace, name, "-o", "json"])
        if got.returncode == 0:
            ledger_object = json.loads(got.stdout.decode())
        elif b"NotFound" in got.stderr:
            ledger_object = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
        else:
            self.log("cannot read the ledger: " + got.stderr.decode(errors="replace").strip())
            return 1
        data = ledger_object.get("data") or {}
        ledger = json.loads(data.get("ledger") or "{}")
        listed = self.kubectl(["get", "nodes", "-o", "json"])
        if listed.returncode != 0:
            self.log("cannot list Nodes: " + listed.stderr.decode(errors="replace").strip())
            return 1
        nodes = observed_nodes(json.loads(listed.stdout.decode()).get("items", []))
        _, creds = self.common.Metadata(self.v["METADATA_URL"], self.attempts, self.backoff,
                                            float(self.v.get("ROLE_WAIT_SECONDS", "60"))).credentials()
        instances = []
        for entry in filter(None, self.v["POOLS"].split(",")):
            pool, group = entry.split("=", 1)
            instances += self.in_service(creds, pool, group)
        now = time.time()
        d = decide(self.v["REGION"], instances, nodes, ledger, now, limits(self.v))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        ledger_object["data"] = {
            "ledger": json.dumps(d["ledger"], sort_keys=True),
            "last-pass": stamp,
            "reported": json.dumps(d["report"]),
            "held-back": json.dumps(d["braked"]),
        }
        verb = "replace" if "resourceVersion" in ledger_object["metadata"] else "create"
        # --validate=false: the object is ours, and client-side validation needs the OpenAPI document.
        wrote = self.kubectl([verb, "--validate=false", "-f", "-"], json.dumps(ledger_object).encode())
        if wrote.returncode != 0:
            # Conflict or AlreadyExists: another control plane acted since this one read.
            self.log("ledger not written, nothing reported this pass: " + wrote.stderr.decode(errors="replace").strip())
            return 0 if b"Conflict" in wrote.stderr or b"AlreadyExists" in wrote.stderr else 1
        for v in d["braked"]:
            self.log("held back {} ({}): {}".format(v["id"], v["pool"], v["reason"]))
        failed = 0
        for v in d["report"]:
            try:
                # InstanceId and HealthStatus (ESS 2014-08-28 SetInstanceHealth, as in Alibaba's
                # Go SDK services/ess/set_instance_health.go; read in a fork's copy,
                # CRORCR/alibaba-cloud-sdk-go, the index holding no upstream one).
                self.ess(creds, "SetInstanceHealth", {"RegionId": self.v["REGION"], "InstanceId": v["id"],
                                                      "HealthStatus": "Unhealthy"})
                self.log("reported {} ({}) Unhealthy: {}".format(v["id"], v["pool"], v["reason"]))
            except self.common.FetchError as e:
                failed += 1
                self.log("could not report {} ({}): {}".format(v["id"], v["pool"], e))
        return 1 if failed else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings")
    parser.add_argument("--decide", action="store_true")
    args = parser.parse_args(argv)
    if args.decide:
        for line in sys.stdin:
            case = json.loads(line)
            print(json.dumps(decide(case["region"], case["instances"], case["nodes"], case["ledger"], case["now"],
                                    case["settings"])))
        return 0
    common = load_common()
    try:
        return Pass(read_settings(args.settings), common).run()
    except common.FetchError as e:
        print("node-health: {}".format(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
