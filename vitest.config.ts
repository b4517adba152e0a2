import { BaseSequencer, type TestSpecification } from "vitest/node"
import { defineConfig } from "vitest/config"

/**
 * Suites that run `vox` as child processes take the longest; started last, they would run alone at the
 * end while the other worker idles. On a fresh clone (no timing cache) vitest orders by file size, so
 * these go first by name, then the rest in vitest's own order.
 */
const SLOWEST = ["test/e2e/cli.test.ts", "test/e2e/gatewayRestart.test.ts", "test/e2e/serve.test.ts"]

class SlowestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>) {
    const sorted = await super.sort(files)
    const rank = (spec: TestSpecification) => {
      const i = SLOWEST.findIndex((path) => spec.moduleId.endsWith(path))
      return i === -1 ? SLOWEST.length : i
    }
    return [...sorted].sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // argon2id costs 64 MiB per hash: keep parallel workers modest on a 2-core CI machine
    maxWorkers: 2,
    minWorkers: 1,
    sequence: { sequencer: SlowestFirst },
    benchmark: { include: ["bench/**/*.bench.ts"] }
  }
})
