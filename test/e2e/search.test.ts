// Message search end to end over HTTP, on SQLite (FTS5) and PostgreSQL (tsvector): issue 4's
// acceptance 3. Search finds by word across the feeds the user may read and never from one they may
// not (hidden by an @everyone override, or readable without its history), with every filter of
// API.md; results are full messages, ranked, and paged by a stable cursor; no input breaks the query.
//
// Messages are sent, edited, pinned, reacted to and deleted through the Feed endpoints, so the index
// is proven to follow the real write paths. A suite connection of our own to the database does only
// what the API cannot: it dates messages back (the time filters need messages seconds apart) and
// fills `attachments` directly (uploading is the files group's), and it writes one row itself to
// show the index follows any writer.
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { VoxClient } from "../../src/client/VoxClient.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { FeedId, RoleId } from "../../src/protocol/ids.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import type { Snowflake } from "../../src/protocol/snowflake.js"
import { backends } from "../support/backends.js"
import { TestServerWithDatabaseLive } from "../support/db.js"
import { newUser, owner, TestServer, uniqueName } from "../support/server.js"

const EVERYONE = 1 as RoleId
const bits = (n: bigint) => n as PermissionSet
const none = bits(0n)

/** 2025-06-01T00:00:00Z in Unix seconds: the time filters work on messages dated from here. */
const T0 = Date.UTC(2025, 5, 1) / 1000

type Query = typeof Messages.SearchQuery.Type

const send = (client: VoxClient, feed: FeedId, body: string, extra: Omit<Messages.SendMessage, "body"> = {}) =>
  Effect.map(client.call(Messages.sendMessage, { params: { feed_id: feed }, body: { body, ...extra } }), (sent) => sent.msg_id)

const exec = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) => Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.orDie)

/** Dates a message back to `at` (Unix seconds, plus some milliseconds). */
const dateBack = (id: Snowflake, at: number) =>
  exec((sql) => sql`UPDATE messages SET created_at = ${at * 1000 + 250} WHERE id = ${id.toString()}`)

/** Attaches file ids to a message as the Feed would store them. */
const attach = (id: Snowflake, fileIds: ReadonlyArray<string>) =>
  exec((sql) => sql`UPDATE messages SET attachments = ${JSON.stringify(fileIds)} WHERE id = ${id.toString()}`)

const FILE_ID = "f_AAAAAAAAAAAAAAAAAAAAAA"

const search = (client: VoxClient, query: Query) => client.call(Messages.searchMessages, { query })

/** The ids a search finds, best first. */
const found = (client: VoxClient, query: Query) =>
  Effect.map(search(client, { limit: 100, ...query }), (r) => r.results.map((m) => m.msg_id))

/** Every result, page after page of `limit`, following the cursor. */
const walk = (client: VoxClient, query: Query, limit: number) =>
  Effect.gen(function* () {
    const all: Array<Snowflake> = []
    let cursor = query.cursor
    for (let pages = 0; pages < 100; pages++) {
      const page = yield* search(client, { ...query, limit, ...(cursor === undefined ? {} : { cursor }) })
      expect(page.results.length).toBeLessThanOrEqual(limit)
      all.push(...page.results.map((m) => m.msg_id))
      if (page.cursor === null) return all
      cursor = page.cursor
    }
    throw new Error("the cursor never ended")
  })

const sorted = (ids: ReadonlyArray<Snowflake>) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/** A word no other message of the suite contains (letters and digits only: one word to both engines). */
const uniqueWord = (prefix: string) => uniqueName(prefix).replaceAll("_", "")

/** The owner (first account), two members, and four feeds: two open, one hidden, one without history. */
const makeCommunity = Effect.gen(function* () {
  const boss = yield* owner
  const alice = yield* newUser("alice")
  const bob = yield* newUser("bob")
  const feed = (name: string) => Effect.map(boss.client.call(Spaces.createFeed, { body: { name, type: "text" } }), (f) => f.feed_id)
  const general = yield* feed("general")
  const random = yield* feed("random")
  const secret = yield* feed("secret")
  const archive = yield* feed("archive")
  yield* boss.client.call(Spaces.setFeedOverride, {
    params: { feed_id: secret, target_type: "role", target_id: EVERYONE },
    body: { allow: none, deny: bits(Permission.VIEW_SPACE) }
  })
  yield* boss.client.call(Spaces.setFeedOverride, {
    params: { feed_id: archive, target_type: "role", target_id: EVERYONE },
    body: { allow: none, deny: bits(Permission.READ_HISTORY) }
  })
  return { owner: boss, alice, bob, general, random, secret, archive }
})

