// A GET that cannot be turned against the server's own network (SSRF). For every hop, the first and
// each redirect: the scheme must be http(s) and the port 80/443; the host name is resolved here, every
// address it resolves to must be public (addresses.ts), and the connection goes to exactly those
// verified addresses (the request's `lookup` is pinned to them), so a second DNS answer (rebinding)
// can never swap in another. Redirects are followed by hand, at most `maxRedirects`. Only the first
// `maxBytes` of a body are read (after decompression); the caller bounds the total time.
import { Effect } from "effect"
import * as Dns from "node:dns"
import * as Http from "node:http"
import * as Https from "node:https"
import type { LookupFunction } from "node:net"
import type { Readable, Transform } from "node:stream"
import * as Zlib from "node:zlib"
import { type EmbedFailure, EmbedUnavailable } from "../../protocol/errors.js"
import { isIpLiteral, nonPublicRange } from "./addresses.js"

export interface FetchPolicy {
  /** Skip the address check everywhere (and allow any port): for development and tests only. */
  readonly allowPrivateAddresses: boolean
  /** Exact `host:port` pairs (as in the URL, lowercase) that skip the address and port checks. */
  readonly allowHosts: ReadonlyArray<string>
  readonly maxBytes: number
  readonly maxRedirects: number
}

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** Every address a host name resolves to. */
export type Lookup = (hostname: string) => Promise<ReadonlyArray<ResolvedAddress>>

export const systemLookup: Lookup = (hostname) =>
  Dns.promises.lookup(hostname, { all: true, verbatim: true }).then((answers) =>
    answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 as const : 4 as const }))
  )

export type FetchedPage =
  | { readonly _tag: "html"; readonly url: URL; readonly contentType: string; readonly body: Uint8Array; readonly truncated: boolean }
  | { readonly _tag: "other"; readonly url: URL; readonly mime: string }

export const USER_AGENT = "VoxLinkPreview/1.0 (+https://github.com/vox)"

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const HTML_TYPES = new Set(["text/html", "application/xhtml+xml"])
const STANDARD_PORTS = new Set([80, 443])

const refuse = (reason: EmbedFailure, message: string) => new EmbedUnavailable({ reason, message })

const effectivePort = (url: URL) => (url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port))

/** The scheme, port and address checks of one hop; the addresses to connect to. */
const admit = (url: URL, policy: FetchPolicy, lookup: Lookup) =>
  Effect.gen(function* () {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* refuse("invalid_url", "Only http and https links can be previewed.")
    }
    const port = effectivePort(url)
    const allowedHost = policy.allowHosts.includes(`${url.hostname}:${port}`)
    const checked = !allowedHost && !policy.allowPrivateAddresses
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
    const addresses: ReadonlyArray<ResolvedAddress> = isIpLiteral(host)
      ? [{ address: host, family: host.includes(":") ? 6 : 4 }]
      : yield* Effect.tryPromise({
        try: () => lookup(host),
        catch: () => refuse("unresolvable", `The host ${host} cannot be resolved.`)
      })
    if (addresses.length === 0) return yield* refuse("unresolvable", `The host ${host} cannot be resolved.`)
    // Any non-public answer refuses the whole host: connecting to "the public one" would still let
    // a name that also points inside be used as a probe.
    if (checked && addresses.some((a) => nonPublicRange(a.address) !== undefined)) {
      return yield* refuse(
        "blocked_address",
        isIpLiteral(host) ? `${host} is not a public address.` : `${host} resolves to an address that is not public.`
      )
    }
    if (checked && !STANDARD_PORTS.has(port)) {
      return yield* refuse("blocked_port", "Links on ports other than 80 and 443 cannot be previewed.")
    }
    return { host, port, addresses }
  })

/** A `lookup` for the request that answers with the verified addresses and never asks DNS again. */
const pinnedLookup = (addresses: ReadonlyArray<ResolvedAddress>): LookupFunction => (_hostname, options, callback) => {
  if (options.all === true) callback(null, addresses.map((a) => ({ address: a.address, family: a.family })))
  else callback(null, addresses[0]?.address ?? "", addresses[0]?.family ?? 4)
}

type HopResult =
  | { readonly _tag: "redirect"; readonly location: string | undefined }
  | FetchedPage

