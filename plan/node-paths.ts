// Where the bootstrap's libraries live on a node: a leaf, so that code serialized into a
// dynamic provider (the rollout's upgrade command) need not capture the whole bootstrap
// renderer (plan/node-bootstrap.ts NODE_PATHS.lib is this).
export const NODE_LIB = "/usr/local/lib/kubeadm-alicloud";
