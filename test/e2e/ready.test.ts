// GET /ready answers 503 while the database is unreachable and 200 again once it is back.
// PostgreSQL only: an embedded SQLite file cannot become unreachable under a running server.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { adminQuery, backends, postgresUrl } from "../support/backends.js"
import { TestServer, TestServerLive } from "../support/server.js"

const admin = (text: string) => adminQuery(postgresUrl!, text)

const postgres = backends.find((b) => b.name === "postgres")

describe.skipIf(postgres === undefined)("readiness", () => {
  layer(TestServerLive(postgres!), { excludeTestServices: true })((it) => {
    it.effect("503 SERVICE_UNAVAILABLE while the database refuses connections, 200 when it is back", () =>
      Effect.gen(function* () {
        const { client, settings } = yield* TestServer
        const database = new URL(settings.database!.url!).pathname.slice(1)
        expect(yield* client.ready()).toEqual({ status: "ok" })
        yield* admin(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`)
        yield* admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}'`)
        const down = yield* Effect.flip(client.ready())
        expect(down).toMatchObject({ code: "SERVICE_UNAVAILABLE" })
        expect(yield* client.health()).toEqual({ status: "ok" })
        yield* admin(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`)
        yield* Effect.sleep("200 millis")
        expect(yield* client.ready()).toEqual({ status: "ok" })
      }))
  })
})
