// The HTTP edge over bare sockets, where what the server does with the connection shows: a refused
// upload is answered before its body is read, with `Connection: close` (so the rest is never read, and
// the connection is not reused half-way through a body), whichever check refused it (credentials,
// membership, permission, the feed, the path, the type, the size); a JSON body past http.maxBodyBytes
// gets 413 PAYLOAD_TOO_LARGE in the protocol's shape, with or without a Content-Length, never a reset.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { once } from "node:events"
import * as Net from "node:net"
import * as Members from "../../../src/protocol/api/members.js"
import * as Roles from "../../../src/protocol/api/roles.js"
import * as Spaces from "../../../src/protocol/api/spaces.js"
import { NO_PERMISSIONS, Permission } from "../../../src/protocol/permissions.js"
import { backends } from "../../support/backends.js"
import { MULTIPART_TYPE } from "../../support/multipart.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../../support/server.js"

const MAX_BODY = 4096
const MiB = 1024 * 1024
const sqlite = backends.find((b) => b.name === "sqlite")!

interface Exchange {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: any
  /** The server closed the connection after answering. */
  readonly closed: boolean
  /** Body bytes the client had sent when the answer arrived. */
  readonly sentBeforeAnswer: number
}

/**
 * Sends `head` (request line and headers, without the blank line), then up to `bodyBytes` of body in
 * 16 KiB pieces (chunk-framed when `chunked`), stopping as soon as an answer arrives; then waits a
 * little to see whether the server closes the connection.
 */
const exchange = (head: string, bodyBytes: number, options: { chunked?: boolean; piece?: Buffer } = {}) =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(() =>
      new Promise<Exchange>((resolve) => {
        const { hostname, port } = new URL(url)
        const socket = Net.connect(Number(port), hostname)
        let received = Buffer.alloc(0)
        let sent = 0
        let sentBeforeAnswer: number | undefined
        let closed = false
        let settled = false
        socket.on("error", () => {}) // EPIPE once the server has hung up
        const finish = () => {
          if (settled) return
          settled = true
          clearTimeout(limit)
          const text = received.toString("latin1")
          const split = text.indexOf("\r\n\r\n")
          const lines = text.slice(0, split < 0 ? text.length : split).split("\r\n")
          const headers: Record<string, string> = {}
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(":")
            if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
          }
          const bodyText = split < 0 ? "" : received.subarray(split + 4).toString()
          socket.destroy()
          resolve({
            status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0),
            headers,
            body: bodyText.startsWith("{") ? JSON.parse(bodyText) : bodyText,
            closed,
            sentBeforeAnswer: sentBeforeAnswer ?? sent
          })
        }
        const limit = setTimeout(finish, 20_000)
        socket.on("data", (data) => {
          sentBeforeAnswer ??= sent
          received = Buffer.concat([received, data])
          // answered in full: give the server a moment to hang up (or not)
          const text = received.toString("latin1")
          const split = text.indexOf("\r\n\r\n")
          const length = /\r\ncontent-length: *(\d+)/i.exec(text)?.[1]
          if (split >= 0 && length !== undefined && received.length >= split + 4 + Number(length)) setTimeout(finish, 300)
        })
        socket.on("close", () => {
          closed = true
          finish()
        })
        const piece = options.piece ?? Buffer.alloc(16 * 1024, "a")
        const frame = (b: Buffer) =>
          options.chunked === true ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]) : b
        const send = async () => {
          await once(socket, "connect")
          socket.write(head + "\r\n\r\n")
          while (sent < bodyBytes && sentBeforeAnswer === undefined && !closed) {
            const n = Math.min(piece.length, bodyBytes - sent)
            const flushed = socket.write(frame(piece.subarray(0, n)))
            sent += n
            if (!flushed) await Promise.race([once(socket, "drain"), once(socket, "close")])
            // let an answer arrive between pieces
            await new Promise((r) => setImmediate(r))
          }
          if (options.chunked === true && sent >= bodyBytes && !closed) socket.write("0\r\n\r\n")
        }
        send().catch(() => socket.destroy())
      })
    ))

