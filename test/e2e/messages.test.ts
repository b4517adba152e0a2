// Messages in feeds end to end over HTTP (issue 4): the Feed entity's single order under concurrent
// posters, idempotent sends, the rules of announcement and forum feeds, bodies, replies, mentions,
// edits and deletes by authors and moderators, bulk delete, reactions, pins, history paging,
// snowflake ids beyond 2^53 exact on the wire, sends committed together yet failing alone, and
// slowmode, on SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Exit } from "effect"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import * as Threads from "../../src/protocol/api/threads.js"
import { type Endpoint, fillPath } from "../../src/protocol/endpoint.js"
import type { FeedId, RoleId, UserId } from "../../src/protocol/ids.js"
import { parseJson, stringifyJson } from "../../src/protocol/json.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import { LocalFeeds } from "../../src/actors/feed/LocalFeeds.js"
import { backends } from "../support/backends.js"
import { eventsOfType, withSuiteDatabase } from "../support/db.js"
import { failure } from "../support/expect.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

const EVERYONE = 1 as RoleId

const member = newUser

type Acting = Effect.Effect.Success<ReturnType<typeof member>>

/** A member holding a role with MANAGE_MESSAGES (made by the owner). */
const moderator = Effect.gen(function* () {
  const boss = yield* owner
  const mod = yield* member("mod")
  const role = yield* boss.client.call(Roles.createRole, {
    body: { name: uniqueName("mods"), permissions: Permission.MANAGE_MESSAGES }
  })
  yield* boss.client.call(Roles.assignRole, { params: { user_id: mod.user_id, role_id: role.role_id } })
  return mod
})

const newFeed = (type: Spaces.FeedType = "text") =>
  Effect.flatMap(owner, (boss) => boss.client.call(Spaces.createFeed, { body: { name: uniqueName("feed"), type } }))

const send = (who: { client: Acting["client"] }, feedId: FeedId, body: Messages.SendMessage) =>
  who.client.call(Messages.sendMessage, { params: { feed_id: feedId }, body })

const history = (who: { client: Acting["client"] }, feedId: FeedId, query: Messages.HistoryQuery = {}) =>
  Effect.map(who.client.call(Messages.getHistory, { params: { feed_id: feedId }, query }), (r) => r.messages)

/** One request exactly as written, with the response body as exact JSON and as text. */
const raw = (token: string, method: string, path: string, body?: string) =>
  Effect.gen(function* () {
    const { url } = yield* TestServer
    return yield* Effect.promise(async () => {
      const response = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body })
      })
      const text = await response.text()
      const parsed = text === "" ? undefined : parseJson(text)
      return { status: response.status, text, body: (parsed?.ok ? parsed.value : undefined) as any }
    })
  })

const pathOf = (endpoint: Endpoint, params: Record<string, unknown>) => fillPath(endpoint.path, params)

/** Runs `f` on a connection of its own to the suite's database. */
const db = withSuiteDatabase

const json = (text: string): any => (parseJson(text) as { ok: true; value: unknown }).value

/** Gateway events of one type (in log order) whose payload is about this feed. */
const eventsOf = (type: string, feedId: FeedId) =>
  db(eventsOfType(type)).pipe(Effect.map((events) => events.filter((e) => e.payload.feed_id === feedId)))

const auditOf = (type: string) =>
  db((sql) => sql<{ actor_id: unknown; target_id: unknown; metadata: string }>`
    SELECT actor_id, target_id, metadata FROM audit_log WHERE event_type = ${type} ORDER BY id`)
    .pipe(Effect.map((rows) =>
      rows.map((r) => ({
        actor_id: Number(r.actor_id),
        target_id: r.target_id === null ? null : Number(r.target_id),
        metadata: json(r.metadata)
      }))
    ))

