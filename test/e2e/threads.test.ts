// Threads of feeds end to end over HTTP (issue 4): threads from a message and forum posts, thread
// messages (history, increasing ids, idempotent nonces), locking (acceptance 6, second half),
// archiving, renaming, deleting with their messages, subscriptions, events, refusals and unknown ids,
// listing active and archived threads, moderators' changes in the audit log, on SQLite and (when
// configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import * as Threads from "../../src/protocol/api/threads.js"
import type { FeedId, RoleId } from "../../src/protocol/ids.js"
import { parseJson } from "../../src/protocol/json.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import { backends } from "../support/backends.js"
import { auditEntries, eventsOfType, withSuiteDatabase } from "../support/db.js"
import { failure } from "../support/expect.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

const EVERYONE = 1 as RoleId

const member = newUser
type Acting = { readonly client: Effect.Effect.Success<ReturnType<typeof member>>["client"] }

/** A member holding a role with MANAGE_THREADS (made by the owner). */
const threadModerator = Effect.gen(function* () {
  const boss = yield* owner
  const mod = yield* member("tmod")
  const role = yield* boss.client.call(Roles.createRole, {
    body: { name: uniqueName("thread-mods"), permissions: Permission.MANAGE_THREADS }
  })
  yield* boss.client.call(Roles.assignRole, { params: { user_id: mod.user_id, role_id: role.role_id } })
  return mod
})

const newFeed = (type: Spaces.FeedType = "text") =>
  Effect.flatMap(owner, (boss) => boss.client.call(Spaces.createFeed, { body: { name: uniqueName("feed"), type } }))

const post = (who: Acting, feedId: FeedId, body: string) =>
  who.client.call(Messages.sendMessage, { params: { feed_id: feedId }, body: { body } })

const create = (who: Acting, feedId: FeedId, body: Threads.CreateThread) =>
  who.client.call(Threads.createThread, { params: { feed_id: feedId }, body })

const update = (who: Acting, feedId: FeedId, threadId: Threads.ThreadId, body: Threads.UpdateThread) =>
  who.client.call(Threads.updateThread, { params: { feed_id: feedId, thread_id: threadId }, body })

const say = (who: Acting, feedId: FeedId, threadId: Threads.ThreadId, body: Messages.SendMessage) =>
  who.client.call(Threads.sendThreadMessage, { params: { feed_id: feedId, thread_id: threadId }, body })

const threadHistory = (who: Acting, feedId: FeedId, threadId: Threads.ThreadId, query: Messages.HistoryQuery = {}) =>
  Effect.map(
    who.client.call(Threads.getThreadHistory, { params: { feed_id: feedId, thread_id: threadId }, query }),
    (r) => r.messages
  )

const feedHistory = (who: Acting, feedId: FeedId) =>
  Effect.map(who.client.call(Messages.getHistory, { params: { feed_id: feedId }, query: {} }), (r) => r.messages)

const db = withSuiteDatabase

const json = (text: string): any => (parseJson(text) as { ok: true; value: unknown }).value

/** Gateway events of one type (in log order) about this feed (by feed_id or parent_feed_id). */
const eventsOf = (type: string, feedId: FeedId) =>
  db(eventsOfType(type)).pipe(Effect.map((events) =>
    events.filter((e) => e.payload.feed_id === feedId || e.payload.parent_feed_id === feedId)))

const subscribersOf = (threadId: Threads.ThreadId) =>
  db((sql) => sql<{ user_id: unknown }>`SELECT user_id FROM thread_subscribers WHERE thread_id = ${threadId} ORDER BY user_id`)
    .pipe(Effect.map((rows) => rows.map((r) => Number(r.user_id))))

