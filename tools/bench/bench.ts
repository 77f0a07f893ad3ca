// npm run bench: render a small stack and a synthetic large one (3 control planes,
// 10 pools, 1,000 nodes) and compare wall time and peak memory. Cost must follow the
// number of resources, not the number of nodes: the large render must stay within
// 1.5x of the small one.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { UpgradePlan } from "../../plan/upgrade/plan";
import { waveSizes } from "../../plan/upgrade/waves";
import { PROJECT_DIR } from "../render/stack-file";

const RUNS = 3;
const LIMIT = 1.5;

interface Stats {
  resources: number;
  wallMs: number;
  maxRssMb: number;
}

function largeStack(dir: string): string {
  const file = join(dir, "Pulumi.bench-large.yaml");
  const pools = Array.from({ length: 10 }, (_, i) => ({
    name: `pool-${i}`,
    instanceTypes: ["ecs.g7.xlarge", "ecs.g6.xlarge"],
    minSize: 100,
    maxSize: 100,
    desiredCapacity: 100,
    labels: { "example.com/pool": `pool-${i}` },
  }));
  writeFileSync(
    file,
    stringify({
      config: {
        "kubeadm-alicloud:environment": "prod",
        "kubeadm-alicloud:region": "cn-shanghai",
        "kubeadm-alicloud:zones": ["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"],
        "kubeadm-alicloud:controlPlane": { count: 3 },
        // 1,003 nodes need 1,003 /24 pod blocks: a /14 holds 1,024.
        "kubeadm-alicloud:network": { vpcCidr: "10.30.0.0/16", podCidr: "10.128.0.0/14" },
        "kubeadm-alicloud:nodePools": pools,
      },
    }),
  );
  return file;
}

function renderOnce(args: string[], dir: string): Stats {
  const stats = join(dir, `stats-${Math.random().toString(36).slice(2)}.json`);
  execFileSync(
    join(PROJECT_DIR, "node_modules", ".bin", "tsx"),
    [join(PROJECT_DIR, "tools/render/cli.ts"), ...args, "--out", join(dir, "out"), "--stats-json", stats],
    { cwd: PROJECT_DIR, stdio: ["ignore", "ignore", "inherit"] },
  );
  return JSON.parse(readFileSync(stats, "utf8")) as Stats;
}

function measure(label: string, args: string[], dir: string) {
  const runs = Array.from({ length: RUNS }, () => renderOnce(args, dir));
  const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  return {
    label,
    resources: runs[0]?.resources ?? 0,
    wallMs: walls[Math.floor(RUNS / 2)] ?? 0,
    maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
  };
}

const dir = mkdtempSync(join(tmpdir(), "kubeadm-alicloud-bench-"));
const small = measure(
  "small (stacks/Pulumi.dev.yaml: 1 control plane, 1 pool, up to 4 nodes)",
  ["--stack", "dev"],
  dir,
);
const large = measure(
  "large (3 control planes, 10 pools, 1,003 nodes)",
  ["--stack-file", largeStack(dir), "--stack", "bench-large"],
  dir,
);

console.log(
  `render benchmark, median of ${RUNS} runs (wall = whole render inside the process; peak RSS of the process)`,
);
for (const r of [small, large]) {
  console.log(
    `  ${r.label}\n    resources ${r.resources}, wall ${r.wallMs.toFixed(0)} ms, peak RSS ${r.maxRssMb.toFixed(0)} MB`,
  );
}
// The rollout of a minor upgrade over the large stack (upgrade-plan.json of the render).
const planDir = join(dir, "plan");
execFileSync(
  join(PROJECT_DIR, "node_modules", ".bin", "tsx"),
  [
    join(PROJECT_DIR, "tools/render/cli.ts"),
    ...["--stack-file", largeStack(dir), "--stack", "bench-large", "--deployed-version", "1.35.0"],
    ...["--out", planDir],
  ],
  { cwd: PROJECT_DIR, stdio: ["ignore", "ignore", "inherit"] },
);
const plan = JSON.parse(readFileSync(join(planDir, "upgrade-plan.json"), "utf8")) as UpgradePlan;
const poolStages = plan.stages.filter((st) => st.kind === "pool");
const waves = poolStages.reduce((n, st) => n + st.waves.length, 0);
const single = waveSizes(1000, { waves: [1, 5, 10, 50, 100], maxWaveShare: 0.2 });
console.log(
  `  upgrade ${plan.from} -> ${plan.to} of the large stack: ${plan.stages.length} stages, ${poolStages.length} pools of ${poolStages[0]?.waves.reduce((a, b) => a + b, 0) ?? 0} nodes in ${poolStages[0]?.waves.length ?? 0} waves each (${poolStages[0]?.waves.join(", ") ?? ""}), ${waves} waves in all`,
);
console.log(`  one pool of 1,000 nodes (default waves): ${single.length} waves (${single.join(", ")})`);

const wallRatio = large.wallMs / small.wallMs;
const rssRatio = large.maxRssMb / small.maxRssMb;
console.log(`  large/small: wall ${wallRatio.toFixed(2)}x, memory ${rssRatio.toFixed(2)}x (limit ${LIMIT}x)`);
if (wallRatio > LIMIT || rssRatio > LIMIT) {
  console.error("bench: the large render costs more than 1.5x the small one: cost is following node count");
  process.exit(1);
}