const countMessages = (feedId: FeedId) =>
  db((sql) => sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM messages WHERE feed_id = ${feedId}`)
    .pipe(Effect.map((rows) => Number(rows[0]!.n)))

const byId = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0)
const ascending = (ids: ReadonlyArray<bigint>) => ids.every((id, i) => i === 0 || ids[i - 1]! < id)

for (const backend of backends) {
  describe(`messages on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("acceptance 1: 20 concurrent posters x 50 messages make one order that history returns", () =>
        Effect.gen(function* () {
          yield* owner
          const feed = yield* newFeed()
          const posters = yield* Effect.all(Array.from({ length: 20 }, () => member("poster")), { concurrency: 4 })
          // Each poster sends its 50 messages one after another; the 20 posters run at once.
          const acked = yield* Effect.all(
            posters.map((p, i) =>
              Effect.forEach(Array.from({ length: 50 }, (_, j) => j), (j) =>
                Effect.map(send(p, feed.feed_id, { body: `p${i} m${j}` }), (sent) => ({ ...sent, body: `p${i} m${j}`, author: p.user_id })))),
            { concurrency: "unbounded" }
          )
          const all = acked.flat()
          expect(all).toHaveLength(1000)
          const ids = all.map((m) => m.msg_id)
          expect(new Set(ids).size).toBe(1000)
          // A poster's later message always has a larger id than its earlier ones.
          for (const mine of acked) expect(ascending(mine.map((m) => m.msg_id))).toBe(true)
          expect(yield* countMessages(feed.feed_id)).toBe(1000)

          // Commit order: MESSAGE_CREATE events are logged inside each message's own transaction, and
          // the feed's transactions run one at a time, so the log is in commit order; ids increase along it.
          const created = yield* eventsOf("MESSAGE_CREATE", feed.feed_id)
          const committed = created.map((e) => BigInt(e.payload.msg_id))
          expect(committed).toHaveLength(1000)
          expect(ascending(committed)).toBe(true)
          expect([...committed].sort(byId)).toEqual([...ids].sort(byId))
          expect(created[0]!.audience).toEqual({ _tag: "space", space_type: "feed", space_id: feed.feed_id, permission: Number(Permission.VIEW_SPACE) })

          // History, 100 at a time with `before`, returns exactly them, newest first.
          const reader = posters[0]!
          const pages: Array<Messages.ChatMessage> = []
          let before: Snowflake | undefined
          for (;;) {
            const page = yield* history(reader, feed.feed_id, { limit: 100, ...(before === undefined ? {} : { before }) })
            if (page.length === 0) break
            expect(page.length).toBe(100)
            pages.push(...page)
            before = page[page.length - 1]!.msg_id
          }
          expect(pages.map((m) => m.msg_id)).toEqual([...committed].reverse())
          const sent = new Map(all.map((m) => [m.msg_id, m]))
          for (const m of pages) {
            expect(m.body).toBe(sent.get(m.msg_id)!.body)
            expect(m.author_id).toBe(sent.get(m.msg_id)!.author)
            expect(m.timestamp).toBe(sent.get(m.msg_id)!.timestamp)
          }
        }), 300_000)

      it.effect("acceptance 2: a retried nonce returns the original message, also when the retries race", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const other = yield* newFeed()
          const alice = yield* member("alice")
          const bob = yield* member("bob")

          const first = yield* send(alice, feed.feed_id, { body: "once", nonce: "n-1" })
          const again = yield* send(alice, feed.feed_id, { body: "once", nonce: "n-1" })
          expect(again).toEqual(first)

          // Ten copies of one send at the same moment: one message, one event, one answer.
          const raced = yield* Effect.all(
            Array.from({ length: 10 }, () => send(alice, feed.feed_id, { body: "raced", nonce: "n-2" })),
            { concurrency: "unbounded" }
          )
          expect(new Set(raced.map((r) => r.msg_id)).size).toBe(1)
          expect(new Set(raced.map((r) => r.timestamp)).size).toBe(1)

          // Without a nonce, two sends are two messages; another author's same nonce is theirs.
          const plain1 = yield* send(alice, feed.feed_id, { body: "twice" })
          const plain2 = yield* send(alice, feed.feed_id, { body: "twice" })
          expect(plain1.msg_id).not.toBe(plain2.msg_id)
          const bobs = yield* send(bob, feed.feed_id, { body: "once", nonce: "n-1" })
          expect(bobs.msg_id).not.toBe(first.msg_id)

          const rows = yield* db((sql) => sql<{ nonce: string | null }>`SELECT nonce FROM messages WHERE feed_id = ${feed.feed_id}`)
          expect(rows.map((r) => r.nonce).sort()).toEqual(["n-1", "n-1", "n-2", null, null].sort())
          const events = yield* eventsOf("MESSAGE_CREATE", feed.feed_id)
          expect(events).toHaveLength(5)
          expect((yield* history(alice, feed.feed_id)).map((m) => m.body)).toEqual(["once", "twice", "twice", "raced", "once"])

          // A nonce belongs to its first message: reusing it in another feed is refused, not a copy.
          expect(yield* failure(send(alice, other.feed_id, { body: "elsewhere", nonce: "n-1" }))).toEqual({ code: "INVALID_BODY" })
          expect(yield* countMessages(other.feed_id)).toBe(0)

          // The same nonce racing into two feeds at once: one message, the other send refused (never a 500).
          const [here, there] = yield* Effect.all([
            Effect.either(send(alice, feed.feed_id, { body: "race", nonce: "n-3" })),
            Effect.either(send(alice, other.feed_id, { body: "race", nonce: "n-3" }))
          ], { concurrency: "unbounded" })
          expect([here._tag, there._tag].sort()).toEqual(["Left", "Right"])
          const lost = here._tag === "Left" ? here.left : there._tag === "Left" ? there.left : undefined
          expect((lost as { code?: string } | undefined)?.code).toBe("INVALID_BODY")
          const stored = yield* db((sql) => sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM messages WHERE nonce = ${"n-3"}`)
          expect(Number(stored[0]!.n)).toBe(1)
        }))

      it.effect("a send and its retry in one batch are one message; the batch's other sends are stored with it, in order", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const alice = yield* member("alice")
          // through the cluster once, so the feed's entity runs and takes sends directly
          yield* send(alice, feed.feed_id, { body: "first" })
          const { services } = yield* TestServer
          const local = Context.get(services, LocalFeeds).get(feed.feed_id)!
          const permissions = (Permission.SEND_MESSAGES | Permission.VIEW_SPACE) as PermissionSet
          // Queued in one go, before the committing fiber can take any: one batch.
          const answers = yield* Effect.all(
            [
              { body: "a", nonce: "same" },
              { body: "b" },
              { body: "a", nonce: "same" },
              { body: "c" }
            ].map((message) =>
              Effect.async<Exit.Exit<typeof Messages.SentMessage.Type, unknown>>((resume) => {
                local.offer({ actor: alice.user_id, permissions, where: null, message }, (exit) => resume(Effect.succeed(exit)))
              })
            ),
            { concurrency: "unbounded" }
          )
          const sent = answers.map((exit) => (Exit.isSuccess(exit) ? exit.value : expect.fail(String(exit))))
          expect(sent[2]).toEqual(sent[0])
          expect(new Set(sent.map((s) => s.msg_id)).size).toBe(3)
          expect((yield* history(alice, feed.feed_id)).map((m) => m.body)).toEqual(["c", "b", "a", "first"])
          expect(yield* eventsOf("MESSAGE_CREATE", feed.feed_id)).toHaveLength(4)
        }))

      it.effect("announcement feeds take posts only from MANAGE_MESSAGES holders; forum feeds take no plain messages", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const news = yield* newFeed("announcement")
          const forum = yield* newFeed("forum")
          const plain = yield* member("reader")
          const mod = yield* moderator

          expect(yield* failure(send(plain, news.feed_id, { body: "hi" }))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_MESSAGES" })
          yield* send(mod, news.feed_id, { body: "from a moderator" })
          yield* send(boss, news.feed_id, { body: "from the owner" })
          // Everyone may still read it.
          expect((yield* history(plain, news.feed_id)).map((m) => m.body)).toEqual(["from the owner", "from a moderator"])

          expect(yield* failure(send(boss, forum.feed_id, { body: "a post" }))).toEqual({ code: "SPACE_TYPE_MISMATCH" })
          expect(yield* countMessages(forum.feed_id)).toBe(0)

          // Unknown feeds (and room ids, which are not feed ids) are not found.
          expect(yield* failure(send(boss, 4_000_000 as FeedId, { body: "x" }))).toEqual({ code: "SPACE_NOT_FOUND" })
          expect(yield* failure(history(boss, 4_000_000 as FeedId))).toEqual({ code: "SPACE_NOT_FOUND" })
        }))

      it.effect("bodies, replies, mentions, embeds and attachments are checked", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* newFeed()
          const other = yield* newFeed()
          const plain = yield* member("writer")
          const friend = yield* member("friend")

          expect(yield* failure(send(plain, feed.feed_id, { body: "" }))).toEqual({ code: "EMPTY_MESSAGE" })
          expect(yield* failure(send(plain, feed.feed_id, { body: " \n\t " }))).toEqual({ code: "EMPTY_MESSAGE" })
          // An embed or an attachment is content enough; the body is kept exactly as sent.
          const embed = { url: "https://example.com", title: "Example" }
          const withEmbed = yield* send(plain, feed.feed_id, { body: "  ", embeds: [embed] })
          // An attachment is a file uploaded to this feed; any other id is refused.
          const { url } = yield* TestServer
          const uploadTo = (feedId: FeedId) =>
            Effect.promise(async () => {
              const form = new FormData()
              form.append("file", new Blob(["notes"], { type: "text/plain" }), "notes.txt")
              const response = await fetch(`${url}/api/v1/feeds/${feedId}/files`, {
                method: "POST",
                headers: { authorization: `Bearer ${plain.token}` },
                body: form
              })
              return (await response.json() as { file_id: string }).file_id
            })
          const here = yield* uploadTo(feed.feed_id)
          const there = yield* uploadTo(other.feed_id)
          const withFile = yield* send(plain, feed.feed_id, { body: "", attachments: [here] })
          expect(yield* failure(send(plain, feed.feed_id, { body: "", attachments: [there] }))).toEqual({ code: "FILE_NOT_FOUND" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "", attachments: ["file-1"] }))).toEqual({ code: "FILE_NOT_FOUND" })

          // Replies must be to a message of this feed.
          const elsewhere = yield* send(plain, other.feed_id, { body: "over there" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "re", reply_to: elsewhere.msg_id }))).toEqual({ code: "MESSAGE_NOT_FOUND" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "re", reply_to: (withEmbed.msg_id + 1n) as Snowflake })))
            .toEqual({ code: "MESSAGE_NOT_FOUND" })
          const reply = yield* send(plain, feed.feed_id, { body: "re", reply_to: withEmbed.msg_id })

          // Mentions: users and roles must exist; @everyone takes MENTION_EVERYONE, which @everyone lacks.
          expect(yield* failure(send(plain, feed.feed_id, { body: "hey", mentions: [{ user_id: 999_999 as UserId }] })))
            .toEqual({ code: "USER_NOT_FOUND" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "hey", mentions: [{ role_id: 999_999 as RoleId }] })))
            .toEqual({ code: "ROLE_NOT_FOUND" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "all", mentions: [{ everyone: true }] })))
            .toEqual({ code: "FORBIDDEN", missing: "MENTION_EVERYONE" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "all", mentions: [{ role_id: EVERYONE }] })))
            .toEqual({ code: "FORBIDDEN", missing: "MENTION_EVERYONE" })
          // A role that is not mentionable takes MENTION_EVERYONE too; a mentionable one does not.
          const quiet = yield* boss.client.call(Roles.createRole, { body: { name: uniqueName("quiet") } })
          const loud = yield* boss.client.call(Roles.createRole, { body: { name: uniqueName("loud"), mentionable: true } })
          expect(yield* failure(send(plain, feed.feed_id, { body: "psst", mentions: [{ role_id: quiet.role_id }] })))
            .toEqual({ code: "FORBIDDEN", missing: "MENTION_EVERYONE" })
          const mentions: Array<Messages.Mention> = [{ user_id: friend.user_id }, { role_id: loud.role_id }]
          const components = [{ type: "button", label: "Click me", component_id: "btn_hello", big: 2n ** 60n + 1n }]
          const mentioned = yield* send(plain, feed.feed_id, { body: "hey you", mentions, components })
          yield* send(boss, feed.feed_id, { body: "everyone!", mentions: [{ everyone: true }, { role_id: quiet.role_id }] })

          // Without SEND_EMBEDS or ATTACH_FILES in the feed, embeds and attachments are refused.
          yield* boss.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as PermissionSet, deny: (Permission.SEND_EMBEDS | Permission.ATTACH_FILES) as PermissionSet }
          })
          expect(yield* failure(send(plain, feed.feed_id, { body: "look", embeds: [embed] })))
            .toEqual({ code: "FORBIDDEN", missing: "SEND_EMBEDS" })
          expect(yield* failure(send(plain, feed.feed_id, { body: "file", attachments: ["file-2"] })))
            .toEqual({ code: "FORBIDDEN", missing: "ATTACH_FILES" })
          yield* send(plain, feed.feed_id, { body: "just text" })

          const shown = new Map((yield* history(plain, feed.feed_id)).map((m) => [m.msg_id, m]))
          expect(shown.get(withEmbed.msg_id)).toMatchObject({ body: "  ", embeds: [embed], attachments: [], reply_to: null })
          expect(shown.get(reply.msg_id)).toMatchObject({ body: "re", reply_to: withEmbed.msg_id })
          expect(shown.get(withFile.msg_id)).toMatchObject({ body: "", attachments: [here] })
          expect(shown.get(mentioned.msg_id)).toEqual({
            msg_id: mentioned.msg_id,
            feed_id: feed.feed_id,
            thread_id: null,
            author_id: plain.user_id,
            body: "hey you",
            timestamp: mentioned.timestamp,
            reply_to: null,
            mentions,
            embeds: [],
            attachments: [],
            components,
            edit_timestamp: null,
            pinned: false,
            reactions: [],
            federated: false,
            author_address: null
          })
          // The event carries the same message.
          const created = (yield* eventsOf("MESSAGE_CREATE", feed.feed_id)).find((e) => BigInt(e.payload.msg_id) === mentioned.msg_id)
          expect(created?.payload).toMatchObject({ body: "hey you", mentions, author_id: plain.user_id })
        }))

      it.effect("acceptance 6: only the author edits; deleting another's message takes MANAGE_MESSAGES", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const author = yield* member("author")
          const stranger = yield* member("stranger")
          const mod = yield* moderator
          const boss = yield* owner
          const params = (msg_id: Snowflake) => ({ feed_id: feed.feed_id, msg_id })

          const sent = yield* send(author, feed.feed_id, { body: "first draft" })
          const edit = (who: Acting | typeof boss, msg_id: Snowflake, body: string) =>
            who.client.call(Messages.editMessage, { params: params(msg_id), body: { body } })
          const remove = (who: Acting | typeof boss, msg_id: Snowflake) =>
            who.client.call(Messages.deleteMessage, { params: params(msg_id) })

          // Nobody but the author edits: not a stranger, not a moderator, not the owner.
          for (const who of [stranger, mod, boss]) {
            expect((yield* failure(edit(who, sent.msg_id, "hijacked"))).code).toBe("FORBIDDEN")
          }
          expect(yield* failure(edit(author, sent.msg_id, "   "))).toEqual({ code: "EMPTY_MESSAGE" })
          const edited = yield* edit(author, sent.msg_id, "final")
          expect(edited.msg_id).toBe(sent.msg_id)
          expect(edited.edit_timestamp).toBeGreaterThanOrEqual(sent.timestamp)
          const [shown] = yield* history(stranger, feed.feed_id)
          expect(shown).toMatchObject({ msg_id: sent.msg_id, body: "final", edit_timestamp: edited.edit_timestamp })
          expect((yield* eventsOf("MESSAGE_UPDATE", feed.feed_id)).map((e) => e.payload)).toEqual([
            { msg_id: sent.msg_id, feed_id: feed.feed_id, body: "final", edit_timestamp: edited.edit_timestamp }
          ])

          // A stranger cannot delete it; a moderator can, and that is audited; the author deletes their own.
          expect(yield* failure(remove(stranger, sent.msg_id))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_MESSAGES" })
          expect(yield* countMessages(feed.feed_id)).toBe(1)
          yield* remove(mod, sent.msg_id)
          expect(yield* history(author, feed.feed_id)).toEqual([])
          const own = yield* send(author, feed.feed_id, { body: "mine" })
          yield* remove(author, own.msg_id)
          expect(yield* countMessages(feed.feed_id)).toBe(0)
          expect((yield* eventsOf("MESSAGE_DELETE", feed.feed_id)).map((e) => BigInt(e.payload.msg_id))).toEqual([sent.msg_id, own.msg_id])
          const audited = (yield* auditOf("message.delete")).filter((a) => a.metadata.feed_id === feed.feed_id)
          expect(audited).toEqual([
            { actor_id: mod.user_id, target_id: author.user_id, metadata: { feed_id: feed.feed_id, msg_id: sent.msg_id } }
          ])

          // Unknown and deleted messages, and messages of another feed, are not found everywhere.
          const other = yield* newFeed()
          const foreign = yield* send(author, other.feed_id, { body: "not here" })
          for (const id of [sent.msg_id, foreign.msg_id, 12345n as Snowflake]) {
            expect(yield* failure(edit(author, id, "x"))).toEqual({ code: "MESSAGE_NOT_FOUND" })
            expect(yield* failure(remove(mod, id))).toEqual({ code: "MESSAGE_NOT_FOUND" })
            expect(yield* failure(author.client.call(Messages.addReaction, { params: { ...params(id), emoji: "x" } })))
              .toEqual({ code: "MESSAGE_NOT_FOUND" })
            expect(yield* failure(author.client.call(Messages.removeReaction, { params: { ...params(id), emoji: "x" } })))
              .toEqual({ code: "MESSAGE_NOT_FOUND" })
            expect(yield* failure(mod.client.call(Messages.pinMessage, { params: params(id) }))).toEqual({ code: "MESSAGE_NOT_FOUND" })
            expect(yield* failure(mod.client.call(Messages.unpinMessage, { params: params(id) }))).toEqual({ code: "MESSAGE_NOT_FOUND" })
          }
          expect((yield* history(author, other.feed_id)).map((m) => m.body)).toEqual(["not here"])
        }))

      it.effect("bulk delete: MANAGE_MESSAGES, at most 100, unknown ids skipped, one event and one audit entry", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const other = yield* newFeed()
          const writer = yield* member("bulk")
          const mod = yield* moderator
          const sent = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => send(writer, feed.feed_id, { body: `m${i}` }))
          const foreign = yield* send(writer, other.feed_id, { body: "stays" })
          const doomed = [sent[0]!.msg_id, sent[2]!.msg_id, sent[4]!.msg_id]
          const bulk = (who: Acting, msg_ids: ReadonlyArray<Snowflake>) =>
            who.client.call(Messages.bulkDeleteMessages, { params: { feed_id: feed.feed_id }, body: { msg_ids } })

          expect(yield* failure(bulk(writer, doomed))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_MESSAGES" })
          const tooMany = stringifyJson({ msg_ids: Array.from({ length: 101 }, (_, i) => sent[0]!.msg_id + BigInt(i)) })
          const refused = yield* raw(mod.token, "POST", pathOf(Messages.bulkDeleteMessages, { feed_id: feed.feed_id }), tooMany)
          expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(yield* countMessages(feed.feed_id)).toBe(5)

          yield* bulk(mod, [...doomed, doomed[0]!, foreign.msg_id, 777n as Snowflake])
          expect((yield* history(writer, feed.feed_id)).map((m) => m.body)).toEqual(["m4", "m2"])
          expect((yield* history(writer, other.feed_id)).map((m) => m.body)).toEqual(["stays"])
          const events = yield* eventsOf("MESSAGE_BULK_DELETE", feed.feed_id)
          expect(events.map((e) => e.payload.msg_ids.map(BigInt))).toEqual([doomed])
          const audited = (yield* auditOf("message.bulk_delete")).filter((a) => a.metadata.feed_id === feed.feed_id)
          expect(audited).toEqual([{ actor_id: mod.user_id, target_id: feed.feed_id, metadata: { feed_id: feed.feed_id, count: 3 } }])

          // Nothing left to delete: no event, no entry.
          yield* bulk(mod, doomed)
          expect(yield* eventsOf("MESSAGE_BULK_DELETE", feed.feed_id)).toHaveLength(1)
        }))

      it.effect("reactions: one per user per emoji, grouped in history, removed by their own user", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const a = yield* member("ra")
          const b = yield* member("rb")
          const sent = yield* send(a, feed.feed_id, { body: "react to me" })
          const params = (emoji: string) => ({ feed_id: feed.feed_id, msg_id: sent.msg_id, emoji })
          const react = (who: Acting, emoji: string) => who.client.call(Messages.addReaction, { params: params(emoji) })
          const unreact = (who: Acting, emoji: string) => who.client.call(Messages.removeReaction, { params: params(emoji) })

          yield* react(a, "👍")
          yield* react(b, "👍")
          yield* react(a, "👍") // again: nothing changes
          yield* react(b, "🎉")
          const [shown] = yield* history(a, feed.feed_id)
          expect(shown!.reactions).toEqual([
            { emoji: "👍", count: 2, user_ids: [a.user_id, b.user_id] },
            { emoji: "🎉", count: 1, user_ids: [b.user_id] }
          ])

          // Removing takes away only the caller's own; removing what is not there changes nothing.
          yield* unreact(b, "👍")
          yield* unreact(b, "👍")
          yield* unreact(a, "🎉")
          const [after] = yield* history(b, feed.feed_id)
          expect(after!.reactions).toEqual([
            { emoji: "👍", count: 1, user_ids: [a.user_id] },
            { emoji: "🎉", count: 1, user_ids: [b.user_id] }
          ])
          const added = yield* eventsOf("MESSAGE_REACTION_ADD", feed.feed_id)
          expect(added.map((e) => [e.payload.user_id, e.payload.emoji])).toEqual([[a.user_id, "👍"], [b.user_id, "👍"], [b.user_id, "🎉"]])
          const removed = yield* eventsOf("MESSAGE_REACTION_REMOVE", feed.feed_id)
          expect(removed.map((e) => [e.payload.user_id, e.payload.emoji])).toEqual([[b.user_id, "👍"]])

          // An emoji with whitespace is not an emoji.
          const { status, body } = yield* raw(a.token, "PUT", pathOf(Messages.addReaction, params("a b")))
          expect({ status, code: body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
        }))

      it.effect("pins: MANAGE_MESSAGES, shown in history and the pin list, at most 50 per feed", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const writer = yield* member("pinner")
          const mod = yield* moderator
          const sent = yield* Effect.forEach(Array.from({ length: 51 }, (_, i) => i), (i) => send(writer, feed.feed_id, { body: `m${i}` }))
          const pin = (who: Acting, msg_id: Snowflake) => who.client.call(Messages.pinMessage, { params: { feed_id: feed.feed_id, msg_id } })
          const unpin = (who: Acting, msg_id: Snowflake) => who.client.call(Messages.unpinMessage, { params: { feed_id: feed.feed_id, msg_id } })
          const first = sent[0]!.msg_id

          expect(yield* failure(pin(writer, first))).toEqual({ code: "FORBIDDEN", missing: "MANAGE_MESSAGES" })
          yield* pin(mod, first)
          yield* pin(mod, first) // already pinned: nothing changes
          const pins = (yield* writer.client.call(Messages.listPins, { params: { feed_id: feed.feed_id } })).pins
          expect(pins).toHaveLength(1)
          expect(pins[0]).toMatchObject({ msg_id: first, feed_id: feed.feed_id, pinned_by: mod.user_id })
          const oldest = yield* history(writer, feed.feed_id, { limit: 2, before: sent[1]!.msg_id })
          expect(oldest.map((m) => [m.msg_id, m.pinned])).toEqual([[first, true]])

          yield* unpin(mod, first)
          yield* unpin(mod, first) // not pinned: nothing changes
          expect((yield* writer.client.call(Messages.listPins, { params: { feed_id: feed.feed_id } })).pins).toEqual([])
          expect((yield* eventsOf("MESSAGE_PIN_UPDATE", feed.feed_id)).map((e) => e.payload.pinned)).toEqual([true, false])

          // The limit: 50 pins, the 51st is refused; unpinning one makes room again.
          yield* Effect.forEach(sent.slice(0, 50), (m) => pin(mod, m.msg_id))
          expect(yield* failure(pin(mod, sent[50]!.msg_id))).toEqual({ code: "PIN_LIMIT_REACHED" })
          yield* unpin(mod, sent[0]!.msg_id)
          yield* pin(mod, sent[50]!.msg_id)
          expect((yield* writer.client.call(Messages.listPins, { params: { feed_id: feed.feed_id } })).pins).toHaveLength(50)
          // A deleted message takes its pin with it.
          yield* mod.client.call(Messages.deleteMessage, { params: { feed_id: feed.feed_id, msg_id: sent[50]!.msg_id } })
          expect((yield* writer.client.call(Messages.listPins, { params: { feed_id: feed.feed_id } })).pins).toHaveLength(49)
        }))

      it.effect("history pages with before and after; bad limits are refused", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const writer = yield* member("pager")
          const ids = (yield* Effect.forEach([1, 2, 3, 4, 5], (i) => send(writer, feed.feed_id, { body: `m${i}` }))).map((m) => m.msg_id)
          const [m1, m2, m3, m4, m5] = ids as [Snowflake, Snowflake, Snowflake, Snowflake, Snowflake]
          const page = (query: Messages.HistoryQuery) => Effect.map(history(writer, feed.feed_id, query), (ms) => ms.map((m) => m.msg_id))

          expect(yield* page({})).toEqual([m5, m4, m3, m2, m1])
          expect(yield* page({ limit: 2 })).toEqual([m5, m4])
          expect(yield* page({ limit: 2, before: m4 })).toEqual([m3, m2])
          expect(yield* page({ before: m2 })).toEqual([m1])
          expect(yield* page({ before: m1 })).toEqual([])
          // Only `after`: oldest first, from just after it (catching up forwards).
          expect(yield* page({ after: m2 })).toEqual([m3, m4, m5])
          expect(yield* page({ after: m1, limit: 2 })).toEqual([m2, m3])
          expect(yield* page({ after: m5 })).toEqual([])
          // Both: the messages between them, newest first.
          expect(yield* page({ after: m1, before: m5 })).toEqual([m4, m3, m2])

          const path = pathOf(Messages.getHistory, { feed_id: feed.feed_id })
          for (const query of ["limit=0", "limit=101", "limit=abc", "before=-1", "after=1e20", "before=99999999999999999999999"]) {
            const { status, body } = yield* raw(writer.token, "GET", `${path}?${query}`)
            expect({ query, status, code: body.error.code }).toEqual({ query, status: 400, code: "INVALID_BODY" })
          }
        }))

      it.effect("message ids are snowflakes above 2^53, exact in JSON both ways", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const writer = yield* member("exact")
          const path = pathOf(Messages.sendMessage, { feed_id: feed.feed_id })

          const created = yield* raw(writer.token, "POST", path, stringifyJson({ body: "big" }))
          expect(created.status).toBe(201)
          const id = created.body.msg_id as bigint
          expect(typeof id).toBe("bigint")
          expect(id > 2n ** 53n).toBe(true)
          expect(created.text).toContain(`"msg_id":${id.toString()}`)

          // The id goes back in a body (reply_to, bare digits) and in a path, and comes out unchanged.
          const reply = yield* raw(writer.token, "POST", path, `{"body":"re","reply_to":${id.toString()}}`)
          expect(reply.status).toBe(201)
          const listed = yield* raw(writer.token, "GET", `${pathOf(Messages.getHistory, { feed_id: feed.feed_id })}?after=${(id - 1n).toString()}`)
          expect(listed.status).toBe(200)
          expect(listed.text).toContain(`"msg_id":${id.toString()},`)
          expect(listed.text).toContain(`"reply_to":${id.toString()},`)
          expect(listed.body.messages.map((m: any) => m.msg_id)).toEqual([id, reply.body.msg_id])
          const edited = yield* raw(writer.token, "PATCH", pathOf(Messages.editMessage, { feed_id: feed.feed_id, msg_id: id }), `{"body":"bigger"}`)
          expect(edited.status).toBe(200)
          expect(edited.text).toContain(`"msg_id":${id.toString()}`)

          // A neighbour of the id (what a double would round it to) is another, unknown message.
          const rounded = BigInt(Number(id))
          if (rounded !== id) {
            const wrong = yield* raw(writer.token, "PATCH", pathOf(Messages.editMessage, { feed_id: feed.feed_id, msg_id: rounded }), `{"body":"x"}`)
            expect(wrong.body.error.code).toBe("MESSAGE_NOT_FOUND")
          }
          // An id spelled with an exponent has lost its digits: refused rather than rounded.
          const lossy = yield* raw(writer.token, "POST", path, `{"body":"re","reply_to":${Number(id).toExponential()}}`)
          expect({ status: lossy.status, code: lossy.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
        }))

      it.effect("a deleted feed's messages are no longer readable", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* newFeed()
          const writer = yield* member("gone")
          const sent = yield* send(writer, feed.feed_id, { body: "soon gone" })
          yield* boss.client.call(Spaces.deleteFeed, { params: { feed_id: feed.feed_id } })
          expect(yield* failure(history(writer, feed.feed_id))).toEqual({ code: "SPACE_NOT_FOUND" })
          expect(yield* failure(send(writer, feed.feed_id, { body: "x" }))).toEqual({ code: "SPACE_NOT_FOUND" })
          expect(yield* failure(writer.client.call(Messages.listPins, { params: { feed_id: feed.feed_id } }))).toEqual({ code: "SPACE_NOT_FOUND" })
          expect(yield* failure(writer.client.call(Messages.editMessage, {
            params: { feed_id: feed.feed_id, msg_id: sent.msg_id },
            body: { body: "x" }
          }))).toEqual({ code: "SPACE_NOT_FOUND" })
        }))

      it.effect("sends arriving together are committed together, yet each fails alone and a nonce stays one message", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed()
          const posters = yield* Effect.all(Array.from({ length: 4 }, () => member("batch")), { concurrency: 4 })
          const [alice] = posters
          const good = (i: number) => Effect.either(send(posters[i % 4]!, feed.feed_id, { body: `good ${i}` }))
          const bad: Array<[string, Messages.SendMessage]> = [
            ["EMPTY_MESSAGE", { body: "   " }],
            ["MESSAGE_NOT_FOUND", { body: "re", reply_to: 123n as Snowflake }],
            ["USER_NOT_FOUND", { body: "hi", mentions: [{ user_id: 3_999_999 as UserId }] }],
            ["FORBIDDEN", { body: "all", mentions: [{ everyone: true }] }]
          ]
          // Everything at once: the good, the bad, and one nonce sent six times.
          const results = yield* Effect.all([
            ...Array.from({ length: 40 }, (_, i) => good(i)),
            ...bad.map(([, body]) => Effect.either(send(alice!, feed.feed_id, body))),
            ...Array.from({ length: 6 }, () => Effect.either(send(alice!, feed.feed_id, { body: "once", nonce: "batched" })))
          ], { concurrency: "unbounded" })
          const goods = results.slice(0, 40)
          expect(goods.every((r) => r._tag === "Right")).toBe(true)
          expect(results.slice(40, 44).map((r) => r._tag === "Left" ? (r.left as { code?: string }).code : "sent"))
            .toEqual(bad.map(([code]) => code))
          const nonced = results.slice(44).map((r) => (r._tag === "Right" ? r.right : undefined))
          expect(new Set(nonced.map((r) => r?.msg_id)).size).toBe(1)
          expect(nonced[0]).toBeDefined()

          // 41 messages, each committed with its one event, in id order.
          expect(yield* countMessages(feed.feed_id)).toBe(41)
          const committed = (yield* eventsOf("MESSAGE_CREATE", feed.feed_id)).map((e) => BigInt(e.payload.msg_id))
          expect(committed).toHaveLength(41)
          expect(ascending(committed)).toBe(true)
          const acked = [...goods.map((r) => (r._tag === "Right" ? r.right.msg_id : 0n)), nonced[0]!.msg_id]
          expect([...committed].sort(byId)).toEqual(acked.sort(byId))
        }))

      it.effect("slowmode: one message per member per slowmode_seconds in the feed and its threads; moderators exempt", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("slow"), type: "text", slowmode_seconds: 60 } })
          const calm = yield* newFeed()
          const alice = yield* member("slow")
          const bob = yield* member("slow")
          const mod = yield* moderator
          const spaces = yield* member("spaces")
          const role = yield* boss.client.call(Roles.createRole, { body: { name: uniqueName("feed-admins"), permissions: Permission.MANAGE_SPACES } })
          yield* boss.client.call(Roles.assignRole, { params: { user_id: spaces.user_id, role_id: role.role_id } })

          const first = yield* send(alice, feed.feed_id, { body: "first", nonce: "slow-1" })
          // Refused with 429 RATE_LIMITED and how long to wait; the wait is the rest of the minute.
          const path = pathOf(Messages.sendMessage, { feed_id: feed.feed_id })
          const refused = yield* raw(alice.token, "POST", path, stringifyJson({ body: "second" }))
          expect(refused.status).toBe(429)
          expect(refused.body.error.code).toBe("RATE_LIMITED")
          expect(refused.body.error.retry_after_ms).toBeGreaterThan(50_000)
          expect(refused.body.error.retry_after_ms).toBeLessThanOrEqual(60_000)
          // A retry of the message that went through is answered, not held back.
          expect(yield* send(alice, feed.feed_id, { body: "first", nonce: "slow-1" })).toEqual(first)
          // The feed's threads count: the thread is made from bob's message, alice still waits.
          const parent = yield* send(bob, feed.feed_id, { body: "thread me" })
          const thread = yield* bob.client.call(Threads.createThread, {
            params: { feed_id: feed.feed_id },
            body: { parent_msg_id: parent.msg_id, name: "slow thread" }
          })
          const inThread = (who: Acting, body: string) =>
            who.client.call(Threads.sendThreadMessage, { params: { feed_id: feed.feed_id, thread_id: thread.thread_id }, body: { body } })
          expect(yield* failure(inThread(alice, "sneaky"))).toEqual({ code: "RATE_LIMITED" })
          expect(yield* failure(inThread(bob, "again"))).toEqual({ code: "RATE_LIMITED" })
          // Other feeds are their own.
          yield* send(alice, calm.feed_id, { body: "elsewhere" })
          yield* send(alice, calm.feed_id, { body: "elsewhere again" })
          // MANAGE_MESSAGES and MANAGE_SPACES holders, and the owner, are not held back.
          for (const who of [mod, spaces, boss]) {
            yield* send(who, feed.feed_id, { body: "one" })
            yield* send(who, feed.feed_id, { body: "two" })
          }
          yield* inThread(mod, "and in the thread")

          // Sends racing each other: exactly one gets through.
          const carol = yield* member("slow")
          const raced = yield* Effect.all(
            Array.from({ length: 8 }, (_, i) => Effect.either(send(carol, feed.feed_id, { body: `race ${i}` }))),
            { concurrency: "unbounded" }
          )
          expect(raced.filter((r) => r._tag === "Right")).toHaveLength(1)
          expect(raced.filter((r) => r._tag === "Left").map((r) => (r as any).left.code)).toEqual(Array(7).fill("RATE_LIMITED"))

          // Slowmode turned on counts what was sent before it; turned off, nobody waits.
          yield* send(carol, calm.feed_id, { body: "before" })
          yield* boss.client.call(Spaces.updateFeed, { params: { feed_id: calm.feed_id }, body: { slowmode_seconds: 30 } })
          expect(yield* failure(send(carol, calm.feed_id, { body: "after" }))).toEqual({ code: "RATE_LIMITED" })
          yield* boss.client.call(Spaces.updateFeed, { params: { feed_id: feed.feed_id }, body: { slowmode_seconds: 0 } })
          yield* send(alice, feed.feed_id, { body: "free again" })
          yield* send(alice, feed.feed_id, { body: "and again" })

          // Once the slowmode has passed, the member may send again.
          yield* boss.client.call(Spaces.updateFeed, { params: { feed_id: calm.feed_id }, body: { slowmode_seconds: 3 } })
          yield* Effect.sleep("3100 millis")
          yield* send(carol, calm.feed_id, { body: "patient" })
          expect(yield* failure(send(carol, calm.feed_id, { body: "impatient" }))).toEqual({ code: "RATE_LIMITED" })
        }), 120_000)
    })

    // A fresh server whose limits the tests lower.
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("max_message_length counts characters; max_reactions_per_message counts distinct emoji", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          yield* boss.client.call(ServerApi.updateLimits, { body: { max_message_length: 10, max_reactions_per_message: 2 } })
          const feed = yield* newFeed()
          const writer = yield* member("limited")
          const other = yield* member("other")

          // Ten characters pass even when they are astral (20 UTF-16 units); eleven do not.
          yield* send(writer, feed.feed_id, { body: "0123456789" })
          yield* send(writer, feed.feed_id, { body: "😀".repeat(10) })
          expect(yield* failure(send(writer, feed.feed_id, { body: "0123456789a" }))).toEqual({ code: "MESSAGE_TOO_LARGE" })
          const sent = yield* send(writer, feed.feed_id, { body: "edit me" })
          const edit = (body: string) =>
            writer.client.call(Messages.editMessage, { params: { feed_id: feed.feed_id, msg_id: sent.msg_id }, body: { body } })
          expect(yield* failure(edit("way too long now"))).toEqual({ code: "MESSAGE_TOO_LARGE" })
          yield* edit("short")

          const react = (who: Acting, emoji: string) =>
            who.client.call(Messages.addReaction, { params: { feed_id: feed.feed_id, msg_id: sent.msg_id, emoji } })
          yield* react(writer, "a")
          yield* react(writer, "b")
          const refused = yield* Effect.flip(react(writer, "c"))
          expect(refused).toMatchObject({ code: "LIMIT_REACHED", limit: "max_reactions_per_message", max: 2 })
          // An emoji already on the message is no new kind: others may still add it.
          yield* react(other, "b")
          const [shown] = yield* history(writer, feed.feed_id, { limit: 1 })
          expect(shown!.reactions.map((r) => [r.emoji, r.count])).toEqual([["a", 1], ["b", 2]])
        }))
    })
  })
}
