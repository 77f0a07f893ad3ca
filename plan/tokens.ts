// Bootstrap tokens as the cluster keeps them: one Secret per token in kube-system, in
// the format of k8s.io/cluster-bootstrap/token/api/types.go (v0.36): named
// bootstrap-token-<token-id>, type bootstrap.kubernetes.io/token, with token-id,
// token-secret, expiration (RFC 3339), usage-bootstrap-authentication,
// usage-bootstrap-signing, auth-extra-groups (comma-separated, each
// system:bootstrappers:…) and description. kube-controller-manager's tokencleaner
// deletes a token's Secret once its expiration has passed
// (pkg/controller/bootstrap/tokencleaner.go), which kubeadm turns on
// (--controllers=*,bootstrapsigner,tokencleaner).
//
// Pulumi renews tokens in windows: a token issued in window n expires `ttl` after the
// window's start, and a `pulumi up` in window n+1 (which begins `renewBefore` before
// that) issues its successor. So a token always has at least `renewBefore` left when
// a pulumi up has run in its window, and an up in the same window changes nothing.

import { TOKEN_GROUP_RE } from "./pki";

export const BOOTSTRAP_TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token";
export const BOOTSTRAP_TOKEN_NAMESPACE = "kube-system";
export const bootstrapTokenSecretName = (id: string) => `bootstrap-token-${id}`;

const HOUR_MS = 3_600_000;

export interface TokenWindow {
  /** Which window `now` falls in; a token's value changes with it. */
  readonly index: number;
  /** When a token issued in this window expires (RFC 3339, UTC, whole seconds). */
  readonly expiresAt: string;
  /** When the next window starts: the first pulumi up after it renews the token. */
  readonly renewFrom: string;
}

export function tokenWindow(nowMs: number, ttlHours: number, renewBeforeHours: number): TokenWindow {
  const length = (ttlHours - renewBeforeHours) * HOUR_MS;
  if (!(length > 0))
    throw new Error(
      `a token window needs ttl (${ttlHours} h) longer than the renewal window (${renewBeforeHours} h)`,
    );
  const index = Math.floor(nowMs / length);
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { index, expiresAt: iso(index * length + ttlHours * HOUR_MS), renewFrom: iso((index + 1) * length) };
}

export interface TokenSecretInput {
  readonly id: string;
  readonly secret: string;
  readonly expiresAt: string;
  readonly groups: readonly string[];
  readonly description: string;
}

/** The Secret's string data, exactly the keys of cluster-bootstrap's token API. */
export function tokenSecretData(t: TokenSecretInput): Record<string, string> {
  for (const g of t.groups) {
    if (!TOKEN_GROUP_RE.test(g))
      throw new Error(`auth-extra-groups must start with system:bootstrappers: (${g})`);
  }
  return {
    "token-id": t.id,
    "token-secret": t.secret,
    expiration: t.expiresAt,
    "usage-bootstrap-authentication": "true",
    "usage-bootstrap-signing": "true",
    "auth-extra-groups": t.groups.join(","),
    description: t.description,
  };
}
