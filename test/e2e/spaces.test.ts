// The community's structure end to end over HTTP: categories, feeds and rooms, their positions in the
// layout, permission overrides and what they hide, the role hierarchy on overrides, limits, the audit
// entries and events every change leaves, and every bad input, on SQLite and (when configured)
// PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { Endpoint } from "../../src/protocol/endpoint.js"
import type { CategoryId, FeedId, RoleId, RoomId, UserId } from "../../src/protocol/ids.js"
import { stringifyJson } from "../../src/protocol/json.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { auditEntries, countRows, eventsOfType, withSuiteDatabase } from "../support/db.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServerLive, uniqueName } from "../support/server.js"

/** @everyone is the first role of every server (migration 0001). */
const EVERYONE = 1 as RoleId
const bits = (n: bigint) => n as PermissionSet
const none = bits(0n)

/** Audit entries of these types, oldest first. */
const auditOf = (types: ReadonlyArray<string>) => withSuiteDatabase(auditEntries((sql) => sql.in("event_type", types)))

/** Gateway events of one type in the event log, oldest first. */
const eventsOf = (type: string) => withSuiteDatabase(eventsOfType(type))

const feedIds = (layout: Spaces.Layout) => layout.feeds.map((f) => f.feed_id)
const roomIds = (layout: Spaces.Layout) => layout.rooms.map((r) => r.room_id)

