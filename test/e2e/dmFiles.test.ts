// Files in DMs end to end (issue 6): a participant uploads to the DM and attaches the file to a DM
// message; the DM's participants download it, nobody else does (403, an administrator and a former
// participant included); a DM message carries only files of its own DM, a feed message none of a DM's;
// the size and type rules of feed files hold; and the cleanup sweep removes a DM's unattached files
// and those of deleted DM messages. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as Dms from "../../src/protocol/api/dms.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { DmId } from "../../src/protocol/ids.js"
import { backends } from "../support/backends.js"
import { failure } from "../support/expect.js"
import { download, PNG, staging, storedFiles, uploadDmFile, uploadFile } from "../support/files.js"
import { gatewayFor, nextDispatch } from "../support/gateway.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, owner, TestServerLive } from "../support/server.js"

type Person = Effect.Effect.Success<ReturnType<typeof newUser>>

const openDm = (a: Person, b: Person) => Effect.map(a.client.call(Dms.openDm, { body: { recipient_id: b.user_id } }), (d) => d.dm_id)

/** Uploads to the DM as `who`, expecting 201; the file id. */
const put = (who: { readonly token: string }, dmId: DmId, data: string | Uint8Array, name = "blob.bin") =>
  Effect.map(uploadDmFile(who.token, dmId, data, name), (r) => {
    expect(r.status).toBe(201)
    return r.body.file_id as string
  })

const send = (who: Person, dmId: DmId, body: string, attachments: ReadonlyArray<string>) =>
  who.client.call(Dms.sendDmMessage, { params: { dm_id: dmId }, body: { body, attachments } })

const refusedStatus = (r: { status: number; body: any }) => ({ status: r.status, code: r.body?.error?.code })

