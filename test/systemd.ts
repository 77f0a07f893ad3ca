// The real systemd-analyze on units as a control plane gets them: written into a root that
// holds the system's own units (verify --root needs sysinit.target and the like).
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { NodeFile } from "../plan/cert-renewal";

export const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";

/**
 * `systemd-analyze verify` of `units` after installing `files`; `without` is removed first
 * (a negative control). systemd-analyze warns about unknown keys and bad values but still
 * exits 0: callers treat any output as a finding.
 */
export function verifyUnits(
  files: readonly NodeFile[],
  units: readonly string[],
  without?: string,
): { status: number | null; output: string } {
  if (!existsSync(SYSTEMD_ANALYZE)) throw new Error(`${SYSTEMD_ANALYZE} is missing (README prerequisites)`);
  const root = mkdtempSync(join(tmpdir(), "units-"));
  cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), {
    recursive: true,
    verbatimSymlinks: true,
  });
  for (const f of files) {
    mkdirSync(join(root, dirname(f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content, { mode: Number.parseInt(f.permissions, 8) });
  }
  if (without) rmSync(join(root, without));
  const r = spawnSync(
    SYSTEMD_ANALYZE,
    ["verify", "--man=no", "--generators=no", `--root=${root}`, ...units],
    { encoding: "utf8" },
  );
  rmSync(root, { recursive: true, force: true });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
