// The `vox` command line: help, version, config errors, migrate, and the admin commands working on the
// same database as a running server.
import { FetchHttpClient } from "@effect/platform"
import { Effect, Exit, Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { makeVoxClient } from "../../src/client/VoxClient.js"
import { gatewayUrl } from "../../src/client/GatewayClient.js"
import { CloseCode } from "../../src/protocol/gateway.js"
import { Permission } from "../../src/protocol/permissions.js"
import { recordingClient } from "../support/gateway.js"
import { runVox, scratchDir, startVox } from "../support/process.js"

const tempDir = () => scratchDir()

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const sdk = (url: string) => run(makeVoxClient({ baseUrl: url }).pipe(Effect.provide(FetchHttpClient.layer)))

/** Waits (up to 10 s) until `done` holds. */
const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  expect(done()).toBe(true)
}

describe("vox CLI", () => {
  it("--help lists every command, each command has its own --help, version prints the version", async () => {
    const help = await runVox(["--help"])
    expect(help.code).toBe(0)
    for (const name of ["serve", "migrate", "admin create-user", "admin list-users", "admin set-admin", "admin unset-admin", "admin suspend", "admin unsuspend", "version"]) {
      expect(help.stdout).toContain(name)
    }
    const serveHelp = await runVox(["serve", "--help"])
    expect(serveHelp.code).toBe(0)
    for (const flag of ["--port", "--host", "--data-dir", "--config"]) expect(serveHelp.stdout).toContain(flag)
    const createHelp = await runVox(["admin", "create-user", "--help"])
    expect(createHelp.stdout).toMatch(/--username[\s\S]*--password[\s\S]*--admin/)

    const pkg = JSON.parse(Fs.readFileSync(Path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string }
    const version = await runVox(["version"])
    expect(version).toMatchObject({ code: 0, stdout: `vox ${pkg.version}\n` })

    const unknown = await runVox(["frobnicate"])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("Unknown command")
    const badFlag = await runVox(["admin", "create-user", "--username", "x", "--bogus"])
    expect(badFlag.code).toBe(2)
  }, 120_000)

  it("an invalid setting stops startup and names the setting", async () => {
    const fromEnv = await runVox(["serve", "--data-dir", tempDir()], { VOX_HTTP_PORT: "eighty" })
    expect(fromEnv.code).toBe(1)
    expect(fromEnv.stderr).toContain("VOX_HTTP_PORT")

    const dir = tempDir()
    const file = Path.join(dir, "bad.config.ts")
    Fs.writeFileSync(file, "export default { server: { workerId: 5000 } }\n")
    const fromFile = await runVox(["serve", "--config", file, "--data-dir", dir])
    expect(fromFile.code).toBe(1)
    expect(fromFile.stderr).toContain("server.workerId")

    const badDb = await runVox(["migrate", "--data-dir", dir], { VOX_DATABASE_URL: "mysql://nope" })
    expect(badDb.code).toBe(1)
    expect(badDb.stderr).toContain("VOX_DATABASE_URL")

    const missing = await runVox(["serve", "--config", Path.join(dir, "absent.ts")])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("not found")
  }, 120_000)

  it("migrate applies the migrations once", async () => {
    const dataDir = tempDir()
    const first = await runVox(["migrate", "--data-dir", dataDir])
    expect(first).toMatchObject({ code: 0 })
    expect(first.stdout).toContain("applied 1_accounts")
    const second = await runVox(["migrate", "--data-dir", dataDir])
    expect(second).toMatchObject({ code: 0, stdout: "The database is up to date.\n" })
  })

  it("admin commands act on the database of a running server", async () => {
    const dataDir = tempDir()
    // a short heartbeat: the server checks its gateway connections' sessions once an interval
    const server = await startVox(["serve", "--port", "0", "--data-dir", dataDir], { VOX_GATEWAY_HEARTBEAT_INTERVAL: "2 seconds" })
    try {
      const client = await sdk(server.url)
      await run(client.register({ username: "owner", password: "owner password" }))

      const created = await runVox(["admin", "create-user", "--username", "root", "--password", "root password", "--admin", "--data-dir", dataDir])
      expect(created.stderr).toBe("")
      expect(created.code).toBe(0)
      const root = client.withToken((await run(client.login({ username: "root", password: "root password" }))).token)
      const rootMe = await run(root.me())
      expect(rootMe.permissions & Permission.ADMINISTRATOR).toBe(Permission.ADMINISTRATOR)
      expect(rootMe.owner).toBe(false)
      expect((await run(root.updateServer({ name: "Renamed by root" }))).name).toBe("Renamed by root")

      expect((await runVox(["admin", "create-user", "--username", "plain", "--password", "plain password", "--data-dir", dataDir])).code).toBe(0)
      const plainToken = (await run(client.login({ username: "plain", password: "plain password" }))).token
      const plain = client.withToken(plainToken)
      expect((await run(Effect.flip(plain.updateServer({ name: "nope" }))))._tag).toBe("Forbidden")

      const taken = await runVox(["admin", "create-user", "--username", "ROOT", "--password", "whatever123", "--data-dir", dataDir])
      expect(taken.code).toBe(1)
      expect(taken.stderr).toContain("USERNAME_TAKEN")
      const weak = await runVox(["admin", "create-user", "--username", "weak", "--password", "short", "--data-dir", dataDir])
      expect(weak.code).toBe(2)

      const list = await runVox(["admin", "list-users", "--data-dir", dataDir])
      expect(list.code).toBe(0)
      expect(list.stdout).toMatch(/owner\s+owner,admin/)
      expect(list.stdout).toMatch(/root\s+admin/)
      expect(list.stdout).toMatch(/plain\s*\n/)

      expect((await runVox(["admin", "set-admin", "--username", "plain", "--data-dir", dataDir])).code).toBe(0)
      expect((await run(plain.updateServer({ description: "plain is admin now" }))).description).toBe("plain is admin now")
      expect((await runVox(["admin", "unset-admin", "--username", "plain", "--data-dir", dataDir])).code).toBe(0)
      expect((await run(Effect.flip(plain.updateServer({ name: "again" }))))._tag).toBe("Forbidden")

      // the last administrator cannot be removed
      expect((await runVox(["admin", "unset-admin", "--username", "root", "--data-dir", dataDir])).code).toBe(0)
      const last = await runVox(["admin", "unset-admin", "--username", "owner", "--data-dir", dataDir])
      expect(last.code).toBe(1)
      expect(last.stderr).toContain("last administrator")

      // plain is connected to the gateway: suspending them from another process closes the connection too
      const scope = await run(Scope.make())
      const gateway = await run(Scope.extend(recordingClient(gatewayUrl(server.url, false), plainToken), scope))
      await until(() => gateway.dispatches.some((d) => d.t === "READY"))
      const suspended = await runVox(["admin", "suspend", "--username", "plain", "--data-dir", dataDir])
      expect(suspended.code).toBe(0)
      expect((await run(Effect.flip(plain.me())))._tag).toBe("AuthFailed")
      // (a busy machine may also drop the connection once, which the client resumes: the end is what counts)
      await until(() => gateway.closes.includes(CloseCode.AUTH_FAILED))
      await run(Scope.close(scope, Exit.void))
      const refused = await run(Effect.flip(client.login({ username: "plain", password: "plain password" })))
      expect(refused).toMatchObject({ code: "SUSPENDED" })
      expect((await runVox(["admin", "unsuspend", "--username", "plain", "--data-dir", dataDir])).code).toBe(0)
      expect((await run(client.login({ username: "plain", password: "plain password" }))).user_id).toBeGreaterThan(0)

      const nobody = await runVox(["admin", "suspend", "--username", "ghost", "--data-dir", dataDir])
      expect(nobody.code).toBe(1)
    } finally {
      server.child.kill("SIGTERM")
      await server.exited
    }
  }, 240_000)
})
