// An ECS instance the operator already has, brought into a pool (nodePools[].adoptInstanceIds):
// the commands Cloud Assistant runs on it. Pure: nothing here calls Alibaba Cloud.
//
// A launched node gets the pool's bootstrap as cloud-init user data at first boot. An
// adopted instance booted long ago with its own, so it gets the SAME document's files and
// commands through Cloud Assistant instead: the cloud-config's write_files written with
// their modes, then its runcmd (which enables and starts the bootstrap unit). The pool's
// user data is about 30 KB and a Cloud Assistant command takes 16 KB after Base64
// (plan/node-commands.ts COMMAND_CONTENT_LIMIT), so the installer travels in parts, each
// stored on the instance under its own name (a resent part overwrites itself), and the
// last command checks the whole against its SHA-256 before it runs anything.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { parse } from "yaml";
import { COMMAND_CONTENT_LIMIT, commandContentSize, PUT_FILE } from "./node-commands";
import { BOOTSTRAP_UNIT, DONE_FILE } from "./node-units";
import { scaleInCommandParts } from "./scale-in";
import { ADOPT_PREFIX, ADOPT_WAIT_SECONDS } from "./adopt-limits";

export {
  ADOPT_COMMAND_SECONDS,
  ADOPT_PREFIX,
  ADOPT_WAIT_COMMAND_SECONDS,
  ADOPT_WAIT_SECONDS,
} from "./adopt-limits";
export const ADOPT_DIR = "/var/lib/kubeadm-alicloud/adopt";
/** Characters of the Base64 installer per part: the part's command stays under 16 KB after Base64. */
export const PART_CHARS = 11_000;

interface CloudConfigFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
  readonly encoding?: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The cloud-config's files and commands, as cloud-init would take them. */
export function cloudConfigParts(userData: string): {
  files: CloudConfigFile[];
  runcmd: string[][];
} {
  if (!userData.startsWith("#cloud-config\n")) throw new Error("the pool's user data is no #cloud-config");
  const doc = parse(userData) as { write_files?: CloudConfigFile[]; runcmd?: string[][] };
  const files = doc.write_files ?? [];
  for (const f of files) {
    if (!f.path.startsWith("/") || !/^0[0-7]{3}$/.test(f.permissions))
      throw new Error(`write_files entry ${f.path} ${f.permissions}: an absolute path and an octal mode`);
    if (f.encoding !== undefined && f.encoding !== "gz+b64")
      throw new Error(`write_files entry ${f.path}: encoding ${f.encoding} is not handled`);
  }
  return { files, runcmd: doc.runcmd ?? [] };
}

/**
 * The installer: every file written atomically with its mode (cloud-init's write_files;
 * all of ours are root:root), then runcmd. KUBEADM_ALICLOUD_ROOT prefixes every path and
 * KUBEADM_ALICLOUD_RUN=no skips the commands (the tests run it in a sandbox).
 */
export function renderAdoptInstaller(userData: string): string {
  const { files, runcmd } = cloudConfigParts(userData);
  const lines = [
    "#!/usr/bin/env bash",
    "# kubeadm-alicloud: the pool's user data, installed on an adopted instance.",
    "set -euo pipefail",
    ...PUT_FILE,
  ];
  files.forEach((f, i) => {
    const gz =
      f.encoding === "gz+b64"
        ? f.content
        : gzipSync(Buffer.from(f.content, "utf8"), { level: 9 }).toString("base64");
    lines.push(
      `put ${q(f.path)} ${f.permissions} <<'KUBEADM_ALICLOUD_FILE_${i}'`,
      gz.replace(/(.{76})/g, "$1\n").trimEnd(),
      `KUBEADM_ALICLOUD_FILE_${i}`,
    );
  });
  lines.push('if [ "${KUBEADM_ALICLOUD_RUN:-yes}" = yes ]; then');
  for (const cmd of runcmd) lines.push(`  ${cmd.map(q).join(" ")}`);
  lines.push("fi", "");
  return lines.join("\n");
}

/**
 * The Cloud Assistant commands that install the pool's user data on an adopted instance,
 * in order: the parts, then the one that checks and runs them. Each under 16 KB.
 */