type Community = Effect.Effect.Success<typeof makeCommunity>
const communities = new Map<string, Community>()

/**
 * The suite's community, made by its first test. The tests of a suite share it (registering is slow
 * by design: argon2id); each searches words of its own and leaves permissions as it found them.
 */
const community = Effect.gen(function* () {
  const { url } = yield* TestServer
  const known = communities.get(url)
  if (known !== undefined) return known
  const made = yield* makeCommunity
  communities.set(url, made)
  return made
})

for (const backend of backends) {
  describe(`message search on ${backend.name}`, () => {
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      it.effect("finds by word across readable feeds only, ranked, with every filter", () =>
        Effect.gen(function* () {
          const { owner, alice, bob, general, random, secret, archive } = yield* community
          const a = alice.user_id
          const b = bob.user_id

          const finished = yield* send(alice.client, general, "The deploy finished without errors")
          const rolling = yield* send(bob.client, general, "deploy deploy deploy: rolling back")
          const broke = yield* send(alice.client, random, "Who broke the DEPLOY?")
          const notes = yield* send(bob.client, random, "deploy notes, see the wiki", {
            embeds: [{ url: "https://wiki.example/deploy", title: "Deploy notes" }]
          })
          const hidden = yield* send(owner.client, secret, "deploy keys are in the vault")
          const unread = yield* send(owner.client, archive, "old deploy schedule")
          const deployment = yield* send(bob.client, general, "Deployment is tomorrow")
          yield* send(alice.client, general, "unrelated chatter about lunch")
          yield* attach(broke, [FILE_ID])
          yield* owner.client.call(Messages.pinMessage, { params: { feed_id: random, msg_id: broke } })
          const times: ReadonlyArray<readonly [Snowflake, number]> = [[finished, 0], [rolling, 100], [broke, 200], [notes, 300]]
          for (const [id, offset] of times) yield* dateBack(id, T0 + offset)

          // Across the feeds alice may read, best match first: three "deploy" in a short message
          // outrank one in a longer one. The hidden feed and the one without history never answer.
          const visible = yield* found(alice.client, { query: "deploy" })
          expect(sorted(visible)).toEqual(sorted([finished, rolling, broke, notes]))
          expect(visible[0]).toBe(rolling)
          expect(visible).not.toContain(hidden)
          expect(visible).not.toContain(unread)
          // Case does not matter; the owner (an administrator) reads every feed.
          expect(yield* found(alice.client, { query: "DePlOy" })).toEqual(visible)
          expect(sorted(yield* found(owner.client, { query: "deploy" }))).toEqual(sorted([finished, rolling, broke, notes, hidden, unread]))
          // Every word must appear; a trailing * matches the words it begins; punctuation is ignored.
          expect(yield* found(alice.client, { query: "rolling deploy" })).toEqual([rolling])
          expect(yield* found(alice.client, { query: "deploy lunch" })).toEqual([])
          expect(sorted(yield* found(alice.client, { query: "deploy*" }))).toEqual(sorted([...visible, deployment]))
          expect(yield* found(alice.client, { query: "-deploy \"rolling\"" })).toEqual([rolling])
          expect(yield* found(alice.client, { query: "nothing-matches-this" })).toEqual([])

          // Filters, each alone and together.
          expect(sorted(yield* found(alice.client, { query: "deploy", feed_id: random }))).toEqual(sorted([broke, notes]))
          expect(sorted(yield* found(alice.client, { query: "deploy", author_id: b }))).toEqual(sorted([rolling, notes]))
          expect(sorted(yield* found(alice.client, { query: "deploy", before: T0 + 200 }))).toEqual(sorted([finished, rolling]))
          expect(sorted(yield* found(alice.client, { query: "deploy", after: T0 + 100 }))).toEqual(sorted([broke, notes]))
          expect(yield* found(alice.client, { query: "deploy", after: T0, before: T0 + 200 })).toEqual([rolling])
          expect(yield* found(alice.client, { query: "deploy", has_file: true })).toEqual([broke])
          expect(sorted(yield* found(alice.client, { query: "deploy", has_file: false }))).toEqual(sorted([finished, rolling, notes]))
          expect(yield* found(alice.client, { query: "deploy", has_embed: true })).toEqual([notes])
          expect(sorted(yield* found(alice.client, { query: "deploy", has_embed: false }))).toEqual(sorted([finished, rolling, broke]))
          expect(yield* found(alice.client, { query: "deploy", pinned: true })).toEqual([broke])
          expect(sorted(yield* found(alice.client, { query: "deploy", pinned: false }))).toEqual(sorted([finished, rolling, notes]))
          expect(yield* found(alice.client, { query: "deploy", feed_id: random, author_id: a, pinned: true, has_file: true })).toEqual([broke])
          expect(yield* found(alice.client, { query: "deploy", feed_id: general, has_embed: true })).toEqual([])
          expect(yield* found(owner.client, { query: "vault", feed_id: secret })).toEqual([hidden])

          // A feed the user may not read, named as a filter: refused, naming what is missing.
          const hiddenFeed = yield* search(alice.client, { query: "deploy", feed_id: secret }).pipe(Effect.flip)
          expect(hiddenFeed).toMatchObject({ code: "FORBIDDEN", missing_permission: "VIEW_SPACE" })
          const noHistory = yield* search(alice.client, { query: "deploy", feed_id: archive }).pipe(Effect.flip)
          expect(noHistory).toMatchObject({ code: "FORBIDDEN", missing_permission: "READ_HISTORY" })
          const unknown = yield* search(alice.client, { query: "deploy", feed_id: 4_000_000 as FeedId }).pipe(Effect.flip)
          expect(unknown).toMatchObject({ code: "SPACE_NOT_FOUND" })

          // A permission change is seen by the very next search.
          yield* owner.client.call(Spaces.setFeedOverride, {
            params: { feed_id: secret, target_type: "user", target_id: a },
            body: { allow: bits(Permission.VIEW_SPACE), deny: none }
          })
          expect(yield* found(alice.client, { query: "vault" })).toEqual([hidden])
          expect(yield* found(bob.client, { query: "vault" })).toEqual([])
          yield* owner.client.call(Spaces.deleteFeedOverride, { params: { feed_id: secret, target_type: "user", target_id: a } })
          expect(yield* found(alice.client, { query: "vault" })).toEqual([])
        }))

      it.effect("results are full messages: attachments, embeds, pins, reactions, edits, exact ids", () =>
        Effect.gen(function* () {
          const { owner, alice, bob, random } = yield* community
          const word = uniqueWord("zebra")
          const embed = { url: "https://zoo.example/", title: "Zoo", image: null }
          const id = yield* send(alice.client, random, `look at this ${word}`, { embeds: [embed] })
          yield* attach(id, [FILE_ID])
          yield* owner.client.call(Messages.pinMessage, { params: { feed_id: random, msg_id: id } })
          const react = (client: VoxClient, emoji: string) =>
            client.call(Messages.addReaction, { params: { feed_id: random, msg_id: id, emoji } }).pipe(Effect.zipLeft(Effect.sleep("5 millis")))
          yield* react(bob.client, "👍")
          yield* react(alice.client, "🦓")
          yield* react(alice.client, "👍")
          const edited = yield* alice.client.call(Messages.editMessage, {
            params: { feed_id: random, msg_id: id },
            body: { body: `look at this ${word}, edited` }
          })
          const history = yield* bob.client.call(Messages.getHistory, { params: { feed_id: random }, query: { limit: 1 } })

          const page = yield* search(bob.client, { query: word })
          expect(page).toEqual({
            results: [{
              msg_id: id,
              feed_id: random,
              thread_id: null,
              author_id: alice.user_id,
              body: `look at this ${word}, edited`,
              timestamp: page.results[0]!.timestamp,
              reply_to: null,
              mentions: [],
              embeds: [embed],
              attachments: [FILE_ID],
              components: [],
              edit_timestamp: edited.edit_timestamp,
              pinned: true,
              reactions: [
                { emoji: "👍", count: 2, user_ids: [bob.user_id, alice.user_id] },
                { emoji: "🦓", count: 1, user_ids: [alice.user_id] }
              ],
              federated: false,
              author_address: null
            }],
            cursor: null
          })
          // The same message as history shows it, with an id beyond 2^53 kept exact.
          expect(page.results[0]).toEqual(history.messages[0])
          expect(id > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true)
          expect(Math.abs(page.results[0]!.timestamp - Date.now() / 1000)).toBeLessThan(60)
        }))

      it.effect("pages: default 25, a cursor that walks every result once in rank order, ties newest first", () =>
        Effect.gen(function* () {
          const { alice, general, random } = yield* community
          const word = uniqueWord("walrus")
          // Identical bodies tie (newest first); one match in a longer body ranks lower; more matches higher.
          const short: Array<Snowflake> = []
          for (let i = 0; i < 20; i++) short.push(yield* send(alice.client, i % 2 === 0 ? general : random, `${word} here`))
          const long: Array<Snowflake> = []
          for (let i = 0; i < 8; i++) long.push(yield* send(alice.client, general, `a much longer message that mentions ${word} once`))
          const best = yield* send(alice.client, random, `${word} ${word} ${word}`)

          const first = yield* search(alice.client, { query: word })
          expect(first.results).toHaveLength(25)
          expect(first.cursor).not.toBeNull()
          const all = yield* walk(alice.client, { query: word }, 100)
          expect(all).toEqual([best, ...short.reverse(), ...long.reverse()])
          expect(first.results.map((m) => m.msg_id)).toEqual(all.slice(0, 25))
          const second = yield* search(alice.client, { query: word, cursor: first.cursor! })
          expect(second.results.map((m) => m.msg_id)).toEqual(all.slice(25))
          expect(second.cursor).toBeNull()
          for (const limit of [1, 7]) expect(yield* walk(alice.client, { query: word }, limit)).toEqual(all)

          // A page boundary stays put when more messages arrive: nothing twice, nothing skipped.
          const before = yield* search(alice.client, { query: word, limit: 10 })
          yield* send(alice.client, general, `${word} ${word} ${word} ${word}`)
          yield* send(alice.client, general, `${word} again here`)
          const rest = yield* walk(alice.client, { query: word, cursor: before.cursor! }, 10)
          expect([...before.results.map((m) => m.msg_id), ...rest].filter((id) => all.includes(id))).toEqual(all)

          for (const bad of ["garbage", "eyJzY29yZSI6MX0", Buffer.from("{\"score\":-1,\"id\":\"1\"}").toString("base64url")]) {
            const refused = yield* search(alice.client, { query: word, cursor: bad }).pipe(Effect.flip)
            expect(refused).toMatchObject({ code: "INVALID_BODY", message: "Invalid cursor" })
          }
        }))

      it.effect("no input breaks the query: operators, quotes and syntax of either engine are plain text", () =>
        Effect.gen(function* () {
          const { alice, general } = yield* community
          const word = uniqueWord("otter")
          const id = yield* send(alice.client, general, `the ${word} said "hi" (NEAR) AND *`)
          const hostile = [
            "\"foo\" AND -bar*",
            `"${word}`,
            `${word}"`,
            "*",
            "\"",
            "'",
            "''",
            "\\",
            "NEAR(a b, 2)",
            "body:hi",
            "{body}: hi",
            "^hi",
            "a OR b NOT c",
            "foo & | ! bar:* <-> baz",
            "'); DROP TABLE messages; --",
            "!!!",
            "   ",
            "🙂",
            "\u0301",
            "a\u0301 \u200d ﬁ ① ٣ 𝔘 ß İ",
            "\u0000",
            "x".repeat(256)
          ]
          for (const query of hostile) {
            const page = yield* search(alice.client, { query })
            expect(page.cursor).toBeNull()
          }
          expect(yield* found(alice.client, { query: `"${word}" AND hi*` })).toEqual([id])
          expect(yield* found(alice.client, { query: `${word}: NEAR(hi)` })).toEqual([id])
          expect(yield* found(alice.client, { query: `-${word}` })).toEqual([id])
        }))

      it.effect("both databases split words alike: URLs, addresses, numbers, apostrophes, accents, case", () =>
        Effect.gen(function* () {
          const { alice, general } = yield* community
          const tag = uniqueWord("w")
          const say = (body: string) => send(alice.client, general, `${tag} ${body}`)
          const url = yield* say("see https://docs.example.com/guide-v2 for setup")
          const mail = yield* say("mail ops@example.org about the 3.14 release")
          const quote = yield* say("don't panic — it's fine")
          const accents = yield* say("Café crème at the naïve place")
          const names = yield* say("snake_case and kebab-case names")
          const upper = yield* say("ÉCOLE ouverte")
          const words = (query: string) => found(alice.client, { query: `${tag} ${query}` })

          // As many matches in each: the shorter message ranks first, on both databases.
          expect(yield* words("example")).toEqual([mail, url])
          for (const [query, expected] of [
            ["docs", [url]],
            ["guide", [url]],
            ["v2", [url]],
            ["https", [url]],
            ["ops", [mail]],
            ["org", [mail]],
            ["3.14", [mail]],
            ["14", [mail]],
            ["don", [quote]],
            ["it's", [quote]],
            ["panic", [quote]],
            ["café", [accents]],
            ["cafe", []],
            ["CRÈME", [accents]],
            ["naïve", [accents]],
            ["snake", [names]],
            ["kebab", [names]],
            ["école", [upper]],
            ["ecole", []],
            ["crè*", [accents]]
          ] as const) {
            expect([query, yield* words(query)]).toEqual([query, expected])
          }
          expect(yield* words("case")).toEqual([names])
        }))

      it.effect("the index follows every write: sends, edits, deletes, bulk deletes, and rows written directly", () =>
        Effect.gen(function* () {
          const { owner, alice, general } = yield* community
          const heron = uniqueWord("heron")
          const egret = uniqueWord("egret")
          const id = yield* send(alice.client, general, `a ${heron} flew by`)
          expect(yield* found(alice.client, { query: heron })).toEqual([id])

          yield* alice.client.call(Messages.editMessage, { params: { feed_id: general, msg_id: id }, body: { body: `an ${egret} flew by` } })
          expect(yield* found(alice.client, { query: heron })).toEqual([])
          expect(yield* found(alice.client, { query: egret })).toEqual([id])

          yield* alice.client.call(Messages.deleteMessage, { params: { feed_id: general, msg_id: id } })
          expect(yield* found(alice.client, { query: egret })).toEqual([])

          const many = [yield* send(alice.client, general, `${heron} one`), yield* send(alice.client, general, `${heron} two`)]
          expect(sorted(yield* found(alice.client, { query: heron }))).toEqual(sorted(many))
          yield* owner.client.call(Messages.bulkDeleteMessages, { params: { feed_id: general }, body: { msg_ids: many } })
          expect(yield* found(alice.client, { query: heron })).toEqual([])

          // Any other writer (a restore, a migration, `vox admin`): the database keeps the index.
          const kept = yield* send(alice.client, general, `${egret} stays`)
          yield* exec((sql) => sql`UPDATE messages SET body = ${`${heron} now`} WHERE id = ${kept.toString()}`)
          expect(yield* found(alice.client, { query: heron })).toEqual([kept])
          yield* exec((sql) => sql`DELETE FROM messages WHERE id = ${kept.toString()}`)
          expect(yield* found(alice.client, { query: heron })).toEqual([])
        }))

      it.effect("bad queries are 400: no text, a limit out of range, a malformed filter", () =>
        Effect.gen(function* () {
          const { url } = yield* TestServer
          const { alice } = yield* community
          for (const q of ["", "?query=", "?query=a&limit=0", "?query=a&limit=101", "?query=a&has_file=yes", "?query=a&before=-1", "?query=a&feed_id=x"]) {
            const response = yield* Effect.promise(() =>
              fetch(`${url}/api/v1/messages/search${q}`, { headers: { authorization: `Bearer ${alice.token}` } })
            )
            expect(response.status).toBe(400)
            const body = yield* Effect.promise(() => response.json() as Promise<{ error: { code: string } }>)
            expect(body.error.code).toBe("INVALID_BODY")
          }
        }))
    })
  })
}
