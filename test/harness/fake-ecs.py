#!/usr/bin/env python3
"""A stand-in for the ECS API calls kubeadm-alicloud makes at deploy time, for the real
@alicloud/ecs20140526 client: Cloud Assistant (DescribeCloudAssistantStatus, RunCommand,
DescribeInvocationResults) and an instance's RAM role (DescribeInstanceRamRole,
AttachInstanceRamRole, DetachInstanceRamRole). It can also play the ECS metadata
service's RAM-role credentials (hardened mode), for the credential chain's ECS-role step.

RPC style as the SDK sends it: the action in the x-acs-action header, the parameters
in the query string, JSON answers, errors as {Code, Message, RequestId} with an HTTP
status. It does NOT check signatures; it logs every request as a JSON line
{method, path, action, query, headers} and the tests read them. Behaviour comes from a
JSON file:
  agentOfflinePolls  DescribeCloudAssistantStatus says "false" for the first N polls
  runErrors          [{status, code}] RunCommand answers these first, one per call
  abortedRuns        the first M delivered invocations end Aborted / ClientNotRunning
  results            [{status, exitCode, output, errorCode, errorInfo}] what the other
                     invocations report, one per poll (the last repeats)
  roles              {instanceId: roleName} RAM roles attached now
  roleLag            DescribeInstanceRamRole shows an attach or detach only after N polls
  attachFail         {code, message}: AttachInstanceRamRole fails per instance
  metadataRole       with --metadata: the role name the metadata service hands out
  metadataKey        {AccessKeyId, AccessKeySecret, SecurityToken} of that role
  groups             {scalingGroupId: {DesiredCapacity, MaxSize, MinSize, instances:
                     [{InstanceId, LifecycleState}]}}: ESS 2014-08-28's
                     DescribeScalingGroups, DescribeScalingInstances (paged),
                     ScaleWithAdjustment and RemoveInstances, field names from
                     aliyun/alibaba-cloud-sdk-go services/ess
  vswitches          {vSwitchId: free addresses}: VPC 2016-04-28 DescribeVSwitches
Usage: fake-ecs.py CONFIG LOG PORTFILE [--host H] [--port P] [--metadata]
Loopback only: the default host is 127.0.0.1 (the metadata test binds 100.100.100.200
on lo inside a private network namespace).
"""
import argparse
import base64
import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

parser = argparse.ArgumentParser()
parser.add_argument("config")
parser.add_argument("log")
parser.add_argument("portfile")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--metadata", action="store_true")
ARGS = parser.parse_args()
with open(ARGS.config) as f:
    CFG = json.load(f)
TOKEN = "md-token-ecs"
lock = threading.Lock()
state = {"status_polls": 0, "runs": 0, "run_calls": 0, "invocations": {}, "roles": dict(CFG.get("roles", {})), "pending": {}}


def error(status, code, message):
    return status, {"Code": code, "Message": message, "RequestId": "fake"}


def describe_status(q):
    ids = [v for k, v in sorted(q.items()) if k.startswith("InstanceId.")]
    state["status_polls"] += 1
    online = "true" if state["status_polls"] > CFG.get("agentOfflinePolls", 0) else "false"
    items = [{"InstanceId": i, "CloudAssistantStatus": online, "CloudAssistantVersion": "2.2.0"} for i in ids]
    return 200, {"RequestId": "fake", "TotalCount": len(items), "InstanceCloudAssistantStatusSet": {"InstanceCloudAssistantStatus": items}}


def run_command(q):
    errors = CFG.get("runErrors", [])
    state["run_calls"] += 1
    if state["run_calls"] <= len(errors):
        e = errors[state["run_calls"] - 1]
        return error(e["status"], e["code"], "fake RunCommand error")
    if not q.get("InstanceId.1") or not q.get("CommandContent") or not q.get("Timeout"):
        return error(400, "MissingParameter", "InstanceId.1, CommandContent and Timeout are required here")
    state["runs"] += 1
    invoke = "t-fake{}".format(state["runs"])
    state["invocations"][invoke] = {"aborted": state["runs"] <= CFG.get("abortedRuns", 0), "polls": 0, "instance": q["InstanceId.1"]}
    return 200, {"RequestId": "fake", "CommandId": "c-fake", "InvokeId": invoke}


def invocation_results(q):
    inv = state["invocations"].get(q.get("InvokeId", ""))
    if inv is None:
        return 200, {"RequestId": "fake", "Invocation": {"InvocationResults": {"InvocationResult": []}}}
    inv["polls"] += 1
    if inv["aborted"]:
        r = {"status": "Pending"} if inv["polls"] == 1 else {"status": "Aborted", "errorCode": "ClientNotRunning", "errorInfo": "the aliyun service is not running on the instance"}
    else:
        results = CFG.get("results") or [{"status": "Success", "exitCode": 0, "output": ""}]
        r = results[min(inv["polls"], len(results)) - 1]
    output = r.get("output", "")
    if q.get("ContentEncoding") == "Base64":
        output = base64.b64encode(output.encode()).decode()
    item = {"InvokeId": q["InvokeId"], "InstanceId": inv["instance"], "InvocationStatus": r["status"], "Output": output}
    for key, name in (("exitCode", "ExitCode"), ("errorCode", "ErrorCode"), ("errorInfo", "ErrorInfo")):
        if key in r:
            item[name] = r[key]
    return 200, {"RequestId": "fake", "Invocation": {"InvocationResults": {"InvocationResult": [item]}}}


