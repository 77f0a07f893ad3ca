// A real three-member etcd cluster (Debian's etcd-server) on loopback, with mutual
// TLS from certificates issued by the PKI's etcd CA with kubeadm's profiles.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdLeafProfiles, etcdSans, tlsKeyArgs, type LeafProfile } from "../plan/pki";
import { settle } from "../tools/render/mock-runtime";
import { installMocks, resolved, specFor, type Recorder } from "./kit";
import { writeTemp } from "./openssl";
import { freePort } from "./harness/net";

const MEMBERS = 3;
const ETCD = "/usr/bin/etcd";
const ETCDCTL = "/usr/bin/etcdctl";

let recorder: Recorder;
const procs: ChildProcess[] = [];
/** Everything each etcd member logged (etcd logs to standard error). */
const logs: string[] = [];

/** A leaf certificate signed by `ca`, made with the same tls resources the product uses. */
function leaf(
  id: string,
  profile: LeafProfile,
  ca: { certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> },
  sans?: { dnsNames: string[]; ipAddresses: string[] },
) {
  const key = new tls.PrivateKey(`${id}-key`, tlsKeyArgs("RSA-2048"));
  const csr = new tls.CertRequest(`${id}-csr`, {
    privateKeyPem: pulumi.secret(key.privateKeyPem),
    subject: { commonName: profile.commonName },
    ...(sans ?? {}),
  });
  const cert = new tls.LocallySignedCert(id, {
    certRequestPem: csr.certRequestPem,
    caCertPem: ca.certPem,
    caPrivateKeyPem: ca.keyPem,
    validityPeriodHours: 24,
    allowedUses: [...profile.uses],
  });
  return pulumi.all([cert.certPem, key.privateKeyPem]);
}

function etcdctl(dir: string, endpoints: string, client: string, args: string[]) {
  return spawnSync(
    ETCDCTL,
    [
      "--endpoints",
      endpoints,
      "--cacert",
      join(dir, "ca.crt"),
      "--cert",
      join(dir, `${client}.crt`),
      "--key",
      join(dir, `${client}.key`),
      "--dial-timeout",
      "3s",
      "--command-timeout",
      "5s",
      ...args,
    ],
    {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
    },
  );
}