export function adoptInstallCommands(userData: string): string[] {
  const payload = gzipSync(Buffer.from(renderAdoptInstaller(userData), "utf8"), { level: 9 }).toString(
    "base64",
  );
  const sha = createHash("sha256").update(payload).digest("hex");
  const parts: string[] = [];
  for (let i = 0; i < payload.length; i += PART_CHARS) parts.push(payload.slice(i, i + PART_CHARS));
  const head = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    `d="\${KUBEADM_ALICLOUD_ROOT:-}${ADOPT_DIR}"`,
    'mkdir -p "$d"',
    'chmod 0700 "$d"',
  ];
  const commands = parts.map((part, i) =>
    [
      ...head,
      `printf '%s' '${part}' > "$d/part-${i}.tmp"`,
      `mv -f "$d/part-${i}.tmp" "$d/part-${i}"`,
      `echo "${ADOPT_PREFIX}part ${i + 1} of ${parts.length} stored"`,
      "",
    ].join("\n"),
  );
  const names = parts.map((_, i) => `"$d/part-${i}"`).join(" ");
  commands.push(
    [
      ...head,
      `if [ "$(cat ${names} | sha256sum | cut -d' ' -f1)" != ${sha} ]; then`,
      `  echo "${ADOPT_PREFIX}the installer's parts do not add up (sha256); send them again"`,
      "  exit 3",
      "fi",
      `cat ${names} | base64 -d | gunzip > "$d/install.sh"`,
      'bash "$d/install.sh"',
      `echo "${ADOPT_PREFIX}installed; the bootstrap started"`,
      "",
    ].join("\n"),
  );
  for (const c of commands)
    if (commandContentSize(c) > COMMAND_CONTENT_LIMIT)
      throw new Error(
        `an adoption command is ${commandContentSize(c)} bytes in Base64 (limit ${COMMAND_CONTENT_LIMIT})`,
      );
  return commands;
}

/**
 * Waits on the instance until the bootstrap recorded ok or failed (bootstrap/node-bootstrap.sh
 * writes /var/lib/kubeadm-alicloud/status), within its own limit, and ends with the log's tail.
 */
export function adoptWaitCommand(): string {
  return [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    'ROOT="${KUBEADM_ALICLOUD_ROOT:-}"',
    'status="$ROOT/var/lib/kubeadm-alicloud/status"',
    'log="$ROOT/var/log/kubeadm-alicloud/bootstrap.log"',
    `deadline=$(( $(date +%s) + \${KUBEADM_ALICLOUD_WAIT_SECONDS:-${ADOPT_WAIT_SECONDS}} ))`,
    'tail_log() { if [ -f "$log" ]; then tail -n 40 "$log"; fi; }',
    "while :; do",
    '  s="$(cat "$status" 2>/dev/null || true)"',
    `  if [ "$s" = ok ]; then tail_log; echo "${ADOPT_PREFIX}bootstrapped"; exit 0; fi`,
    `  case "$s" in failed*) tail_log; echo "${ADOPT_PREFIX}the bootstrap $s"; exit 1 ;; esac`,
    '  if [ "$(date +%s)" -ge "$deadline" ]; then',
    `    tail_log; echo "${ADOPT_PREFIX}the bootstrap did not finish in time (status: \${s:-none})"; exit 1`,
    "  fi",
    "  sleep 10",
    "done",
    "",
  ].join("\n");
}

/**
 * Takes an adopted instance out of the cluster for good, after its node was drained and
 * before its Node is deleted, so that the kubelet cannot register it again: the bootstrap
 * unit disabled and removed, `kubeadm reset -f` (stops the kubelet, deletes its
 * credentials: kubernetes/kubernetes cmd/kubeadm/app/cmd/phases/reset/cleanupnode.go
 * "[reset] Stopping the kubelet service"; it does not disable it), the kubelet disabled,
 * the bootstrap's state removed so that a later adoption starts afresh. Rerun-safe.
 */
export function adoptResetCommand(): string {
  return [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    'ROOT="${KUBEADM_ALICLOUD_ROOT:-}"',
    `systemctl disable --now ${BOOTSTRAP_UNIT} 2>/dev/null || true`,
    `rm -f "$ROOT/etc/systemd/system/${BOOTSTRAP_UNIT}"`,
    "if command -v kubeadm >/dev/null; then kubeadm reset -f; fi",
    "systemctl disable --now kubelet 2>/dev/null || true",
    `rm -rf "$ROOT${DONE_FILE}" "$ROOT/var/lib/kubeadm-alicloud/status" "$ROOT${ADOPT_DIR}"`,
    "systemctl daemon-reload",
    `echo "${ADOPT_PREFIX}left the cluster"`,
    "",
  ].join("\n");
}

/** Every command adopting and letting go need, for one pool (engine.ts AdoptArgs.commands). */
export function adoptionCommands(userData: string, region: string, drainSeconds: number) {
  return {
    install: adoptInstallCommands(userData),
    wait: adoptWaitCommand(),
    reset: adoptResetCommand(),
    scaleIn: scaleInCommandParts(region, drainSeconds),
  };
}
