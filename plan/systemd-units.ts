// The systemd units of the control planes' scheduled jobs (certificate renewal, etcd
// snapshots, serving-certificate approval, unhealthy-node reporting): a oneshot service
// with a time limit, the timer that starts it, and the KEY=value settings file the script
// sources.

/** One run of a script; started by its timer, or by hand with `systemctl start`. */
export function oneshotService(description: string, execStart: string, timeoutSeconds: number): string {
  return [
    "[Unit]",
    `Description=kubeadm-alicloud: ${description}`,
    "After=network-online.target containerd.service kubelet.service",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${execStart}`,
    `TimeoutStartSec=${timeoutSeconds}`,
    "",
  ].join("\n");
}

/** A timer (OnCalendar, RandomizedDelaySec and Persistent: systemd 239 and later) wanted by timers.target. */
export function calendarTimer(description: string, onCalendar: string, randomizedDelay: string): string {
  return [
    "[Unit]",
    `Description=kubeadm-alicloud: ${description}`,
    "",
    "[Timer]",
    `OnCalendar=${onCalendar}`,
    `RandomizedDelaySec=${randomizedDelay}`,
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

/**
 * A timer that starts its service `every` after the last start, first `onBoot` after boot
 * (systemd.timer(5): OnBootSec, OnUnitActiveSec; AccuracySec, or systemd may delay each
 * start by up to its default minute).
 */
export function intervalTimer(description: string, onBoot: string, every: string, accuracy: string): string {
  return [
    "[Unit]",
    `Description=kubeadm-alicloud: ${description}`,
    "",
    "[Timer]",
    `OnBootSec=${onBoot}`,
    `OnUnitActiveSec=${every}`,
    `AccuracySec=${accuracy}`,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

/** KEY=value lines, for a script to source. */
export function settingsFile(values: Readonly<Record<string, string | number>>): string {
  return `${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}
