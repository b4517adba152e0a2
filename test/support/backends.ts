// The databases a suite runs on: always the embedded SQLite, and PostgreSQL when
// VOX_TEST_DATABASE_URL is set (CI sets it). Each suite gets a database of its own.
import { Effect, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import type { VoxConfigFile } from "../../src/runtime/config/VoxConfig.js"

export interface Backend {
  readonly name: "sqlite" | "postgres"
  /** Settings for a fresh, empty database; removed when the scope closes. */
  readonly settings: Effect.Effect<VoxConfigFile, never, Scope.Scope>
}

export const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "vox-test-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const sqlite: Backend = {
  name: "sqlite",
  settings: Effect.map(tempDir, (dataDir) => ({ dataDir }))
}

/** One statement on the PostgreSQL server as the test role (create, drop, alter databases). */
export const adminQuery = (url: string, text: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query(text)
    } finally {
      await client.end()
    }
  })

const postgres = (url: string): Backend => ({
  name: "postgres",
  settings: Effect.gen(function* () {
    const dataDir = yield* tempDir
    const name = `vox_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    yield* Effect.acquireRelease(
      adminQuery(url, `CREATE DATABASE ${name}`),
      () => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore)
    )
    const target = new URL(url)
    target.pathname = `/${name}`
    return { dataDir, database: { url: target.toString() } }
  })
})

export const postgresUrl = process.env.VOX_TEST_DATABASE_URL

export const backends: ReadonlyArray<Backend> = postgresUrl === undefined ? [sqlite] : [sqlite, postgres(postgresUrl)]