/** Headers of an upload to `feedId` that announces a 30 MiB body. */
const uploadHead = (feedId: number | string, token?: string, contentType = MULTIPART_TYPE) =>
  [
    `POST /api/v1/feeds/${feedId}/files HTTP/1.1`,
    "Host: localhost",
    ...(token === undefined ? [] : [`Authorization: Bearer ${token}`]),
    `Content-Type: ${contentType}`,
    `Content-Length: ${30 * MiB}`
  ].join("\r\n")

describe("the HTTP edge", () => {
  layer(TestServerLive(sqlite, { http: { maxBodyBytes: MAX_BODY }, files: { maxBytes: MiB } }), { excludeTestServices: true })((it) => {
    it.effect("every refusal of an upload closes the connection instead of reading the body", () =>
      Effect.gen(function* () {
        const boss = yield* owner
        const member = yield* newUser("member")
        const roles = yield* boss.client.call(Roles.listRoles, { query: {} })
        const everyone = roles.items.find((r) => r.name === Roles.EVERYONE_ROLE_NAME)!
        const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("feed"), type: "text" } })
        const noFiles = yield* boss.client.call(Spaces.createFeed, {
          body: {
            name: uniqueName("no-files"),
            type: "text",
            permission_overrides: [{ target_type: "role", target_id: everyone.role_id, allow: NO_PERMISSIONS, deny: Permission.ATTACH_FILES }]
          }
        })
        const leaver = yield* newUser("leaver")
        yield* leaver.client.call(Members.leaveServer)

        const cases: ReadonlyArray<[string, string, number, string]> = [
          ["no credentials", uploadHead(feed.feed_id), 401, "AUTH_FAILED"],
          ["a bad token", uploadHead(feed.feed_id, "not-a-token"), 401, "AUTH_FAILED"],
          ["not a member", uploadHead(feed.feed_id, leaver.token), 403, "FORBIDDEN"],
          ["without ATTACH_FILES", uploadHead(noFiles.feed_id, member.token), 403, "FORBIDDEN"],
          ["an unknown feed", uploadHead(999_999, member.token), 404, "SPACE_NOT_FOUND"],
          ["a path that is no feed id", uploadHead("x1", member.token), 400, "INVALID_BODY"],
          ["not multipart", uploadHead(feed.feed_id, member.token, "application/octet-stream"), 415, "UNSUPPORTED_MEDIA_TYPE"],
          ["past the size limit", uploadHead(feed.feed_id, member.token), 413, "FILE_TOO_LARGE"]
        ]
        for (const [what, head, status, code] of cases) {
          const answer = yield* exchange(head, 30 * MiB)
          expect({ what, status: answer.status, code: answer.body?.error?.code, connection: answer.headers.connection, closed: answer.closed })
            .toEqual({ what, status, code, connection: "close", closed: true })
          // answered while nearly all of the body was still unsent
          expect(answer.sentBeforeAnswer).toBeLessThan(8 * MiB)
        }
      }), { timeout: 120_000 })

    it.effect("a JSON body past http.maxBodyBytes is 413 in the protocol's shape, chunked or not", () =>
      Effect.gen(function* () {
        const boss = yield* owner
        const head = (framing: string) =>
          [
            "PATCH /api/v1/server HTTP/1.1",
            "Host: localhost",
            `Authorization: Bearer ${boss.token}`,
            "Content-Type: application/json",
            framing
          ].join("\r\n")
        const big = 64 * 1024
        const expected = { status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE", message: expect.any(String), max_bytes: MAX_BODY } } }

        const chunked = yield* exchange(head("Transfer-Encoding: chunked"), big, { chunked: true, piece: Buffer.alloc(1024, " ") })
        expect(chunked).toMatchObject(expected)
        expect(chunked.headers.connection).toBe("close")

        const declared = yield* exchange(head(`Content-Length: ${big}`), big)
        expect(declared).toMatchObject(expected)
        expect(declared.headers.connection).toBe("close")

        // below the limit, chunked, the same endpoint answers normally and keeps the connection
        const name = JSON.stringify({ name: "edge" })
        const fine = yield* exchange(head("Transfer-Encoding: chunked"), name.length, { chunked: true, piece: Buffer.from(name) })
        expect(fine).toMatchObject({ status: 200, closed: false })
        expect(fine.headers.connection).not.toBe("close")
      }), { timeout: 60_000 })
  })
})
