// Files end to end (issue 4, acceptance 4): multipart uploads streamed to disk and refused at the size
// limit without the server reading the rest, types judged by the bytes (a PNG named .txt is a PNG),
// the allowlist, clean names, ids that cannot name a path, and downloads guarded by the file's feed,
// with their headers. On SQLite and (when configured) PostgreSQL.
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { createHash } from "node:crypto"
import { once } from "node:events"
import * as Http from "node:http"
import * as Net from "node:net"
import sharp from "sharp"
import { FILE_ID_PATTERN } from "../../src/protocol/api/files.js"
import * as Members from "../../src/protocol/api/members.js"
import * as Roles from "../../src/protocol/api/roles.js"
import * as ServerApi from "../../src/protocol/api/server.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { NO_PERMISSIONS, Permission } from "../../src/protocol/permissions.js"
import { detectMagic, isAllowed } from "../../src/runtime/files/detect.js"
import { contentDisposition, MAX_NAME_LENGTH, sanitizeFileName } from "../../src/runtime/files/names.js"
import { uploadBytesRead } from "../../src/runtime/files/upload.js"
import { backends } from "../support/backends.js"
import { download, PNG, staging, storedFiles, upload, uploadFile } from "../support/files.js"
import { BOUNDARY, multipart, request } from "../support/multipart.js"
import { newUser, owner, TestServer, TestServerLive } from "../support/server.js"

const MiB = 1024 * 1024

const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

/** A GET with the path exactly as given: no URL normalisation on the way. */
const rawGet = (path: string, token: string) =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(() =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = Http.get(url + "/", { path, headers: { authorization: `Bearer ${token}` } }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString()
            resolve({ status: res.statusCode ?? 0, body: text.startsWith("{") ? JSON.parse(text) : text })
          })
        })
        req.on("error", reject)
      })
    ))

interface RawUpload {
  readonly status: number
  readonly body: any
  /** File bytes the client had handed to its socket when the first byte of the response arrived. */
  readonly sentBeforeResponse: number
}

/**
 * Streams a `fileBytes` upload over a bare socket, with a Content-Length or chunked, and stops sending
 * the moment the server answers: how much the client had sent by then is measured, not guessed.
 */