for (const backend of backends) {
  describe(`DM files on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("participants upload, attach and download a DM's files; everyone else gets 403", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const [alice, bob, carl] = yield* Effect.all([newUser("alice"), newUser("bob"), newUser("carl")])
          const dmId = yield* openDm(alice, bob)
          const bobGateway = yield* gatewayFor(bob.token)
          yield* nextDispatch(bobGateway, (d) => d.t === "READY")

          // An encrypted file is random bytes to the server: stored and served exactly as sent.
          const sealed = randomBytes(4096)
          const created = yield* uploadDmFile(alice.token, dmId, sealed, "holiday.jpg.enc")
          expect(created.status).toBe(201)
          expect(created.body).toMatchObject({ name: "holiday.jpg.enc", size: 4096, mime: "application/octet-stream", thumbnail_url: null })
          const sealedId = created.body.file_id as string
          const image = yield* uploadDmFile(bob.token, dmId, PNG, "dot.png")
          expect(image.body).toMatchObject({ mime: "image/png", width: 1, height: 1 })
          expect(image.body.thumbnail_url).toMatch(/\/thumbnail$/)
          const rows = (yield* storedFiles).filter((f) => f.id === sealedId || f.id === image.body.file_id)
          expect(rows.map((f) => f.feed_id)).toEqual([null, null])

          const sent = yield* send(alice, dmId, "Y2lwaGVydGV4dA==", [sealedId, image.body.file_id])
          const created_ = yield* nextDispatch(bobGateway, (d) => d.t === "MESSAGE_CREATE" && d.d.dm_id === dmId)
          expect(created_.d.attachments).toEqual([sealedId, image.body.file_id])
          const history = yield* bob.client.call(Dms.getDmHistory, { params: { dm_id: dmId }, query: {} })
          expect(history.messages.find((m) => m.msg_id === sent.msg_id)?.attachments).toEqual([sealedId, image.body.file_id])

          for (const who of [alice, bob]) {
            const got = yield* download(who.token, sealedId)
            expect(got.status).toBe(200)
            expect(got.bytes.equals(sealed)).toBe(true)
            expect((yield* download(who.token, `${image.body.file_id}/thumbnail`)).status).toBe(200)
          }

          // Not a stranger, not the server's owner: a DM is outside the community's permissions.
          for (const who of [carl, boss]) {
            for (const path of [sealedId, image.body.file_id, `${image.body.file_id}/thumbnail`]) {
              const refused = yield* download(who.token, path)
              expect(refusedStatus(refused)).toEqual({ status: 403, code: "FORBIDDEN" })
              expect(refused.bytes.includes(sealed.subarray(0, 64))).toBe(false)
            }
          }

          // A stranger cannot upload to the DM either, whether or not it exists; nothing is kept.
          const before = (yield* storedFiles).length
          expect(refusedStatus(yield* uploadDmFile(carl.token, dmId, "sneaky"))).toEqual({ status: 403, code: "FORBIDDEN" })
          expect(refusedStatus(yield* uploadDmFile(carl.token, 999_999, "sneaky"))).toEqual({ status: 403, code: "FORBIDDEN" })
          expect((yield* storedFiles).length).toBe(before)
          expect(yield* staging).toEqual([])
        }))

      it.effect("a participant who is no member uploads and downloads; one who left a group DM no longer does", () =>
        Effect.gen(function* () {
          const [dana, erin, fred] = yield* Effect.all([newUser("dana"), newUser("erin"), newUser("fred")])
          const group = yield* dana.client.call(Dms.openDm, { body: { recipient_ids: [erin.user_id, fred.user_id] } })
          yield* erin.client.call(Members.leaveServer)
          const fromErin = yield* put(erin, group.dm_id, "from outside the community")
          yield* send(erin, group.dm_id, "aGk=", [fromErin])
          expect((yield* download(fred.token, fromErin)).bytes.toString()).toBe("from outside the community")

          const fromFred = yield* put(fred, group.dm_id, "fred's notes")
          yield* send(fred, group.dm_id, "bm90ZXM=", [fromFred])
          expect((yield* download(erin.token, fromFred)).status).toBe(200)
          yield* fred.client.call(Dms.removeDmRecipient, { params: { dm_id: group.dm_id, user_id: fred.user_id } })
          // Gone from the DM, fred reads its files no more, his own included.
          expect(refusedStatus(yield* download(fred.token, fromFred))).toEqual({ status: 403, code: "FORBIDDEN" })
          expect(refusedStatus(yield* download(fred.token, fromErin))).toEqual({ status: 403, code: "FORBIDDEN" })
          expect(refusedStatus(yield* uploadDmFile(fred.token, group.dm_id, "late"))).toEqual({ status: 403, code: "FORBIDDEN" })
        }))

      it.effect("a DM message carries only its own DM's files, and a feed message none of a DM's", () =>
        Effect.gen(function* () {
          const boss = yield* owner
          const [gus, hal, ida] = yield* Effect.all([newUser("gus"), newUser("hal"), newUser("ida")])
          const dmId = yield* openDm(gus, hal)
          const otherDm = yield* openDm(gus, ida)
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: "dm-files", type: "text" } })
          const feedFile = (yield* uploadFile(gus.token, feed.feed_id, "feed file")).body.file_id as string
          const otherFile = yield* put(gus, otherDm, "for ida")
          const mine = yield* put(gus, dmId, "for hal")

          expect(yield* failure(send(gus, dmId, "eA==", [feedFile]))).toEqual({ code: "FILE_NOT_FOUND" })
          expect(yield* failure(send(gus, dmId, "eA==", [otherFile]))).toEqual({ code: "FILE_NOT_FOUND" })
          expect(yield* failure(send(gus, dmId, "eA==", ["f_AAAAAAAAAAAAAAAAAAAAAA"]))).toEqual({ code: "FILE_NOT_FOUND" })
          const eleven = yield* rawEndpointRequest(Dms.sendDmMessage, { dm_id: dmId }, {
            token: gus.token,
            body: { body: "eA==", attachments: Array.from({ length: 11 }, () => mine) }
          })
          expect(refusedStatus(eleven)).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(yield* failure(gus.client.call(Messages.sendMessage, {
            params: { feed_id: feed.feed_id },
            body: { body: "look", attachments: [mine] }
          }))).toEqual({ code: "FILE_NOT_FOUND" })
          const history = yield* hal.client.call(Dms.getDmHistory, { params: { dm_id: dmId }, query: {} })
          expect(history.messages).toEqual([])

          // A message may be only its files, as in a feed.
          const bare = yield* send(gus, dmId, "", [mine])
          const after = yield* hal.client.call(Dms.getDmHistory, { params: { dm_id: dmId }, query: {} })
          expect(after.messages.map((m) => [m.msg_id, m.body, m.attachments])).toEqual([[bare.msg_id, "", [mine]]])
          expect(yield* failure(send(gus, dmId, "", []))).toEqual({ code: "EMPTY_MESSAGE" })
        }))
    })

    layer(TestServerLive(backend, { files: { maxBytes: 1000, allowedTypes: ["image/*", "application/octet-stream"] } }), {
      excludeTestServices: true
    })((it) => {
      it.effect("a DM's files follow the feed files' size and type rules", () =>
        Effect.gen(function* () {
          const [jon, kay] = yield* Effect.all([newUser("jon"), newUser("kay")])
          const dmId = yield* openDm(jon, kay)
          expect((yield* uploadDmFile(jon.token, dmId, randomBytes(1000))).status).toBe(201)
          const before = (yield* storedFiles).length
          const over = yield* uploadDmFile(jon.token, dmId, randomBytes(1001))
          expect(over.status).toBe(413)
          expect(over.body.error).toMatchObject({ code: "FILE_TOO_LARGE", max_bytes: 1000 })
          const text = yield* uploadDmFile(jon.token, dmId, "plain words", "a.png", "image/png")
          expect(refusedStatus(text)).toEqual({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" })
          expect((yield* uploadDmFile(jon.token, dmId, PNG, "dot.png")).body.mime).toBe("image/png")
          expect((yield* storedFiles).length).toBe(before + 1)
          expect(yield* staging).toEqual([])
        }))
    })

    layer(TestServerLive(backend, { files: { unattachedTtl: "3000 millis", sweepInterval: "50 millis" } }), {
      excludeTestServices: true
    })((it) => {
      it.effect("the sweep removes a DM's unattached files and those of its deleted messages, and keeps the rest", () =>
        Effect.gen(function* () {
          const [lea, max] = yield* Effect.all([newUser("lea"), newUser("max")])
          const dmId = yield* openDm(lea, max)
          const carried = yield* put(lea, dmId, "carried")
          const dropped = yield* put(lea, dmId, "dropped later")
          const lonely = yield* put(lea, dmId, "never sent")
          yield* send(lea, dmId, "a2VlcA==", [carried])
          const doomed = yield* send(lea, dmId, "Z28=", [dropped])
          const has = (id: string) => Effect.map(storedFiles, (rows) => rows.some((r) => r.id === id))
          const waitGone = (id: string) =>
            Effect.gen(function* () {
              for (let i = 0; i < 200 && (yield* has(id)); i++) yield* Effect.sleep("50 millis")
              expect(yield* has(id)).toBe(false)
              expect((yield* download(max.token, id)).status).toBe(404)
            })

          yield* waitGone(lonely)
          // past the grace period the sweep has found the carried files' messages
          yield* Effect.sleep("500 millis")
          expect([yield* has(carried), yield* has(dropped)]).toEqual([true, true])
          yield* lea.client.call(Dms.deleteDmMessage, { params: { dm_id: dmId, msg_id: doomed.msg_id } })
          yield* waitGone(dropped)
          expect((yield* download(max.token, carried)).bytes.toString()).toBe("carried")
        }), { timeout: 30_000 })
    })
  })
}
