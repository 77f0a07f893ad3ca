import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", "out/", ".ci/tools/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      // Pulumi resources are declared for their side effect.
      "no-new": "off",
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    // Pure planning (config -> spec -> artefacts and plans) declares nothing and calls
    // nothing: no Pulumi SDK, no Alibaba Cloud SDK (issue: architecture, item 1).
    files: ["plan/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [
        { group: ["@pulumi/*"], message: "plan/ is pure planning: declare resources in components/" },
        { group: ["@alicloud/*"], message: "plan/ is pure planning: call Alibaba Cloud from components/" },
      ] }],
    },
  },
);
