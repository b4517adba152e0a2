// The server as a user runs it: `npm start`, `vox serve`, kill -9 and a restart on the same data dir,
// and a clean exit on SIGINT/SIGTERM.
import { FetchHttpClient } from "@effect/platform"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { makeVoxClient } from "../../src/client/VoxClient.js"
import { scratchDir, startProcess, startVox } from "../support/process.js"

const tempDir = () => scratchDir()

const sdk = (url: string) => Effect.runPromise(makeVoxClient({ baseUrl: url }).pipe(Effect.provide(FetchHttpClient.layer)))
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const within = <A>(ms: number, promise: Promise<A>) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))])

describe("vox serve", () => {
  it("`npm start` serves a working community: health, register, login, @me, logout", async () => {
    const dataDir = tempDir()
    const server = await startProcess("npm", ["start", "--", "--port", "0", "--data-dir", dataDir], { detached: true })
    try {
      const client = await sdk(server.url)
      expect(await run(client.health())).toEqual({ status: "ok" })
      const reg = await run(client.register({ username: "founder", password: "a long passphrase", display_name: "Founder" }))
      const login = await run(client.login({ username: "founder", password: "a long passphrase" }))
      const me = await run(client.withToken(login.token).me())
      expect(me).toMatchObject({ user_id: reg.user_id, username: "founder", display_name: "Founder", owner: true })
      await run(client.withToken(login.token).logout())
      const after = await run(Effect.flip(client.withToken(login.token).me()))
      expect(after._tag).toBe("AuthFailed")
      expect(Fs.existsSync(Path.join(dataDir, "vox.db"))).toBe(true)
    } finally {
      process.kill(-server.child.pid!, "SIGTERM")
      await within(15_000, server.exited)
    }
  })

  it("every acknowledged registration survives kill -9; a second process on the same data dir has them", async () => {
    const dataDir = tempDir()
    const first = await startVox(["serve", "--port", "0", "--data-dir", dataDir])
    const client = await sdk(first.url)
    const names = Array.from({ length: 8 }, (_, i) => `durable_${i}`)
    // registrations in flight together; each one acknowledged before the kill
    const acknowledged = await Promise.all(names.map((username) => run(client.register({ username, password: "survives a crash" }))))
    first.child.kill("SIGKILL")
    expect(await first.exited).toBe("SIGKILL")

    const second = await startVox(["serve", "--port", "0", "--data-dir", dataDir])
    try {
      const again = await sdk(second.url)
      for (const [i, username] of names.entries()) {
        const login = await run(again.login({ username, password: "survives a crash" }))
        expect(login.user_id).toBe(acknowledged[i]!.user_id)
      }
      // sessions issued before the crash are still valid
      expect((await run(again.withToken(acknowledged[0]!.token).me())).username).toBe(names[0])
    } finally {
      second.child.kill("SIGTERM")
      await within(15_000, second.exited)
    }
  })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`shuts down cleanly on ${signal} within a few seconds`, async () => {
      const server = await startVox(["serve", "--port", "0", "--data-dir", tempDir()])
      const client = await sdk(server.url)
      await run(client.register({ username: "someone", password: "a long passphrase" }))
      const started = Date.now()
      server.child.kill(signal)
      const code = await within(10_000, server.exited)
      expect(code).toBe(0)
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(server.output()).not.toMatch(/Error|defect/i)
    })
  }
})