def visible_role(instance):
    pending = state["pending"].get(instance)
    if pending is not None:
        pending["polls"] -= 1
        if pending["polls"] < 0:
            state["roles"][instance] = pending["role"]
            del state["pending"][instance]
    return state["roles"].get(instance)


def describe_role(q):
    ids = json.loads(q.get("InstanceIds", "[]"))
    sets = [{"InstanceId": i, "RamRoleName": visible_role(i) or ""} for i in ids]
    return 200, {"RequestId": "fake", "RegionId": q.get("RegionId", ""), "TotalCount": len(sets), "InstanceRamRoleSets": {"InstanceRamRoleSet": sets}}


def change_role(q, attach):
    ids = json.loads(q.get("InstanceIds", "[]"))
    name = q.get("RamRoleName", "")
    results = []
    for i in ids:
        current = state["pending"].get(i, {}).get("role", state["roles"].get(i))
        fail = CFG.get("attachFail") if attach else None
        if fail is None and attach and current:
            fail = {"code": "fake.RoleAlreadyAttached", "message": "the instance already has role " + current}
        if fail is None and not attach and current != name:
            fail = {"code": "fake.RoleNotAttached", "message": "the instance does not have role " + name}
        if fail:
            results.append({"InstanceId": i, "Success": False, "Code": fail["code"], "Message": fail["message"]})
            continue
        state["pending"][i] = {"role": name if attach else None, "polls": CFG.get("roleLag", 0)}
        results.append({"InstanceId": i, "Success": True, "Code": "200", "Message": "success"})
    key = "AttachInstanceRamRoleResults" if attach else "DetachInstanceRamRoleResults"
    item = "AttachInstanceRamRoleResult" if attach else "DetachInstanceRamRoleResult"
    failed = sum(1 for r in results if not r["Success"])
    return 200, {"RequestId": "fake", "RamRoleName": name, "TotalCount": len(results), "FailCount": failed, key: {item: results}}


def ess_group(q):
    ids = [v for k, v in sorted(q.items()) if k.startswith("ScalingGroupId.")]
    groups = [dict({k: v for k, v in g.items() if k != "instances"}, ScalingGroupId=i, LifecycleState="Active")
              for i, g in CFG.get("groups", {}).items() if i in ids]
    return 200, {"RequestId": "fake", "TotalCount": len(groups), "PageNumber": 1, "PageSize": 10,
                 "ScalingGroups": {"ScalingGroup": groups}}


def ess_instances(q):
    items = CFG.get("groups", {}).get(q.get("ScalingGroupId", ""), {}).get("instances", [])
    page, size = int(q.get("PageNumber", "1")), int(q.get("PageSize", "10"))
    return 200, {"RequestId": "fake", "TotalCount": len(items), "PageNumber": page, "PageSize": size,
                 "ScalingInstances": {"ScalingInstance": items[(page - 1) * size:page * size]}}


def ess_activity(q):
    if q.get("ScalingGroupId", "") not in CFG.get("groups", {}):
        return error(404, "InvalidScalingGroupId.NotFound", "no such scaling group")
    return 200, {"RequestId": "fake", "ScalingActivityId": "asa-fake"}


def ess_busy_or(q):
    """Attach/Detach/SetInstancesProtection: ESS refuses while a scaling activity runs (CFG essBusy: how many times)."""
    if state.get("essBusy", CFG.get("essBusy", 0)) > 0:
        state["essBusy"] = state.get("essBusy", CFG.get("essBusy", 0)) - 1
        return error(400, "ScalingActivityInProgress", "You cannot launch a new scaling activity while there is a scaling activity in progress.")
    return ess_activity(q)


def describe_instances(q):
    """DescribeInstances: Instances.Instance[] (aliyun/alibaba-cloud-sdk-go services/ecs struct_instance.go)."""
    known = CFG.get("instances", {})
    if "InstanceIds" in q:
        ids = json.loads(q["InstanceIds"])
    else:
        # VpcId with PrivateIpAddresses (InstanceNetworkType vpc): the instances holding those addresses.
        ips = set(json.loads(q.get("PrivateIpAddresses", "[]")))
        ids = [i for i, x in known.items() if x.get("VpcAttributes", {}).get("VpcId") == q.get("VpcId")
               and ips & set(x.get("VpcAttributes", {}).get("PrivateIpAddress", {}).get("IpAddress", []))]
    items = [dict(known[i], InstanceId=i) for i in ids if i in known]
    return 200, {"RequestId": "fake", "TotalCount": len(items), "PageNumber": 1, "PageSize": 100,
                 "Instances": {"Instance": items}}


