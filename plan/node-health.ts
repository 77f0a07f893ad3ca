// Unhealthy pool instances are reported to ESS, with a brake (issue 16 item 2). The
// decision and the actions live in bootstrap/node-health.py, which every control plane runs
// under a systemd timer: it observes the scaling groups' in-service instances (ESS
// DescribeScalingInstances) and the Nodes, decides, records its reports in a ConfigMap
// ledger (the brake's memory, and what operators read), then calls ESS SetInstanceHealth.
// ESS removes an instance reported Unhealthy (ESS SetInstanceHealth API reference, usage
// notes: "Auto Scaling detects and removes unhealthy ECS instances ... from corresponding
// scaling groups"; RAM resource: the scaling group) and refills the group, so a report is a
// replacement, and the brake caps replacements per pool in a rolling window: a zone outage
// that takes down half a pool's nodes replaces at most the cap, and the rest wait, named.
//
// An instance is unhealthy when
// - it has been in service longer than the join deadline and no Node of its name
//   (`<region>.<instance-id>`, bootstrap/node-bootstrap.sh) has registered (its bootstrap
//   failed), or
// - its Node's Ready condition has not been True for longer than the unready limit, or
// - node-problem-detector has set one of its permanent conditions on the Node (True) for
//   longer than that limit: KernelDeadlock, ReadonlyFilesystem, XfsShutdown, the
//   conditions of the monitors the node-problem-detector chart enables by default
//   (deliveryhero/helm-charts stable/node-problem-detector values.yaml log_monitors:
//   kernel-monitor.json, readonly-monitor.json; their "permanent" rules in
//   kubernetes/node-problem-detector config/kernel-monitor.json and readonly-monitor.json,
//   read in the search index's copies, not at the image's tag).
// A Ready Node with no such condition is never reported, whatever its age.
//
// Here, pure: the settings, the files and units, the installer and the RAM grant.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeFile } from "./cert-renewal";
import { renderFileInstaller } from "./node-commands";
import { intervalTimer, oneshotService, settingsFile } from "./systemd-units";

export interface HealthSettings {
  /** Minutes an instance may be in service without a registered Node (bootstrap and join). */
  readonly joinDeadlineMinutes: number;
  /** Minutes a Node's Ready condition may be other than True before its instance is replaced. */
  readonly unreadyMinutes: number;
  /** The brake's rolling window. */
  readonly windowMinutes: number;
  /** At most this share of a pool's in-service instances replaced per window, and at least 1. */
  readonly maxShare: number;
}

export const NODE_HEALTH_PATHS = {
  /** Beside fetch-secrets.py (plan/node-bootstrap.ts), whose credentials, signing and retries it loads. */
  script: "/usr/local/lib/kubeadm-alicloud/node-health.py",
  env: "/etc/kubeadm-alicloud/node-health.env",
  service: "/etc/systemd/system/kubeadm-alicloud-node-health.service",
  timer: "/etc/systemd/system/kubeadm-alicloud-node-health.timer",
  log: "/var/log/kubeadm-alicloud/node-health.log",
} as const;
export const NODE_HEALTH_TIMER = "kubeadm-alicloud-node-health.timer";
/** The ledger: `kubectl -n kube-system get configmap kubeadm-alicloud-node-health -o yaml`. */
export const NODE_HEALTH_LEDGER = { namespace: "kube-system", name: "kubeadm-alicloud-node-health" } as const;

/** Minutes between two passes of each control plane. */
export const HEALTH_PASS_MINUTES = 2;
/** One kubectl call of a pass (kubectl's own --request-timeout is 20 s). */
export const HEALTH_KUBECTL_SECONDS = 30;
/** Tries and first backoff of each ESS call and metadata read (fetch-secrets.py's with_retries). */
export const HEALTH_RETRY_ATTEMPTS = 4;
export const HEALTH_RETRY_BACKOFF_SECONDS = 2;
/** Seconds a metadata-service credential read may wait for the role (fetch-secrets.py Metadata). */
export const HEALTH_ROLE_WAIT_SECONDS = 60;
/**
 * No ESS call starts after this many seconds of a pass: a pass whose ESS calls fail slowly
 * stops, named, and the next pass starts over (the ledger holds what was reported).
 */
export const HEALTH_PASS_BUDGET_SECONDS = 600;
/** One ESS call at worst: every try's 10 s limit plus the doubling backoff between tries. */
export const HEALTH_ESS_CALL_SECONDS =
  HEALTH_RETRY_ATTEMPTS * 10 +
  Array.from({ length: HEALTH_RETRY_ATTEMPTS - 1 }, (_, k) => HEALTH_RETRY_BACKOFF_SECONDS * 2 ** k).reduce(
    (a, b) => a + b,
    0,
  );
/**
 * The unit's TimeoutStartSec: the budget, one ESS call begun just before it ended, and the
 * ledger write after the observation (kubectl), with a margin.
 */
