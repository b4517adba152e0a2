// Custom emoji and stickers end to end (issue 4): uploaded by members holding MANAGE_EMOJI as
// multipart PNG, GIF or WebP judged by their bytes, refused past their size (413, before the body is
// read) and count limits, listed, renamed, deleted with their image, served back with safe headers;
// every change an event to every member and an audit entry. Reactions with a custom emoji need it to
// exist here; another server's emoji need USE_EXTERNAL_EMOJI. On SQLite and (when configured) PostgreSQL.
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import sharp from "sharp"
import * as EmojiApi from "../../src/protocol/api/emoji.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import type { Endpoint } from "../../src/protocol/endpoint.js"
import { Permission, type PermissionSet } from "../../src/protocol/permissions.js"
import { uploadBytesRead } from "../../src/runtime/files/upload.js"
import { backends } from "../support/backends.js"
import { auditEntries, countRows, eventsOfType, TestServerWithDatabaseLive, withSuiteDatabase } from "../support/db.js"
import { rawEndpointRequest } from "../support/http.js"
import { BOUNDARY, MULTIPART_TYPE, postMultipart, request } from "../support/multipart.js"
import { newUser, owner, TestServer, uniqueName } from "../support/server.js"

const KiB = 1024
const EVERYONE = 1

/** A square image of `size` pixels in `format`; `noise` makes it incompressible (and so large). */
const image = (format: "png" | "gif" | "webp" | "jpeg", size = 16, noise = false) =>
  Effect.promise(() =>
    (noise
      ? sharp(randomBytes(size * size * 4), { raw: { width: size, height: size, channels: 4 } })
      : sharp({ create: { width: size, height: size, channels: 4, background: { r: 200, g: 40, b: 90, alpha: 1 } } }))
      .toFormat(format)
      .toBuffer()
  )

/** What an image's bytes say it is. */
const imageInfo = (bytes: Buffer) =>
  Effect.promise(async () => {
    const meta = await sharp(bytes).metadata()
    return { format: meta.format, width: meta.width }
  })

/** Emoji and stickers behave alike; this is what tells them apart in the tests. */
interface Kind {
  readonly noun: "emoji" | "sticker"
  readonly path: string
  readonly idKey: "emoji_id" | "sticker_id"
  readonly table: "emoji" | "stickers"
  readonly event: "EMOJI" | "STICKER"
  readonly limit: "max_emoji" | "max_stickers"
  readonly maxBytes: number
  readonly list: Endpoint
  readonly get: Endpoint
  readonly update: Endpoint
  readonly remove: Endpoint
}

const EMOJI: Kind = {
  noun: "emoji",
  path: "/api/v1/emoji",
  idKey: "emoji_id",
  table: "emoji",
  event: "EMOJI",
  limit: "max_emoji",
  maxBytes: 256 * KiB,
  list: EmojiApi.listEmoji,
  get: EmojiApi.getEmoji,
  update: EmojiApi.updateEmoji,
  remove: EmojiApi.deleteEmoji
}

const STICKER: Kind = {
  noun: "sticker",
  path: "/api/v1/stickers",
  idKey: "sticker_id",
  table: "stickers",
  event: "STICKER",
  limit: "max_stickers",
  maxBytes: 512 * KiB,
  list: EmojiApi.listStickers,
  get: EmojiApi.getSticker,
  update: EmojiApi.updateSticker,
  remove: EmojiApi.deleteSticker
}

const upload = (kind: Kind, token: string, name: string | undefined, data: Uint8Array | string, filename = "image.png", type = "image/png") =>
  postMultipart(kind.path, token, [
    ...(name === undefined ? [] : [{ name: "name", data: name }]),
    { name: "image", filename, contentType: type, data }
  ])

/** A name that is a valid emoji shortcode and unique in this process. */
const shortcode = (prefix: string) => uniqueName(prefix)

