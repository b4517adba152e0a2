// The cleanup of stored files end to end: an upload no message takes up within files.unattachedTtl is
// deleted (its download answers 404, its row and its bytes are gone), one a message carries stays, and
// the files of a deleted message, thread or feed go with it: a feed's at once, a message's at once when
// the sweep had already found it carrying them, else once their grace period is over. The sweep runs
// every few milliseconds here; the tests wait for it. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import * as Threads from "../../src/protocol/api/threads.js"
import type { FeedId } from "../../src/protocol/ids.js"
import { stringifyJson } from "../../src/protocol/json.js"
import { snowflakeFromTime } from "../../src/protocol/snowflake.js"
import { makeFileRepo } from "../../src/runtime/files/FileRepo.js"
import { backends } from "../support/backends.js"
import { withSuiteDatabase } from "../support/db.js"
import { download, PNG, storedFiles, uploadFile } from "../support/files.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

/** Long enough to attach a file in a test, short enough to wait out. */
const TTL_MS = 3000

/** A new feed, made by the owner (the first account: registered here unless a test did already). */
const newFeed = Effect.flatMap(owner, (boss) =>
  boss.client.call(Spaces.createFeed, { body: { name: uniqueName("feed"), type: "text" } }))

/** Whether the file's bytes (original or thumbnail) are still on the server's disk. */
const onDisk = (id: string) =>
  Effect.map(TestServer, ({ settings }) => {
    const dir = Path.join(settings.dataDir!, "files", id.slice(2, 4))
    return Fs.existsSync(Path.join(dir, id)) || Fs.existsSync(Path.join(dir, `${id}.thumb`))
  })

const hasRow = (id: string) => Effect.map(storedFiles, (rows) => rows.some((r) => r.id === id))

/** Whether everything of the file is still there: its row, its bytes, and a download of it. */
const kept = (token: string, id: string) =>
  Effect.gen(function* () {
    return { row: yield* hasRow(id), bytes: yield* onDisk(id), download: (yield* download(token, id)).status }
  })
const KEPT = { row: true, bytes: true, download: 200 }
const GONE = { row: false, bytes: false, download: 404 }

/** Waits (up to 10 s) until the file is gone, row and bytes. */
const gone = (id: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200; i++) {
      if (!(yield* hasRow(id)) && !(yield* onDisk(id))) return
      yield* Effect.sleep("50 millis")
    }
    expect.fail(`file ${id} is still stored`)
  })

const upload = (token: string, feedId: FeedId, data: string | Uint8Array = "some bytes", name = "a.txt") =>
  Effect.map(uploadFile(token, feedId, data, name), (r) => {
    expect(r.status).toBe(201)
    return r.body.file_id as string
  })