describe("etcd with the PKI's etcd CA (real etcd, loopback only)", () => {
  let dir = "";
  let endpoints = "";

  beforeAll(async () => {
    if (spawnSync(ETCD, ["--version"]).status !== 0) {
      throw new Error(`${ETCD} is missing: install Debian's etcd-server and etcd-client (bash .ci/run does)`);
    }
    recorder = await installMocks();
    const { ClusterPki } = await import("../components/pki");
    const spec = specFor({ clusterName: "etcd-t" });
    const pki = new ClusterPki("etcd-t-pki", {
      clusterName: "etcd-t",
      pki: spec.pki,
      apiServerUrl: "https://127.0.0.1:6443",
      nodePools: [],
    });
    const foreign = new ClusterPki("other-pki", {
      clusterName: "other",
      pki: spec.pki,
      apiServerUrl: "https://127.0.0.1:6443",
      nodePools: [],
    });

    const files: Record<string, pulumi.Output<[string, string]>> = {};
    for (let i = 0; i < MEMBERS; i++) {
      const node = `etcd-${i}`;
      const [server, peer] = etcdLeafProfiles(node);
      files[`${node}-server`] = leaf(
        `${node}-server`,
        server as LeafProfile,
        pki.cas.etcd,
        etcdSans(node, "127.0.0.1"),
      );
      files[`${node}-peer`] = leaf(
        `${node}-peer`,
        peer as LeafProfile,
        pki.cas.etcd,
        etcdSans(node, "127.0.0.1"),
      );
    }
    const apiserverClient = etcdLeafProfiles("any").find(
      (p) => p.id === "apiserver-etcd-client",
    ) as LeafProfile;
    files["apiserver-etcd-client"] = leaf("apiserver-etcd-client", apiserverClient, pki.cas.etcd);
    files["foreign-client"] = leaf("foreign-client", apiserverClient, foreign.cas.etcd);

    const written: Record<string, string> = { "ca.crt": await resolved(pki.cas.etcd.certPem) };
    for (const [name, pair] of Object.entries(files)) {
      const [cert, key] = await resolved(pair);
      written[`${name}.crt`] = cert;
      written[`${name}.key`] = key;
    }
    await settle();
    if (recorder.failures.length > 0) throw new Error(recorder.failures.join("\n"));
    dir = writeTemp(written);

    const ports = await Promise.all(Array.from({ length: MEMBERS * 2 }, freePort));
    const peerUrl = (i: number) => `https://127.0.0.1:${ports[2 * i + 1]}`;
    const clientUrl = (i: number) => `https://127.0.0.1:${ports[2 * i]}`;
    const initialCluster = Array.from({ length: MEMBERS }, (_, i) => `etcd-${i}=${peerUrl(i)}`).join(",");
    endpoints = Array.from({ length: MEMBERS }, (_, i) => clientUrl(i)).join(",");
    for (let i = 0; i < MEMBERS; i++) {
      const node = `etcd-${i}`;
      // The flags kubeadm's etcd static pod manifest sets for TLS.
      const p = spawn(
        ETCD,
        [
          "--name",
          node,
          "--data-dir",
          mkdtempSync(join(tmpdir(), `${node}-`)),
          "--listen-client-urls",
          clientUrl(i),
          "--advertise-client-urls",
          clientUrl(i),
          "--listen-peer-urls",
          peerUrl(i),
          "--initial-advertise-peer-urls",
          peerUrl(i),
          "--initial-cluster",
          initialCluster,
          "--initial-cluster-state",
          "new",
          "--initial-cluster-token",
          "etcd-t",
          "--client-cert-auth",
          "--trusted-ca-file",
          join(dir, "ca.crt"),
          "--cert-file",
          join(dir, `${node}-server.crt`),
          "--key-file",
          join(dir, `${node}-server.key`),
          "--peer-client-cert-auth",
          "--peer-trusted-ca-file",
          join(dir, "ca.crt"),
          "--peer-cert-file",
          join(dir, `${node}-peer.crt`),
          "--peer-key-file",
          join(dir, `${node}-peer.key`),
          "--listen-metrics-urls",
          `http://127.0.0.1:${await freePort()}`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      logs[i] = "";
      p.stderr?.on("data", (chunk: Buffer) => {
        logs[i] += chunk.toString("utf8");
      });
      procs.push(p);
    }
    // Bounded wait for a healthy cluster: 60 tries, 0.5 s apart.
    for (let attempt = 0; attempt < 60; attempt++) {
      const health = etcdctl(dir, endpoints, "apiserver-etcd-client", ["endpoint", "health"]);
      if (health.status === 0) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(
      `etcd did not become healthy: ${etcdctl(dir, endpoints, "apiserver-etcd-client", ["endpoint", "health"]).stderr}`,
    );
  }, 90_000);

  afterAll(() => {
    for (const p of procs) p.kill("SIGTERM");
  });

  it("forms a three-member cluster over mutually authenticated peer TLS", () => {
    const list = etcdctl(dir, endpoints, "apiserver-etcd-client", ["member", "list", "-w", "simple"]);
    expect(list.status, list.stderr).toBe(0);
    const names = list.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(", ")[2])
      .sort();
    expect(names).toEqual(["etcd-0", "etcd-1", "etcd-2"]);
    expect(list.stdout).not.toContain("http://");
  });

  it("kube-apiserver-etcd-client writes and reads a key", () => {
    const put = etcdctl(dir, endpoints, "apiserver-etcd-client", [
      "put",
      "/registry/kubeadm-alicloud/probe",
      "hello",
    ]);
    expect(put.status, put.stderr).toBe(0);
    const get = etcdctl(dir, endpoints, "apiserver-etcd-client", [
      "get",
      "/registry/kubeadm-alicloud/probe",
      "--print-value-only",
    ]);
    expect(get.status, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe("hello");
  });

  it("refuses a client certificate from another CA, at the TLS handshake", async () => {
    const first = endpoints.split(",")[0] ?? "";
    const before = logs[0]?.length ?? 0;
    const get = etcdctl(dir, first, "foreign-client", ["get", "/registry/kubeadm-alicloud/probe"]);
    expect(get.status).not.toBe(0);
    expect(get.stdout).not.toContain("hello");
    // The member says why: the client's certificate was not issued by its CA. Its log
    // arrives asynchronously (spawnSync held the event loop): wait for it, bounded.
    for (let i = 0; i < 20 && !/rejected connection/.test(logs[0]?.slice(before) ?? ""); i++)
      await new Promise((r) => setTimeout(r, 100));
    const logged = logs[0]?.slice(before) ?? "";
    expect(logged).toMatch(/rejected connection/);
    expect(logged).toMatch(/certificate signed by unknown authority|bad certificate/);
    // The same member still serves the cluster's own client.
    const ok = etcdctl(dir, first, "apiserver-etcd-client", [
      "get",
      "/registry/kubeadm-alicloud/probe",
      "--print-value-only",
    ]);
    expect(ok.stdout.trim()).toBe("hello");
  });
});
