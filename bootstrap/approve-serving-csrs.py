#!/usr/bin/env python3
"""Approve the kubelet serving-certificate CSRs of this cluster's nodes; deny the others.

Runs on every control plane under a systemd timer (plan/csr-approver.ts), with the
admin kubeconfig kubeadm wrote there. One run: list the CSRs, and for each one of the
signer kubernetes.io/kubelet-serving that is neither approved, denied nor signed, decide
and call `kubectl certificate approve|deny`. Two control planes deciding the same CSR at
once is harmless: kubectl retries on a conflict and leaves a CSR that already carries the
condition alone (kubernetes/kubernetes
staging/src/k8s.io/kubectl/pkg/cmd/certificates/certificates.go, modifyCertificateCondition
and addConditionIfNeeded).

The checks transcribe postfinance/kubelet-csr-approver v1.2.14
(internal/controller/csr_controller.go Reconcile, regex_ip_checks.go DNSCheck and
WhitelistedIPCheck; flag defaults in internal/cmd/cmd.go) with the settings this project
gave its chart (providerRegex = node-name pattern, bypassDnsResolution, providerIpPrefixes
= the VPC, allowedDnsNames 1, maxExpirationSeconds 367 days), in the same order:
  username prefixed system:node:; at least one DNS or IP SAN; subject CN == username;
  at most ALLOWED_DNS_NAMES DNS SANs, each prefixed by the node name and matching
  NODE_NAME_REGEX; every IP SAN inside IP_PREFIXES; spec.expirationSeconds at most
  MAX_EXPIRATION_SECONDS.
Stricter than upstream, on purpose: the node name itself must match NODE_NAME_REGEX (every
node here is `<region>.<instance-id>`: bootstrap/node-bootstrap.sh), the CSR's signature
must verify (openssl req -verify; the API server checks it too when the CSR is created:
kubernetes/kubernetes pkg/registry/certificates/certificates/strategy.go Validate), and a SAN of any other kind (e-mail, URI, ...) or a
subject with more than one CN is denied. A CSR that cannot be parsed is left alone, as
upstream does.

Settings: KEY=value lines in the file named by --settings (NODE_NAME_REGEX, IP_PREFIXES
comma-separated, ALLOWED_DNS_NAMES, MAX_EXPIRATION_SECONDS, KUBECONFIG, LOG,
RUN_BUDGET_SECONDS: no CSR is begun after it, KUBECTL_SECONDS: one kubectl call). Standard
library only, Python 3.6 or newer; openssl and kubectl from the node.
"""
import argparse
import base64
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
import time

SIGNER = "kubernetes.io/kubelet-serving"
# DER encodings (X.690) of the object identifiers the checks need.
OID_CN = bytes.fromhex("550403")  # 2.5.4.3 commonName
OID_SAN = bytes.fromhex("551d11")  # 2.5.29.17 subjectAltName
OID_EXTENSION_REQUEST = bytes.fromhex("2a864886f70d01090e")  # 1.2.840.113549.1.9.14 (PKCS #9)
STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii"}  # UTF8String, PrintableString, IA5String


class BadRequest(Exception):
    """The CSR's request cannot be parsed: left alone."""


