// A real Vox server for a test suite: the production layers on port 0 and a fresh database, plus an
// SDK client pointed at it.
import { FetchHttpClient } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import { makeVoxClient, type VoxClient } from "../../src/client/VoxClient.js"
import { VoxConfig, type VoxConfigFile } from "../../src/runtime/config/VoxConfig.js"
import { listeningUrl } from "../../src/runtime/http/HttpLive.js"
import { RATE_LIMIT_CATEGORIES, type RateLimitsFile } from "../../src/runtime/ratelimit/quotas.js"
import { VoxServerLive } from "../../src/runtime/VoxRuntime.js"
import type { Backend } from "./backends.js"

export interface TestServerShape {
  readonly url: string
  readonly settings: VoxConfigFile
  /** An anonymous client; `client.withToken(t)` acts as a user. */
  readonly client: VoxClient
  /** The running server's services, for what no endpoint shows (what it announces to the gateway). */
  readonly services: Context.Context<ServerServices>
}

type ServerServices = Layer.Layer.Success<ReturnType<typeof VoxServerLive<never>>>

export class TestServer extends Context.Tag("test/TestServer")<TestServer, TestServerShape>() {}

/**
 * Rate limits no suite reaches unless it sets its own: suites make thousands of requests from
 * 127.0.0.1, and register far more accounts a minute than the production limits allow one address.
 */
export const GENEROUS_RATE_LIMITS: RateLimitsFile = Object.fromEntries(
  RATE_LIMIT_CATEGORIES.map((category) => [category, { requests: 1_000_000, per: "1 minute" }])
) as RateLimitsFile

/**
 * Suites register thousands of accounts: their servers hash passwords with real argon2id at OWASP's
 * minimum cost instead of the default 64 MiB × 3 passes, which would spend most of the suite's CPU
 * time on hashing. test/runtime/core.test.ts checks the default cost.
 */
export const TEST_PASSWORD_HASH = { memory: 19456, passes: 2, lanes: 1 }

export const TestServerLive = (backend: Backend, overrides: VoxConfigFile = {}) =>
  Layer.scoped(
    TestServer,
    Effect.gen(function* () {
      const base = yield* backend.settings
      const settings: VoxConfigFile = {
        ...base,
        ...overrides,
        http: { host: "127.0.0.1", port: 0, ...overrides.http },
        auth: { passwordHash: TEST_PASSWORD_HASH, ...overrides.auth },
        rateLimits: { ...GENEROUS_RATE_LIMITS, ...overrides.rateLimits },
        log: { level: "warning" }
      }
      const context = yield* Layer.build(VoxServerLive(VoxConfig.layerTest(settings)))
      const url = yield* Effect.provide(listeningUrl, context)
      const client = yield* makeVoxClient({ baseUrl: url }).pipe(Effect.provide(FetchHttpClient.layer))
      return { url, settings, client, services: context }
    })
  ).pipe(Layer.orDie)

/** The password of every account a suite registers unless it says otherwise. */
export const PASSWORD = "correct horse battery"

let counter = 0
/** A username no other test in this process uses. */
export const uniqueName = (prefix: string) => `${prefix}_${process.pid % 10000}_${++counter}`

/** Registers a user and returns a client acting as them. */
export const registered = (client: VoxClient, username: string, password = PASSWORD) =>
  Effect.map(client.register({ username, password }), (r) => ({ ...r, client: client.withToken(r.token), password }))

/** Acting as the owner: the server's first account, "owner", registered by whichever test needs it first. */
export const owner = Effect.gen(function* () {
  const { client } = yield* TestServer
  const login = yield* client.login({ username: "owner", password: PASSWORD }).pipe(
    Effect.catchTag("AuthFailed", () => client.register({ username: "owner", password: PASSWORD }))
  )
  return { user_id: login.user_id, token: login.token, client: client.withToken(login.token) }
})

/** Registers a fresh user named after `prefix`, with a client acting as them. */
export const newUser = (prefix: string) =>
  Effect.gen(function* () {
    const { client } = yield* TestServer
    const username = uniqueName(prefix)
    return { ...(yield* registered(client, username)), username }
  })
