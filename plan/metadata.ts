// Alibaba Cloud's instance metadata service: a leaf module, read by the node hardening
// (plan/hardening.ts) and by the CNIs that keep pods away from it (addons/cni).

/**
 * The metadata service every Alibaba Cloud instance reaches; it hands out the instance role's credentials.
 */
export const METADATA_ADDRESS = "100.100.100.200";
