#!/usr/bin/env python3
"""Does the metadata guard stop pod traffic and only pod traffic? Checked on a real
Linux datapath, inside a private network namespace (run under `unshare -rn`).

Two TUN devices stand in for a pod's interface (pod0, 10.244.0.0/24) and the way to
the metadata service (meta0, which owns 100.100.100.0/24). A TCP SYN written into
pod0 arrives on the node exactly as a pod's packet arrives from its veth: through
PREROUTING, then forwarding. A connect() from this process is the node's own (or a
host-network pod's) traffic: through OUTPUT. Whatever reaches meta0 is read back.

Usage: metadata-guard.py "<command that installs the guard>"
Prints one JSON object: what got through before and after the guard, and how many
guard rules exist after installing it twice.
"""
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
METADATA = "100.100.100.200"
POD_IP = "10.244.0.2"


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn(src, dst, sport):
    tcp = struct.pack("!HHIIBBHHH", sport, 80, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), sport, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def reached_metadata(meta, src, timeout=0.5):
    """Did a packet from src to the metadata address come out of meta0?"""
    while True:
        ready, _, _ = select.select([meta], [], [], timeout)
        if not ready:
            return False
        packet = os.read(meta, 65535)
        if len(packet) >= 20 and packet[0] >> 4 == 4 and socket.inet_ntoa(packet[12:16]) == src and socket.inet_ntoa(packet[16:20]) == METADATA:
            return True


def from_pod(pod, meta, sport):
    os.write(pod, syn(POD_IP, METADATA, sport))
    return reached_metadata(meta, POD_IP)


def from_host(meta):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((METADATA, 80))
    try:
        return reached_metadata(meta, "100.100.100.1")
    finally:
        s.close()


def main():
    guard = sys.argv[1]
    pod, meta = tun("pod0"), tun("meta0")
    sh("ip link set lo up && ip addr add 10.244.0.1/24 dev pod0 && ip link set pod0 up"
       " && ip addr add 100.100.100.1/24 dev meta0 && ip link set meta0 up")
    for path, value in (("/proc/sys/net/ipv4/ip_forward", "1"), ("/proc/sys/net/ipv4/conf/all/rp_filter", "0"), ("/proc/sys/net/ipv4/conf/pod0/rp_filter", "0")):
        with open(path, "w") as f:
            f.write(value)
    result = {"before": {"pod": from_pod(pod, meta, 40001), "host": from_host(meta)}}
    sh(guard)
    sh(guard)
    rules = subprocess.run(["iptables", "-w", "-t", "raw", "-S", "PREROUTING"], check=True, capture_output=True, text=True).stdout
    result["rules"] = sum(1 for line in rules.splitlines() if "kubeadm-alicloud-metadata-guard" in line)
    result["after"] = {"pod": from_pod(pod, meta, 40002), "host": from_host(meta)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
