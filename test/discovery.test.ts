// Contract: a joining node's kubeadm discovery request passes the API server's
// anonymous authenticator as we configure it. We cannot run kube-apiserver here, so
// both halves are encoded from upstream source (Kubernetes v1.36) and run against the
// AuthenticationConfiguration that is really written into a control plane's user data:
//
// - kubeadm, cmd/kubeadm/app/discovery/token/token.go (retrieveValidatedConfigInfo):
//   the client comes from BuildInsecureBootstrapKubeConfig -> kubeconfigutil.CreateBasic
//   with an empty user, so the request carries NO credentials; it GETs
//   ConfigMaps(metav1.NamespacePublic).Get(bootstrapapi.ConfigMapClusterInfo), i.e.
//   GET /api/v1/namespaces/kube-public/configmaps/cluster-info.
// - kubeadm, cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go
//   (CreateClusterInfoRBACRules): that ConfigMap is readable by user system:anonymous.
// - apiserver, staging/src/k8s.io/apiserver/pkg/authentication/request/anonymous/anonymous.go
//   (AuthenticateRequest): `if len(a.allowedPaths) > 0 && !a.allowedPaths[req.URL.Path]
//   { return nil, false, nil }` — an exact match on the path, query ignored; a request
//   no authenticator accepts is answered 401.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterSpec } from "../config/spec";
import { AUTH_CONFIG_FILE } from "../plan/hardening";
import { fileText, renderUserData, type WriteFile } from "../plan/node-bootstrap";
import { PUBLIC_PKI_FILES } from "../plan/node-secrets";
import { specFor } from "./kit";

interface Request {
  readonly path: string;
  readonly query?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** kubeadm's token discovery request (token.go): no Authorization header, no client certificate. */
const KUBEADM_DISCOVERY: Request = {
  path: "/api/v1/namespaces/kube-public/configmaps/cluster-info",
  headers: {},
};

interface AuthenticationConfiguration {
  anonymous?: { enabled: boolean; conditions?: { path: string }[] };
}

/**
 * The anonymous authenticator of anonymous.go, for a request that no other
 * authenticator took (no credentials): 200 as system:anonymous, or 401.
 */
function anonymousOutcome(
  config: AuthenticationConfiguration,
  req: Request,
): { status: 200 | 401; user?: string } {
  if (req.headers.authorization !== undefined)
    throw new Error("only requests without credentials reach the anonymous authenticator");
  const anonymous = config.anonymous;
  if (!anonymous?.enabled) return { status: 401 };
  const allowed = new Set((anonymous.conditions ?? []).map((c) => c.path));
  if (allowed.size > 0 && !allowed.has(req.path)) return { status: 401 };
  return { status: 200, user: "system:anonymous" };
}

/** The AuthenticationConfiguration a control plane of `spec` boots with, read back from its user data. */
function renderedAuthConfig(spec: ClusterSpec): AuthenticationConfiguration | undefined {
  const pki = Object.fromEntries(PUBLIC_PKI_FILES.map((f) => [f, `stub ${f}\n`]));
  const userData = renderUserData(
    {
      spec,
      facts: {
        loadBalancerAddress: "10.0.0.250",
        discoveryHash: `sha256:${"ab".repeat(32)}`,
        encryptionAlgorithm: "RSA-2048",
      },
      role: "control-plane",
      peers: ["10.0.0.10", "10.0.0.11", "10.0.0.12"],
      first: true,
    },
    { pki },
  );
  const doc = parse(userData.replace(/^#cloud-config\n/, "")) as { write_files: WriteFile[] };
  const f = doc.write_files.find((w) => w.path === AUTH_CONFIG_FILE);
  return f ? (parse(fileText(f)) as AuthenticationConfiguration) : undefined;
}

describe("kubeadm join discovery against the hardened API server (upstream: token.go, anonymous.go)", () => {
  const spec = specFor({ clusterName: "disc" });

  it("the default cluster's AuthenticationConfiguration admits kubeadm's credential-less cluster-info request", () => {
    const config = renderedAuthConfig(spec);
    expect(config, "control planes carry an AuthenticationConfiguration by default").toBeDefined();
    expect(anonymousOutcome(config as AuthenticationConfiguration, KUBEADM_DISCOVERY)).toEqual({
      status: 200,
      user: "system:anonymous",
    });
  });

  it("still refuses anonymous requests to everything else: other ConfigMaps, Secrets, the API root", () => {
    const config = renderedAuthConfig(spec) as AuthenticationConfiguration;
    for (const path of [
      "/api/v1/namespaces/kube-public/configmaps",
      "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
      "/api/v1/namespaces/kube-system/secrets",
      "/api/v1/namespaces/kube-public/configmaps/cluster-info/",
      "/api",
      "/version",
    ]) {
      expect(anonymousOutcome(config, { path, headers: {} }), path).toEqual({ status: 401 });
    }
    for (const path of ["/livez", "/readyz", "/healthz"])
      expect(anonymousOutcome(config, { path, headers: {} }).status, path).toBe(200);
  });

  it("the encoded authenticator is not trivially permissive: health-only conditions refuse the discovery request", () => {
    const healthOnly: AuthenticationConfiguration = {
      anonymous: {
        enabled: true,
        conditions: [{ path: "/livez" }, { path: "/readyz" }, { path: "/healthz" }],
      },
    };
    expect(anonymousOutcome(healthOnly, KUBEADM_DISCOVERY)).toEqual({ status: 401 });
    expect(anonymousOutcome({ anonymous: { enabled: false } }, KUBEADM_DISCOVERY)).toEqual({ status: 401 });
  });

  it("with the hardening switched off, kubeadm's defaults apply and no AuthenticationConfiguration is written", () => {
    const off = specFor({
      clusterName: "disc2",
      apiServer: { anonymousHealthOnly: { enabled: false, reason: "an external authenticating proxy" } },
    });
    expect(renderedAuthConfig(off)).toBeUndefined();
  });
});
