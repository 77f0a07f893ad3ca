// Every long step's limit sits strictly inside the limit of the step that waits for it
// (plan/timeouts.ts), and the artefacts carry exactly these numbers.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { READINESS_TIMEOUT_SECONDS, gateSeconds, scriptSeconds } from "../components/readiness";
import { fileText, type WriteFile } from "../plan/node-bootstrap";
import { INSTALL_COMMAND_SECONDS } from "../plan/node-commands";
import * as T from "../plan/timeouts";
import { nodeUserData } from "./harness/nodes";
import { specFor } from "./kit";

describe("time limits nest", () => {
  it("gate > agent wait + Cloud Assistant > wait-ready > bootstrap unit > one kubeadm attempt and the RAM role wait", () => {
    expect(T.GATE_SECONDS).toBeGreaterThan(T.AGENT_ONLINE_SECONDS + T.CLOUD_ASSISTANT_SECONDS);
    expect(T.CLOUD_ASSISTANT_SECONDS).toBeGreaterThan(T.WAIT_READY_SECONDS);
    expect(T.WAIT_READY_SECONDS).toBeGreaterThan(T.BOOTSTRAP_SECONDS);
    expect(T.BOOTSTRAP_SECONDS).toBeGreaterThan(T.KUBEADM_ATTEMPT_SECONDS);
    expect(T.BOOTSTRAP_SECONDS).toBeGreaterThan(T.ROLE_WAIT_SECONDS);
    // The readiness gate derives its numbers from the same constants.
    expect(READINESS_TIMEOUT_SECONDS).toBe(T.CLOUD_ASSISTANT_SECONDS);
    expect(scriptSeconds(READINESS_TIMEOUT_SECONDS)).toBe(T.WAIT_READY_SECONDS);
    expect(gateSeconds(READINESS_TIMEOUT_SECONDS)).toBe(T.GATE_SECONDS);
    expect(scriptSeconds(INSTALL_COMMAND_SECONDS)).toBeGreaterThan(0);
  });

  it("the node carries them: the unit's TimeoutStartSec, kubeadm's per-attempt limit and the fetcher's role wait", () => {
    const doc = parse(
      nodeUserData(specFor({ clusterName: "tm" }), "first").replace(/^#cloud-config\n/, ""),
    ) as { write_files: WriteFile[] };
    const file = (p: string) => fileText(doc.write_files.find((f) => f.path === p) as WriteFile);
    expect(file("/etc/systemd/system/kubeadm-alicloud-bootstrap.service")).toContain(
      `TimeoutStartSec=${T.BOOTSTRAP_SECONDS}\n`,
    );
    const env = file("/etc/kubeadm-alicloud/node.env");
    expect(env).toContain(`KUBEADM_ATTEMPT_SECONDS=${T.KUBEADM_ATTEMPT_SECONDS}\n`);
    expect(env).toContain(`ROLE_WAIT_SECONDS=${T.ROLE_WAIT_SECONDS}\n`);
    const script = file("/usr/local/sbin/kubeadm-alicloud-bootstrap");
    expect(script).toContain('timeout "$KUBEADM_ATTEMPT_SECONDS" kubeadm init');
    expect(script).toContain('timeout "$KUBEADM_ATTEMPT_SECONDS" kubeadm join');
    expect(script).toContain('--role-wait-seconds "$ROLE_WAIT_SECONDS"');
  });
});
