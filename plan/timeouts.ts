// Every long step's time limit, in one place, each strictly inside the step that
// waits for it (test/timeouts.test.ts checks the nesting). Seconds.
//
//   readiness gate (Pulumi)            GATE_SECONDS
//   ├─ Cloud Assistant agent online    AGENT_ONLINE_SECONDS
//   └─ Cloud Assistant invocation      CLOUD_ASSISTANT_SECONDS
//      └─ wait-ready.sh's own limit    WAIT_READY_SECONDS  (so it prints the log tail itself)
//         └─ the bootstrap unit        BOOTSTRAP_SECONDS   (systemd TimeoutStartSec)
//            ├─ RAM role to appear     ROLE_WAIT_SECONDS   (fetch-secrets.py)
//            └─ one kubeadm attempt    KUBEADM_ATTEMPT_SECONDS
export const KUBEADM_ATTEMPT_SECONDS = 720;
export const ROLE_WAIT_SECONDS = 600;
export const BOOTSTRAP_SECONDS = 2700;
export const WAIT_READY_SECONDS = BOOTSTRAP_SECONDS + 120;
export const CLOUD_ASSISTANT_SECONDS = WAIT_READY_SECONDS + 120;
export const AGENT_ONLINE_SECONDS = 900;
/** The gate's whole budget: the agent coming online, then one full invocation, then slack for polling. */
export const GATE_SECONDS = AGENT_ONLINE_SECONDS + CLOUD_ASSISTANT_SECONDS + 300;
