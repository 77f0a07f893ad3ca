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
);
