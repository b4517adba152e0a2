// Lint rules that catch what the type checker does not: floating promises, `any` leaking in, stray throws.
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "data/**", "bin/**", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": ["error", { selector: "ThrowStatement", message: "Use typed errors (Effect.fail), not throw." }],
      "require-yield": "off"
    }
  },
  {
    files: ["test/**/*.ts", "src/protocol/json.ts"],
    rules: { "no-restricted-syntax": "off" }
  },
  {
    // tests poke at raw JSON responses on purpose
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" }
  }
)
