// Presence and typing end to end (issue 5 acceptance 6), on SQLite and PostgreSQL: members see each
// other come online, change status (idle, dnd, custom status, activity) and go offline when their last
// connection closes, by PRESENCE_UPDATE and by GET /users/{id}/presence; invisible looks offline; a
// custom status is cleared at its expiry; an account outside the community hears no presence and is
// not announced (until it joins), and a member who leaves, is kicked or banned is shown offline at once;
// a user's own sessions hear of their own presence exactly once; typing
// reaches those who can see the feed, only from those who may post there, once per few seconds; blocks
// hold: neither side of a block sees the other's presence, by event, snapshot or REST, until it is lifted.
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import type { Dispatch, GatewayClient } from "../../src/client/GatewayClient.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as PresenceApi from "../../src/protocol/api/presence.js"
import * as Rel from "../../src/protocol/api/relationships.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { Op, type PresenceSet } from "../../src/protocol/gateway.js"
import type { FeedId, UserId } from "../../src/protocol/ids.js"
import { Permission } from "../../src/protocol/permissions.js"
import { backends } from "../support/backends.js"
import { eventsOfType, withSuiteDatabase } from "../support/db.js"
import { dispatchesWithin, gatewayFor, nextDispatch, readyGatewayFor as connected } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServerLive, uniqueName } from "../support/server.js"

type Member = Effect.Effect.Success<ReturnType<typeof newUser>>


/** A gateway session in a scope of its own, to be closed before the test ends. */
const connectedUntil = (token: string) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const gateway = yield* connected(token).pipe(Scope.extend(scope))
    return { gateway, close: Scope.close(scope, Exit.void) }
  })

const isPresenceOf = (userId: UserId) => (d: Dispatch) => d.t === "PRESENCE_UPDATE" && d.d.user_id === userId

/** The next PRESENCE_UPDATE of `userId` showing `status`. */
const presenceShown = (gateway: GatewayClient, userId: UserId, status: string) =>
  nextDispatch(gateway, (d) => isPresenceOf(userId)(d) && d.d.status === status)

/** What `viewer` reads of `userId`'s presence over REST. */
const presenceOf = (viewer: Member, userId: UserId) =>
  viewer.client.call(PresenceApi.getUserPresence, { params: { user_id: userId } })

const setPresence = (gateway: GatewayClient, presence: PresenceSet) => gateway.send(Op.PRESENCE_UPDATE, presence)

const typing = (gateway: GatewayClient, feedId: FeedId) => gateway.send(Op.TYPING, { feed_id: feedId })

const isTypingOf = (userId: UserId, feedId: FeedId) => (d: Dispatch) =>
  d.t === "TYPING_START" && d.d.user_id === userId && d.d.feed_id === feedId