const rawUpload = (token: string, path: string, fileBytes: number, mode: "length" | "chunked") =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(() =>
      new Promise<RawUpload>((resolve) => {
        const { hostname, port } = new URL(url)
        const head = Buffer.from(
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n` +
            `Content-Type: application/octet-stream\r\n\r\n`
        )
        const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`)
        const socket = Net.connect(Number(port), hostname)
        let response = Buffer.alloc(0)
        let sent = 0
        let sentBeforeResponse: number | undefined
        let closed = false
        let wake = () => {}
        socket.on("data", (data) => {
          sentBeforeResponse ??= sent
          response = Buffer.concat([response, data])
          wake()
        })
        socket.on("error", () => {}) // EPIPE or ECONNRESET once the server has hung up
        const timer = setTimeout(() => socket.destroy(), 60_000)
        socket.on("close", () => {
          closed = true
          clearTimeout(timer)
          wake()
          const text = response.toString("latin1")
          const split = text.indexOf("\r\n\r\n")
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)
          const bodyText = split < 0 ? "" : response.subarray(split + 4).toString()
          resolve({ status, body: bodyText.startsWith("{") ? JSON.parse(bodyText) : bodyText, sentBeforeResponse: sentBeforeResponse ?? sent })
        })
        const frame = (b: Buffer) =>
          mode === "chunked" ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]) : b
        const answered = () => sentBeforeResponse !== undefined || closed
        const send = async () => {
          await once(socket, "connect")
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
              `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
              (mode === "length" ? `Content-Length: ${head.length + fileBytes + tail.length}\r\n` : "Transfer-Encoding: chunked\r\n") +
              "Connection: close\r\n\r\n"
          )
          socket.write(frame(head))
          const chunk = Buffer.alloc(64 * 1024)
          while (sent < fileBytes && !answered()) {
            const n = Math.min(chunk.length, fileBytes - sent)
            const flushed = socket.write(frame(chunk.subarray(0, n)))
            sent += n
            if (!flushed) {
              await new Promise<void>((r) => {
                wake = r
                socket.once("drain", r)
              })
            }
          }
          if (!answered()) socket.write(mode === "chunked" ? Buffer.concat([frame(tail), Buffer.from("0\r\n\r\n")]) : tail)
        }
        send().catch(() => socket.destroy())
      })
    ))

const bytesRead = Effect.map(Metric.value(uploadBytesRead), (state) => state.count)

/** What an image's bytes say about it. */
const imageInfo = (bytes: Buffer) =>
  Effect.promise(async () => {
    const meta = await sharp(bytes).metadata()
    return { format: meta.format, width: meta.width, height: meta.height, orientation: meta.orientation, hasExif: meta.exif !== undefined }
  })

const crc32 = (data: Buffer) => {
  let crc = 0xffffffff
  for (const byte of data) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

/** A PNG that claims `width`×`height` pixels and holds none: a few bytes, a decompression bomb's header. */
const pngHeader = (width: number, height: number) => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data])
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  return Buffer.concat([PNG.subarray(0, 8), chunk("IHDR", ihdr), chunk("IDAT", Buffer.alloc(0)), chunk("IEND", Buffer.alloc(0))])
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex")

/** The server's owner (its first account, registered by whichever test comes first), a new member and a new feed. */
const community = Effect.gen(function* () {
  const boss = yield* owner
  const member = yield* newUser("member")
  const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: "general", type: "text" } })
  return { owner: boss, member, feed }
})

for (const backend of backends) {
  describe(`files on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.effect("an upload is stored with its detected type and comes back byte for byte, with safe headers", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          const text = "hello, vox\nsecond line: ünïcode ✓\n"

          // a real client's FormData, as a browser would send it
          const form = new FormData()
          form.append("file", new Blob([text], { type: "text/plain" }), "hello.txt")
          form.append("name", "hello.txt")
          form.append("mime", "text/plain")
          const created = yield* request("POST", `/api/v1/feeds/${feed.feed_id}/files`, { token: member.token, body: form })
          expect(created.status).toBe(201)
          const file = created.body
          expect(file).toMatchObject({
            name: "hello.txt", size: Buffer.byteLength(text), mime: "text/plain", width: null, height: null, thumbnail_url: null
          })
          expect(file.file_id).toMatch(FILE_ID_PATTERN)
          expect(file.url).toMatch(new RegExp(`/api/v1/files/${file.file_id}$`))
          expect(yield* storedFiles).toContainEqual({
            id: file.file_id, feed_id: feed.feed_id, name: "hello.txt", mime: "text/plain", size: file.size, sha256: sha256(text)
          })

          const got = yield* download(member.token, file.file_id)
          expect(got.status).toBe(200)
          expect(got.bytes.toString()).toBe(text)
          expect(Object.fromEntries(got.headers)).toMatchObject({
            "content-type": "text/plain; charset=utf-8",
            "content-length": String(Buffer.byteLength(text)),
            "content-disposition": `attachment; filename="hello.txt"; filename*=UTF-8''hello.txt`,
            "x-content-type-options": "nosniff",
            "cache-control": "private"
          })
          // the url it gave is where the file is
          const again = yield* Effect.promise(() => fetch(file.url, { headers: { authorization: `Bearer ${member.token}` } }))
          expect(again.status).toBe(200)
          expect(yield* staging).toEqual([])
        }))

      it.effect("a PNG named .txt and declared text/plain is stored and served as image/png (acceptance 4)", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          const created = yield* uploadFile(member.token, feed.feed_id, PNG, "notes.txt", "text/plain")
          expect(created.status).toBe(201)
          expect(created.body).toMatchObject({ name: "notes.txt", mime: "image/png", width: 1, height: 1 })

          const got = yield* download(member.token, created.body.file_id)
          expect(got.headers.get("content-type")).toBe("image/png")
          expect(yield* imageInfo(got.bytes)).toMatchObject({ format: "png", width: 1, height: 1 })
          // images alone are shown inline, and still never sniffed
          expect(got.headers.get("content-disposition")).toBe(`inline; filename="notes.txt"; filename*=UTF-8''notes.txt`)
          expect(got.headers.get("x-content-type-options")).toBe("nosniff")

          // the other way round: text named .png is text; bytes that are neither are octet-stream
          const fake = yield* uploadFile(member.token, feed.feed_id, "<svg onload=alert(1)>", "cat.png", "image/png")
          expect(fake.body).toMatchObject({ name: "cat.png", mime: "text/plain" })
          const blob = yield* uploadFile(member.token, feed.feed_id, Buffer.from([0, 1, 2, 0xfe, 0xff]), "x.jpg")
          expect(blob.body).toMatchObject({ mime: "application/octet-stream", size: 5 })
          const pdf = yield* uploadFile(member.token, feed.feed_id, PDF, "doc")
          expect(pdf.body).toMatchObject({ mime: "application/pdf" })
          expect((yield* download(member.token, pdf.body.file_id)).headers.get("content-disposition")).toMatch(/^attachment;/)
        }))

      it.effect("a download by a member who cannot see the feed, or cannot read its history, is refused (acceptance 4)", () =>
        Effect.gen(function* () {
          const { owner, member, feed } = yield* community
          const roles = yield* owner.client.call(Roles.listRoles, { query: {} })
          const everyone = roles.items.find((r) => r.name === Roles.EVERYONE_ROLE_NAME)!
          const hidden = yield* owner.client.call(Spaces.createFeed, {
            body: {
              name: "staff",
              type: "text",
              permission_overrides: [{ target_type: "role", target_id: everyone.role_id, allow: NO_PERMISSIONS, deny: Permission.VIEW_SPACE }]
            }
          })
          const noHistory = yield* owner.client.call(Spaces.createFeed, {
            body: {
              name: "no-history",
              type: "text",
              permission_overrides: [{ target_type: "role", target_id: everyone.role_id, allow: NO_PERMISSIONS, deny: Permission.READ_HISTORY }]
            }
          })
          const secret = yield* uploadFile(owner.token, hidden.feed_id, "secret plans", "plans.txt")
          const unread = yield* uploadFile(owner.token, noHistory.feed_id, "old news", "news.txt")
          const open = yield* uploadFile(owner.token, feed.feed_id, "for everyone", "open.txt")
          expect([secret.status, unread.status, open.status]).toEqual([201, 201, 201])

          const refused = yield* download(member.token, secret.body.file_id)
          expect(refused.status).toBe(403)
          expect(refused.body.error).toMatchObject({ code: "FORBIDDEN", missing_permission: "VIEW_SPACE" })
          expect(refused.bytes.toString()).not.toContain("secret plans")
          const noRead = yield* download(member.token, unread.body.file_id)
          expect(noRead.status).toBe(403)
          expect(noRead.body.error).toMatchObject({ code: "FORBIDDEN", missing_permission: "READ_HISTORY" })
          expect((yield* download(member.token, open.body.file_id)).bytes.toString()).toBe("for everyone")
          expect((yield* download(owner.token, secret.body.file_id)).bytes.toString()).toBe("secret plans")

          // no token, a former member, an unknown id
          expect((yield* request("GET", `/api/v1/files/${open.body.file_id}`)).status).toBe(401)
          const leaver = yield* newUser("leaver")
          yield* leaver.client.call(Members.leaveServer)
          expect((yield* download(leaver.token, open.body.file_id)).status).toBe(403)
          const unknown = yield* download(member.token, "f_AAAAAAAAAAAAAAAAAAAAAA")
          expect(unknown.status).toBe(404)
          expect(unknown.body.error.code).toBe("FILE_NOT_FOUND")

          // uploading takes ATTACH_FILES in the feed, checked before the body is read
          const noAttach = yield* owner.client.call(Spaces.createFeed, {
            body: {
              name: "no-files",
              type: "text",
              permission_overrides: [{ target_type: "role", target_id: everyone.role_id, allow: NO_PERMISSIONS, deny: Permission.ATTACH_FILES }]
            }
          })
          const before = (yield* storedFiles).length
          const denied = yield* uploadFile(member.token, noAttach.feed_id, "nope", "nope.txt")
          expect(denied.status).toBe(403)
          expect(denied.body.error).toMatchObject({ code: "FORBIDDEN", missing_permission: "ATTACH_FILES" })
          expect((yield* uploadFile(member.token, 999_999, "nope")).body.error.code).toBe("SPACE_NOT_FOUND")
          expect((yield* storedFiles).length).toBe(before)
        }))

      it.effect("photos lose their EXIF (GPS included) and stand upright; every image gets a thumbnail", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          // 64×32 as stored by the camera, to be shown turned a quarter (orientation 6): 32×64 upright
          const photo = yield* Effect.promise(() =>
            sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 200, g: 30, b: 30 } } })
              .jpeg()
              .withMetadata({ orientation: 6 })
              .withExifMerge({ IFD0: { Make: "VoxCam" }, IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 24/1" } })
              .toBuffer()
          )
          const before = yield* imageInfo(photo)
          expect(before).toMatchObject({ width: 64, height: 32, orientation: 6, hasExif: true })
          expect(photo.includes(Buffer.from("VoxCam"))).toBe(true)

          const created = yield* uploadFile(member.token, feed.feed_id, photo, "IMG_0001.JPG", "image/jpeg")
          expect(created.status).toBe(201)
          expect(created.body).toMatchObject({ mime: "image/jpeg", width: 32, height: 64 })
          const got = yield* download(member.token, created.body.file_id)
          expect(got.bytes.length).toBe(created.body.size)
          expect(yield* imageInfo(got.bytes)).toEqual({ format: "jpeg", width: 32, height: 64, orientation: undefined, hasExif: false })
          expect(got.bytes.includes(Buffer.from("VoxCam"))).toBe(false)
          expect((yield* storedFiles).find((f) => f.id === created.body.file_id)?.sha256).toBe(sha256(got.bytes))

          // the thumbnail: WebP, at most 256×256, same access as the file
          const big = yield* Effect.promise(() =>
            sharp({ create: { width: 1024, height: 512, channels: 3, background: "white" } }).png().toBuffer()
          )
          const large = yield* uploadFile(member.token, feed.feed_id, big, "wide.png")
          expect(large.body.thumbnail_url).toMatch(new RegExp(`/api/v1/files/${large.body.file_id}/thumbnail$`))
          const thumb = yield* request("GET", `/api/v1/files/${large.body.file_id}/thumbnail`, { token: member.token })
          expect(thumb.status).toBe(200)
          expect(thumb.headers.get("content-type")).toBe("image/webp")
          expect(yield* imageInfo(thumb.bytes)).toMatchObject({ format: "webp", width: 256, height: 128 })
          // a GIF keeps its bytes (GIF has no EXIF), and has a thumbnail too
          const gif = yield* Effect.promise(() =>
            sharp({ create: { width: 8, height: 8, channels: 3, background: "blue" } }).gif().toBuffer()
          )
          const storedGif = yield* uploadFile(member.token, feed.feed_id, gif, "a.gif")
          expect(storedGif.body).toMatchObject({ mime: "image/gif", size: gif.length, width: 8, height: 8 })
          expect((yield* download(member.token, storedGif.body.file_id)).bytes.equals(gif)).toBe(true)
          expect((yield* request("GET", `/api/v1/files/${storedGif.body.file_id}/thumbnail`, { token: member.token })).status).toBe(200)
          // files that are not images have none
          const text = yield* uploadFile(member.token, feed.feed_id, "words", "a.txt")
          const none = yield* request("GET", `/api/v1/files/${text.body.file_id}/thumbnail`, { token: member.token })
          expect(none.body.error.code).toBe("FILE_NOT_FOUND")

          // an image that cannot be decoded, or claims more pixels than the server will decode, is refused
          const before2 = (yield* storedFiles).length
          const damaged = yield* uploadFile(member.token, feed.feed_id, Buffer.concat([PNG.subarray(0, 16), Buffer.alloc(64, 7)]), "x.png")
          expect(damaged.status).toBe(415)
          const bomb = yield* uploadFile(member.token, feed.feed_id, pngHeader(20_000, 20_000), "bomb.png")
          expect(bomb.status).toBe(415)
          expect(bomb.body.error.message).toContain("megapixels")
          expect((yield* storedFiles).length).toBe(before2)
          expect(yield* staging).toEqual([])
        }))

      it.effect("a 30 MB upload against a 25 MB limit is refused without the server reading it (acceptance 4)", () =>
        Effect.gen(function* () {
          const { owner, member, feed } = yield* community
          yield* owner.client.call(ServerApi.updateLimits, { body: { max_attachment_size_mb: 25 } })
          const limit = 25 * MiB
          const path = `/api/v1/feeds/${feed.feed_id}/files`
          const rowsBefore = (yield* storedFiles).length

          // Declared by Content-Length: refused before one byte of the body is read.
          const readBefore = yield* bytesRead
          const declared = yield* rawUpload(member.token, path, 30 * MiB, "length")
          expect(declared.status).toBe(413)
          expect(declared.body.error).toEqual({ code: "FILE_TOO_LARGE", message: expect.any(String), max_bytes: limit })
          expect((yield* bytesRead) - readBefore).toBe(0)
          // The client learnt it while most of the file was still unsent.
          expect(declared.sentBeforeResponse).toBeLessThan(15 * MiB)

          // Chunked, no length known: read up to the limit, then not one chunk more.
          const chunkedBefore = yield* bytesRead
          const chunked = yield* rawUpload(member.token, path, 30 * MiB, "chunked")
          expect(chunked.status).toBe(413)
          expect(chunked.body.error).toMatchObject({ code: "FILE_TOO_LARGE", max_bytes: limit })
          const read = (yield* bytesRead) - chunkedBefore
          expect(read).toBeGreaterThan(limit)
          expect(read).toBeLessThan(limit + 256 * 1024)

          // Nothing of either is left: no staged file, no row.
          expect(yield* staging).toEqual([])
          expect((yield* storedFiles).length).toBe(rowsBefore)

          // A file of exactly the limit is fine.
          const exact = yield* rawUpload(member.token, path, limit, "length")
          expect(exact.status).toBe(201)
          expect(exact.body).toMatchObject({ size: limit, mime: "application/octet-stream" })
          yield* owner.client.call(ServerApi.updateLimits, { body: { max_attachment_size_mb: 50 } })
        }), { timeout: 60_000 })

      it.effect("names are cleaned of paths and control characters; ids that are not ids name nothing", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          const named = (name: string) => Effect.map(uploadFile(member.token, feed.feed_id, "x", name), (r) => r.body.name)
          expect(yield* named("../../etc/passwd")).toBe("passwd")
          expect(yield* named("..\\..\\windows\\system.ini")).toBe("system.ini")
          expect(yield* named("invoice\u202Efdp.exe")).toBe("invoicefdp.exe")
          expect(yield* named("a\u0000b\u0007c.txt")).toBe("abc.txt")
          expect(yield* named("..")).toBe("file")
          expect(yield* named("x".repeat(1000) + ".png")).toBe("x".repeat(MAX_NAME_LENGTH - 4) + ".png")
          // without a name field, the part's filename, cleaned the same way
          const fromPart = yield* upload(member.token, feed.feed_id, [{ name: "file", filename: "../../up/../cat.gif", data: "x" }])
          expect(fromPart.body.name).toBe("cat.gif")

          // sent exactly as written (fetch would resolve the dots itself)
          for (const id of ["..%2F..%2Fvox.db", "..%2f..%2ffiles%2ftmp", "%2e%2e", "f_..%2F..%2F..%2Fvox.db", "f_AAAAAAAAAAAAAAAAAAAAA%00", "vox.db"]) {
            for (const path of [`/api/v1/files/${id}`, `/api/v1/files/${id}/thumbnail`]) {
              const res = yield* rawGet(path, member.token)
              expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 404, code: "FILE_NOT_FOUND" })
            }
          }
        }))

      it.effect("malformed uploads are refused and leave nothing behind", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          const path = `/api/v1/feeds/${feed.feed_id}/files`
          const before = (yield* storedFiles).length
          const json = yield* request("POST", path, { token: member.token, body: Buffer.from("{}"), contentType: "application/json" })
          expect(json.status).toBe(415)
          expect(json.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE")
          const noFile = yield* upload(member.token, feed.feed_id, [{ name: "name", data: "a.txt" }])
          expect(noFile.status).toBe(400)
          expect(noFile.body.error.code).toBe("INVALID_BODY")
          const unknown = yield* upload(member.token, feed.feed_id, [{ name: "file", filename: "a", data: "a" }, { name: "path", data: "/etc" }])
          expect(unknown.status).toBe(400)
          const two = yield* upload(member.token, feed.feed_id, [{ name: "file", filename: "a", data: "a" }, { name: "file", filename: "b", data: "b" }])
          expect(two.status).toBe(400)
          const cut = yield* request("POST", path, {
            token: member.token,
            body: multipart([{ name: "file", filename: "a", data: "abc" }]).subarray(0, 60),
            contentType: `multipart/form-data; boundary=${BOUNDARY}`
          })
          expect(cut.status).toBe(400)
          expect(yield* staging).toEqual([])
          expect((yield* storedFiles).length).toBe(before)
        }))
    })

    layer(TestServerLive(backend, { files: { allowedTypes: ["image/*", "application/pdf"] } }), { excludeTestServices: true })((it) => {
      it.effect("types outside files.allowedTypes are refused with 415, judged by their bytes", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          expect((yield* uploadFile(member.token, feed.feed_id, PNG, "a.png")).status).toBe(201)
          expect((yield* uploadFile(member.token, feed.feed_id, PDF, "a.pdf")).status).toBe(201)
          const before = (yield* storedFiles).length
          // a text file claiming to be a PNG is text, and text is not allowed here
          const text = yield* uploadFile(member.token, feed.feed_id, "just text", "a.png", "image/png")
          expect(text.status).toBe(415)
          expect(text.body.error).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" })
          expect(text.body.error.message).toContain("text/plain")
          const zip = yield* uploadFile(member.token, feed.feed_id, Buffer.concat([Buffer.from("PK\x03\x04"), Buffer.alloc(100)]), "a.jpg", "image/jpeg")
          expect(zip.status).toBe(415)
          expect(zip.body.error.message).toContain("application/zip")
          expect(yield* staging).toEqual([])
          expect((yield* storedFiles).length).toBe(before)
        }))
    })

    layer(TestServerLive(backend, { files: { maxBytes: 1000 } }), { excludeTestServices: true })((it) => {
      it.effect("files.maxBytes caps uploads below the server limit", () =>
        Effect.gen(function* () {
          const { member, feed } = yield* community
          expect((yield* uploadFile(member.token, feed.feed_id, Buffer.alloc(1000))).status).toBe(201)
          const over = yield* uploadFile(member.token, feed.feed_id, Buffer.alloc(1001))
          expect(over.status).toBe(413)
          expect(over.body.error).toMatchObject({ code: "FILE_TOO_LARGE", max_bytes: 1000 })
          expect(yield* staging).toEqual([])
        }))
    })
  })
}