const countThreadMessages = (threadId: Threads.ThreadId) =>
  db((sql) => sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM messages WHERE thread_id = ${threadId}`)
    .pipe(Effect.map((rows) => Number(rows[0]!.n)))

const ascending = (ids: ReadonlyArray<bigint>) => ids.every((id, i) => i === 0 || ids[i - 1]! < id)

for (const backend of backends) {
  describe(`threads on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("a thread from a message: its messages, history, nonces and events", () =>
        Effect.gen(function* () {
          yield* owner
          const feed = yield* newFeed()
          const alice = yield* member("alice")
          const bob = yield* member("bob")
          const parent = yield* post(alice, feed.feed_id, "start here")

          const thread = yield* create(alice, feed.feed_id, { parent_msg_id: parent.msg_id, name: "Discussion" })
          expect(thread).toMatchObject({
            parent_feed_id: feed.feed_id,
            parent_msg_id: parent.msg_id,
            name: "Discussion",
            archived: false,
            locked: false,
            creator_id: alice.user_id
          })
          // Thread ids are sequential.
          const second = yield* create(bob, feed.feed_id, { parent_msg_id: (yield* post(bob, feed.feed_id, "another")).msg_id, name: "Two" })
          expect(second.thread_id).toBe(thread.thread_id + 1)
          // One thread per message; a parent must be a top-level message of this feed.
          expect(yield* failure(create(bob, feed.feed_id, { parent_msg_id: parent.msg_id, name: "again" }))).toEqual({ code: "INVALID_BODY" })
          const elsewhere = yield* newFeed()
          expect(yield* failure(create(bob, elsewhere.feed_id, { parent_msg_id: parent.msg_id, name: "x" }))).toEqual({ code: "MESSAGE_NOT_FOUND" })
          expect(yield* failure(create(bob, feed.feed_id, { parent_msg_id: 123n as Snowflake, name: "x" }))).toEqual({ code: "MESSAGE_NOT_FOUND" })
          // Outside a forum a thread needs its message.
          expect(yield* failure(create(bob, feed.feed_id, { name: "no parent" }))).toEqual({ code: "INVALID_BODY" })

          const sent: Array<typeof Messages.SentMessage.Type> = []
          for (let i = 0; i < 5; i++) sent.push(yield* say(i % 2 === 0 ? alice : bob, feed.feed_id, thread.thread_id, { body: `t${i}` }))
          expect(ascending(sent.map((m) => m.msg_id))).toBe(true)
          // A retry with the same nonce is the same message; the nonce is not reusable in another thread.
          const once = yield* say(bob, feed.feed_id, thread.thread_id, { body: "once", nonce: "t-1" })
          expect(yield* say(bob, feed.feed_id, thread.thread_id, { body: "once", nonce: "t-1" })).toEqual(once)
          expect(yield* failure(say(bob, feed.feed_id, second.thread_id, { body: "once", nonce: "t-1" }))).toEqual({ code: "INVALID_BODY" })
          // A reply within the thread, but not to a message outside it.
          yield* say(alice, feed.feed_id, thread.thread_id, { body: "re", reply_to: once.msg_id })
          expect(yield* failure(say(alice, feed.feed_id, thread.thread_id, { body: "re", reply_to: parent.msg_id })))
            .toEqual({ code: "MESSAGE_NOT_FOUND" })

          const messages = yield* threadHistory(bob, feed.feed_id, thread.thread_id)
          expect(messages.map((m) => m.body)).toEqual(["re", "once", "t4", "t3", "t2", "t1", "t0"])
          expect(messages.every((m) => m.thread_id === thread.thread_id && m.feed_id === feed.feed_id)).toBe(true)
          const paged = yield* threadHistory(bob, feed.feed_id, thread.thread_id, { limit: 2, before: messages[1]!.msg_id })
          expect(paged.map((m) => m.body)).toEqual(["t4", "t3"])
          // Thread messages stay out of the feed's own history.
          expect((yield* feedHistory(bob, feed.feed_id)).map((m) => m.body)).toEqual(["another", "start here"])
          expect(yield* threadHistory(bob, feed.feed_id, second.thread_id)).toEqual([])

          const created = yield* eventsOf("THREAD_CREATE", feed.feed_id)
          expect(created.map((e) => e.payload.thread_id)).toEqual([thread.thread_id, second.thread_id])
          expect(created[0]!.audience).toEqual({ _tag: "space", space_type: "feed", space_id: feed.feed_id, permission: Number(Permission.VIEW_SPACE) })
          const inThread = (yield* eventsOf("MESSAGE_CREATE", feed.feed_id)).filter((e) => e.payload.thread_id === thread.thread_id)
          expect(inThread.map((e) => e.payload.body)).toEqual(["t0", "t1", "t2", "t3", "t4", "once", "re"])
        }))

      it.effect("a thread message is edited, reacted to, pinned and deleted through its feed's message endpoints", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const author = yield* member("tauthor")
          const feed = yield* newFeed()
          const parent = yield* post(author, feed.feed_id, "start here")
          const thread = yield* create(author, feed.feed_id, { parent_msg_id: parent.msg_id, name: uniqueName("t") })
          const sent = yield* say(author, feed.feed_id, thread.thread_id, { body: "in the thread" })
          const params = { feed_id: feed.feed_id, msg_id: sent.msg_id }

          yield* author.client.call(Messages.editMessage, { params, body: { body: "edited in the thread" } })
          yield* author.client.call(Messages.addReaction, { params: { ...params, emoji: "👍" } })
          yield* boss.client.call(Messages.pinMessage, { params })
          const [shown] = yield* threadHistory(author, feed.feed_id, thread.thread_id)
          expect(shown).toMatchObject({ body: "edited in the thread", pinned: true, reactions: [{ emoji: "👍", count: 1 }] })

          yield* author.client.call(Messages.deleteMessage, { params })
          expect(yield* threadHistory(author, feed.feed_id, thread.thread_id)).toEqual([])
        }))

      it.effect("forum feeds: posts are threads without a parent; plain sends point to threads", () =>
        Effect.gen(function* () {
          const forum = yield* newFeed("forum")
          const alice = yield* member("poster")
          const refused = yield* Effect.flip(post(alice, forum.feed_id, "plain"))
          expect((refused as any).code).toBe("SPACE_TYPE_MISMATCH")
          expect((refused as any).message).toContain("threads")

          const topic = yield* create(alice, forum.feed_id, { name: "First topic" })
          expect(topic).toMatchObject({ parent_feed_id: forum.feed_id, parent_msg_id: null, name: "First topic" })
          yield* say(alice, forum.feed_id, topic.thread_id, { body: "the post" })
          expect((yield* threadHistory(alice, forum.feed_id, topic.thread_id)).map((m) => m.body)).toEqual(["the post"])
          // A forum feed has no top-level messages to thread from.
          expect(yield* failure(create(alice, forum.feed_id, { parent_msg_id: 1n as Snowflake, name: "x" }))).toEqual({ code: "MESSAGE_NOT_FOUND" })

          // Deleting the feed takes its threads and their messages.
          const boss = yield* owner
          yield* boss.client.call(Spaces.deleteFeed, { params: { feed_id: forum.feed_id } })
          const left = yield* db((sql) => sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM threads WHERE feed_id = ${forum.feed_id}`)
          expect(Number(left[0]!.n)).toBe(0)
          expect(yield* countThreadMessages(topic.thread_id)).toBe(0)
        }))

      it.effect("acceptance 6: a locked thread refuses plain members but not MANAGE_THREADS holders; archive and rename", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* newFeed()
          const alice = yield* member("creator")
          const bob = yield* member("plain")
          const mod = yield* threadModerator
          const thread = yield* create(alice, feed.feed_id, { parent_msg_id: (yield* post(alice, feed.feed_id, "p")).msg_id, name: "Old" })

          // The creator renames; others without MANAGE_THREADS may not; archive and lock need it.
          expect(yield* update(alice, feed.feed_id, thread.thread_id, { name: "New" })).toMatchObject({ name: "New" })
          expect(yield* failure(update(bob, feed.feed_id, thread.thread_id, { name: "Mine" }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_THREADS" })
          expect(yield* failure(update(alice, feed.feed_id, thread.thread_id, { locked: true }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_THREADS" })
          expect(yield* failure(update(alice, feed.feed_id, thread.thread_id, { archived: true }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_THREADS" })
          expect(yield* update(mod, feed.feed_id, thread.thread_id, { name: "Moderated" })).toMatchObject({ name: "Moderated" })

          expect(yield* update(mod, feed.feed_id, thread.thread_id, { locked: true })).toMatchObject({ locked: true, archived: false })
          expect(yield* failure(say(bob, feed.feed_id, thread.thread_id, { body: "let me in" }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_THREADS" })
          expect(yield* failure(say(alice, feed.feed_id, thread.thread_id, { body: "mine though" }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_THREADS" })
          yield* say(mod, feed.feed_id, thread.thread_id, { body: "moderator note" })
          yield* say(boss, feed.feed_id, thread.thread_id, { body: "owner note" })
          expect((yield* threadHistory(bob, feed.feed_id, thread.thread_id)).map((m) => m.body)).toEqual(["owner note", "moderator note"])
          expect(yield* update(mod, feed.feed_id, thread.thread_id, { locked: false })).toMatchObject({ locked: false })
          yield* say(bob, feed.feed_id, thread.thread_id, { body: "unlocked" })

          // Archived: a new message unarchives it.
          expect(yield* update(mod, feed.feed_id, thread.thread_id, { archived: true })).toMatchObject({ archived: true })
          yield* say(bob, feed.feed_id, thread.thread_id, { body: "wake up" })
          const updates = (yield* eventsOf("THREAD_UPDATE", feed.feed_id)).map((e) => e.payload)
          expect(updates.map((u) => [u.name, u.locked, u.archived])).toEqual([
            ["New", false, false],
            ["Moderated", false, false],
            ["Moderated", true, false],
            ["Moderated", false, false],
            ["Moderated", false, true],
            ["Moderated", false, false]
          ])
        }))

      it.effect("deleting a thread takes its messages; subscriptions; refusals and unknown ids", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* newFeed()
          const alice = yield* member("sub")
          const bob = yield* member("sub2")
          const mod = yield* threadModerator
          const parent = yield* post(alice, feed.feed_id, "p")
          const thread = yield* create(alice, feed.feed_id, { parent_msg_id: parent.msg_id, name: "Doomed" })

          // The creator is subscribed; others subscribe and unsubscribe, idempotently.
          expect(yield* subscribersOf(thread.thread_id)).toEqual([alice.user_id])
          const params = { feed_id: feed.feed_id, thread_id: thread.thread_id }
          yield* bob.client.call(Threads.subscribeThread, { params })
          yield* bob.client.call(Threads.subscribeThread, { params })
          expect(yield* subscribersOf(thread.thread_id)).toEqual([alice.user_id, bob.user_id].sort((a, b) => a - b))
          yield* alice.client.call(Threads.unsubscribeThread, { params })
          yield* alice.client.call(Threads.unsubscribeThread, { params })
          expect(yield* subscribersOf(thread.thread_id)).toEqual([bob.user_id])

          yield* say(alice, feed.feed_id, thread.thread_id, { body: "one" })
          yield* say(bob, feed.feed_id, thread.thread_id, { body: "two" })
          expect(yield* countThreadMessages(thread.thread_id)).toBe(2)

          // Deleting needs MANAGE_THREADS, even for the creator.
          expect(yield* failure(alice.client.call(Threads.deleteThread, { params }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_THREADS" })
          yield* mod.client.call(Threads.deleteThread, { params })
          expect(yield* countThreadMessages(thread.thread_id)).toBe(0)
          expect(yield* subscribersOf(thread.thread_id)).toEqual([])
          expect((yield* feedHistory(bob, feed.feed_id)).map((m) => m.body)).toEqual(["p"])
          expect((yield* eventsOf("THREAD_DELETE", feed.feed_id)).map((e) => e.payload))
            .toEqual([{ thread_id: thread.thread_id, feed_id: feed.feed_id }])

          // Unknown threads (and a thread asked for under another feed) are not found.
          const other = yield* newFeed()
          const live = yield* create(alice, feed.feed_id, { parent_msg_id: (yield* post(alice, feed.feed_id, "q")).msg_id, name: "Live" })
          const unknown = [
            { feed_id: feed.feed_id, thread_id: thread.thread_id },
            { feed_id: other.feed_id, thread_id: live.thread_id }
          ]
          for (const p of unknown) {
            expect(yield* failure(say(boss, p.feed_id, p.thread_id, { body: "x" }))).toEqual({ code: "THREAD_NOT_FOUND" })
            expect(yield* failure(threadHistory(boss, p.feed_id, p.thread_id))).toEqual({ code: "THREAD_NOT_FOUND" })
            expect(yield* failure(update(boss, p.feed_id, p.thread_id, { name: "x" }))).toEqual({ code: "THREAD_NOT_FOUND" })
            expect(yield* failure(boss.client.call(Threads.deleteThread, { params: p }))).toEqual({ code: "THREAD_NOT_FOUND" })
            expect(yield* failure(boss.client.call(Threads.subscribeThread, { params: p }))).toEqual({ code: "THREAD_NOT_FOUND" })
            expect(yield* failure(boss.client.call(Threads.unsubscribeThread, { params: p }))).toEqual({ code: "THREAD_NOT_FOUND" })
          }
          expect(yield* failure(create(boss, 4_000_000 as FeedId, { name: "x" }))).toEqual({ code: "SPACE_NOT_FOUND" })

          // Without CREATE_THREADS or SEND_IN_THREADS in the feed, creating and posting are refused.
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as PermissionSet, deny: (Permission.CREATE_THREADS | Permission.SEND_IN_THREADS) as PermissionSet }
          })
          const msg = yield* post(bob, feed.feed_id, "r")
          expect(yield* failure(create(bob, feed.feed_id, { parent_msg_id: msg.msg_id, name: "x" }))).toEqual({ code: "FORBIDDEN", missing: "CREATE_THREADS" })
          expect(yield* failure(say(bob, feed.feed_id, live.thread_id, { body: "x" }))).toEqual({ code: "FORBIDDEN", missing: "SEND_IN_THREADS" })
          // Bad input is refused by the schemas (sent raw: the client would not encode it).
          const { url } = yield* TestServer
          const blank = yield* Effect.promise(() =>
            fetch(`${url}/api/v1/feeds/${feed.feed_id}/threads`, {
              method: "POST",
              headers: { authorization: `Bearer ${boss.token}`, "content-type": "application/json" },
              body: `{"parent_msg_id": ${msg.msg_id}, "name": "  "}`
            }).then(async (r) => ({ status: r.status, code: json(await r.text()).error.code }))
          )
          expect(blank).toEqual({ status: 400, code: "INVALID_BODY" })
        }))

      it.effect("listing a feed's threads: active or archived, newest first, paged; only for who sees the feed", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* newFeed()
          const alice = yield* member("lister")
          const mod = yield* threadModerator
          const made: Array<Threads.Thread> = []
          for (let i = 0; i < 5; i++) {
            made.push(yield* create(alice, feed.feed_id, { parent_msg_id: (yield* post(alice, feed.feed_id, `p${i}`)).msg_id, name: `T${i}` }))
          }
          // A thread of another feed is never listed here.
          const other = yield* newFeed()
          yield* create(alice, other.feed_id, { parent_msg_id: (yield* post(alice, other.feed_id, "x")).msg_id, name: "Elsewhere" })
          yield* update(mod, feed.feed_id, made[1]!.thread_id, { archived: true })
          yield* update(mod, feed.feed_id, made[3]!.thread_id, { archived: true, locked: true })

          const list = (who: Acting, query: Threads.ThreadListQuery = {}) =>
            who.client.call(Threads.listThreads, { params: { feed_id: feed.feed_id }, query })
          const active = yield* list(alice)
          expect(active.items.map((t) => t.name)).toEqual(["T4", "T2", "T0"])
          expect(active.cursor).toBeNull()
          expect(active.items[0]).toEqual(made[4])
          expect(yield* list(alice, { archived: false })).toEqual(active)
          const archived = yield* list(alice, { archived: true })
          expect(archived.items.map((t) => [t.name, t.archived, t.locked])).toEqual([["T3", true, true], ["T1", true, false]])

          // Pages of two: the cursor leads on until the last page.
          const first = yield* list(alice, { limit: 2 })
          expect(first.items.map((t) => t.name)).toEqual(["T4", "T2"])
          const second = yield* list(alice, { limit: 2, after: first.cursor! })
          expect(second.items.map((t) => t.name)).toEqual(["T0"])
          expect(second.cursor).toBeNull()
          // A message in an archived thread brings it back to the active list.
          yield* say(alice, feed.feed_id, made[1]!.thread_id, { body: "back" })
          expect((yield* list(alice)).items.map((t) => t.name)).toEqual(["T4", "T2", "T1", "T0"])

          expect(yield* failure(list(alice, { after: "not a cursor" }))).toEqual({ code: "INVALID_BODY" })
          expect(yield* failure(boss.client.call(Threads.listThreads, { params: { feed_id: 4_000_000 as FeedId }, query: {} })))
            .toEqual({ code: "SPACE_NOT_FOUND" })
          // Who cannot see the feed cannot list its threads.
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as PermissionSet, deny: Permission.VIEW_SPACE as PermissionSet }
          })
          expect(yield* failure(list(alice))).toEqual({ code: "FORBIDDEN", missing: "VIEW_SPACE" })
        }))

      it.effect("moderators' lock, archive, unarchive, rename and delete are audited with what changed", () =>
        Effect.gen(function* () {
          yield* owner
          const feed = yield* newFeed()
          const alice = yield* member("audited")
          const mod = yield* threadModerator
          const thread = yield* create(alice, feed.feed_id, { parent_msg_id: (yield* post(alice, feed.feed_id, "p")).msg_id, name: "Mine" })
          const audited = () =>
            db(auditEntries((sql) => sql`event_type IN ('thread.update', 'thread.delete') AND target_id = ${thread.thread_id}`))
          // The creator renaming their own thread is not a moderation.
          yield* update(alice, feed.feed_id, thread.thread_id, { name: "Still mine" })
          expect(yield* audited()).toEqual([])

          yield* update(mod, feed.feed_id, thread.thread_id, { locked: true })
          yield* update(mod, feed.feed_id, thread.thread_id, { archived: true, name: "Closed" })
          // Nothing changes: nothing is audited.
          yield* update(mod, feed.feed_id, thread.thread_id, { archived: true })
          yield* update(mod, feed.feed_id, thread.thread_id, { archived: false, locked: false })
          yield* mod.client.call(Threads.deleteThread, { params: { feed_id: feed.feed_id, thread_id: thread.thread_id } })

          const base = { actor_id: mod.user_id, target_id: thread.thread_id }
          const ids = { feed_id: feed.feed_id, thread_id: thread.thread_id }
          expect(yield* audited()).toEqual([
            { ...base, event_type: "thread.update", metadata: { ...ids, name: "Still mine", changes: { locked: true } } },
            {
              ...base,
              event_type: "thread.update",
              metadata: { ...ids, name: "Closed", previous_name: "Still mine", changes: { name: "Closed", archived: true } }
            },
            { ...base, event_type: "thread.update", metadata: { ...ids, name: "Closed", changes: { archived: false, locked: false } } },
            { ...base, event_type: "thread.delete", metadata: { ...ids, name: "Closed" } }
          ])
        }))
    })
  })
}
