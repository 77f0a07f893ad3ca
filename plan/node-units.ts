// systemd units a node receives in user data.
import { METADATA_ADDRESS } from "./metadata";
import { BOOTSTRAP_SECONDS } from "./timeouts";

export const BOOTSTRAP_UNIT = "kubeadm-alicloud-bootstrap.service";
export const METADATA_GUARD_UNIT = "kubeadm-alicloud-metadata-guard.service";
/** Written once a bootstrap succeeded: holds the fingerprint of its inputs. */
export const DONE_FILE = "/var/lib/kubeadm-alicloud/done";

/**
 * Pods must not reach the metadata service (it hands out the node role's credentials).
 * Packets from pods reach the node through PREROUTING; the node's own processes, and
 * so host-network pods, send through OUTPUT. Dropping in the raw table before
 * anything else sees the packet blocks the first and leaves the second. Cilium's eBPF
 * host routing bypasses netfilter: its module adds a cluster-wide policy as well.
 */
export function renderMetadataGuardUnit(): string {
  const rule = `PREROUTING -d ${METADATA_ADDRESS}/32 -m comment --comment kubeadm-alicloud-metadata-guard -j DROP`;
  return [
    "[Unit]",
    "Description=kubeadm-alicloud: drop pod traffic to the metadata service",
    "Before=kubelet.service containerd.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/bin/sh -c 'iptables -w -t raw -C ${rule} 2>/dev/null || iptables -w -t raw -I ${rule}'`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * The bootstrap runs as a systemd oneshot, not from cloud-init's runcmd: cloud-init
 * records its per-instance semaphore before a module runs (cloudinit/helpers.py,
 * FileSemaphores._acquire), so after a reboot in the middle runcmd never runs again.
 * Enabled, this unit starts at every boot until the bootstrap has succeeded once
 * (systemd.unit(5): "ConditionPathExists=… If the absolute path name passed … is
 * prefixed with an exclamation mark, the test is negated"; a failed condition skips the
 * unit without failing it), and systemd stops it after BOOTSTRAP_SECONDS
 * (systemd.service(5) TimeoutStartSec: SIGTERM, on which the script marks the node
 * failed). cloud-init only enables and starts it, with `--no-block`:
 * runcmd runs inside cloud-final.service, which is ordered After=multi-user.target, so
 * this unit (wanted by multi-user.target) must not be ordered after cloud-final: that
 * would be an ordering cycle.
 */
export function renderBootstrapUnit(scriptPath: string): string {
  return [
    "[Unit]",
    "Description=kubeadm-alicloud node bootstrap (runs at each boot until it has succeeded once)",
    "Wants=network-online.target",
    "After=network-online.target",
    `ConditionPathExists=!${DONE_FILE}`,
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${scriptPath}`,
    `TimeoutStartSec=${BOOTSTRAP_SECONDS}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