export const HEALTH_SERVICE_SECONDS =
  HEALTH_PASS_BUDGET_SECONDS + HEALTH_ESS_CALL_SECONDS + HEALTH_KUBECTL_SECONDS + 60;

export function renderNodeHealthEnv(
  region: string,
  pools: Readonly<Record<string, string>>,
  s: HealthSettings,
): string {
  const entries = Object.entries(pools);
  for (const [pool, group] of entries)
    if (!/^[a-z0-9-]+$/.test(pool) || !/^[A-Za-z0-9-]+$/.test(group))
      throw new Error(`pool ${pool} (scaling group ${group}) cannot go into the health settings`);
  return settingsFile({
    REGION: region,
    // The VPC endpoint, which every region has; the public names differ (ess.aliyuncs.com in
    // cn-hangzhou, cn-shanghai, cn-beijing, cn-shenzhen, cn-qingdao, ap-southeast-1):
    // Alibaba Cloud Auto Scaling "Endpoints" (API 2022-02-22) and aliyun/alibaba-cloud-sdk-go
    // services/ess/endpoint.go.
    ESS_ENDPOINT: `https://ess-vpc.${region}.aliyuncs.com`,
    POOLS: entries.map(([pool, group]) => `${pool}=${group}`).join(","),
    JOIN_DEADLINE_MINUTES: s.joinDeadlineMinutes,
    UNREADY_MINUTES: s.unreadyMinutes,
    WINDOW_MINUTES: s.windowMinutes,
    MAX_SHARE: s.maxShare,
    KUBECONFIG: "/etc/kubernetes/admin.conf",
    LOG: NODE_HEALTH_PATHS.log,
    METADATA_URL: "http://100.100.100.200",
    RETRY_ATTEMPTS: HEALTH_RETRY_ATTEMPTS,
    RETRY_BACKOFF_SECONDS: HEALTH_RETRY_BACKOFF_SECONDS,
    KUBECTL_SECONDS: HEALTH_KUBECTL_SECONDS,
    PASS_BUDGET_SECONDS: HEALTH_PASS_BUDGET_SECONDS,
    ROLE_WAIT_SECONDS: HEALTH_ROLE_WAIT_SECONDS,
  });
}

/** Every HEALTH_PASS_MINUTES after the last pass started, first 5 min after boot. */
export function renderNodeHealthTimer(): string {
  return intervalTimer("report unhealthy pool instances to ESS", "5min", `${HEALTH_PASS_MINUTES}min`, "10s");
}

export function nodeHealthFiles(
  region: string,
  pools: Readonly<Record<string, string>>,
  s: HealthSettings,
): NodeFile[] {
  const script = readFileSync(join(__dirname, "..", "bootstrap", "node-health.py"), "utf8");
  return [
    { path: NODE_HEALTH_PATHS.script, content: script, permissions: "0755" },
    { path: NODE_HEALTH_PATHS.env, content: renderNodeHealthEnv(region, pools, s), permissions: "0644" },
    {
      path: NODE_HEALTH_PATHS.service,
      content: oneshotService(
        "report unhealthy pool instances to ESS, with a brake",
        `${NODE_HEALTH_PATHS.script} --settings ${NODE_HEALTH_PATHS.env}`,
        HEALTH_SERVICE_SECONDS,
      ),
      permissions: "0644",
    },
    { path: NODE_HEALTH_PATHS.timer, content: renderNodeHealthTimer(), permissions: "0644" },
  ];
}

/** The Cloud Assistant command that installs (again, when anything changed) and starts the timer. */
export function nodeHealthInstaller(
  region: string,
  pools: Readonly<Record<string, string>>,
  s: HealthSettings,
): string {
  return renderFileInstaller(
    "unhealthy-node reporting",
    nodeHealthFiles(region, pools, s),
    ["systemctl daemon-reload", `systemctl enable --now ${NODE_HEALTH_TIMER}`],
    `unhealthy pool instances reported every ${HEALTH_PASS_MINUTES} min; ledger in ConfigMap ${NODE_HEALTH_LEDGER.namespace}/${NODE_HEALTH_LEDGER.name}, log ${NODE_HEALTH_PATHS.log}`,
  );
}

/**
 * The control planes' grant: mark instances unhealthy only in this cluster's scaling
 * groups (the ESS RAM tables' `acs:ess:{#regionId}:{#accountId}:scalinggroup/{#ScalingGroupId}`),
 * and read instances in the region (as the cluster-autoscaler's grant does: not every
 * Describe table was found to name a resource, addons/cluster-autoscaler.ts).
 */
export function nodeHealthStatements(region: string, groupIds: readonly string[]): object[] {
  return [
    {
      Effect: "Allow",
      Action: ["ess:SetInstanceHealth"],
      Resource: groupIds.map((g) => `acs:ess:${region}:*:scalinggroup/${g}`),
    },
    { Effect: "Allow", Action: ["ess:DescribeScalingInstances"], Resource: [`acs:ess:${region}:*:*`] },
  ];
}
