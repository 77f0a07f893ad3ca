// One temporary directory per test run, removed when the run ends: the sandboxes, fake
// clouds and etcd data directories the suites make (mkdtemp under os.tmpdir(), mktemp in
// scripts) all land in it through TMPDIR, which the test processes inherit (vitest's
// globalSetup runs before its forks start). Without it a run left ~10 GB behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "kubeadm-alicloud-tests-"));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
