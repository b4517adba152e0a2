// Reading requests: JSON bodies with a byte limit enforced while reading (413 before the rest of an
// oversize body is read), lossless JSON parsing, query strings, and the Authorization header.
import type { HttpServerRequest } from "@effect/platform"
import { Effect, Option, ParseResult, Schema, Stream } from "effect"
import { AuthFailed, InvalidBody, PayloadTooLarge, UnsupportedMediaType } from "../../protocol/errors.js"
import { parseJson } from "../../protocol/json.js"
import type { SessionKind } from "../auth/Sessions.js"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** The request body as text, refusing anything past `maxBytes` as soon as it is announced or seen. */
export const readBodyText = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > maxBytes) return yield* new PayloadTooLarge({ max_bytes: maxBytes })
    const chunks: Array<Uint8Array> = []
    let size = 0
    yield* request.stream.pipe(
      Stream.mapError(() => new InvalidBody({ message: "The request body could not be read.", location: "body" })),
      Stream.runForEach((chunk) => {
        size += chunk.byteLength
        if (size > maxBytes) return Effect.fail(new PayloadTooLarge({ max_bytes: maxBytes }))
        chunks.push(chunk)
        return Effect.void
      })
    )
    return yield* Effect.try({
      try: () => utf8.decode(Buffer.concat(chunks)),
      catch: () => new InvalidBody({ message: "The request body is not valid UTF-8.", location: "body" })
    })
  })

export const readJsonBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    const type = request.headers["content-type"] ?? ""
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      // An empty body is "no body"; anything else must say it is JSON.
      if ((request.headers["content-length"] ?? "0") === "0" && request.headers["transfer-encoding"] === undefined) {
        return undefined
      }
      return yield* new UnsupportedMediaType()
    }
    const text = yield* readBodyText(request, maxBytes)
    if (text.trim() === "") return undefined
    const parsed = parseJson(text)
    if (!parsed.ok) {
      return yield* new InvalidBody({ message: `Malformed JSON: ${parsed.error}`, location: "body" })
    }
    return parsed.value
  })

/** Decodes one part of a request; a failure names every offending field. */
export const decodePart = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  location: "body" | "query" | "path",
  onExcessProperty: "error" | "ignore"
) =>
  Schema.decodeUnknown(schema, { errors: "all", onExcessProperty })(input).pipe(
    Effect.mapError((error) => {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({
        path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
        message: i.message
      }))
      const first = issues[0]
      const where = first && first.path.length > 0 ? ` at ${first.path.join(".")}` : ""
      return new InvalidBody({
        message: `Invalid ${location}${where}: ${first?.message ?? "invalid value"}`,
        location,
        issues
      })
    })
  )

export const queryRecord = (request: HttpServerRequest.HttpServerRequest): Record<string, string> => {
  const url = new URL(request.url, "http://vox.invalid")
  const out: Record<string, string> = {}
  for (const [k, v] of url.searchParams) if (!(k in out)) out[k] = v
  return out
}

/** `Authorization: Bearer <token>` (user sessions) or `Bot <token>` (bot accounts). */
export const credentialsFrom = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const header = request.headers["authorization"]
    if (header === undefined || header === "") {
      return yield* new AuthFailed({ message: "Missing Authorization header." })
    }
    const match = /^(Bearer|Bot) +(\S+)$/i.exec(header.trim())
    if (match === null) return yield* new AuthFailed({ message: "Malformed Authorization header." })
    const kind: SessionKind = match[1]!.toLowerCase() === "bot" ? "bot" : "user"
    return { kind, token: match[2]! }
  })

export const clientMeta = (request: HttpServerRequest.HttpServerRequest) => ({
  ip: Option.getOrNull(request.remoteAddress),
  userAgent: request.headers["user-agent"] ?? null
})
