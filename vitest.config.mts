import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Every temporary file of the run in one directory, removed at the end (test/global-tmp.ts).
    globalSetup: ["test/global-tmp.ts"],
    // Each file installs its own Pulumi mocks: one process per file.
    pool: "forks",
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
