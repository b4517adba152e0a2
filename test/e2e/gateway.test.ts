// The gateway's delivery end to end (issue 5 acceptance 1): a member sees the events of the feeds it
// may see, nothing of a feed it may not, and starts seeing a feed the moment an override grants it;
// READY, sequence numbers and heartbeats as seed 002 §4 describes them; on SQLite and PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { Permission } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { dispatchesWithin, gatewayFor, nextDispatch } from "../support/gateway.js"
import { newUser, owner, TestServerLive, uniqueName } from "../support/server.js"

const EVERYONE = 1

for (const backend of backends) {
  describe(`gateway delivery on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("READY names the session and the user; events follow with growing sequence numbers", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const alice = yield* newUser("alice")
          const gateway = yield* gatewayFor(alice.token)
          const ready = yield* nextDispatch(gateway, (d) => d.t === "READY")
          expect(ready.s).toBe(1)
          expect(ready.d.user_id).toBe(alice.user_id)
          expect(ready.d.session_id).toMatch(/^gw_/)
          expect(typeof ready.d.server_time).toBe("number")

          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("general"), type: "text" } })
          const sent = yield* boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "hello" } })
          const created = yield* nextDispatch(gateway, (d) => d.t === "MESSAGE_CREATE" && d.d.feed_id === feed.feed_id)
          expect(created.d.msg_id).toBe(sent.msg_id)
          expect(created.d.body).toBe("hello")
          expect(created.s).toBeGreaterThan(ready.s)
        }))

      it.scoped("a member denied VIEW_SPACE receives nothing of the feed, and everything from the moment it is granted", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const bob = yield* newUser("bob")
          const watcher = yield* newUser("watcher")
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("secret"), type: "text" } })
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as never, deny: Permission.VIEW_SPACE }
          })
          const bobGateway = yield* gatewayFor(bob.token)
          const watcherGateway = yield* gatewayFor(watcher.token)
          yield* nextDispatch(bobGateway, (d) => d.t === "READY")

          yield* boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "hidden" } })
          // The owner's other feed proves delivery is running while bob hears nothing of the secret one.
          const open = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("open"), type: "text" } })
          yield* boss.client.call(Messages.sendMessage, { params: { feed_id: open.feed_id }, body: { body: "visible" } })
          yield* nextDispatch(bobGateway, (d) => d.t === "MESSAGE_CREATE" && d.d.feed_id === open.feed_id)
          const before = yield* dispatchesWithin(bobGateway)
          expect(before.filter((d) => d.d?.feed_id === feed.feed_id)).toEqual([])

          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "user", target_id: bob.user_id },
            body: { allow: Permission.VIEW_SPACE, deny: 0n as never }
          })
          yield* boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "now you see it" } })
          const seen = yield* nextDispatch(bobGateway, (d) => d.t === "MESSAGE_CREATE" && d.d.feed_id === feed.feed_id)
          expect(seen.d.body).toBe("now you see it")
          // Others still denied still see nothing.
          const watcherSaw = yield* dispatchesWithin(watcherGateway)
          expect(watcherSaw.filter((d) => d.t === "MESSAGE_CREATE" && d.d.feed_id === feed.feed_id)).toEqual([])
        }))
    })
  })
}
