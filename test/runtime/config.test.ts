// Settings: defaults < vox.config.ts < VOX_* environment < flags; a bad value is an error naming it.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { databaseTarget, envNameOf, loadVoxConfig } from "../../src/runtime/config/VoxConfig.js"

const configFile = (text: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "vox-config-"))
  const file = Path.join(dir, "vox.config.ts")
  Fs.writeFileSync(file, text)
  return file
}

describe("VoxConfig", () => {
  it.effect("defaults: port 8080 on 127.0.0.1, data in ./data, SQLite", () =>
    Effect.gen(function* () {
      const c = yield* loadVoxConfig({ env: {}, file: configFile("export default {}") })
      expect(c.http).toMatchObject({ host: "127.0.0.1", port: 8080, maxBodyBytes: 1048576 })
      expect(c.dataDir).toBe("./data")
      expect(databaseTarget(c)).toEqual({ _tag: "sqlite", filename: Path.join("data", "vox.db") })
      expect(Duration.toMillis(c.auth.sessionTtl)).toBe(30 * 24 * 3600 * 1000)
      expect(c.auth.passwordHash).toEqual({ memory: 65536, passes: 3, lanes: 4 })
    }))

  it.effect("the file beats defaults, the environment beats the file, flags beat everything", () =>
    Effect.gen(function* () {
      const file = configFile(
        `export default { http: { port: 9000, host: "0.0.0.0" }, server: { name: "From File" }, auth: { sessionTtl: "2 hours" } }`
      )
      const c = yield* loadVoxConfig({
        file,
        env: { VOX_HTTP_PORT: "9100", VOX_SERVER_NAME: "From Env", VOX_DATABASE_URL: "postgres://u:p@db:5432/vox" },
        flags: { http: { port: 9200 } }
      })
      expect(c.http.port).toBe(9200)
      expect(c.http.host).toBe("0.0.0.0")
      expect(c.server.name).toBe("From Env")
      expect(Duration.toMillis(c.auth.sessionTtl)).toBe(2 * 3600 * 1000)
      const target = databaseTarget(c)
      expect(target._tag === "pg" && Redacted.value(target.url)).toBe("postgres://u:p@db:5432/vox")
      expect(Option.isNone(c.http.publicUrl)).toBe(true)
    }))

  it.effect("an invalid environment value is an error naming the variable, never a fallback to the file", () =>
    Effect.gen(function* () {
      const file = configFile("export default { http: { port: 9000 } }")
      const error = yield* Effect.flip(loadVoxConfig({ file, env: { VOX_HTTP_PORT: "abc" } }))
      expect(error.setting).toBe("http.port")
      expect(error.message).toContain("VOX_HTTP_PORT")
      const ttl = yield* Effect.flip(loadVoxConfig({ file, env: { VOX_AUTH_SESSION_TTL: "forever" } }))
      expect(ttl.message).toContain("VOX_AUTH_SESSION_TTL")
    }))

  it.effect("an invalid file value names the setting", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(loadVoxConfig({ env: {}, file: configFile(`export default { http: { maxBodyBytes: -1 } }`) }))
      expect(error).toMatchObject({ setting: "http.maxBodyBytes", source: "the config file" })
      const worker = yield* Effect.flip(loadVoxConfig({ env: {}, file: configFile(`export default { server: { workerId: 1023 } }`) }))
      expect(worker.setting).toBe("server.workerId")
      // a password hash cheaper than OWASP's argon2id minimum is refused, not used
      const weak = yield* Effect.flip(loadVoxConfig({ env: {}, file: configFile(`export default { auth: { passwordHash: { memory: 4096 } } }`) }))
      expect(weak.setting).toBe("auth.passwordHash.memory")
      const onePass = yield* Effect.flip(loadVoxConfig({ env: { VOX_AUTH_PASSWORD_HASH_PASSES: "1" }, file: configFile("export default {}") }))
      expect(onePass.message).toContain("VOX_AUTH_PASSWORD_HASH_PASSES")
      const notObject = yield* Effect.flip(loadVoxConfig({ env: {}, file: configFile(`export default 42`) }))
      expect(notObject.setting).toBe("config")
    }))

  it.effect("a named config file must exist; the implicit one may be absent", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(loadVoxConfig({ env: {}, file: "/nonexistent/vox.config.ts" }))
      expect(missing.message).toContain("not found")
    }))

  it("environment names are VOX_ + CONSTANT_CASE of the setting", () => {
    expect(envNameOf("http.maxBodyBytes")).toBe("VOX_HTTP_MAX_BODY_BYTES")
    expect(envNameOf("dataDir")).toBe("VOX_DATA_DIR")
    expect(envNameOf("database.url")).toBe("VOX_DATABASE_URL")
  })
})
