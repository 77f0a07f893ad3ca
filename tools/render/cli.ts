// npm run render -- --stack <name> [--out <dir>] [--stack-file <file>] [--deployed-version <v>]
//   [--stats-json <file>]
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../../config/validate";
import { versionProblem } from "../../config/versions";
import { renderStack, writeBundle } from "./render";
import { PROJECT_DIR, readStackFile, stackFilePath } from "./stack-file";

const USAGE = `usage: npm run render -- --stack <name> [--out <dir>]
  --stack <name>        stack to render: stacks/Pulumi.<name>.yaml
  --stack-file <file>   render this stack file instead (its stack name from --stack or the file name)
  --out <dir>           output folder (default out/<stack>/)
  --materialize         also write the emulated PKI (keys included) under pki/ in kubeadm's
                        layout, with admin.conf; the default bundle never holds key material
  --deployed-version <v>
                        the Kubernetes version the stack last confirmed deployed (the render
                        has no state: this stands for it); adds upgrade-plan.json and
                        upgrade-plan.md, and fails with the config key when the step is refused
  --stats-json <file>   also write wall time and peak memory as JSON`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      "stack-file": { type: "string" },
      out: { type: "string" },
      "stats-json": { type: "string" },
      materialize: { type: "boolean" },
      "deployed-version": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.stack && !values["stack-file"]) {
    console.error(`render: --stack is required\n${USAGE}`);
    return 2;
  }
  const deployedProblem =
    values["deployed-version"] === undefined ? undefined : versionProblem(values["deployed-version"]);
  if (deployedProblem) {
    console.error(`render: --deployed-version: ${deployedProblem}\n${USAGE}`);
    return 2;
  }
  const started = process.hrtime.bigint();
  const file = values["stack-file"] ?? stackFilePath(PROJECT_DIR, values.stack as string);
  const stack = readStackFile(PROJECT_DIR, file, values.stack);
  const outDir = values.out ?? join(PROJECT_DIR, "out", stack.stack);
  try {
    const deployedVersion = values["deployed-version"];
    const result = await renderStack(stack, {
      materialize: values.materialize === true,
      ...(deployedVersion !== undefined ? { deployedVersion } : {}),
    });
    writeBundle(outDir, result.files);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(
      `render: stack ${stack.stack}: ${result.resources.length} resources -> ${relative(process.cwd(), outDir) || "."}/ (${Object.keys(result.files).sort().join(", ")}) in ${wallMs.toFixed(0)} ms, peak RSS ${maxRssMb.toFixed(0)} MB`,
    );
    if (values["stats-json"]) {
      writeFileSync(
        values["stats-json"],
        JSON.stringify({ stack: stack.stack, resources: result.resources.length, wallMs, maxRssMb }),
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
