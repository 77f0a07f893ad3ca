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
      // Lines fit one side of a side-by-side diff. Prettier (printWidth 110, `npm run format`)
      // lays out the code; comments are wrapped by hand, long messages stay whole.
      "max-len": [
        "error",
        {
          code: 120,
          comments: 110,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
  {
    // Pure planning (config -> spec -> artefacts and plans) declares nothing and calls
    // nothing: no Pulumi SDK, no Alibaba Cloud SDK (issue: architecture, item 1).
    files: ["plan/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@pulumi/*"], message: "plan/ is pure planning: declare resources in components/" },
            {
              group: ["@alicloud/*"],
              message: "plan/ is pure planning: call Alibaba Cloud from components/",
            },
          ],
        },
      ],
    },
  },
);