/** Uploads in progress: none may be left behind by a refused one. */
const staging = Effect.map(TestServer, ({ settings }) => Fs.readdirSync(Path.join(settings.dataDir!, "files", "tmp")))

/** Where the local file store keeps an image. */
const storedAt = (imageId: string) =>
  Effect.map(TestServer, ({ settings }) => Path.join(settings.dataDir!, "files", imageId.slice(2, 4), imageId))

const imageIdOf = (kind: Kind, id: number) =>
  withSuiteDatabase((sql) => sql<{ image_id: string }>`SELECT image_id FROM ${sql(kind.table)} WHERE id = ${id}`).pipe(
    Effect.map((rows) => rows[0]!.image_id)
  )

const bytesRead = Effect.map(Metric.value(uploadBytesRead), (state) => state.count)

/**
 * Announces a `declared`-byte upload, sends its first 64 KiB and waits for the answer over a bare
 * socket (fetch would insist on sending everything it announced).
 */
const declaredUpload = (path: string, token: string, declared: number) =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(() =>
      new Promise<{ status: number; body: any }>((resolve) => {
        const { hostname, port } = new URL(url)
        const socket = Net.connect(Number(port), hostname)
        let response = Buffer.alloc(0)
        const timer = setTimeout(() => socket.destroy(), 30_000)
        socket.on("data", (data) => (response = Buffer.concat([response, data])))
        socket.on("error", () => {}) // ECONNRESET once the server has hung up
        socket.on("close", () => {
          clearTimeout(timer)
          const text = response.toString()
          const split = text.indexOf("\r\n\r\n")
          const body = split < 0 ? "" : text.slice(split + 4)
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: body.startsWith("{") ? JSON.parse(body) : body })
        })
        socket.on("connect", () => {
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
              `Content-Type: ${MULTIPART_TYPE}\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n` +
              `--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n\r\n`
          )
          socket.write(Buffer.alloc(64 * KiB))
        })
      })
    ))

/** A member holding exactly @everyone's permissions. */
const plainMember = newUser("plain")

