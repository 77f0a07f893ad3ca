// npm run e2e -- --stack <name> --region <r> --zones <a,b> --instance-type <t> --from <v> --to <v>
//   --allowed-cidr <cidr> [--logs <dir>]
// Runs tools/e2e/driver.ts with the real Pulumi CLI, kubectl and ESS; writes every step's
// output and summary.json under --logs. Exit 0 only when every step, destroy included,
// passed. Costs money: it creates and destroys a small cluster on the account of the
// ALIBABA_CLOUD_* credentials.
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { essClient } from "../../components/ess";
import { PROJECT_DIR, stackFilePath } from "../render/stack-file";
import { runE2e, type CommandResult } from "./driver";

function run(command: string, args: readonly string[], opts: { timeoutMs: number; input?: string }) {
  return new Promise<CommandResult>((resolve) => {
    const child = spawn(command, [...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 124,
        stdout,
        stderr: signal ? `${stderr}\n(killed at its time limit: ${signal})` : stderr,
      });
    });
    child.stdin.end(opts.input ?? "");
  });
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      stack: { type: "string" },
      region: { type: "string" },
      zones: { type: "string" },
      "instance-type": { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      "allowed-cidr": { type: "string" },
      logs: { type: "string" },
    },
    strict: true,
  });
  const missing = ["stack", "region", "zones", "instance-type", "from", "to", "allowed-cidr"].filter(
    (k) => !v[k as keyof typeof v],
  );
  if (missing.length > 0) {
    console.error(`e2e: missing --${missing.join(", --")}`);
    return 2;
  }
  const logs = v.logs ?? join(process.cwd(), "e2e-logs");
  mkdirSync(logs, { recursive: true });
  const secrets = mkdtempSync(join(tmpdir(), "e2e-secret-"));
  const result = await runE2e(
    {
      stack: v.stack as string,
      region: v.region as string,
      zones: (v.zones as string).split(","),
      instanceType: v["instance-type"] as string,
      from: v.from as string,
      to: v.to as string,
      allowedCidr: v["allowed-cidr"] as string,
      limits: { upMinutes: 75, readyMinutes: 20, smokeMinutes: 10 },
    },
    {
      run,
      ess: essClient(v.region as string),
      writeStackConfig: (stack, config) =>
        writeFileSync(stackFilePath(PROJECT_DIR, stack), stringify(config)),
      writeSecret: (name, content) => {
        const file = join(secrets, name);
        writeFileSync(file, content, { mode: 0o600 });
        return file;
      },
      log: (step, text) => appendFileSync(join(logs, `${step}.log`), `${text}\n`),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      now: Date.now,
    },
  );
  writeFileSync(join(logs, "summary.json"), JSON.stringify(result, null, 2));
  for (const s of result.steps)
    console.log(`${s.ok ? "ok  " : "FAIL"} ${s.name} (${Math.round(s.seconds)} s): ${s.detail}`);
  return result.ok ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`e2e: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