describe("file types and names", () => {
  it("recognises each type by its signature, whatever the name", () => {
    const cases: Array<[string, Buffer]> = [
      ["image/png", PNG],
      ["image/jpeg", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46])],
      ["image/gif", Buffer.from("GIF89a\x01\x00\x01\x00", "latin1")],
      ["image/webp", Buffer.from("RIFF\x24\x00\x00\x00WEBPVP8 ", "latin1")],
      ["audio/wav", Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1")],
      ["application/pdf", PDF],
      ["video/mp4", Buffer.from("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "latin1")],
      ["video/quicktime", Buffer.from("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "latin1")],
      ["video/webm", Buffer.from("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "latin1")],
      ["audio/mpeg", Buffer.from("ID3\x04\x00\x00", "latin1")],
      ["audio/mpeg", Buffer.from([0xff, 0xfb, 0x90, 0x64])],
      ["audio/ogg", Buffer.from("OggS\x00\x02", "latin1")],
      ["audio/flac", Buffer.from("fLaC\x00\x00", "latin1")],
      ["application/zip", Buffer.from("PK\x03\x04\x14\x00", "latin1")]
    ]
    for (const [type, head] of cases) expect({ type, detected: detectMagic(head) }).toEqual({ type, detected: type })
    expect(detectMagic(Buffer.from("<html><script>alert(1)</script>"))).toBeUndefined()
    expect(detectMagic(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined()
  })

  it("matches the allowlist exactly or by family", () => {
    expect(isAllowed(["image/*"], "image/png")).toBe(true)
    expect(isAllowed(["image/*"], "imagex/png")).toBe(false)
    expect(isAllowed(["image/png"], "image/pngx")).toBe(false)
    expect(isAllowed(["text/plain"], "application/octet-stream")).toBe(false)
  })

  it("cleans names and encodes them for Content-Disposition", () => {
    expect(sanitizeFileName(undefined)).toBe("file")
    expect(sanitizeFileName("  .hidden  ")).toBe("hidden")
    expect(sanitizeFileName("C:\\Users\\me\\photo.jpg")).toBe("photo.jpg")
    expect(sanitizeFileName("tab\there")).toBe("tab here")
    expect(Array.from(sanitizeFileName("é".repeat(300))).length).toBe(MAX_NAME_LENGTH)
    expect(contentDisposition("attachment", `résumé "final" (1).pdf`)).toBe(
      `attachment; filename="r_sum_ _final_ (1).pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20%281%29.pdf`
    )
  })
})