def tlv(buf, i):
    """One DER element at buf[i]: (tag, value, index after it)."""
    if i + 2 > len(buf):
        raise BadRequest("truncated DER")
    tag, length = buf[i], buf[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or i + n > len(buf):
            raise BadRequest("bad DER length")
        length = int.from_bytes(buf[i:i + n], "big")
        i += n
    if i + length > len(buf):
        raise BadRequest("truncated DER")
    return tag, buf[i:i + length], i + length


def children(buf):
    i, out = 0, []
    while i < len(buf):
        tag, value, i = tlv(buf, i)
        out.append((tag, value))
    return out


def parse_request(der):
    """(common names, DNS SANs, IP SANs, other SAN tags) of a PKCS #10 request (RFC 2986)."""
    tag, outer, end = tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise BadRequest("not a DER SEQUENCE")
    info = children(outer)
    if len(info) != 3 or info[0][0] != 0x30:
        raise BadRequest("not a CertificationRequest")
    fields = children(info[0][1])  # version, subject, subjectPKInfo, [0] attributes
    if len(fields) < 3 or fields[1][0] != 0x30:
        raise BadRequest("no subject")
    common_names = []
    for rdn_tag, rdn in children(fields[1][1]):
        for _, attribute in children(rdn):
            parts = children(attribute)
            if len(parts) == 2 and parts[0] == (0x06, OID_CN):
                if parts[1][0] not in STRING_TAGS:
                    raise BadRequest("a common name of string tag {}".format(parts[1][0]))
                common_names.append(parts[1][1].decode(STRING_TAGS[parts[1][0]]))
    dns, ips, other = [], [], []
    attributes = fields[3][1] if len(fields) > 3 and fields[3][0] == 0xA0 else b""
    for _, attribute in children(attributes):
        oid, values = children(attribute)[:2]
        if oid != (0x06, OID_EXTENSION_REQUEST):
            continue
        for _, extensions in children(values[1]):
            for _, extension in children(extensions):
                parts = children(extension)
                if parts[0] != (0x06, OID_SAN):
                    continue
                _, names, _ = tlv(parts[-1][1], 0)  # extnValue: OCTET STRING holding GeneralNames
                for name_tag, value in children(names):
                    if name_tag == 0x82:  # [2] dNSName
                        dns.append(value.decode("ascii"))
                    elif name_tag == 0x87:  # [7] iPAddress
                        ips.append(ipaddress.ip_address(value))
                    else:
                        other.append(name_tag)
    return common_names, dns, ips, other


def signature_verifies(pem):
    with tempfile.NamedTemporaryFile("wb", suffix=".csr") as f:
        f.write(pem)
        f.flush()
        done = subprocess.run(["openssl", "req", "-in", f.name, "-noout", "-verify"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # OpenSSL 3.0 exits 0 on a failed verification too (it prints "... verify failure"):
    # only its "verify OK" counts (1.1.1 prints "verify OK" as well).
    return done.returncode == 0 and b"verify OK" in done.stdout


def decide(csr, cfg):
    """("approve" | "deny" | "skip", reason) for one CertificateSigningRequest object."""
    spec, status = csr.get("spec", {}), csr.get("status", {})
    if spec.get("signerName") != SIGNER:
        return "skip", "another signer"
    if any(c.get("type") in ("Approved", "Denied") for c in status.get("conditions") or []):
        return "skip", "already decided"
    if status.get("certificate"):
        return "skip", "already signed"
    try:
        pem = base64.b64decode(spec.get("request", ""))
        body = re.search(rb"-----BEGIN CERTIFICATE REQUEST-----(.*?)-----END CERTIFICATE REQUEST-----", pem, re.S)
        if not body:
            raise BadRequest("no PEM CERTIFICATE REQUEST block")
        common_names, dns, ips, other = parse_request(base64.b64decode(b"".join(body.group(1).split())))
    except (BadRequest, ValueError, UnicodeDecodeError) as e:
        return "skip", "unparseable request: {}".format(e)
    username = spec.get("username", "")
    if not username.startswith("system:node:"):
        return "deny", "the requester is not a node (username {!r})".format(username)
    node = username[len("system:node:"):]
    # fullmatch: like Go's regexp (RE2), never letting "$" match before a final newline.
    if not cfg["regex"].fullmatch(node):
        return "deny", "node name {!r} is not this cluster's pattern".format(node)
    if not dns and not ips:
        return "deny", "no DNS name and no IP address among the SANs"
    if other:
        return "deny", "SANs other than DNS names and IP addresses (tags {})".format(other)
    if common_names != [username]:
        return "deny", "subject common names {} are not the username {!r}".format(common_names, username)
    if len(dns) > cfg["allowed_dns"]:
        return "deny", "{} DNS names; at most {} allowed".format(len(dns), cfg["allowed_dns"])
    for name in dns:
        if not name.startswith(node) or not cfg["regex"].fullmatch(name):
            return "deny", "DNS name {!r} is not the node's name".format(name)
    for ip in ips:
        if not any(ip in prefix for prefix in cfg["prefixes"]):
            return "deny", "IP address {} lies outside {}".format(ip, ",".join(map(str, cfg["prefixes"])))
    if (spec.get("expirationSeconds") or 0) > cfg["max_expiration"]:
        return "deny", "expirationSeconds {} above {}".format(spec["expirationSeconds"], cfg["max_expiration"])
    if not signature_verifies(pem):
        return "deny", "the request's signature does not verify"
    return "approve", "node {} with DNS {} and IPs {}".format(node, dns, [str(i) for i in ips])


def read_settings(path):
    values = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                values[key] = value
    return {
        "regex": re.compile(values["NODE_NAME_REGEX"]),
        "prefixes": [ipaddress.ip_network(p) for p in values["IP_PREFIXES"].split(",")],
        "allowed_dns": int(values.get("ALLOWED_DNS_NAMES", "1")),
        "max_expiration": int(values.get("MAX_EXPIRATION_SECONDS", str(367 * 24 * 3600))),
        "kubeconfig": values.get("KUBECONFIG", "/etc/kubernetes/admin.conf"),
        "log": values.get("LOG", "/var/log/kubeadm-alicloud/csr-approver.log"),
        "budget": int(values.get("RUN_BUDGET_SECONDS", "240")),
        "kubectl_seconds": int(values.get("KUBECTL_SECONDS", "30")),
    }


def kubectl(cfg, *args):
    """One kubectl call within cfg["kubectl_seconds"] (each request within 20 s); a call that
    overruns counts as failed, with what it printed."""
    command = ["kubectl", "--kubeconfig", cfg["kubeconfig"], "--request-timeout=20s"] + list(args)
    try:
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=cfg["kubectl_seconds"])
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(command, 124, (e.output or b"") + b" (timed out)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", required=True)
    cfg = read_settings(parser.parse_args().settings)
    os.makedirs(os.path.dirname(cfg["log"]), exist_ok=True)

    def log(message):
        line = "{} {}".format(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message)
        print(line)
        with open(cfg["log"], "a") as f:
            f.write(line + "\n")

    # Every CSR, not only this signer's: few exist (kube-controller-manager's cleaner removes
    # decided ones after an hour, pending ones after a day), and decide() checks the signer.
    listed = kubectl(cfg, "get", "certificatesigningrequests", "-o", "json")
    if listed.returncode != 0:
        log("cannot list CSRs: " + listed.stdout.decode(errors="replace").strip())
        return 1
    failed = 0
    deadline = time.monotonic() + cfg["budget"]
    for csr in json.loads(listed.stdout.decode()).get("items", []):
        name = csr["metadata"]["name"]
        if time.monotonic() > deadline:
            log("run budget of {} s spent: {} and later CSRs wait for the next run".format(cfg["budget"], name))
            return 1
        verdict, reason = decide(csr, cfg)
        if verdict == "skip":
            if reason.startswith("unparseable"):
                log("left {}: {}".format(name, reason))
            continue
        done = kubectl(cfg, "certificate", verdict, name)
        outcome = done.stdout.decode(errors="replace").strip()
        if done.returncode != 0 and "is already" not in outcome:
            failed += 1
        log("{} {}: {} ({})".format("approved" if verdict == "approve" else "denied", name, reason, outcome))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
