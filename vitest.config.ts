import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // argon2id costs 64 MiB per hash: keep parallel workers modest on a 2-core CI machine
    maxWorkers: 2,
    minWorkers: 1,
    benchmark: { include: ["bench/**/*.bench.ts"] }
  }
})