for (const backend of backends) {
  describe(`spaces on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("categories, feeds and rooms: create with default positions, get, update, delete, in layout order", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const c = boss.client
          const plain = yield* newUser("plain")

          // Categories default to the end of the list; an explicit position is kept.
          const first = yield* c.call(Spaces.createCategory, { body: { name: "Text" } })
          const second = yield* c.call(Spaces.createCategory, { body: { name: "Voice" } })
          const early = yield* c.call(Spaces.createCategory, { body: { name: "Pinned", position: 0 } })
          expect(first).toMatchObject({ name: "Text", position: 0 })
          expect(second).toMatchObject({ name: "Voice", position: 1 })
          expect(early.position).toBe(0)

          // Feeds default to the end of their own category.
          const general = yield* c.call(Spaces.createFeed, {
            body: { name: "general", type: "text", category_id: first.category_id, topic: "Say hi" }
          })
          expect(general).toEqual({
            feed_id: general.feed_id,
            name: "general",
            type: "text",
            category_id: first.category_id,
            position: 0,
            topic: "Say hi",
            nsfw: false,
            slowmode_seconds: 0,
            permission_overrides: []
          })
          const news = yield* c.call(Spaces.createFeed, {
            body: { name: "news", type: "announcement", category_id: first.category_id, nsfw: true, slowmode_seconds: 30 }
          })
          expect(news).toMatchObject({ position: 1, nsfw: true, slowmode_seconds: 30, topic: null })
          const loose = yield* c.call(Spaces.createFeed, { body: { name: "loose", type: "forum" } })
          expect(loose).toMatchObject({ category_id: null, position: 0 })
          const top = yield* c.call(Spaces.createFeed, { body: { name: "top", type: "text", category_id: first.category_id, position: 0 } })
          expect(top.position).toBe(0)

          const lounge = yield* c.call(Spaces.createRoom, { body: { name: "Lounge", type: "voice", category_id: second.category_id } })
          expect(lounge).toEqual({
            room_id: lounge.room_id,
            name: "Lounge",
            type: "voice",
            category_id: second.category_id,
            position: 0,
            user_limit: 0,
            bitrate: 64_000,
            permission_overrides: []
          })
          const stage = yield* c.call(Spaces.createRoom, {
            body: { name: "Town Hall", type: "stage", category_id: second.category_id, user_limit: 500, bitrate: 96_000 }
          })
          expect(stage).toMatchObject({ position: 1, user_limit: 500, bitrate: 96_000 })

          // Any member reads them.
          expect(yield* plain.client.call(Spaces.getFeed, { params: { feed_id: general.feed_id } })).toEqual(general)
          expect(yield* plain.client.call(Spaces.getRoom, { params: { room_id: stage.room_id } })).toEqual(stage)

          // Layout: (position, id) order in each list.
          const layout = yield* plain.client.call(Spaces.getLayout)
          expect(layout.categories.map((x) => x.category_id)).toEqual([first.category_id, early.category_id, second.category_id])
          expect(feedIds(layout)).toEqual([general.feed_id, loose.feed_id, top.feed_id, news.feed_id])
          expect(roomIds(layout)).toEqual([lounge.room_id, stage.room_id])

          // PATCH changes only what it names; moving to another category without a position puts the
          // feed last there.
          const renamed = yield* c.call(Spaces.updateFeed, {
            params: { feed_id: news.feed_id },
            body: { name: "announcements", topic: null, nsfw: false }
          })
          expect(renamed).toEqual({ ...news, name: "announcements", topic: null, nsfw: false })
          const moved = yield* c.call(Spaces.updateFeed, {
            params: { feed_id: general.feed_id },
            body: { category_id: second.category_id }
          })
          expect(moved).toMatchObject({ category_id: second.category_id, position: 0, topic: "Say hi" })
          const uncategorized = yield* c.call(Spaces.updateFeed, { params: { feed_id: top.feed_id }, body: { category_id: null } })
          expect(uncategorized).toMatchObject({ category_id: null, position: 1 })
          const placed = yield* c.call(Spaces.updateFeed, { params: { feed_id: loose.feed_id }, body: { position: 7 } })
          expect(placed).toMatchObject({ category_id: null, position: 7 })
          expect(yield* c.call(Spaces.updateFeed, { params: { feed_id: loose.feed_id }, body: {} })).toEqual(placed)

          const room = yield* c.call(Spaces.updateRoom, {
            params: { room_id: lounge.room_id },
            body: { name: "Quiet", user_limit: 4, bitrate: 8_000, position: 5 }
          })
          expect(room).toEqual({ ...lounge, name: "Quiet", user_limit: 4, bitrate: 8_000, position: 5 })
          const renamedCategory = yield* c.call(Spaces.updateCategory, {
            params: { category_id: second.category_id },
            body: { name: "Rooms", position: 9 }
          })
          expect(renamedCategory).toEqual({ category_id: second.category_id, name: "Rooms", position: 9 })

          const after = yield* plain.client.call(Spaces.getLayout)
          expect(after.categories.map((x) => x.category_id)).toEqual([first.category_id, early.category_id, second.category_id])
          expect(feedIds(after)).toEqual([general.feed_id, news.feed_id, top.feed_id, loose.feed_id])
          expect(roomIds(after)).toEqual([stage.room_id, lounge.room_id])

          // Deletes: gone from GET and from the layout.
          yield* c.call(Spaces.deleteFeed, { params: { feed_id: news.feed_id } })
          yield* c.call(Spaces.deleteRoom, { params: { room_id: stage.room_id } })
          yield* c.call(Spaces.deleteCategory, { params: { category_id: early.category_id } })
          const gone = yield* plain.client.call(Spaces.getFeed, { params: { feed_id: news.feed_id } }).pipe(Effect.flip)
          expect(gone).toMatchObject({ code: "SPACE_NOT_FOUND" })
          const goneRoom = yield* c.call(Spaces.getRoom, { params: { room_id: stage.room_id } }).pipe(Effect.flip)
          expect(goneRoom).toMatchObject({ code: "SPACE_NOT_FOUND" })
          const last = yield* plain.client.call(Spaces.getLayout)
          expect(feedIds(last)).not.toContain(news.feed_id)
          expect(roomIds(last)).not.toContain(stage.room_id)
          expect(last.categories.map((x) => x.category_id)).not.toContain(early.category_id)

          // Every change left its audit entry, by the owner.
          const audit = yield* auditOf([
            "category.create", "category.update", "category.delete",
            "feed.create", "feed.update", "feed.delete",
            "room.create", "room.update", "room.delete"
          ])
          expect(audit.every((a) => a.actor_id === boss.user_id)).toBe(true)
          const count = (type: string) => audit.filter((a) => a.event_type === type).length
          expect([count("category.create"), count("feed.create"), count("room.create")]).toEqual([3, 4, 2])
          // the empty PATCH changed nothing and is not an entry
          expect([count("category.update"), count("feed.update"), count("room.update")]).toEqual([1, 4, 1])
          expect(audit.find((a) => a.event_type === "feed.delete")).toMatchObject({
            target_id: news.feed_id,
            metadata: { feed_id: news.feed_id, name: "announcements" }
          })
          expect(audit.find((a) => a.event_type === "feed.update" && a.target_id === news.feed_id)?.metadata)
            .toMatchObject({ changes: { name: "announcements", topic: null, nsfw: false } })

          // ... and its event, to the audience that may see it.
          const created = (yield* eventsOf("FEED_CREATE")).find((e) => e.payload.feed_id === general.feed_id)
          expect(created?.audience).toEqual({ _tag: "space", space_type: "feed", space_id: general.feed_id, permission: 1 })
          expect((yield* eventsOf("FEED_DELETE")).map((e) => e.payload)).toContainEqual({ feed_id: news.feed_id })
          expect((yield* eventsOf("ROOM_DELETE")).at(-1)).toMatchObject({ payload: { room_id: stage.room_id }, audience: { _tag: "server" } })
          expect((yield* eventsOf("CATEGORY_CREATE")).length).toBe(3)
        }))

      it.effect("deleting a category leaves its feeds and rooms uncategorized, and says so", () =>
        Effect.gen(function* () {
          const { client: c } = yield* owner
          const category = yield* c.call(Spaces.createCategory, { body: { name: uniqueName("doomed") } })
          const feed = yield* c.call(Spaces.createFeed, { body: { name: "inside", type: "text", category_id: category.category_id } })
          const room = yield* c.call(Spaces.createRoom, { body: { name: "inside", type: "voice", category_id: category.category_id } })
          const outside = yield* c.call(Spaces.createFeed, { body: { name: "outside", type: "text" } })

          yield* c.call(Spaces.deleteCategory, { params: { category_id: category.category_id } })
          expect(yield* c.call(Spaces.getFeed, { params: { feed_id: feed.feed_id } })).toEqual({ ...feed, category_id: null })
          expect(yield* c.call(Spaces.getRoom, { params: { room_id: room.room_id } })).toEqual({ ...room, category_id: null })
          expect(yield* c.call(Spaces.getFeed, { params: { feed_id: outside.feed_id } })).toEqual(outside)
          const layout = yield* c.call(Spaces.getLayout)
          expect(layout.categories.map((x) => x.category_id)).not.toContain(category.category_id)
          expect(layout.feeds.find((f) => f.feed_id === feed.feed_id)?.category_id).toBeNull()

          const updates = (yield* eventsOf("FEED_UPDATE")).filter((e) => e.payload.feed_id === feed.feed_id)
          expect(updates.at(-1)?.payload).toMatchObject({ feed_id: feed.feed_id, category_id: null })
          const roomUpdates = (yield* eventsOf("ROOM_UPDATE")).filter((e) => e.payload.room_id === room.room_id)
          expect(roomUpdates.at(-1)?.payload).toMatchObject({ room_id: room.room_id, category_id: null })
          expect((yield* eventsOf("CATEGORY_DELETE")).at(-1)?.payload).toEqual({ category_id: category.category_id })
          const entry = (yield* auditOf(["category.delete"])).at(-1)
          expect(entry).toMatchObject({
            target_id: category.category_id,
            metadata: { name: category.name, feed_ids: [feed.feed_id], room_ids: [room.room_id] }
          })

          // the category id is unknown from now on
          const again = yield* c.call(Spaces.deleteCategory, { params: { category_id: category.category_id } }).pipe(Effect.flip)
          expect(again).toMatchObject({ code: "CATEGORY_NOT_FOUND" })
        }))

      it.effect("an @everyone override hides a feed; a user or role override shows it again, to them only", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const c = boss.client
          const alice = yield* newUser("alice")
          const bob = yield* newUser("bob")
          const carol = yield* newUser("carol")
          const feed = yield* c.call(Spaces.createFeed, { body: { name: uniqueName("secret"), type: "text" } })
          const room = yield* c.call(Spaces.createRoom, { body: { name: uniqueName("backroom"), type: "voice" } })
          const params = { feed_id: feed.feed_id, target_type: "role" as const, target_id: EVERYONE }

          expect(feedIds(yield* alice.client.call(Spaces.getLayout))).toContain(feed.feed_id)
          yield* c.call(Spaces.setFeedOverride, { params, body: { allow: none, deny: Permission.VIEW_SPACE } })

          // Hidden from plain members on the very next request; the owner (administrator) still sees it.
          for (const who of [alice, bob, carol]) {
            expect(feedIds(yield* who.client.call(Spaces.getLayout))).not.toContain(feed.feed_id)
            const refused = yield* who.client.call(Spaces.getFeed, { params: { feed_id: feed.feed_id } }).pipe(Effect.flip)
            expect(refused).toMatchObject({ code: "FORBIDDEN", missing_permission: "VIEW_SPACE" })
            // what @everyone grants elsewhere (READ_HISTORY, SEND_MESSAGES) opens nothing in a feed one cannot see
            const history = yield* who.client.call(Messages.getHistory, { params: { feed_id: feed.feed_id }, query: {} }).pipe(Effect.flip)
            expect(history).toMatchObject({ code: "FORBIDDEN", missing_permission: "VIEW_SPACE" })
            const post = yield* who.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "hello?" } }).pipe(Effect.flip)
            expect(post).toMatchObject({ code: "FORBIDDEN", missing_permission: "VIEW_SPACE" })
          }
          expect(feedIds(yield* c.call(Spaces.getLayout))).toContain(feed.feed_id)

          // A user override: alice only.
          const aliceTarget = { feed_id: feed.feed_id, target_type: "user" as const, target_id: alice.user_id }
          yield* c.call(Spaces.setFeedOverride, { params: aliceTarget, body: { allow: Permission.VIEW_SPACE, deny: none } })
          expect(feedIds(yield* alice.client.call(Spaces.getLayout))).toContain(feed.feed_id)
          expect(feedIds(yield* bob.client.call(Spaces.getLayout))).not.toContain(feed.feed_id)
          const seen = yield* alice.client.call(Spaces.getFeed, { params: { feed_id: feed.feed_id } })
          expect(seen.permission_overrides).toEqual([
            { target_type: "role", target_id: EVERYONE, allow: 0n, deny: Permission.VIEW_SPACE },
            { target_type: "user", target_id: alice.user_id, allow: Permission.VIEW_SPACE, deny: 0n }
          ])

          // A role override: bob holds the role, carol does not.
          const role = yield* c.call(Roles.createRole, { body: { name: uniqueName("insiders") } })
          yield* c.call(Roles.assignRole, { params: { user_id: bob.user_id as UserId, role_id: role.role_id } })
          yield* c.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: role.role_id },
            body: { allow: Permission.VIEW_SPACE, deny: none }
          })
          expect(feedIds(yield* bob.client.call(Spaces.getLayout))).toContain(feed.feed_id)
          expect(feedIds(yield* carol.client.call(Spaces.getLayout))).not.toContain(feed.feed_id)
          // ... and alice's own override outranks a role's (seed 002 §7 step 5 after step 4)
          yield* c.call(Spaces.setFeedOverride, { params: aliceTarget, body: { allow: none, deny: Permission.VIEW_SPACE } })
          yield* c.call(Roles.assignRole, { params: { user_id: alice.user_id as UserId, role_id: role.role_id } })
          expect(feedIds(yield* alice.client.call(Spaces.getLayout))).not.toContain(feed.feed_id)

          // Removing overrides brings the previous state back; removing one that is not there is a no-op.
          yield* c.call(Spaces.deleteFeedOverride, { params: aliceTarget })
          expect(feedIds(yield* alice.client.call(Spaces.getLayout))).toContain(feed.feed_id)
          yield* c.call(Spaces.deleteFeedOverride, { params: aliceTarget })
          yield* c.call(Spaces.deleteFeedOverride, { params })
          expect(feedIds(yield* carol.client.call(Spaces.getLayout))).toContain(feed.feed_id)
          expect((yield* c.call(Spaces.getFeed, { params: { feed_id: feed.feed_id } })).permission_overrides).toEqual([
            { target_type: "role", target_id: role.role_id, allow: Permission.VIEW_SPACE, deny: 0n }
          ])

          // Rooms work the same way.
          yield* c.call(Spaces.setRoomOverride, {
            params: { room_id: room.room_id, target_type: "role", target_id: EVERYONE },
            body: { allow: none, deny: bits(Permission.VIEW_SPACE | Permission.CONNECT) }
          })
          expect(roomIds(yield* carol.client.call(Spaces.getLayout))).not.toContain(room.room_id)
          const roomRefused = yield* carol.client.call(Spaces.getRoom, { params: { room_id: room.room_id } }).pipe(Effect.flip)
          expect(roomRefused).toMatchObject({ code: "FORBIDDEN", missing_permission: "VIEW_SPACE" })
          yield* c.call(Spaces.deleteRoomOverride, { params: { room_id: room.room_id, target_type: "role", target_id: EVERYONE } })
          expect(roomIds(yield* carol.client.call(Spaces.getLayout))).toContain(room.room_id)

          // Audit: one entry per change, none for the no-op removal.
          const audit = (yield* auditOf(["permission_override.update", "permission_override.delete"]))
            .filter((a) => a.metadata.space_id === feed.feed_id && a.metadata.space_type === "feed")
          expect(audit.map((a) => a.event_type)).toEqual([
            "permission_override.update",
            "permission_override.update",
            "permission_override.update",
            "permission_override.update",
            "permission_override.delete",
            "permission_override.delete"
          ])
          expect(audit[0]).toMatchObject({
            actor_id: boss.user_id,
            target_id: EVERYONE,
            metadata: { space_type: "feed", target_type: "role", target_id: EVERYONE, allow: 0, deny: 1 }
          })
          const events = (yield* eventsOf("PERMISSION_OVERRIDE_UPDATE")).filter((e) => e.payload.space_id === feed.feed_id)
          expect(events[0]?.audience).toEqual({ _tag: "space", space_type: "feed", space_id: feed.feed_id, permission: 1 })

          // Deleting the feed takes its overrides with it.
          yield* c.call(Spaces.deleteFeed, { params: { feed_id: feed.feed_id } })
          const left = yield* withSuiteDatabase(
            countRows("permission_overrides", (sql) => sql`space_type = 'feed' AND space_id = ${feed.feed_id}`))
          expect(left).toBe(0)
        }))

      it.effect("initial overrides on create; the role hierarchy and held permissions bound who sets them", () =>
        Effect.gen(function* () {
          const { client: c } = yield* owner
          const mod = yield* newUser("mod")
          const builder = yield* newUser("builder")
          const victim = yield* newUser("victim")

          const modRole = yield* c.call(Roles.createRole, {
            body: { name: uniqueName("mods"), position: 10, permissions: bits(Permission.MANAGE_ROLES | Permission.MANAGE_SPACES) }
          })
          const high = yield* c.call(Roles.createRole, { body: { name: uniqueName("high"), position: 20 } })
          const low = yield* c.call(Roles.createRole, { body: { name: uniqueName("low"), position: 5 } })
          const builderRole = yield* c.call(Roles.createRole, {
            body: { name: uniqueName("builders"), position: 3, permissions: Permission.MANAGE_SPACES }
          })
          yield* c.call(Roles.assignRole, { params: { user_id: mod.user_id as UserId, role_id: modRole.role_id } })
          yield* c.call(Roles.assignRole, { params: { user_id: builder.user_id as UserId, role_id: builderRole.role_id } })

          // Created with its overrides in place: the victim cannot see it from the start.
          const feed = yield* mod.client.call(Spaces.createFeed, {
            body: {
              name: uniqueName("staff"),
              type: "text",
              permission_overrides: [
                { target_type: "role", target_id: EVERYONE, allow: none, deny: Permission.VIEW_SPACE },
                { target_type: "role", target_id: low.role_id, allow: Permission.VIEW_SPACE, deny: none }
              ]
            }
          })
          expect(feed.permission_overrides).toHaveLength(2)
          expect(feedIds(yield* victim.client.call(Spaces.getLayout))).not.toContain(feed.feed_id)
          const target = (role: { role_id: RoleId }) => ({ feed_id: feed.feed_id, target_type: "role" as const, target_id: role.role_id })

          // At or above the mod's own role: ROLE_HIERARCHY, for setting and for removing.
          for (const role of [high, modRole]) {
            const refused = yield* mod.client.call(Spaces.setFeedOverride, {
              params: target(role),
              body: { allow: none, deny: Permission.SEND_MESSAGES }
            }).pipe(Effect.flip)
            expect(refused).toMatchObject({ code: "ROLE_HIERARCHY" })
          }
          const removeHigh = yield* mod.client.call(Spaces.deleteFeedOverride, { params: target(high) }).pipe(Effect.flip)
          expect(removeHigh).toMatchObject({ code: "ROLE_HIERARCHY" })
          // Nor may a feed be created with such an override.
          const createHigh = yield* mod.client.call(Spaces.createFeed, {
            body: {
              name: "nope",
              type: "text",
              permission_overrides: [{ target_type: "role", target_id: high.role_id, allow: none, deny: Permission.VIEW_SPACE }]
            }
          }).pipe(Effect.flip)
          expect(createHigh).toMatchObject({ code: "ROLE_HIERARCHY" })

          // An override allows nothing its author does not hold server-wide.
          const grant = yield* mod.client.call(Spaces.setFeedOverride, {
            params: target(low),
            body: { allow: bits(Permission.VIEW_SPACE | Permission.MANAGE_MESSAGES), deny: none }
          }).pipe(Effect.flip)
          expect(grant).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_MESSAGES" })
          const userGrant = yield* mod.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "user", target_id: mod.user_id },
            body: { allow: Permission.BAN_MEMBERS, deny: none }
          }).pipe(Effect.flip)
          expect(userGrant).toMatchObject({ code: "FORBIDDEN", missing_permission: "BAN_MEMBERS" })
          // Denying, and allowing what the mod holds (VIEW_SPACE from @everyone), is fine.
          yield* mod.client.call(Spaces.setFeedOverride, {
            params: target(low),
            body: { allow: Permission.VIEW_SPACE, deny: Permission.MANAGE_MESSAGES }
          })
          yield* mod.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "user", target_id: victim.user_id },
            body: { allow: none, deny: Permission.SEND_MESSAGES }
          })
          // The owner is bound by neither rule.
          yield* c.call(Spaces.setFeedOverride, { params: target(high), body: { allow: Permission.MANAGE_MESSAGES, deny: none } })

          // Overrides are role management: MANAGE_SPACES alone creates feeds, but not with overrides.
          const plainFeed = yield* builder.client.call(Spaces.createFeed, { body: { name: uniqueName("open"), type: "text" } })
          expect(plainFeed.permission_overrides).toEqual([])
          const withOverride = yield* builder.client.call(Spaces.createRoom, {
            body: {
              name: "mine",
              type: "voice",
              permission_overrides: [{ target_type: "user", target_id: builder.user_id, allow: Permission.CONNECT, deny: none }]
            }
          }).pipe(Effect.flip)
          expect(withOverride).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_ROLES" })
          const put = yield* builder.client.call(Spaces.setFeedOverride, {
            params: { feed_id: plainFeed.feed_id, target_type: "user", target_id: builder.user_id },
            body: { allow: none, deny: none }
          }).pipe(Effect.flip)
          expect(put).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_ROLES" })
          // ... and a plain member manages nothing.
          const plainCreate = yield* victim.client.call(Spaces.createCategory, { body: { name: "x" } }).pipe(Effect.flip)
          expect(plainCreate).toMatchObject({ code: "FORBIDDEN", missing_permission: "MANAGE_SPACES" })
        }))

      it.effect("unknown ids get the NOT_FOUND code of their kind and change nothing", () =>
        Effect.gen(function* () {
          const { client: c, token } = yield* owner
          const feed = yield* c.call(Spaces.createFeed, { body: { name: uniqueName("here"), type: "text" } })
          const room = yield* c.call(Spaces.createRoom, { body: { name: uniqueName("here"), type: "voice" } })
          const before = yield* c.call(Spaces.getLayout)
          const auditBefore = (yield* auditOf(["feed.create", "room.create", "feed.update", "permission_override.update"])).length
          const missingFeed = 999_999 as FeedId
          const missingRoom = 999_999 as RoomId
          const missingCategory = 999_999 as CategoryId
          const missingRole = 999_999 as RoleId

          const codeOf = <A, E>(effect: Effect.Effect<A, E>) => Effect.map(Effect.flip(effect), (e) => (e as any).code)

          expect(yield* codeOf(c.call(Spaces.getFeed, { params: { feed_id: missingFeed } }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.updateFeed, { params: { feed_id: missingFeed }, body: { name: "x" } }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.deleteFeed, { params: { feed_id: missingFeed } }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.getRoom, { params: { room_id: missingRoom } }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.updateRoom, { params: { room_id: missingRoom }, body: { name: "x" } }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.deleteRoom, { params: { room_id: missingRoom } }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.updateCategory, { params: { category_id: missingCategory }, body: { name: "x" } })))
            .toBe("CATEGORY_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.deleteCategory, { params: { category_id: missingCategory } }))).toBe("CATEGORY_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.createFeed, { body: { name: "x", type: "text", category_id: missingCategory } })))
            .toBe("CATEGORY_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.createRoom, { body: { name: "x", type: "voice", category_id: missingCategory } })))
            .toBe("CATEGORY_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.updateFeed, { params: { feed_id: feed.feed_id }, body: { category_id: missingCategory } })))
            .toBe("CATEGORY_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.updateRoom, { params: { room_id: room.room_id }, body: { category_id: missingCategory } })))
            .toBe("CATEGORY_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.createFeed, {
            body: { name: "x", type: "text", permission_overrides: [{ target_type: "role", target_id: missingRole, allow: none, deny: none }] }
          }))).toBe("ROLE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.createRoom, {
            body: { name: "x", type: "voice", permission_overrides: [{ target_type: "user", target_id: 999_999, allow: none, deny: none }] }
          }))).toBe("USER_NOT_FOUND")

          const body = { allow: none, deny: Permission.SEND_MESSAGES }
          expect(yield* codeOf(c.call(Spaces.setFeedOverride, {
            params: { feed_id: missingFeed, target_type: "role", target_id: EVERYONE },
            body
          }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.setRoomOverride, {
            params: { room_id: missingRoom, target_type: "role", target_id: EVERYONE },
            body
          }))).toBe("SPACE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: missingRole },
            body
          }))).toBe("ROLE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.setRoomOverride, {
            params: { room_id: room.room_id, target_type: "user", target_id: 999_999 },
            body
          }))).toBe("USER_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.deleteFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: missingRole }
          }))).toBe("ROLE_NOT_FOUND")
          expect(yield* codeOf(c.call(Spaces.deleteRoomOverride, {
            params: { room_id: missingRoom, target_type: "role", target_id: EVERYONE }
          }))).toBe("SPACE_NOT_FOUND")

          // Bad paths are 400, not 404: ids are decimal uint32, targets `role` or `user`.
          const badPath = yield* rawEndpointRequest(
            Spaces.setFeedOverride,
            { feed_id: feed.feed_id, target_type: "bot", target_id: 1 },
            { token, body }
          )
          expect(badPath).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })
          const badId = yield* rawEndpointRequest(Spaces.getFeed, { feed_id: "0x10" }, { token })
          expect(badId).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } })

          expect(yield* c.call(Spaces.getLayout)).toEqual(before)
          expect((yield* auditOf(["feed.create", "room.create", "feed.update", "permission_override.update"])).length).toBe(auditBefore)
        }))

      it.effect("bad bodies are 400 INVALID_BODY and change nothing", () =>
        Effect.gen(function* () {
          const { client: c, token } = yield* owner
          const feed = yield* c.call(Spaces.createFeed, { body: { name: uniqueName("stable"), type: "text" } })
          const category = yield* c.call(Spaces.createCategory, { body: { name: uniqueName("stable") } })
          const before = yield* c.call(Spaces.getLayout)
          const eventsBefore = (yield* eventsOf("FEED_CREATE")).length

          const invalid = (endpoint: Endpoint, params: Record<string, unknown>, body: unknown) =>
            Effect.map(rawEndpointRequest(endpoint, params, { token, body }), (r) => {
              expect(r.status, stringifyJson(body as never)).toBe(400)
              expect(r.body.error.code).toBe("INVALID_BODY")
            })

          const long = "x".repeat(65)
          yield* invalid(Spaces.createFeed, {}, { name: "", type: "text" })
          yield* invalid(Spaces.createFeed, {}, { name: "   ", type: "text" })
          yield* invalid(Spaces.createFeed, {}, { name: long, type: "text" })
          yield* invalid(Spaces.createFeed, {}, { name: "ok", type: "voice" })
          yield* invalid(Spaces.createFeed, {}, { name: "ok", type: "text", slowmode_seconds: -1 })
          yield* invalid(Spaces.createFeed, {}, { name: "ok", type: "text", position: 1.5 })
          yield* invalid(Spaces.createRoom, {}, { name: "", type: "voice" })
          yield* invalid(Spaces.createRoom, {}, { name: long, type: "voice" })
          yield* invalid(Spaces.createRoom, {}, { name: "ok", type: "text" })
          yield* invalid(Spaces.createRoom, {}, { name: "ok", type: "voice", bitrate: 1 })
          yield* invalid(Spaces.createCategory, {}, { name: "" })
          yield* invalid(Spaces.createCategory, {}, { name: long })
          yield* invalid(Spaces.updateFeed, { feed_id: feed.feed_id }, { name: "" })
          yield* invalid(Spaces.updateFeed, { feed_id: feed.feed_id }, { name: long })
          yield* invalid(Spaces.updateCategory, { category_id: category.category_id }, { name: long })
          yield* invalid(Spaces.updateCategory, { category_id: category.category_id }, { position: -1 })

          // Overrides: ADMINISTRATOR, reserved bits, a bit both allowed and denied, two for one target.
          const target = { feed_id: feed.feed_id, target_type: "role", target_id: EVERYONE }
          yield* invalid(Spaces.setFeedOverride, target, { allow: Permission.ADMINISTRATOR, deny: 0 })
          yield* invalid(Spaces.setFeedOverride, target, { allow: 0, deny: Permission.ADMINISTRATOR })
          yield* invalid(Spaces.setFeedOverride, target, { allow: 1n << 20n, deny: 0 })
          yield* invalid(Spaces.setFeedOverride, target, { allow: 0, deny: 1n << 40n })
          yield* invalid(Spaces.setFeedOverride, target, { allow: 1, deny: 1 })
          yield* invalid(Spaces.setFeedOverride, target, { allow: -1, deny: 0 })
          yield* invalid(Spaces.setFeedOverride, target, { allow: 1 })
          yield* invalid(Spaces.createFeed, {}, {
            name: "ok",
            type: "text",
            permission_overrides: [{ target_type: "role", target_id: EVERYONE, allow: Permission.ADMINISTRATOR, deny: 0 }]
          })
          yield* invalid(Spaces.createFeed, {}, {
            name: "ok",
            type: "text",
            permission_overrides: [
              { target_type: "role", target_id: EVERYONE, allow: 1, deny: 0 },
              { target_type: "role", target_id: EVERYONE, allow: 0, deny: 1 }
            ]
          })

          expect(yield* c.call(Spaces.getLayout)).toEqual(before)
          expect((yield* c.call(Spaces.getFeed, { params: { feed_id: feed.feed_id } })).permission_overrides).toEqual([])
          expect((yield* eventsOf("FEED_CREATE")).length).toBe(eventsBefore)
        }))

      it.effect("creating beyond max_feeds, max_rooms or max_categories is LIMIT_REACHED", () =>
        Effect.gen(function* () {
          const { client: c } = yield* owner
          const [feeds, rooms, categories] = yield* withSuiteDatabase(
            Effect.all([countRows("feeds"), countRows("rooms"), countRows("categories")]))
          // The stored limits table is what PATCH /server/limits writes; set it directly here.
          const limits = { max_feeds: feeds + 1, max_rooms: rooms + 1, max_categories: categories + 1 }
          yield* withSuiteDatabase((sql) =>
            Effect.forEach(Object.entries(limits), ([name, value]) =>
              sql`INSERT INTO server_limits (name, value) VALUES (${name}, ${value})`, { discard: true }))

          yield* c.call(Spaces.createFeed, { body: { name: "last", type: "text" } })
          yield* c.call(Spaces.createRoom, { body: { name: "last", type: "voice" } })
          yield* c.call(Spaces.createCategory, { body: { name: "last" } })
          const feed = yield* c.call(Spaces.createFeed, { body: { name: "one more", type: "text" } }).pipe(Effect.flip)
          expect(feed).toMatchObject({ code: "LIMIT_REACHED", limit: "max_feeds", max: limits.max_feeds })
          const room = yield* c.call(Spaces.createRoom, { body: { name: "one more", type: "voice" } }).pipe(Effect.flip)
          expect(room).toMatchObject({ code: "LIMIT_REACHED", limit: "max_rooms", max: limits.max_rooms })
          const category = yield* c.call(Spaces.createCategory, { body: { name: "one more" } }).pipe(Effect.flip)
          expect(category).toMatchObject({ code: "LIMIT_REACHED", limit: "max_categories", max: limits.max_categories })
          const layout = yield* c.call(Spaces.getLayout)
          expect([layout.feeds.length, layout.rooms.length, layout.categories.length])
            .toEqual([limits.max_feeds, limits.max_rooms, limits.max_categories])

          // Deleting one makes room again.
          yield* c.call(Spaces.deleteFeed, { params: { feed_id: layout.feeds.at(-1)!.feed_id } })
          yield* c.call(Spaces.createFeed, { body: { name: "one more", type: "text" } })
          yield* withSuiteDatabase((sql) => sql`DELETE FROM server_limits`)
        }))
    })
  })
}
