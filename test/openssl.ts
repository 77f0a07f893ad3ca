// Run the real openssl on real files. Tests use it to judge what the PKI issued.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** openssl's text output; `input` (text or bytes) goes to its standard input. */
export function openssl(args: readonly string[], input?: string, bytes?: Buffer): string {
  return execFileSync("openssl", args, {
    encoding: "utf8",
    input: bytes ?? input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** openssl's binary output (DER). */
export function opensslBytes(args: readonly string[], input: string): Buffer {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });
}

/** Exit status and output of openssl, for checks that are expected to fail. */
export function opensslStatus(args: readonly string[]): { status: number; output: string } {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Write files into a fresh temporary folder and return its path. */
export function writeTemp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "pki-"));
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name.replace(/\//g, "_")), content, { mode: 0o600 });
  return dir;
}

/** openssl's text view of a certificate's extensions. */
export function certText(path: string): string {
  return openssl(["x509", "-in", path, "-noout", "-text"]);
}

export function hoursValid(path: string): number {
  const out = openssl(["x509", "-in", path, "-noout", "-startdate", "-enddate"]);
  const start = /notBefore=(.*)/.exec(out)?.[1];
  const end = /notAfter=(.*)/.exec(out)?.[1];
  return (Date.parse(end ?? "") - Date.parse(start ?? "")) / 3_600_000;
}