def instance_ok(q):
    if q.get("InstanceId", "") not in CFG.get("instances", {}):
        return error(404, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")
    return 200, {"RequestId": "fake"}


def tag_resources(q):
    """TagResources (ResourceType instance, ResourceId.N, Tag.N.Key/Value): the tags land on
    the instance, where DescribeInstances shows them (Tags.Tag[] of TagKey/TagValue)."""
    if q.get("ResourceType") != "instance":
        return error(400, "InvalidResourceType.NotSupported", "fake-ecs.py tags instances only")
    known = CFG.get("instances", {})
    ids = [v for k, v in sorted(q.items()) if k.startswith("ResourceId.")]
    missing = [i for i in ids if i not in known]
    if not ids or missing:
        return error(404, "InvalidResourceId.NotFound", "The specified ResourceIds are not found: " + ",".join(missing))
    n = 1
    while "Tag.%d.Key" % n in q:
        for i in ids:
            tags = known[i].setdefault("Tags", {}).setdefault("Tag", [])
            tags[:] = [t for t in tags if t.get("TagKey") != q["Tag.%d.Key" % n]]
            tags.append({"TagKey": q["Tag.%d.Key" % n], "TagValue": q.get("Tag.%d.Value" % n, "")})
        n += 1
    return 200, {"RequestId": "fake"}


def vpc_vswitches(q):
    vid = q.get("VSwitchId", "")
    free = CFG.get("vswitches", {})
    items = [{"VSwitchId": vid, "AvailableIpAddressCount": free[vid]}] if vid in free else []
    return 200, {"RequestId": "fake", "TotalCount": len(items), "VSwitches": {"VSwitch": items}}


ESS_ACTIONS = {"DescribeScalingGroups": ess_group, "DescribeScalingInstances": ess_instances,
               "ScaleWithAdjustment": ess_activity, "RemoveInstances": ess_activity,
               "AttachInstances": ess_busy_or, "DetachInstances": ess_busy_or, "SetInstancesProtection": ess_busy_or}

ACTIONS = {
    "DescribeCloudAssistantStatus": describe_status,
    "RunCommand": run_command,
    "DescribeInvocationResults": invocation_results,
    "DescribeInstanceRamRole": describe_role,
    "AttachInstanceRamRole": lambda q: change_role(q, True),
    "DetachInstanceRamRole": lambda q: change_role(q, False),
    "DescribeInstances": describe_instances,
    "JoinSecurityGroup": instance_ok,
    "LeaveSecurityGroup": instance_ok,
    "ModifyInstanceMetadataOptions": instance_ok,
    "ModifyInstanceAttribute": instance_ok,
    "TagResources": tag_resources,
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self, action, query):
        entry = {"method": self.command, "path": self.path, "action": action, "query": query, "headers": {k.lower(): v for k, v in self.headers.items()}}
        with lock, open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, status, payload, content_type="application/json;charset=utf-8"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
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
        self.record("metadata-token", {})
        if ARGS.metadata and self.path == "/latest/api/token":
            return self.reply(200, TOKEN.encode(), "text/plain")
        self.reply(404, b"", "text/plain")

    def do_GET(self):
        self.record("metadata", {})
        role = CFG.get("metadataRole")
        if not ARGS.metadata or self.headers.get("X-aliyun-ecs-metadata-token") != TOKEN or not role:
            return self.reply(404, b"", "text/plain")
        if self.path == "/latest/meta-data/ram/security-credentials/":
            return self.reply(200, role.encode(), "text/plain")
        if self.path == "/latest/meta-data/ram/security-credentials/" + role:
            # ECSRAMRoleCredentialsProvider (@alicloud/credentials 2.4.7 src/providers/ecs_ram_role.ts)
            # requires Code "Success" and the three keys.
            body = dict(CFG.get("metadataKey", {}), Code="Success", Expiration="2099-01-01T00:00:00Z", LastUpdated="2024-01-01T00:00:00Z")
            return self.reply(200, body)
        self.reply(404, b"", "text/plain")

    def do_POST(self):
        self.drain()
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
        action = self.headers.get("x-acs-action", "")
        self.record(action, query)
        if not self.headers.get("Authorization", "").startswith("ACS3-HMAC-SHA256 Credential="):
            return self.reply(*error(400, "fake.Unsigned", "expected an ACS3-HMAC-SHA256 Authorization header"))
        handler = ACTIONS.get(action)
        if action == "DescribeVSwitches":
            if self.headers.get("x-acs-version") != "2016-04-28":
                return self.reply(*error(400, "fake.Version", "VPC here answers 2016-04-28 only"))
            handler = vpc_vswitches
        if action in ESS_ACTIONS:
            if self.headers.get("x-acs-version") != "2014-08-28":
                return self.reply(*error(400, "fake.Version", "ESS here answers 2014-08-28 only"))
            handler = ESS_ACTIONS[action]
        if handler is None:
            return self.reply(*error(400, "InvalidAction.NotFound", "fake-ecs.py does not know " + action))
        with lock:
            status, payload = handler(query)
        self.reply(status, payload)


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True


server = Server((ARGS.host, ARGS.port), Handler)
with open(ARGS.portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(ARGS.portfile + ".tmp", ARGS.portfile)
server.serve_forever()
