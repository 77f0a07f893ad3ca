// npm run review -- --base <git ref> [--stack <name>] [--out <file>]
// Renders each stack (or the one named) at the base ref and in the working tree, with no
// credentials, and prints what the change does as Markdown (plan/review/review.ts).
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { review, reviewMarkdown, type BundleResource } from "../../plan/review/review";
import { PROJECT_DIR } from "../render/stack-file";

const USAGE = `usage: npm run review -- --base <git ref> [--stack <name>] [--out <file>]
  --base <ref>    what the change is compared with (a branch, tag or commit)
  --stack <name>  only this stack (default: every stacks/Pulumi.<name>.yaml of either side)
  --out <file>    also write the Markdown there`;

const stacksIn = (dir: string) =>
  existsSync(join(dir, "stacks"))
    ? readdirSync(join(dir, "stacks"))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
    : [];

/** resources.json of `stack` rendered by the code in `dir`; undefined when that side has no such stack. */
function render(dir: string, stack: string, out: string): BundleResource[] | undefined {
  if (!existsSync(join(dir, "stacks", `Pulumi.${stack}.yaml`))) return undefined;
  execFileSync(
    join(PROJECT_DIR, "node_modules", ".bin", "tsx"),
    [join(dir, "tools/render/cli.ts"), "--stack", stack, "--out", out],
    { cwd: dir, stdio: ["ignore", "ignore", "inherit"] },
  );
  return JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as BundleResource[];
}

function main(): number {
  const { values } = parseArgs({
    options: { base: { type: "string" }, stack: { type: "string" }, out: { type: "string" } },
    strict: true,
  });
  if (!values.base) {
    console.error(`review: --base is required\n${USAGE}`);
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), "kubeadm-alicloud-review-"));
  const baseDir = join(work, "base");
  execFileSync("git", ["worktree", "add", "--detach", "--quiet", baseDir, values.base], { cwd: PROJECT_DIR });
  try {
    symlinkSync(join(PROJECT_DIR, "node_modules"), join(baseDir, "node_modules"));
    const base = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: baseDir,
      encoding: "utf8",
    }).trim();
    const stacks = values.stack
      ? [values.stack]
      : [...new Set([...stacksIn(baseDir), ...stacksIn(PROJECT_DIR)])].sort();
    const parts = [`## Review against ${values.base} (${base})`, ""];
    for (const stack of stacks) {
      const before = render(baseDir, stack, join(work, "out-base", stack)) ?? [];
      const after = render(PROJECT_DIR, stack, join(work, "out-head", stack)) ?? [];
      parts.push(reviewMarkdown(stack, review(before, after)));
    }
    const markdown = parts.join("\n");
    process.stdout.write(markdown);
    if (values.out) writeFileSync(values.out, markdown);
    return 0;
  } finally {
    execFileSync("git", ["worktree", "remove", "--force", baseDir], { cwd: PROJECT_DIR });
    rmSync(work, { recursive: true, force: true });
  }
}

process.exit(main());