for (const backend of backends) {
  describe(`presence and typing on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("coming online, idle, dnd with a custom status and an activity: others see each change, by event and over REST", () =>
        Effect.gen(function* () {
          yield* owner // the server's first account is its owner: registered before anyone else
          const watcher = yield* newUser("watcher")
          const alice = yield* newUser("alice")
          const watching = yield* connected(watcher.token)
          expect(yield* presenceOf(watcher, alice.user_id)).toEqual({
            user_id: alice.user_id, status: "offline", custom_status: null, activity: null
          })

          const aliceGateway = yield* connected(alice.token)
          const online = yield* presenceShown(watching, alice.user_id, "online")
          expect(online.d).toEqual({ user_id: alice.user_id, status: "online", custom_status: null, activity: null })
          expect((yield* presenceOf(watcher, alice.user_id)).status).toBe("online")

          yield* setPresence(aliceGateway, { status: "idle" })
          yield* presenceShown(watching, alice.user_id, "idle")
          expect((yield* presenceOf(watcher, alice.user_id)).status).toBe("idle")

          const custom_status = { text: "heads down", emoji: "🎧" }
          const activity = { type: "playing" as const, name: "Chess" }
          yield* setPresence(aliceGateway, { status: "dnd", custom_status, activity })
          const dnd = yield* presenceShown(watching, alice.user_id, "dnd")
          const expected = { user_id: alice.user_id, status: "dnd", custom_status, activity }
          expect(dnd.d).toEqual(expected)
          expect(yield* presenceOf(watcher, alice.user_id)).toEqual(expected)

          // A status alone keeps the custom status and activity already set.
          yield* setPresence(aliceGateway, { status: "online" })
          expect((yield* presenceShown(watching, alice.user_id, "online")).d).toEqual({ ...expected, status: "online" })

          // Someone connecting now finds her in the presence snapshot that follows READY.
          const late = yield* newUser("late")
          const lateGateway = yield* gatewayFor(late.token)
          const snapshot = yield* nextDispatch(lateGateway, isPresenceOf(alice.user_id))
          expect(snapshot.d).toEqual({ ...expected, status: "online" })
        }))

      it.scoped("invisible looks offline to everyone else, by event, over REST and in a newcomer's snapshot", () =>
        Effect.gen(function* () {
          const watcher = yield* newUser("watcher")
          const ghost = yield* newUser("ghost")
          const watching = yield* connected(watcher.token)
          const ghostGateway = yield* connected(ghost.token)
          yield* presenceShown(watching, ghost.user_id, "online")

          yield* setPresence(ghostGateway, { status: "invisible", activity: { type: "listening", name: "Radio" } })
          const hidden = yield* presenceShown(watching, ghost.user_id, "offline")
          expect(hidden.d).toEqual({ user_id: ghost.user_id, status: "offline", custom_status: null, activity: null })
          expect(yield* presenceOf(watcher, ghost.user_id)).toEqual(hidden.d)

          const newcomer = yield* newUser("newcomer")
          const newcomerGateway = yield* connected(newcomer.token)
          const seen = yield* dispatchesWithin(newcomerGateway, "500 millis")
          expect(seen.filter((d) => isPresenceOf(ghost.user_id)(d) && d.d.status !== "offline")).toEqual([])
          // the watcher is in the snapshot: the newcomer was sent one
          expect(seen.some(isPresenceOf(watcher.user_id))).toBe(true)

          // Visible again: everyone sees it at once.
          yield* setPresence(ghostGateway, { status: "online" })
          const back = yield* presenceShown(watching, ghost.user_id, "online")
          expect(back.d.activity).toEqual({ type: "listening", name: "Radio" })
        }))

      it.scoped("a user goes offline when their last connection closes, not before", () =>
        Effect.gen(function* () {
          const watcher = yield* newUser("watcher")
          const alice = yield* newUser("alice")
          const watching = yield* connected(watcher.token)
          const phone = yield* connectedUntil(alice.token)
          const laptop = yield* connectedUntil(alice.token)
          yield* presenceShown(watching, alice.user_id, "online")

          yield* phone.close
          const meanwhile = yield* dispatchesWithin(watching, "700 millis")
          expect(meanwhile.filter(isPresenceOf(alice.user_id))).toEqual([])
          expect((yield* presenceOf(watcher, alice.user_id)).status).toBe("online")

          yield* laptop.close
          yield* presenceShown(watching, alice.user_id, "offline")
          expect((yield* presenceOf(watcher, alice.user_id)).status).toBe("offline")
        }))

      it.scoped("a custom status with an expiry is cleared for everyone when it expires", () =>
        Effect.gen(function* () {
          const watcher = yield* newUser("watcher")
          const alice = yield* newUser("alice")
          const watching = yield* connected(watcher.token)
          const aliceGateway = yield* connected(alice.token)
          yield* presenceShown(watching, alice.user_id, "online")

          const expiry = Math.ceil(Date.now() / 1000) + 1
          yield* setPresence(aliceGateway, { status: "online", custom_status: { text: "back soon", expiry } })
          const set = yield* nextDispatch(watching, (d) => isPresenceOf(alice.user_id)(d) && d.d.custom_status !== null)
          expect(set.d.custom_status).toEqual({ text: "back soon", expiry })
          expect((yield* presenceOf(watcher, alice.user_id)).custom_status).toEqual({ text: "back soon", expiry })

          const cleared = yield* nextDispatch(watching, isPresenceOf(alice.user_id), "10 seconds")
          expect(cleared.d).toEqual({ user_id: alice.user_id, status: "online", custom_status: null, activity: null })
          expect(Date.now()).toBeGreaterThanOrEqual(expiry * 1000)
          expect((yield* presenceOf(watcher, alice.user_id)).custom_status).toBeNull()
        }))

      it.scoped("an account outside the community receives no presence and may not ask for it; an unknown user is USER_NOT_FOUND", () =>
        Effect.gen(function* () {
          const watcher = yield* newUser("watcher")
          const alice = yield* newUser("alice")
          const outsider = yield* newUser("outsider")
          yield* outsider.client.call(Members.leaveServer)
          const watching = yield* connected(watcher.token)
          const aliceGateway = yield* connected(alice.token)
          yield* presenceShown(watching, alice.user_id, "online")

          // Alice and the watcher are online, yet the outsider's READY comes with no snapshot.
          const outside = yield* connected(outsider.token)
          yield* setPresence(aliceGateway, { status: "idle" })
          yield* presenceShown(watching, alice.user_id, "idle")
          const heard = yield* dispatchesWithin(outside, "500 millis")
          expect(heard.filter((d) => d.t === "PRESENCE_UPDATE")).toEqual([])

          const asked = yield* rawEndpointRequest(PresenceApi.getUserPresence, { user_id: alice.user_id }, { token: outsider.token })
          expect(asked).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } })
          const unknown = yield* rawEndpointRequest(PresenceApi.getUserPresence, { user_id: 987_654_321 }, { token: watcher.token })
          expect(unknown).toMatchObject({ status: 404, body: { error: { code: "USER_NOT_FOUND" } } })
        }))

      it.scoped("an account outside the community is never announced: members hear nothing of it, by event, snapshot or REST, until it joins", () =>
        Effect.gen(function* () {
          const watcher = yield* newUser("watcher")
          const outsider = yield* newUser("outsider")
          yield* outsider.client.call(Members.leaveServer)
          const watching = yield* connected(watcher.token)

          // Coming online, changing status and going offline: none of it reaches a member.
          const outside = yield* connectedUntil(outsider.token)
          yield* setPresence(outside.gateway, { status: "dnd", activity: { type: "playing", name: "Solitaire" } })
          const newcomer = yield* newUser("newcomer")
          const newcomerGateway = yield* connected(newcomer.token)
          expect(yield* presenceOf(watcher, outsider.user_id)).toEqual({
            user_id: outsider.user_id, status: "offline", custom_status: null, activity: null
          })
          const heard = [...(yield* dispatchesWithin(watching, "500 millis")), ...(yield* dispatchesWithin(newcomerGateway, "0 millis"))]
          expect(heard.filter(isPresenceOf(outsider.user_id))).toEqual([])

          // Joining while connected makes them someone members may see: announced at once, as they are.
          yield* outsider.client.call(Members.joinServer, { body: undefined })
          const joined = yield* presenceShown(watching, outsider.user_id, "dnd")
          expect(joined.d.activity).toEqual({ type: "playing", name: "Solitaire" })
          expect((yield* presenceOf(watcher, outsider.user_id)).status).toBe("dnd")
          yield* outside.close
          yield* presenceShown(watching, outsider.user_id, "offline")
        }))

      it.scoped("a member who leaves, is kicked or is banned while connected is shown offline to the others at that moment", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const watcher = yield* newUser("watcher")
          const leaver = yield* newUser("leaver")
          const kicked = yield* newUser("kicked")
          const banned = yield* newUser("banned")
          const watching = yield* connected(watcher.token)
          const leaverGateway = yield* connected(leaver.token)
          yield* connected(kicked.token)
          yield* connected(banned.token)
          for (const u of [leaver, kicked, banned]) yield* presenceShown(watching, u.user_id, "online")

          yield* leaver.client.call(Members.leaveServer)
          yield* presenceShown(watching, leaver.user_id, "offline")
          yield* boss.client.call(Members.kickMember, { params: { user_id: kicked.user_id }, body: undefined })
          yield* presenceShown(watching, kicked.user_id, "offline")
          yield* boss.client.call(Members.banMember, { params: { user_id: banned.user_id }, body: undefined })
          yield* presenceShown(watching, banned.user_id, "offline")
          for (const u of [leaver, kicked, banned]) expect((yield* presenceOf(watcher, u.user_id)).status).toBe("offline")

          // Once said, it is not said again, nor is anything the one who left does afterwards.
          yield* setPresence(leaverGateway, { status: "idle" })
          const after = yield* dispatchesWithin(watching, "500 millis")
          expect(after.filter((d) => d.t === "PRESENCE_UPDATE" && [leaver, kicked, banned].some((u) => u.user_id === d.d.user_id))).toEqual([])
        }))

      it.scoped("a user's own sessions hear of their presence exactly once: on connecting, in a second session's snapshot, on each change", () =>
        Effect.gen(function* () {
          const alice = yield* newUser("alice")
          const first = yield* gatewayFor(alice.token)
          const ownOnFirst = (yield* dispatchesWithin(first, "700 millis")).filter(isPresenceOf(alice.user_id))
          expect(ownOnFirst.map((d) => d.d.status)).toEqual(["online"])

          const second = yield* gatewayFor(alice.token)
          const ownOnSecond = (yield* dispatchesWithin(second, "700 millis")).filter(isPresenceOf(alice.user_id))
          expect(ownOnSecond.map((d) => d.d.status)).toEqual(["online"])
          expect((yield* dispatchesWithin(first, "0 millis")).filter(isPresenceOf(alice.user_id))).toEqual([])

          // A change made on one session reaches each of them once.
          yield* setPresence(first, { status: "idle" })
          yield* Effect.sleep("700 millis")
          for (const gateway of [first, second]) {
            const own = (yield* dispatchesWithin(gateway, "0 millis")).filter(isPresenceOf(alice.user_id))
            expect(own.map((d) => d.d.status)).toEqual(["idle"])
          }
        }))

      it.scoped("blocks hold: neither side sees the other's presence or typing, by event, snapshot or REST, until the block is lifted", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("blocks"), type: "text" } })
          const watcher = yield* newUser("watcher")
          const blocker = yield* newUser("blocker")
          const blocked = yield* newUser("blocked")
          const watching = yield* connected(watcher.token)
          const blockerGateway = yield* connected(blocker.token)
          const blockedGateway = yield* connected(blocked.token)
          yield* presenceShown(blockedGateway, blocker.user_id, "online")
          yield* presenceShown(blockerGateway, blocked.user_id, "online")

          // The block takes each out of the other's sight at once: both are told the other went offline.
          yield* blocker.client.call(Rel.blockUser, { params: { user_id: blocked.user_id } })
          const gone = yield* presenceShown(blockedGateway, blocker.user_id, "offline")
          expect(gone.d).toEqual({ user_id: blocker.user_id, status: "offline", custom_status: null, activity: null })
          yield* presenceShown(blockerGateway, blocked.user_id, "offline")
          expect(yield* presenceOf(blocked, blocker.user_id)).toEqual(gone.d)
          expect((yield* presenceOf(blocker, blocked.user_id)).status).toBe("offline")
          // Everyone else still sees both as they are.
          expect((yield* presenceOf(watcher, blocker.user_id)).status).toBe("online")

          // Changes reach the watcher, not the other side; nor a new connection's snapshot.
          yield* setPresence(blockerGateway, { status: "dnd", activity: { type: "playing", name: "Go" } })
          yield* presenceShown(watching, blocker.user_id, "dnd")
          yield* setPresence(blockedGateway, { status: "idle" })
          yield* presenceShown(watching, blocked.user_id, "idle")
          // Typing in a feed both can see: the watcher sees each type, neither sees the other.
          yield* typing(blockerGateway, feed.feed_id)
          yield* nextDispatch(watching, isTypingOf(blocker.user_id, feed.feed_id))
          yield* typing(blockedGateway, feed.feed_id)
          yield* nextDispatch(watching, isTypingOf(blocked.user_id, feed.feed_id))
          const second = yield* connected(blocked.token)
          const heard = [...(yield* dispatchesWithin(blockedGateway)), ...(yield* dispatchesWithin(second))]
          expect(heard.filter((d) => isPresenceOf(blocker.user_id)(d) || isTypingOf(blocker.user_id, feed.feed_id)(d))).toEqual([])
          expect((yield* dispatchesWithin(blockerGateway)).filter((d) =>
            isPresenceOf(blocked.user_id)(d) || isTypingOf(blocked.user_id, feed.feed_id)(d))).toEqual([])
          // The log says so too: a RESUME or a sync would not find it either.
          const logged = (yield* withSuiteDatabase(eventsOfType("PRESENCE_UPDATE")))
            .filter((e) => e.payload.user_id === blocker.user_id && e.payload.status === "dnd")
          expect(logged.map((e) => e.audience)).toEqual([{ _tag: "server", except: [blocked.user_id] }])

          // Lifted: each sees the other as they are now.
          yield* blocker.client.call(Rel.unblockUser, { params: { user_id: blocked.user_id } })
          const back = yield* presenceShown(blockedGateway, blocker.user_id, "dnd")
          expect(back.d.activity).toEqual({ type: "playing", name: "Go" })
          yield* presenceShown(blockerGateway, blocked.user_id, "idle")
          expect((yield* presenceOf(blocked, blocker.user_id)).status).toBe("dnd")
          yield* setPresence(blockerGateway, { status: "online" })
          yield* presenceShown(blockedGateway, blocker.user_id, "online")
        }))

      it.scoped("typing reaches those who can see the feed, only from those who may post there, once per few seconds", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const typer = yield* newUser("typer")
          const reader = yield* newUser("reader")
          const muted = yield* newUser("muted")
          const hidden = yield* newUser("hidden")
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("typing"), type: "text" } })
          const override = (target: UserId, deny: typeof Permission.VIEW_SPACE) =>
            boss.client.call(Spaces.setFeedOverride, {
              params: { feed_id: feed.feed_id, target_type: "user", target_id: target },
              body: { allow: 0n as never, deny }
            })
          yield* override(hidden.user_id, Permission.VIEW_SPACE)
          yield* override(muted.user_id, Permission.SEND_MESSAGES)

          const typerGateway = yield* connected(typer.token)
          const readerGateway = yield* connected(reader.token)
          const mutedGateway = yield* connected(muted.token)
          const hiddenGateway = yield* connected(hidden.token)

          yield* typing(typerGateway, feed.feed_id)
          const started = yield* nextDispatch(readerGateway, isTypingOf(typer.user_id, feed.feed_id))
          expect(started.d).toEqual({ user_id: typer.user_id, feed_id: feed.feed_id, timestamp: expect.any(Number) })
          // the muted member may not post, but sees the feed: it sees who types
          yield* nextDispatch(mutedGateway, isTypingOf(typer.user_id, feed.feed_id))

          // Repeats within a few seconds, and typing from someone who may not post, send nothing;
          // a message after them shows delivery went on meanwhile.
          yield* typing(typerGateway, feed.feed_id)
          yield* typing(typerGateway, feed.feed_id)
          yield* typing(mutedGateway, feed.feed_id)
          yield* Effect.sleep("500 millis")
          yield* boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "marker" } })
          const beforeMarker: Array<Dispatch> = []
          yield* nextDispatch(readerGateway, (d) => {
            beforeMarker.push(d)
            return d.t === "MESSAGE_CREATE" && d.d.feed_id === feed.feed_id
          })
          expect(beforeMarker.filter((d) => d.t === "TYPING_START")).toEqual([])

          // The member who cannot see the feed heard none of it.
          const hiddenHeard = yield* dispatchesWithin(hiddenGateway, "300 millis")
          expect(hiddenHeard.filter((d) => d.d.feed_id === feed.feed_id)).toEqual([])
        }))
    })
  })
}
