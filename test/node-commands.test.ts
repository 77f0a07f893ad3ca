// Files Pulumi installs on running control planes through Cloud Assistant: the
// installer script, run with real bash in the sandbox, writes exactly the renewal files
// with their modes and enables the timer; and it fits in a Cloud Assistant command.
import { randomBytes } from "node:crypto";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readinessCommand } from "../components/readiness";
import { certRenewalFiles } from "../plan/cert-renewal";
import {
  COMMAND_CONTENT_LIMIT,
  INSTALL_COMMAND_SECONDS,
  certRenewalInstaller,
  commandContentSize,
  renderFileInstaller,
} from "../plan/node-commands";
import { read, runScript, sandbox } from "./harness/harness";
import { nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

describe("certificate renewal installer", () => {
  it("writes every renewal file byte for byte with its mode, then enables the timer and starts a first run", () => {
    const box = sandbox(nodeUserData(specFor({ clusterName: "inst" }), "first"), "ubuntu-24.04");
    const script = join(mkdtempSync(join(tmpdir(), "inst-")), "install.sh");
    writeFileSync(script, readinessCommand(certRenewalInstaller(), INSTALL_COMMAND_SECONDS));
    const run = runScript(box, script, []);
    expect(run.status, run.output).toBe(0);
    for (const f of certRenewalFiles()) {
      expect(read(box, f.path), f.path).toBe(f.content);
      expect((statSync(join(box.root, f.path)).mode & 0o777).toString(8), f.path).toBe(
        f.permissions.replace(/^0/, ""),
      );
    }
    expect(run.calls).toEqual([
      "systemctl daemon-reload",
      "systemctl enable --now kubeadm-alicloud-renew-certs.timer",
      "systemctl start --no-block kubeadm-alicloud-renew-certs.service",
    ]);
    expect(run.output).toContain("kubeadm-alicloud: certificate renewal installed");
    // Again: the same result (idempotent).
    expect(runScript(box, script, []).status).toBe(0);
  });

  it("fits in a Cloud Assistant command, with the gate's line in front, and refuses one that does not", () => {
    expect(
      commandContentSize(readinessCommand(certRenewalInstaller(), INSTALL_COMMAND_SECONDS)),
    ).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT);
    // Incompressible content: random bytes gzip to about their own size.
    const noise = randomBytes(12_000).toString("base64");
    expect(() =>
      renderFileInstaller("noise", [{ path: "/x", content: noise, permissions: "0644" }], [], "done"),
    ).toThrow(/Cloud Assistant accepts 16384/);
  });
});
