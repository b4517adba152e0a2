// Reading requests: JSON bodies with a byte limit enforced while reading (413 before the rest of an
// oversize body is read, announced or chunked), lossless JSON parsing, query strings, and the
// Authorization header; and closing the connection of a request refused before its body was read.
import { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import type { IncomingMessage } from "node:http"
import { AuthFailed, InvalidBody, PayloadTooLarge, UnsupportedMediaType } from "../../protocol/errors.js"
import { parseJson } from "../../protocol/json.js"
import type { SessionKind } from "../auth/Sessions.js"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** How long a refused request's connection keeps discarding what the client still sends, after the answer. */
const LINGER_MS = 2000

/**
 * A request refused with its body unread: the connection cannot carry another request, so the response
 * closes it (else node would read, and throw away, everything the client still sends).
 *
 * Node closes such a socket as soon as the answer is written; with body bytes still arriving, that
 * close resets the connection, and the reset can destroy the answer before the client reads it. So the
 * close lingers: the answer and a FIN go out, what still arrives is discarded for up to LINGER_MS (or
 * until the client hangs up), and only then is the socket destroyed.
 */
export const closeIfUnread = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const incoming = NodeHttpServerRequest.toIncomingMessage(request)
  if (incoming.complete) return
  NodeHttpServerRequest.toServerResponse(request).setHeader("connection", "close")
  const socket = incoming.socket
  socket.destroySoon = () => {
    if (socket.writable) socket.end()
    const timer = setTimeout(() => socket.destroy(), LINGER_MS)
    socket.once("close", () => clearTimeout(timer))
    socket.once("end", () => socket.destroy())
    // the parser goes on handing body bytes to the request: let them flow away
    incoming.removeAllListeners("data")
    incoming.resume()
  }
})

/**
 * The body's bytes, or PAYLOAD_TOO_LARGE at the first byte past `maxBytes`. Read off the socket
 * directly: reading stops there without tearing the connection down, so the 413 reaches the client
 * (the rest of the body is never read; `closeIfUnread` closes the connection after the answer).
 */
const readLimited = (incoming: IncomingMessage, maxBytes: number) =>
  Effect.async<Buffer, PayloadTooLarge | InvalidBody>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const detach = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onCut)
      incoming.off("close", onCut)
      incoming.pause()
    }
    function onData(chunk: Buffer) {
      size += chunk.length
      if (size > maxBytes) {
        detach()
        return resume(Effect.fail(new PayloadTooLarge({ max_bytes: maxBytes })))
      }
      chunks.push(chunk)
    }
    function onEnd() {
      detach()
      resume(Effect.succeed(Buffer.concat(chunks)))
    }
    function onCut() {
      detach()
      resume(Effect.fail(new InvalidBody({ message: "The request body could not be read.", location: "body" })))
    }
    incoming.on("data", onData)
    incoming.on("end", onEnd)
    incoming.on("error", onCut)
    incoming.on("close", onCut)
    incoming.resume()
    return Effect.sync(detach)
  })

/** The request body as text, refusing anything past `maxBytes` as soon as it is announced or seen. */
export const readBodyText = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > maxBytes) return yield* new PayloadTooLarge({ max_bytes: maxBytes })
    return yield* textOf(yield* readLimited(NodeHttpServerRequest.toIncomingMessage(request), maxBytes))
  })

/** A body's bytes as text: UTF-8, or INVALID_BODY. */
export const textOf = (bytes: Uint8Array): Either.Either<string, InvalidBody> => {
  try {
    return Either.right(utf8.decode(bytes))
  } catch {
    return Either.left(new InvalidBody({ message: "The request body is not valid UTF-8.", location: "body" }))
  }
}

/** Whether a Content-Type says JSON. */
export const isJsonType = (type: string | undefined) => /^application\/json\s*(;|$)/i.test(type ?? "")

/** A JSON body's text as a value (undefined when blank), losslessly; malformed JSON is INVALID_BODY. */
export const jsonOf = (text: string): Either.Either<unknown, InvalidBody> => {
  if (text.trim() === "") return Either.right(undefined)
  const parsed = parseJson(text)
  return parsed.ok
    ? Either.right(parsed.value)
    : Either.left(new InvalidBody({ message: `Malformed JSON: ${parsed.error}`, location: "body" }))
}

export const readJsonBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    if (!isJsonType(request.headers["content-type"])) {
      // An empty body is "no body"; anything else must say it is JSON.
      if ((request.headers["content-length"] ?? "0") === "0" && request.headers["transfer-encoding"] === undefined) {
        return undefined
      }
      return yield* new UnsupportedMediaType()
    }
    return yield* jsonOf(yield* readBodyText(request, maxBytes))
  })

/**
 * Decodes one part of a request; a failure names every offending field. Synchronously: the
 * protocol's schemas are pure, and every request decodes two or three parts.
 */
export const decodePartNow = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  location: "body" | "query" | "path",
  onExcessProperty: "error" | "ignore"
): Either.Either<A, InvalidBody> => {
  const decoded = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty })(input)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => ({
    path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
    message: i.message
  }))
  const first = issues[0]
  const where = first && first.path.length > 0 ? ` at ${first.path.join(".")}` : ""
  return Either.left(new InvalidBody({
    message: `Invalid ${location}${where}: ${first?.message ?? "invalid value"}`,
    location,
    issues
  }))
}

/** `decodePartNow` as an effect. */
export const decodePart = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  location: "body" | "query" | "path",
  onExcessProperty: "error" | "ignore"
): Effect.Effect<A, InvalidBody> => decodePartNow(schema, input, location, onExcessProperty)

export const queryRecord = (request: HttpServerRequest.HttpServerRequest): Record<string, string> => {
  const url = new URL(request.url, "http://vox.invalid")
  const out: Record<string, string> = {}
  for (const [k, v] of url.searchParams) if (!(k in out)) out[k] = v
  return out
}

/** `Authorization: Bearer <token>` (user sessions) or `Bot <token>` (bot accounts). */
export const credentialsOf = (header: string | undefined): Either.Either<{ kind: SessionKind; token: string }, AuthFailed> => {
  if (header === undefined || header === "") return Either.left(new AuthFailed({ message: "Missing Authorization header." }))
  const match = /^(Bearer|Bot) +(\S+)$/i.exec(header.trim())
  if (match === null) return Either.left(new AuthFailed({ message: "Malformed Authorization header." }))
  const kind: SessionKind = match[1]!.toLowerCase() === "bot" ? "bot" : "user"
  return Either.right({ kind, token: match[2]! })
}

export const credentialsFrom = (request: HttpServerRequest.HttpServerRequest) => credentialsOf(request.headers["authorization"])

export const clientMeta = (request: HttpServerRequest.HttpServerRequest) => ({
  ip: Option.getOrNull(request.remoteAddress),
  userAgent: request.headers["user-agent"] ?? null
})
