// A ban with delete_msg_days removes the banned user's recent messages, in the ban's own transaction;
// a ban without it removes none.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Members from "../../src/protocol/api/members.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { backends } from "../support/backends.js"
import { registered, TestServer, TestServerLive, uniqueName } from "../support/server.js"

for (const backend of backends) {
  describe(`ban purge on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("delete_msg_days takes the banned user's recent messages with the ban, and nobody else's", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const owner = yield* registered(client, uniqueName("owner"))
          const spammer = yield* registered(client, uniqueName("spammer"))
          const quiet = yield* registered(client, uniqueName("quiet"))
          const bystander = yield* registered(client, uniqueName("bystander"))
          const feed = yield* owner.client.call(Spaces.createFeed, { body: { name: "general", type: "text" } })
          const params = { feed_id: feed.feed_id }
          const send = (who: typeof owner, body: string) => who.client.call(Messages.sendMessage, { params, body: { body } })

          yield* send(spammer, "buy now")
          yield* send(bystander, "hello")
          yield* send(spammer, "really, buy now")
          yield* send(quiet, "I stay")

          yield* owner.client.call(Members.banMember, { params: { user_id: spammer.user_id }, body: { delete_msg_days: 1 } })
          yield* owner.client.call(Members.banMember, { params: { user_id: quiet.user_id }, body: { reason: "no purge" } })

          const history = yield* owner.client.call(Messages.getHistory, { params, query: {} })
          expect(history.messages.map((m) => m.body).sort()).toEqual(["I stay", "hello"])
        }))
    })
  })
}