for (const backend of backends) {
  describe(`cleanup of stored files on ${backend.name}`, () => {
    layer(TestServerLive(backend, { files: { unattachedTtl: `${TTL_MS} millis`, sweepInterval: "50 millis" } }), {
      excludeTestServices: true
    })((it) => {
      it.effect("an upload no message took up is deleted after files.unattachedTtl; an attached one stays", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed
          const member = yield* newUser("poster")
          const image = yield* upload(member.token, feed.feed_id, PNG, "dot.png")
          const attached = yield* upload(member.token, feed.feed_id, "carried", "b.txt")
          yield* member.client.call(Messages.sendMessage, {
            params: { feed_id: feed.feed_id },
            body: { body: "two files", attachments: [image, attached] }
          })
          const lonely = yield* upload(member.token, feed.feed_id)
          expect(yield* kept(member.token, lonely)).toEqual(KEPT)

          yield* gone(lonely)
          expect(yield* kept(member.token, lonely)).toEqual(GONE)
          // well past the grace period, the carried files (thumbnail included) are all there
          yield* Effect.sleep(`${TTL_MS} millis`)
          expect(yield* kept(member.token, attached)).toEqual(KEPT)
          expect(yield* kept(member.token, image)).toEqual(KEPT)
          expect((yield* download(member.token, `${image}/thumbnail`)).status).toBe(200)
        }), { timeout: 30_000 })

      it.effect("a file leaves with the last message that carries it", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed
          const member = yield* newUser("poster")
          const file = yield* upload(member.token, feed.feed_id)
          const send = Effect.map(
            member.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "", attachments: [file] } }),
            (m) => m.msg_id
          )
          const first = yield* send
          const second = yield* send
          const remove = (msgId: typeof first) =>
            member.client.call(Messages.deleteMessage, { params: { feed_id: feed.feed_id, msg_id: msgId } })

          // past the grace period (the sweep has found a message carrying it by then)
          yield* Effect.sleep(`${TTL_MS + 300} millis`)
          yield* remove(first)
          yield* Effect.sleep("500 millis")
          expect(yield* kept(member.token, file)).toEqual(KEPT)

          yield* remove(second)
          yield* gone(file)
          expect(yield* kept(member.token, file)).toEqual(GONE)
        }), { timeout: 30_000 })

      it.effect("deleting a feed, or a thread, deletes the files its messages carried", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const feed = yield* newFeed
          const carried = yield* upload(boss.token, feed.feed_id)
          const waiting = yield* upload(boss.token, feed.feed_id)
          const root = yield* boss.client.call(Messages.sendMessage, {
            params: { feed_id: feed.feed_id },
            body: { body: "start here", attachments: [carried] }
          })
          const thread = yield* boss.client.call(Threads.createThread, {
            params: { feed_id: feed.feed_id },
            body: { parent_msg_id: root.msg_id, name: "side talk" }
          })
          const inThread = yield* upload(boss.token, feed.feed_id)
          yield* boss.client.call(Threads.sendThreadMessage, {
            params: { feed_id: feed.feed_id, thread_id: thread.thread_id },
            body: { body: "", attachments: [inThread] }
          })
          yield* boss.client.call(Threads.deleteThread, { params: { feed_id: feed.feed_id, thread_id: thread.thread_id } })
          // its messages are gone: the file goes once its grace period is over; the root message's stays
          yield* gone(inThread)
          expect(yield* kept(boss.token, carried)).toEqual(KEPT)

          yield* boss.client.call(Spaces.deleteFeed, { params: { feed_id: feed.feed_id } })
          yield* gone(carried)
          yield* gone(waiting)
          expect(yield* hasRow(carried)).toBe(false)
        }), { timeout: 30_000 })
    })

    layer(TestServerLive(backend, { files: { unattachedTtl: "1 hour", sweepInterval: "1 hour" } }), {
      excludeTestServices: true
    })((it) => {
      it.effect("a send refused for one of its attachments claims none of them; the next send claims them", () =>
        Effect.gen(function* () {
          const feed = yield* newFeed
          const elsewhere = yield* newFeed
          const member = yield* newUser("poster")
          const mine = yield* upload(member.token, feed.feed_id)
          const foreign = yield* upload(member.token, elsewhere.feed_id)
          const carrierOf = (id: string) =>
            withSuiteDatabase((sql) => sql<{ message_id: string | null }>`SELECT CAST(message_id AS TEXT) AS message_id FROM files
              WHERE id = ${id}`).pipe(Effect.map((rows) => rows[0]!.message_id))
          const refused = yield* Effect.flip(member.client.call(Messages.sendMessage, {
            params: { feed_id: feed.feed_id },
            body: { body: "two files", attachments: [mine, foreign] }
          }))
          expect(refused).toMatchObject({ code: "FILE_NOT_FOUND" })
          expect(yield* carrierOf(mine)).toBeNull()
          const sent = yield* member.client.call(Messages.sendMessage, {
            params: { feed_id: feed.feed_id },
            body: { body: "one file", attachments: [mine] }
          })
          expect(yield* carrierOf(mine)).toBe(sent.msg_id.toString())
        }))
    })

    // The sweep and a send attaching an old upload, at once. A PostgreSQL statement sees what had
    // committed when it started, so the sweep's delete could miss a carrying message still being
    // committed. The send claims the file's row in its transaction, as its check that the file exists;
    // the delete waits for that row and then keeps it. (SQLite has one writer at a time: the two cannot
    // interleave there.)
    if (backend.name === "postgres") {
      layer(TestServerLive(backend, { files: { unattachedTtl: "1 hour", sweepInterval: "1 hour" } }), {
        excludeTestServices: true
      })((it) => {
        it.effect("a send committing while the sweep deletes keeps the file it attaches", () =>
          Effect.gen(function* () {
            const feed = yield* newFeed
            const member = yield* newUser("poster")
            const file = yield* upload(member.token, feed.feed_id)
            const outcome = yield* withSuiteDatabase((sql) =>
              Effect.gen(function* () {
                const files = yield* makeFileRepo
                // uploaded long ago: past any grace period
                yield* sql`UPDATE files SET created_at = 0 WHERE id = ${file}`
                const candidate = (yield* files.sweepCandidates(Date.now(), "", 200)).find((f) => f.id === file)!
                expect(candidate).toBeDefined()
                const messageId = snowflakeFromTime(Date.now())
                const claimed = yield* Deferred.make<void>()
                // what a send does, held open while the sweep's delete runs
                const send = sql.withTransaction(Effect.gen(function* () {
                  expect(yield* files.claim({ feed_id: feed.feed_id }, [file], messageId)).toEqual(new Set([file]))
                  yield* Deferred.succeed(claimed, undefined)
                  yield* Effect.sleep("300 millis")
                  yield* sql`INSERT INTO messages (id, feed_id, thread_id, author_id, body, reply_to, mentions, embeds,
                      attachments, components, nonce, created_at, edited_at)
                    VALUES (${messageId.toString()}, ${feed.feed_id}, NULL, ${member.user_id}, ${"attached late"}, NULL, '[]',
                      '[]', ${stringifyJson([file])}, '[]', NULL, ${Date.now()}, NULL)`
                }))
                const sweep = Effect.zipRight(Deferred.await(claimed), files.removeUncarried(candidate))
                const [, removed] = yield* Effect.all([send, sweep], { concurrency: 2 })
                return removed
              }))
            expect(outcome).toBe(false)
            expect(yield* kept(member.token, file)).toEqual(KEPT)
          }))
      })
    }
  })
}