const decoderFor = (encoding: string | undefined): Transform | "identity" | undefined => {
  switch ((encoding ?? "identity").trim().toLowerCase()) {
    case "identity":
    case "":
      return "identity"
    case "gzip":
    case "x-gzip":
      return Zlib.createGunzip()
    case "deflate":
      return Zlib.createInflate()
    case "br":
      return Zlib.createBrotliDecompress()
    default:
      return undefined
  }
}

/** One GET to a verified address; an HTML body is read up to `maxBytes`, anything else not at all. */
const requestOnce = (url: URL, target: { host: string; port: number; addresses: ReadonlyArray<ResolvedAddress> }, maxBytes: number) =>
  Effect.async<HopResult, EmbedUnavailable>((resume) => {
    let settled = false
    const settle = (result: Effect.Effect<HopResult, EmbedUnavailable>) => {
      if (settled) return
      settled = true
      resume(result)
    }
    const client = url.protocol === "https:" ? Https : Http
    const request = client.request(
      {
        protocol: url.protocol,
        hostname: target.host,
        port: target.port,
        path: url.pathname + url.search,
        method: "GET",
        headers: {
          "user-agent": USER_AGENT,
          accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
          "accept-encoding": "gzip, deflate, br"
        },
        // a fresh socket per request: never one kept alive to another address
        agent: false,
        lookup: pinnedLookup(target.addresses)
      },
      (response) => {
        const status = response.statusCode ?? 0
        const done = (result: Effect.Effect<HopResult, EmbedUnavailable>) => {
          response.destroy()
          request.destroy()
          settle(result)
        }
        if (REDIRECT_STATUSES.has(status)) return done(Effect.succeed({ _tag: "redirect", location: response.headers.location }))
        if (status < 200 || status > 299) {
          return done(Effect.fail(refuse("http_status", `The page answered with HTTP status ${status}.`)))
        }
        const contentType = response.headers["content-type"] ?? ""
        const mime = (contentType.split(";")[0] ?? "").trim().toLowerCase()
        if (!HTML_TYPES.has(mime)) return done(Effect.succeed({ _tag: "other", url, mime }))
        const decoder = decoderFor(response.headers["content-encoding"])
        if (decoder === undefined) {
          return done(Effect.fail(refuse("unsupported_content", "The page uses an unsupported content encoding.")))
        }
        const body: Readable = decoder === "identity" ? response : response.pipe(decoder)
        const chunks: Array<Buffer> = []
        let size = 0
        const finish = (truncated: boolean) => {
          if (decoder !== "identity") decoder.destroy()
          done(Effect.succeed({ _tag: "html", url, contentType, body: Buffer.concat(chunks), truncated }))
        }
        body.on("data", (chunk: Buffer) => {
          if (settled) return
          const room = maxBytes - size
          if (chunk.length > room) {
            // the cap: keep what fits and stop reading, whatever the page still has to send
            chunks.push(chunk.subarray(0, room))
            return finish(true)
          }
          chunks.push(chunk)
          size += chunk.length
        })
        body.on("end", () => finish(false))
        // A body cut short (reset, bad compression) still has its head: keep what arrived.
        const broken = () => {
          if (size > 0) finish(true)
          else done(Effect.fail(refuse("unreachable", "The page could not be read.")))
        }
        body.on("error", broken)
        if (body !== response) response.on("error", broken)
        response.on("aborted", broken)
      }
    )
    request.on("error", () => settle(Effect.fail(refuse("unreachable", `Could not connect to ${url.host}.`))))
    request.end()
    // interrupted (the caller's time limit): drop the connection
    return Effect.sync(() => request.destroy())
  })

/** GET `url` under `policy`, following redirects, re-checking every hop. */
export const fetchPage = (url: URL, policy: FetchPolicy, lookup: Lookup = systemLookup) =>
  Effect.gen(function* () {
    let current = url
    for (let hop = 0; ; hop++) {
      const target = yield* admit(current, policy, lookup)
      const result = yield* requestOnce(current, target, policy.maxBytes)
      if (result._tag !== "redirect") return result
      if (result.location === undefined) {
        return yield* refuse("http_status", "The page redirected without saying where to.")
      }
      if (hop >= policy.maxRedirects) return yield* refuse("too_many_redirects", "The link redirects too many times.")
      const next = URL.canParse(result.location, current.href) ? new URL(result.location, current) : undefined
      if (next === undefined) return yield* refuse("invalid_url", "The page redirected to an invalid URL.")
      current = next
    }
  })
