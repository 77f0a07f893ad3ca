// Scripts travel in user data without comments (plan/node-bootstrap.ts shippedShell):
// what is dropped, what must survive, and that bash still parses every shipped script.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BOOTSTRAP_LIBRARIES, BOOTSTRAP_SCRIPT_PATH, shippedShell } from "../plan/node-bootstrap";

describe("shipped shell scripts", () => {
  it("drops comment and blank lines, keeps the shebang, code and here-documents byte for byte", () => {
    const source = [
      "#!/usr/bin/env bash",
      "# a comment",
      "",
      "set -euo pipefail  # a trailing comment stays (it may be inside a string)",
      "  # an indented comment",
      "cat > /x <<'EOF'",
      "# kept: inside a here-document",
      "",
      "EOF",
      'cat <<-"DOC"',
      "\t# kept too",
      "\tDOC",
      'read -r a <<< "$b"',
      "# after",
      "echo done",
    ].join("\n");
    expect(shippedShell(source)).toBe(
      [
        "#!/usr/bin/env bash",
        "set -euo pipefail  # a trailing comment stays (it may be inside a string)",
        "cat > /x <<'EOF'",
        "# kept: inside a here-document",
        "",
        "EOF",
        'cat <<-"DOC"',
        "\t# kept too",
        "\tDOC",
        'read -r a <<< "$b"',
        "echo done",
        "",
      ].join("\n"),
    );
  });

  it.each([BOOTSTRAP_SCRIPT_PATH, ...BOOTSTRAP_LIBRARIES.map((l) => join(__dirname, "..", "bootstrap", l))])(
    "%s still parses with bash -n once shipped, and is smaller",
    (path) => {
      const source = readFileSync(path, "utf8");
      const shipped = shippedShell(source);
      const r = spawnSync("bash", ["-n"], { input: shipped, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(shipped.length).toBeLessThan(source.length * 0.8);
    },
  );
});
