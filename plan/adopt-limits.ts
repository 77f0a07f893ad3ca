// Adoption's time limits and result prefix, apart from plan/adopt.ts so that the adoption
// engine, which runs inside a dynamic provider, captures no renderer (as the rollout's
// provider captures none).
import { BOOTSTRAP_SECONDS } from "./timeouts";

/** Cloud Assistant's Timeout for one part or the install: a few file writes and systemctl calls. */
export const ADOPT_COMMAND_SECONDS = 120;
/** How long the bootstrap may take once started: its own systemd limit and a margin. */
export const ADOPT_WAIT_SECONDS = BOOTSTRAP_SECONDS + 120;
/** Cloud Assistant's Timeout of the wait: strictly outside the script's own limit. */
export const ADOPT_WAIT_COMMAND_SECONDS = ADOPT_WAIT_SECONDS + 60;
/** The result line the install and the wait end with. */
export const ADOPT_PREFIX = "kubeadm-alicloud-adopt: ";
