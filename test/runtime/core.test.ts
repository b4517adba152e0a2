// The core without HTTP, on every backend: migrations run once and are idempotent; state changes land
// in the event log and on the event bus together, with strictly increasing snowflake ids.
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Queue, Schema } from "effect"
import { COMMUNITY_ID, Community } from "../../src/actors/community/Community.js"
import { User } from "../../src/actors/user/User.js"
import { parseJson } from "../../src/protocol/json.js"
import { Accounts } from "../../src/runtime/auth/Accounts.js"
import { VoxConfig } from "../../src/runtime/config/VoxConfig.js"
import { migrate } from "../../src/runtime/db/Migrate.js"
import { IntColumn } from "../../src/runtime/db/columns.js"
import { EventBus } from "../../src/runtime/events/EventBus.js"
import { VoxCoreLive } from "../../src/runtime/VoxRuntime.js"
import { backends } from "../support/backends.js"

for (const backend of backends) {
  describe(`core on ${backend.name}`, () => {
    const Core = Layer.unwrapScoped(Effect.map(backend.settings, (s) => VoxCoreLive(VoxConfig.layerTest(s))))

    layer(Core, { excludeTestServices: true })((it) => {
      it.effect("migrations are applied once; running them again changes nothing", () =>
        Effect.gen(function* () {
          expect(yield* migrate).toEqual([])
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql`SELECT migration_id FROM vox_migrations`
          expect(rows.map((r) => Number(r.migration_id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15])
          const roles = yield* sql`SELECT name, permissions FROM roles WHERE is_everyone = 1`
          expect(roles).toHaveLength(1)
        }))

      it.scoped("a registration and a profile change are logged and published, in order", () =>
        Effect.gen(function* () {
          const bus = yield* EventBus
          const events = yield* bus.subscribe
          const accounts = yield* Accounts
          const member = yield* accounts.create({ username: "eve", password: "long enough pw", admin: false, via: "admin" })
          yield* (yield* User.client)(String(member.user_id)).UpdateProfile({ patch: { bio: "new bio" } })

          const join = yield* Queue.take(events)
          const update = yield* Queue.take(events)
          expect(join).toMatchObject({ type: "MEMBER_JOIN", audience: { _tag: "server" }, data: { user_id: member.user_id } })
          expect(update).toMatchObject({ type: "USER_UPDATE", data: { user_id: member.user_id, bio: "new bio" } })
          expect(update.id > join.id).toBe(true)

          const sql = yield* SqlClient.SqlClient
          const logged = yield* sql`SELECT CAST(id AS TEXT) AS id, type, payload FROM event_log ORDER BY id`.pipe(
            Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String, type: Schema.String, payload: Schema.String }))))
          )
          expect(logged.map((r) => [BigInt(r.id), r.type])).toEqual([[join.id, "MEMBER_JOIN"], [update.id, "USER_UPDATE"]])
          const payload = parseJson(logged[1]!.payload)
          expect(payload.ok && payload.value).toMatchObject({ user_id: member.user_id, bio: "new bio" })
        }))

      it.scoped("a refused registration writes nothing and publishes nothing", () =>
        Effect.gen(function* () {
          const bus = yield* EventBus
          const events = yield* bus.subscribe
          const accounts = yield* Accounts
          const error = yield* Effect.flip(accounts.create({ username: "EVE", password: "long enough pw", admin: false, via: "admin" }))
          expect(error._tag).toBe("UsernameTaken")
          expect(yield* Queue.size(events)).toBe(0)
          const sql = yield* SqlClient.SqlClient
          const count = yield* sql`SELECT COUNT(*) AS n FROM users`.pipe(
            Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ n: IntColumn }))))
          )
          expect(count[0]!.n).toBe(1)
          const community = (yield* Community.client)(COMMUNITY_ID)
          expect((yield* community.GetServer()).member_count).toBe(1)
        }))

      it.effect("passwords are argon2id (64 MiB, t=3, p=4); sessions are stored only as token hashes", () =>
        Effect.gen(function* () {
          const accounts = yield* Accounts
          const session = yield* accounts.register({ username: "hashcheck", password: "long enough pw" }, { ip: null, userAgent: null })
          const sql = yield* SqlClient.SqlClient
          const hashes = yield* sql`SELECT password_hash FROM credentials WHERE user_id = ${session.user_id}`
          expect(String(hashes[0]!.password_hash)).toMatch(/^\$argon2id\$v=19\$m=65536,p=4,t=3\$/)
          const sessions = yield* sql`SELECT token_hash FROM sessions WHERE user_id = ${session.user_id}`
          expect(sessions).toHaveLength(1)
          expect(sessions[0]!.token_hash).not.toContain(session.token)
          expect(String(sessions[0]!.token_hash)).toMatch(/^[0-9a-f]{64}$/)
        }))
    })
  })
}
