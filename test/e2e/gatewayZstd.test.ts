// zstd sessions (issue 5 acceptance 5): a `compress=zstd` connection and a plain one of the same user
// receive the same dispatches, and every message the server sends on the compressed one is a binary
// message that decodes, given the ones before it, to exactly one whole frame. The stream carries many
// small events (each compressed against the earlier ones) and messages past 64 KB, one of them past
// 256 KB once decoded, so the compressor's and the decoder's buffers both have to grow.
//
// Both clients here are bare WebSockets that record every message from the first byte on, so nothing
// the server sends escapes the check (the SDK's socket decodes before anyone could look).
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Queue } from "effect"
import { randomBytes } from "node:crypto"
import WebSocket from "ws"
import { gatewayUrl } from "../../src/client/GatewayClient.js"
import { makeZstdReader } from "../../src/client/zstdReader.js"
import * as Messages from "../../src/protocol/api/messages.js"
import * as Server from "../../src/protocol/api/server.js"
import * as Spaces from "../../src/protocol/api/spaces.js"
import { Op } from "../../src/protocol/gateway.js"
import { type JsonValue, parseJson } from "../../src/protocol/json.js"
import { backends } from "../support/backends.js"
import { gatewayFor, nextDispatch } from "../support/gateway.js"
import { newUser, owner, TestServer, TestServerLive, uniqueName } from "../support/server.js"

interface Frame {
  readonly op: number
  readonly t?: string
  readonly s?: number | null
  readonly d: JsonValue
}

interface Recorded {
  readonly binary: boolean
  readonly bytes: Buffer
}

/** A gateway connection that keeps every message it is sent, raw and decoded, and says what did not decode. */
const recordingClient = (url: string, token: string, compress: boolean) =>
  Effect.gen(function* () {
    const frames = yield* Queue.unbounded<Frame>()
    const raw: Array<Recorded> = []
    const decoded: Array<Frame> = []
    const texts: Array<string> = []
    const problems: Array<string> = []
    const reader = compress ? makeZstdReader() : null
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket, Error>((resume) => {
        const ws = new WebSocket(gatewayUrl(url, compress), { perMessageDeflate: false })
        ws.binaryType = "nodebuffer"
        ws.on("message", (data: Buffer, isBinary) => {
          raw.push({ binary: isBinary, bytes: Buffer.from(data) })
          if (compress && !isBinary) return problems.push(`text message #${raw.length} in a zstd session`)
          let text: string
          try {
            text = reader === null ? data.toString("utf8") : reader.decompress(data)
          } catch (error) {
            return problems.push(`message #${raw.length} does not decompress: ${String(error)}`)
          }
          const parsed = parseJson(text)
          if (!parsed.ok) return problems.push(`message #${raw.length} is not one whole frame: ${text.slice(0, 80)}`)
          const frame = parsed.value as unknown as Frame
          texts.push(text)
          decoded.push(frame)
          Queue.unsafeOffer(frames, frame)
        })
        ws.on("error", (error) => resume(Effect.fail(error)))
        ws.on("open", () => {
          ws.send(JSON.stringify({ op: Op.IDENTIFY, d: { token } }))
          resume(Effect.succeed(ws))
        })
      }),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const until = (match: (f: Frame) => boolean) =>
      Effect.gen(function* () {
        for (;;) {
          const frame = yield* Queue.take(frames)
          if (match(frame)) return frame
        }
      }).pipe(Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error("expected frame did not arrive") }))
    return { ws, raw, decoded, texts, problems, until }
  })

const dispatchOf = (t: string, match: (d: any) => boolean = () => true) => (f: Frame) =>
  f.op === Op.DISPATCH && f.t === t && match(f.d)

/** The dispatches strictly after the first one that matches `start`, up to and including the first that matches `end`. */
const between = (frames: ReadonlyArray<Frame>, start: (f: Frame) => boolean, end: (f: Frame) => boolean) => {
  const from = frames.findIndex(start)
  const to = frames.findIndex(end)
  expect(from).toBeGreaterThanOrEqual(0)
  expect(to).toBeGreaterThan(from)
  return frames.slice(from + 1, to + 1).filter((f) => f.op === Op.DISPATCH)
}

/** A body of `n` random characters of the CJK block: three bytes each in UTF-8, and compressing poorly. */
const randomCjk = (n: number) => {
  const bytes = randomBytes(2 * n)
  let out = ""
  for (let i = 0; i < n; i++) out += String.fromCharCode(0x4e00 + (bytes.readUInt16LE(2 * i) % 0x5000))
  return out
}

