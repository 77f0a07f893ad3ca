// vCPUs and memory of an ECS instance type, read from its name where the naming rule is
// reliable; undefined where it is not (the caller warns instead of guessing).
//
// The rule, from Alibaba Cloud's "Classification and naming of instance types"
// (alibabacloud.com/help/en/ecs/user-guide/instance-specification-naming-and-classification)
// and "Instance naming conventions" (help.aliyun.com/en/egs/instance-naming-conventions):
// a type is ecs.<family>.<size>;
//   - size: large = 2 vCPUs, xlarge = 4, <n>xlarge = 4 × n. The shared families' small,
//     tiny and nano sizes have 1 vCPU (ecs.t5-lc1m1.small, ecs.n1.tiny, ecs.t5-lc2m1.nano).
//     Any other size (medium, micro, metal…) is not read.
//   - memory per vCPU: the enterprise families g<gen>… (general purpose) 4 GiB,
//     c<gen>… (compute optimized) 2 GiB, r<gen>… (memory optimized) 8 GiB, as the
//     "Instance families" page gives for every generation (g7, c7, r7, g8i…); families
//     that spell the ratio, -c<x>m<y> (ecs.t6-c1m2, ecs.e-c1m4, ecs.u1-c1m2,
//     ecs.t5-lc2m1), y/x GiB. Other families (hfg7, re6, gn7i-c8g1, ebm…) are not read.

export interface InstanceShape {
  /** undefined: the rule cannot read it from the name. */
  readonly vcpus?: number;
  readonly memoryGib?: number;
}

const ONE_VCPU_SIZES = new Set(["small", "tiny", "nano"]);
const MEMORY_PER_VCPU: Record<string, number> = { g: 4, c: 2, r: 8 };

export function instanceShape(instanceType: string): InstanceShape {
  const [, family = "", size = ""] = instanceType.split(".");
  const vcpus = vcpusOf(size);
  const perVcpu = memoryPerVcpu(family);
  return {
    ...(vcpus !== undefined ? { vcpus } : {}),
    ...(vcpus !== undefined && perVcpu !== undefined ? { memoryGib: vcpus * perVcpu } : {}),
  };
}

function vcpusOf(size: string): number | undefined {
  if (size === "large") return 2;
  if (size === "xlarge") return 4;
  const n = /^(\d+)xlarge$/.exec(size)?.[1];
  if (n !== undefined) return 4 * Number(n);
  return ONE_VCPU_SIZES.has(size) ? 1 : undefined;
}

function memoryPerVcpu(family: string): number | undefined {
  const enterprise = /^([gcr])\d+[a-z]*$/.exec(family)?.[1];
  if (enterprise !== undefined) return MEMORY_PER_VCPU[enterprise];
  const ratio = /-l?c(\d+)m(\d+)$/.exec(family);
  if (ratio) return Number(ratio[2]) / Number(ratio[1]);
  return undefined;
}

/**
 * kubeadm's preflight refuses a control plane with fewer than 2 CPUs or less than
 * 1700 MB of memory: kubernetes/kubernetes cmd/kubeadm/app/constants/constants.go
 * (ControlPlaneNumCPU = 2, ControlPlaneMem = 1700), checked by NumCPUCheck and MemCheck
 * in cmd/kubeadm/app/preflight/checks.go (InitNodeChecks, which `kubeadm join
 * --control-plane` runs too: cmd/kubeadm/app/cmd/phases/join/preflight.go). MemCheck
 * reads the memory the kernel reports, a little below the nominal size: 2 GiB is the
 * smallest nominal size that clears 1700 MB.
 */
export const KUBEADM_MIN_CPUS = 2;
export const KUBEADM_MIN_MEMORY_MB = 1700;
const MIN_NOMINAL_MEMORY_GIB = 2;

export interface ShapeFinding {
  readonly problem?: string;
  readonly warning?: string;
}

export function controlPlaneShapeFinding(instanceType: string): ShapeFinding {
  const { vcpus, memoryGib } = instanceShape(instanceType);
  const bigger = `choose a larger type, e.g. ecs.g7.large (2 vCPUs, 8 GiB) or ecs.c7.large (2 vCPUs, 4 GiB)`;
  if (vcpus !== undefined && vcpus < KUBEADM_MIN_CPUS) {
    return {
      problem: `${instanceType} has ${vcpus} vCPU; kubeadm's preflight needs at least ${KUBEADM_MIN_CPUS} vCPUs on a control plane and would stop kubeadm init; ${bigger}`,
    };
  }
  if (memoryGib !== undefined && memoryGib < MIN_NOMINAL_MEMORY_GIB) {
    return {
      problem: `${instanceType} has ${memoryGib} GiB of memory; kubeadm's preflight needs ${KUBEADM_MIN_MEMORY_MB} MB on a control plane (at least a ${MIN_NOMINAL_MEMORY_GIB} GiB instance) and would stop kubeadm init; ${bigger}`,
    };
  }
  if (vcpus === undefined || memoryGib === undefined) {
    return {
      warning: `cannot tell the ${vcpus === undefined ? "vCPUs and memory" : "memory"} of ${instanceType} from its name; kubeadm's preflight needs ${KUBEADM_MIN_CPUS} vCPUs and ${KUBEADM_MIN_MEMORY_MB} MB on a control plane: check the type in Alibaba's instance family tables`,
    };
  }
  return {};
}