for (const backend of backends) {
  describe(`custom emoji and stickers on ${backend.name}`, () => {
    layer(TestServerWithDatabaseLive(backend), { excludeTestServices: true })((it) => {
      for (const kind of [EMOJI, STICKER]) {
        it.effect(`${kind.noun}: uploaded, listed, read, downloaded, renamed and deleted with its image; every change an event and an audit entry`, () =>
          Effect.gen(function* () {
            const admin = yield* owner
            const viewer = yield* plainMember
            const name = shortcode("wave")
            const png = yield* image("png")

            const created = yield* upload(kind, admin.token, name, png)
            expect(created.status).toBe(201)
            const id: number = created.body[kind.idKey]
            const item = { [kind.idKey]: id, name, creator_id: admin.user_id, image: `${kind.path}/${id}/image`, created_at: expect.any(Number) }
            expect(created.body).toEqual(item)
            expect(Math.abs(created.body.created_at - Date.now() / 1000)).toBeLessThan(60)

            // Any member lists it, reads it and downloads its image.
            const listed = yield* rawEndpointRequest(kind.list, {}, { token: viewer.token })
            expect(listed.status).toBe(200)
            expect(listed.body.items).toContainEqual(item)
            const got = yield* rawEndpointRequest(kind.get, { [kind.idKey]: id }, { token: viewer.token })
            expect({ status: got.status, body: got.body }).toEqual({ status: 200, body: item })
            const served = yield* request("GET", created.body.image, { token: viewer.token })
            expect(served.status).toBe(200)
            expect(Object.fromEntries(served.headers)).toMatchObject({
              "content-type": "image/png",
              "content-length": String(served.bytes.length),
              "content-disposition": `inline; filename="${name}.png"; filename*=UTF-8''${name}.png`,
              "x-content-type-options": "nosniff"
            })
            expect(yield* imageInfo(served.bytes)).toEqual({ format: "png", width: 16 })
            // Not for anyone without an account.
            expect((yield* request("GET", created.body.image)).status).toBe(401)

            const renamed = yield* rawEndpointRequest(kind.update, { [kind.idKey]: id }, { token: admin.token, body: { name: `${name}_v2` } })
            expect({ status: renamed.status, body: renamed.body }).toEqual({ status: 200, body: { ...item, name: `${name}_v2` } })

            const imageId = yield* imageIdOf(kind, id)
            expect(Fs.existsSync(yield* storedAt(imageId))).toBe(true)
            const deleted = yield* rawEndpointRequest(kind.remove, { [kind.idKey]: id }, { token: admin.token })
            expect(deleted.status).toBe(204)
            const notFound = `${kind.event}_NOT_FOUND`
            const gone = yield* rawEndpointRequest(kind.get, { [kind.idKey]: id }, { token: viewer.token })
            expect({ status: gone.status, code: gone.body.error.code }).toEqual({ status: 404, code: notFound })
            const goneImage = yield* request("GET", created.body.image, { token: viewer.token })
            expect({ status: goneImage.status, code: goneImage.body.error.code }).toEqual({ status: 404, code: notFound })
            const again = yield* rawEndpointRequest(kind.remove, { [kind.idKey]: id }, { token: admin.token })
            expect({ status: again.status, code: again.body.error.code }).toEqual({ status: 404, code: notFound })
            expect((yield* rawEndpointRequest(kind.list, {}, { token: viewer.token })).body.items.map((e: any) => e[kind.idKey])).not.toContain(id)
            // Its image went with it.
            expect(Fs.existsSync(yield* storedAt(imageId))).toBe(false)

            // Every member hears of each change.
            const mine = (type: string) =>
              Effect.map(eventsOfType(`${kind.event}_${type}`), (events) => events.filter((e) => e.payload[kind.idKey] === id))
            expect(yield* mine("CREATE")).toEqual([{ payload: { ...item, created_at: created.body.created_at }, audience: { _tag: "server" } }])
            expect((yield* mine("UPDATE")).map((e) => e.payload.name)).toEqual([`${name}_v2`])
            expect(yield* mine("DELETE")).toEqual([{ payload: { [kind.idKey]: id }, audience: { _tag: "server" } }])

            const audit = yield* auditEntries((sql) => sql`event_type LIKE ${`${kind.noun}.%`} AND target_id = ${id}`)
            expect(audit).toEqual([
              { event_type: `${kind.noun}.create`, actor_id: admin.user_id, target_id: id, metadata: { [kind.idKey]: id, name } },
              {
                event_type: `${kind.noun}.update`,
                actor_id: admin.user_id,
                target_id: id,
                metadata: { [kind.idKey]: id, name: `${name}_v2`, previous_name: name }
              },
              { event_type: `${kind.noun}.delete`, actor_id: admin.user_id, target_id: id, metadata: { [kind.idKey]: id, name: `${name}_v2` } }
            ])
          }))
      }

      it.effect("GIF and WebP are accepted and served as what their bytes are; a PNG called .txt is a PNG", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          for (const [format, type] of [["gif", "image/gif"], ["webp", "image/webp"]] as const) {
            const created = yield* upload(EMOJI, admin.token, shortcode(format), yield* image(format), `x.${format}`, type)
            expect(created.status).toBe(201)
            const served = yield* request("GET", created.body.image, { token: admin.token })
            expect(served.headers.get("content-type")).toBe(type)
            expect((yield* imageInfo(served.bytes)).format).toBe(format)
          }
          const disguised = yield* upload(EMOJI, admin.token, shortcode("disguised"), yield* image("png"), "notes.txt", "text/plain")
          expect(disguised.status).toBe(201)
          expect((yield* request("GET", disguised.body.image, { token: admin.token })).headers.get("content-type")).toBe("image/png")
        }))

      it.effect("JPEG, SVG, text and damaged images are refused by their bytes, whatever they are called", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const before = yield* countRows("emoji")
          const svg = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
          const png = yield* image("png")
          const cases: ReadonlyArray<readonly [string, Uint8Array | string]> = [
            ["photo", yield* image("jpeg")],
            ["vector", svg],
            ["words", "just some text"],
            ["damaged", Buffer.concat([png.subarray(0, 40), Buffer.alloc(40)])]
          ]
          for (const [what, data] of cases) {
            for (const kind of [EMOJI, STICKER]) {
              const refused = yield* upload(kind, admin.token, shortcode(what), data, "looks.png", "image/png")
              expect({ what, status: refused.status, code: refused.body.error.code, path: refused.body.error.issues?.[0]?.path })
                .toEqual({ what, status: 400, code: "INVALID_BODY", path: ["image"] })
            }
          }
          expect(yield* countRows("emoji")).toBe(before)
          expect(yield* staging).toEqual([])
        }))

      it.effect("names: emoji shortcodes are letters, digits and underscores, unique ignoring case; sticker names are free", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const png = yield* image("png")
          for (const bad of ["a", "has space", "dash-es", "x".repeat(33), "émoji", ""]) {
            const refused = yield* upload(EMOJI, admin.token, bad, png)
            expect({ bad, status: refused.status, code: refused.body.error.code }).toEqual({ bad, status: 400, code: "INVALID_BODY" })
          }
          const missing = yield* upload(EMOJI, admin.token, undefined, png)
          expect({ status: missing.status, code: missing.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          const noImage = yield* postMultipart(EMOJI.path, admin.token, [{ name: "name", data: shortcode("empty") }])
          expect({ status: noImage.status, message: noImage.body.error.message }).toEqual({ status: 400, message: 'The "image" field is missing.' })
          const json = yield* request("POST", EMOJI.path, { token: admin.token, body: Buffer.from(`{"name":"x"}`), contentType: "application/json" })
          expect({ status: json.status, code: json.body.error.code }).toEqual({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" })

          const name = shortcode("Taken")
          expect((yield* upload(EMOJI, admin.token, name, png)).status).toBe(201)
          const taken = yield* upload(EMOJI, admin.token, name.toLowerCase(), png)
          expect({ status: taken.status, code: taken.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          const other = yield* upload(EMOJI, admin.token, shortcode("other"), png)
          const clash = yield* rawEndpointRequest(EmojiApi.updateEmoji, { emoji_id: other.body.emoji_id }, { token: admin.token, body: { name: name.toUpperCase() } })
          expect({ status: clash.status, code: clash.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          // Its own name in another case is fine.
          const recased = yield* admin.client.call(EmojiApi.updateEmoji, { params: { emoji_id: other.body.emoji_id }, body: { name: other.body.name.toUpperCase() } })
          expect(recased.name).toBe(other.body.name.toUpperCase())

          // Sticker names are text, and two stickers may share one.
          expect((yield* upload(STICKER, admin.token, "Happy Vox ✓", png)).status).toBe(201)
          expect((yield* upload(STICKER, admin.token, "Happy Vox ✓", png)).status).toBe(201)
          const blank = yield* upload(STICKER, admin.token, "   ", png)
          expect({ status: blank.status, code: blank.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(yield* staging).toEqual([])
        }))

      it.effect("a member without MANAGE_EMOJI may look but not change; a role with it may", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const member = yield* newUser("emojiless")
          const png = yield* image("png")
          const existing = yield* upload(EMOJI, admin.token, shortcode("kept"), png)
          const id = existing.body.emoji_id
          const forbidden = { status: 403, code: "FORBIDDEN", missing: "MANAGE_EMOJI" }
          const verdict = (r: { status: number; body: any }) => ({ status: r.status, code: r.body.error?.code, missing: r.body.error?.missing_permission })

          for (const kind of [EMOJI, STICKER]) expect(verdict(yield* upload(kind, member.token, shortcode("nope"), png))).toEqual(forbidden)
          expect(verdict(yield* rawEndpointRequest(EmojiApi.updateEmoji, { emoji_id: id }, { token: member.token, body: { name: "renamed" } }))).toEqual(forbidden)
          expect(verdict(yield* rawEndpointRequest(EmojiApi.deleteEmoji, { emoji_id: id }, { token: member.token }))).toEqual(forbidden)
          expect((yield* member.client.call(EmojiApi.getEmoji, { params: { emoji_id: id } })).name).toBe(existing.body.name)
          expect((yield* request("GET", existing.body.image, { token: member.token })).status).toBe(200)

          const role = yield* admin.client.call(Roles.createRole, { body: { name: "emoji keeper", permissions: Permission.MANAGE_EMOJI as PermissionSet } })
          yield* admin.client.call(Roles.assignRole, { params: { user_id: member.user_id, role_id: role.role_id } })
          const allowed = yield* upload(EMOJI, member.token, shortcode("mine"), png)
          expect(allowed.status).toBe(201)
          expect(allowed.body.creator_id).toBe(member.user_id)
          yield* member.client.call(EmojiApi.deleteEmoji, { params: { emoji_id: id } })
        }))

      it.effect("an image past the size limit is refused with 413 before its body is read", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          // A real PNG bigger than an emoji may be, smaller than a sticker may be.
          const big = yield* image("png", 280, true)
          expect(big.length).toBeGreaterThan(EMOJI.maxBytes)
          expect(big.length).toBeLessThan(STICKER.maxBytes)
          const refused = yield* upload(EMOJI, admin.token, shortcode("big"), big)
          expect(refused.status).toBe(413)
          expect(refused.body.error).toEqual({ code: "FILE_TOO_LARGE", message: expect.any(String), max_bytes: EMOJI.maxBytes })
          expect((yield* upload(STICKER, admin.token, "big", big)).status).toBe(201)

          // Announced by Content-Length: refused before one byte of the body is read.
          for (const kind of [EMOJI, STICKER]) {
            const before = yield* bytesRead
            const declared = yield* declaredUpload(kind.path, admin.token, 8 * 1024 * KiB)
            expect(declared.status).toBe(413)
            expect(declared.body.error).toMatchObject({ code: "FILE_TOO_LARGE", max_bytes: kind.maxBytes })
            expect((yield* bytesRead) - before).toBe(0)
          }
          expect(yield* staging).toEqual([])
        }))

      it.effect("the server limits max_emoji and max_stickers cap how many there are (LIMIT_REACHED)", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const png = yield* image("png")
          for (const kind of [EMOJI, STICKER]) {
            const count = yield* countRows(kind.table)
            yield* admin.client.call(ServerApi.updateLimits, { body: { [kind.limit]: count + 1 } })
            expect((yield* upload(kind, admin.token, shortcode("last"), png)).status).toBe(201)
            const refused = yield* upload(kind, admin.token, shortcode("over"), png)
            expect({ status: refused.status, error: refused.body.error })
              .toEqual({ status: 400, error: { code: "LIMIT_REACHED", message: expect.any(String), limit: kind.limit, max: count + 1 } })
            expect(yield* countRows(kind.table)).toBe(count + 1)
            yield* admin.client.call(ServerApi.updateLimits, { body: { [kind.limit]: ServerApi.DEFAULT_LIMITS[kind.limit] } })
          }
          expect(yield* staging).toEqual([])
        }))

      it.effect("reactions: a custom emoji must exist here under its name; another server's needs USE_EXTERNAL_EMOJI", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const member = yield* newUser("reactor")
          const feed = yield* admin.client.call(Spaces.createFeed, { body: { name: uniqueName("reactions"), type: "text" } })
          const sent = yield* member.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body: "react here" } })
          const created = yield* upload(EMOJI, admin.token, shortcode("party"), yield* image("png"))
          const { emoji_id, name } = created.body as { emoji_id: EmojiApi.EmojiId; name: string }
          const react = (emoji: string) =>
            rawEndpointRequest(Messages.addReaction, { feed_id: feed.feed_id, msg_id: sent.msg_id, emoji }, { token: member.token })
          const verdict = (r: { status: number; body: any }) => ({ status: r.status, code: r.body?.error?.code })

          expect((yield* react(`${name}:${emoji_id}`)).status).toBe(204)
          const [shown] = (yield* member.client.call(Messages.getHistory, { params: { feed_id: feed.feed_id }, query: {} })).messages
          expect(shown!.reactions).toEqual([{ emoji: `${name}:${emoji_id}`, count: 1, user_ids: [member.user_id] }])

          expect(verdict(yield* react(`${name}:4294967295`))).toEqual({ status: 404, code: "EMOJI_NOT_FOUND" })
          expect(verdict(yield* react(`someone_else:${emoji_id}`))).toEqual({ status: 404, code: "EMOJI_NOT_FOUND" })
          expect(verdict(yield* react(`${name}:`))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect(verdict(yield* react("a:b"))).toEqual({ status: 400, code: "INVALID_BODY" })
          expect((yield* react("🎉")).status).toBe(204)

          // Another server's emoji: @everyone holds USE_EXTERNAL_EMOJI by default; denied in the feed, it is refused.
          expect((yield* react("blobcat:7@remote.example")).status).toBe(204)
          yield* admin.client.call(Spaces.setFeedOverride, {
            params: { feed_id: feed.feed_id, target_type: "role", target_id: EVERYONE },
            body: { allow: 0n as PermissionSet, deny: Permission.USE_EXTERNAL_EMOJI as PermissionSet }
          })
          const external = yield* react("blobcat:8@remote.example")
          expect({ ...verdict(external), missing: external.body.error.missing_permission })
            .toEqual({ status: 403, code: "FORBIDDEN", missing: "USE_EXTERNAL_EMOJI" })
          // This server's own emoji are not external.
          expect((yield* react(`${name}:${emoji_id}`)).status).toBe(204)

          // Once deleted, an emoji cannot be reacted with; reactions already made can still be taken back.
          yield* admin.client.call(EmojiApi.deleteEmoji, { params: { emoji_id } })
          expect(verdict(yield* react(`${name}:${emoji_id}`))).toEqual({ status: 404, code: "EMOJI_NOT_FOUND" })
          yield* member.client.call(Messages.removeReaction, { params: { feed_id: feed.feed_id, msg_id: sent.msg_id, emoji: `${name}:${emoji_id}` } })
          const [after] = (yield* member.client.call(Messages.getHistory, { params: { feed_id: feed.feed_id }, query: {} })).messages
          expect(after!.reactions.map((r) => r.emoji)).toEqual(["🎉", "blobcat:7@remote.example"])
        }))

      it.effect("lists page in id order with a cursor", () =>
        Effect.gen(function* () {
          const admin = yield* owner
          const png = yield* image("png")
          for (const i of [1, 2, 3]) yield* upload(EMOJI, admin.token, shortcode(`page${i}`), png)
          const all = yield* admin.client.call(EmojiApi.listEmoji, { query: { limit: 200 } })
          const seen: Array<number> = []
          let after: string | undefined
          for (;;) {
            const page = yield* admin.client.call(EmojiApi.listEmoji, { query: after === undefined ? { limit: 2 } : { limit: 2, after } })
            seen.push(...page.items.map((e) => e.emoji_id))
            if (page.cursor === null) break
            after = page.cursor
          }
          expect(seen).toEqual(all.items.map((e) => e.emoji_id))
          expect(seen).toEqual([...seen].sort((a, b) => a - b))
          const bad = yield* request("GET", `${EMOJI.path}?after=garbage`, { token: admin.token })
          expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 400, code: "INVALID_BODY" })
        }))
    })
  })
}
