// Commands Pulumi runs on a running node through Cloud Assistant (never SSH). They
// travel as RunCommand's CommandContent, Base64-encoded: Alibaba documents at most
// 16 KB after Base64 for a command ("Elastic Compute Service: CreateCommand",
// CommandContent; ROS ALIYUN::ECS::Command now says 18 KB): we keep to the smaller.
import {
  CERT_RENEWAL_PATHS,
  RENEW_CERTS_SERVICE,
  RENEW_CERTS_TIMER,
  certRenewalFiles,
  type NodeFile,
} from "./cert-renewal";

export const COMMAND_CONTENT_LIMIT = 16 * 1024;
/** Cloud Assistant's Timeout for a file installation: a few file writes and systemctl calls. */
export const INSTALL_COMMAND_SECONDS = 300;

/** Base64 size of a command as Cloud Assistant receives it. */
export function commandContentSize(script: string): number {
  return Buffer.byteLength(Buffer.from(script, "utf8").toString("base64"));
}

/**
 * Bash: `put PATH MODE` writes its gzip+Base64 stdin to $KUBEADM_ALICLOUD_ROOT/PATH
 * atomically (a temporary file beside it, then a rename) with MODE.
 */
export const PUT_FILE: readonly string[] = [
  'ROOT="${KUBEADM_ALICLOUD_ROOT:-}"',
  "put() {",
  '  local path="$ROOT$1" mode="$2" tmp',
  '  mkdir -p "$(dirname "$path")"',
  '  tmp="$(mktemp "$path.XXXXXX")"',
  '  base64 -d | gunzip > "$tmp"',
  '  chmod "$mode" "$tmp"',
  '  mv -f "$tmp" "$path"',
  "}",
];

/**
 * A bash script that writes `files` (each gzip+Base64 inside a quoted here-document, so
 * nothing in them is expanded), atomically and with their modes, then runs `after`.
 * Idempotent: the same files again change nothing that matters. KUBEADM_ALICLOUD_ROOT
 * prefixes every path, as in the bootstrap (the test harness runs it in a sandbox).
 */
export function renderFileInstaller(
  what: string,
  files: readonly NodeFile[],
  after: readonly string[],
  done: string,
): string {
  const lines = [
    "#!/usr/bin/env bash",
    `# kubeadm-alicloud: install ${what} (written by Pulumi, run through Cloud Assistant).`,
    "set -euo pipefail",
    ...PUT_FILE,
  ];
  files.forEach((f, i) => {
    // Loaded here, not at the top: the staged rollout's dynamic provider serializes this
    // function, and a module object captured by value does not serialize under every loader.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { gzipSync } = require("node:zlib") as typeof import("node:zlib");
    const body = gzipSync(Buffer.from(f.content, "utf8"), { level: 9 })
      .toString("base64")
      .replace(/(.{76})/g, "$1\n")
      .trimEnd();
    lines.push(
      `put ${f.path} ${f.permissions} <<'KUBEADM_ALICLOUD_FILE_${i}'`,
      body,
      `KUBEADM_ALICLOUD_FILE_${i}`,
    );
  });
  lines.push(...after, `echo "kubeadm-alicloud: ${done}"`, "");
  const script = lines.join("\n");
  // Headroom for the line the readiness gate puts in front (readinessCommand).
  if (commandContentSize(script) > COMMAND_CONTENT_LIMIT - 512) {
    throw new Error(
      `the command installing ${what} is ${commandContentSize(script)} bytes in Base64; Cloud Assistant accepts ${COMMAND_CONTENT_LIMIT}`,
    );
  }
  return script;
}

/**
 * Certificate renewal on a control plane (plan/cert-renewal.ts): the script, its
 * settings and units, then the daily timer enabled and a first run started, which
 * publishes the certificates' expiry on the Node at once. Delivered after the node
 * serves, not in user data: user data is full (32 KB) and runs once, while this is
 * installed again on every control plane whenever it changes.
 */
export function certRenewalInstaller(renewBeforeDays?: number): string {
  const files = certRenewalFiles(renewBeforeDays === undefined ? undefined : { renewBeforeDays });
  return renderFileInstaller(
    "control-plane certificate renewal",
    files,
    [
      "systemctl daemon-reload",
      `systemctl enable --now ${RENEW_CERTS_TIMER}`,
      `systemctl start --no-block ${RENEW_CERTS_SERVICE}`,
    ],
    `certificate renewal installed; expiry on the Node label and in ${CERT_RENEWAL_PATHS.expiryFile}`,
  );
}