for (const backend of backends) {
  describe(`gateway zstd sessions on ${backend.name}`, () => {
    layer(TestServerLive(backend), { excludeTestServices: true })((it) => {
      it.scoped("a zstd session decodes, message by message, to the same dispatches as a plain one", () =>
        Effect.gen(function* () {
          const { url } = yield* TestServer
          const boss = yield* owner
          yield* boss.client.call(Server.updateLimits, { body: { max_message_length: 100_000 } })
          const viewer = yield* newUser("viewer")
          const typist = yield* newUser("typist")
          const feed = yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("zstd"), type: "text" } })

          const plain = yield* recordingClient(url, viewer.token, false)
          const zstd = yield* recordingClient(url, viewer.token, true)
          yield* plain.until(dispatchOf("READY"))
          yield* zstd.until(dispatchOf("READY"))

          const post = (body: string) => boss.client.call(Messages.sendMessage, { params: { feed_id: feed.feed_id }, body: { body } })
          const isMessage = (body: string) => dispatchOf("MESSAGE_CREATE", (d) => d.body === body)
          // Both sessions are live from here on: what follows must reach them alike.
          yield* post("start")

          // Many small events, each compressed against the ones before it.
          yield* Effect.forEach(Array.from({ length: 120 }, (_, i) => i), (i) => post(`small message ${i}: ${"la ".repeat(i % 20)}`), {
            concurrency: 8,
            discard: true
          })
          // Large ones: compressible, incompressible (past the compressor's 64 KB buffer), and past the
          // decoder's 256 KB buffer once decoded.
          const first = yield* post(`repetitive ${"the quick brown fox ".repeat(4_500)}`)
          yield* post(randomBytes(72_000).toString("base64"))
          yield* post(randomCjk(95_000))
          // Other kinds of events between them.
          yield* boss.client.call(Messages.editMessage, {
            params: { feed_id: feed.feed_id, msg_id: first.msg_id },
            body: { body: `edited ${"jumps over the lazy dog ".repeat(3_000)}` }
          })
          yield* boss.client.call(Messages.addReaction, { params: { feed_id: feed.feed_id, msg_id: first.msg_id, emoji: "👍" } })
          const typing = yield* gatewayFor(typist.token)
          yield* nextDispatch(typing, (d) => d.t === "READY")
          yield* typing.send(Op.TYPING, { feed_id: feed.feed_id })
          yield* boss.client.call(Spaces.createFeed, { body: { name: uniqueName("another"), type: "text" } })
          for (let i = 0; i < 15; i++) yield* post(`after the large ones ${i}`)
          // A heartbeat's ack is a server message too.
          for (const client of [plain, zstd]) client.ws.send(JSON.stringify({ op: Op.HEARTBEAT, d: null }))
          yield* post("end")

          for (const client of [plain, zstd]) {
            yield* client.until(isMessage("end"))
            expect(client.decoded.some((f) => f.op === Op.HEARTBEAT_ACK)).toBe(true)
          }

          // Every message of the zstd session was binary and decoded alone, given the earlier ones.
          expect(zstd.problems).toEqual([])
          expect(plain.problems).toEqual([])
          expect(zstd.raw.every((m) => m.binary)).toBe(true)
          expect(zstd.raw.length).toBe(zstd.decoded.length)
          // The messages are one stream: decoded in one go, they are the frames one after the other.
          const whole = makeZstdReader().decompress(Buffer.concat(zstd.raw.map((m) => m.bytes)))
          expect(whole === zstd.texts.join("")).toBe(true)

          // The same dispatches (type and payload), numbered alike (one offset apart: the sessions began at different log positions).
          const plainEvents = between(plain.decoded, isMessage("start"), isMessage("end"))
          const zstdEvents = between(zstd.decoded, isMessage("start"), isMessage("end"))
          expect(zstdEvents.map(({ d, t }) => ({ t, d }))).toEqual(plainEvents.map(({ d, t }) => ({ t, d })))
          expect(plainEvents.length).toBeGreaterThanOrEqual(120 + 3 + 15 + 5)
          const kinds = new Set(plainEvents.map((f) => f.t))
          for (const t of ["MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_REACTION_ADD", "TYPING_START", "FEED_CREATE"]) {
            expect(kinds).toContain(t)
          }
          const offsets = new Set(plainEvents.map((f, i) => Number(zstdEvents[i]!.s) - Number(f.s)))
          expect(offsets.size).toBe(1)
          expect(Math.max(...zstd.texts.map((t) => Buffer.byteLength(t)))).toBeGreaterThan(256 * 1024)
          expect(zstd.raw.filter((m) => m.bytes.length > 64 * 1024).length).toBeGreaterThanOrEqual(2)

          // And it is compressed: the small events shrink well below their plain size.
          const bytes = (client: { raw: ReadonlyArray<Recorded> }) => client.raw.reduce((n, m) => n + m.bytes.length, 0)
          expect(bytes(zstd)).toBeLessThan(bytes(plain))
        }), { timeout: 120_000 })
    })
  })
}
