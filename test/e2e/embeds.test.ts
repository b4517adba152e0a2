// Issue 4, acceptance 5: POST /api/v1/embeds/resolve refuses loopback, private, link-local and metadata
// addresses, directly, by a host name, and after a redirect from an allowed site; and an allowed page
// resolves to its OpenGraph preview, read only up to the size cap and within the time limit.
// The "allowed" site is a local server named in `embeds.allowHosts` by its exact host:port; a second
// local server on another port stands for the internal network and must never be reached.
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as EmbedsApi from "../../src/protocol/api/embeds.js"
import { backends, type Backend } from "../support/backends.js"
import { rawEndpointRequest } from "../support/http.js"
import { newUser, TestServer, TestServerLive } from "../support/server.js"
import { html, type PageServer, redirect, sendHtml, servePages } from "../runtime/embeds/pageServer.js"

class EmbedSites extends Context.Tag("test/EmbedSites")<
  EmbedSites,
  { readonly allowed: PageServer; readonly internal: PageServer }
>() {}

const MAX_BYTES = 64 * 1024

const article = html(`
  <meta charset="utf-8">
  <title>Fallback title</title>
  <meta property="og:title" content="Vox &amp; friends">
  <meta property="og:description" content="A chat server you run yourself.">
  <meta property="og:image" content="/img/cover.png">
  <meta property="og:site_name" content="Example Site">`)

/** Two local sites, then a Vox server whose settings name the first one as allowed. */
const withSites = (backend: Backend, embeds: { allowPrivateAddresses?: boolean } = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const internal = yield* servePages(() => ({
        "/": sendHtml(html(`<meta property="og:title" content="internal secret">`)),
        "/latest/meta-data": sendHtml(html(`<meta property="og:title" content="credentials">`))
      }))
      const allowed = yield* servePages(({ origin }) => ({
        "/article": sendHtml(article),
        "/moved": redirect(`${origin}/article`, 301),
        "/to-loopback": redirect(`http://127.0.0.1:${internal.port}/`),
        "/to-private": redirect("http://10.0.0.1/"),
        "/to-metadata": redirect("http://169.254.169.254/latest/meta-data"),
        "/to-v6-loopback": redirect(`http://[::1]:${internal.port}/`),
        "/to-localhost": redirect(`http://localhost:${internal.port}/`),
        "/to-mapped": redirect(`http://[::ffff:127.0.0.1]:${internal.port}/`),
        "/to-decimal": redirect(`http://2130706433:${internal.port}/`),
        "/big": (_req, res) => {
          res.writeHead(200, { "content-type": "text/html" })
          res.write(`<html><head><meta property="og:title" content="Big page">`)
          // 4 MiB of padding, then a tag the resolver must never see; written as the socket drains
          let left = 64
          const pad = Buffer.alloc(64 * 1024, 0x20)
          const more = () => {
            while (left > 0) {
              left--
              if (!res.write(pad)) return void res.once("drain", more)
            }
            res.end(`<meta property="og:description" content="past the cap"></head></html>`)
          }
          more()
        },
        "/slow": (_req, res) => {
          // headers at once, then nothing: only the time limit ends this
          res.writeHead(200, { "content-type": "text/html" })
          res.write("<html><head>")
        },
        "/silent": () => {
          // never even answers
        }
      }))
      const settings = {
        embeds: { allowHosts: [allowed.hostPort], timeout: "1 second", maxBytes: MAX_BYTES, ...embeds }
      }
      return Layer.merge(TestServerLive(backend, settings), Layer.succeed(EmbedSites, { allowed, internal }))
    })
  )

const resolve = (token: string, url: string) =>
  Effect.flatMap(TestServer, ({ client }) => client.withToken(token).call(EmbedsApi.resolveEmbed, { body: { url } }))

const refusal = (token: string, url: string) => Effect.flip(resolve(token, url))

/** The parts of an error a test compares (the error objects themselves do not compare well in arrays). */
const outcome = (error: { readonly _tag: string; readonly code?: string; readonly reason?: string }) =>
  ({ tag: error._tag, code: error.code, reason: error.reason })

const member = Effect.map(newUser("linker"), (user) => user.token)

for (const backend of backends) {
  describe(`embeds on ${backend.name}`, () => {
    layer(withSites(backend), { excludeTestServices: true })((it) => {
      it.effect("refuses loopback, private, link-local, metadata and IPv6 loopback addresses, and names resolving to them", () =>
        Effect.gen(function* () {
          const { internal } = yield* EmbedSites
          const token = yield* member
          const refused = [
            `http://127.0.0.1:${internal.port}/`,
            "http://127.0.0.1/",
            "http://10.0.0.1/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.100.100.200/latest/meta-data",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            `http://[::1]:${internal.port}/`,
            "http://[fd00:ec2::254]/latest/meta-data",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://0.0.0.0/",
            "http://2130706433/", // 127.0.0.1 written as one number
            "http://0x7f.1/", // and in hex shorthand
            `http://localhost:${internal.port}/`,
            "http://localhost/"
          ]
          for (const url of refused) {
            const error = yield* refusal(token, url)
            expect({ url, ...outcome(error) }).toEqual({ url, tag: "EmbedUnavailable", code: "EMBED_UNAVAILABLE", reason: "blocked_address" })
          }
          expect(internal.requests).toEqual([])
        }))

      it.effect("a redirect from the allowed site to an internal address is refused at that hop", () =>
        Effect.gen(function* () {
          const { allowed, internal } = yield* EmbedSites
          const token = yield* member
          const hops = ["/to-loopback", "/to-private", "/to-metadata", "/to-v6-loopback", "/to-localhost", "/to-mapped", "/to-decimal"]
          for (const hop of hops) {
            const error = yield* refusal(token, allowed.origin + hop)
            expect({ hop, ...outcome(error) }).toEqual({ hop, tag: "EmbedUnavailable", code: "EMBED_UNAVAILABLE", reason: "blocked_address" })
          }
          // the allowed site was asked every time; the internal one never
          expect(allowed.requests.map((r) => r.path)).toEqual(expect.arrayContaining(hops))
          expect(internal.requests).toEqual([])
        }))

      it.effect("the allowance is one exact host:port: the same host on another port is still refused", () =>
        Effect.gen(function* () {
          const { allowed, internal } = yield* EmbedSites
          const token = yield* member
          expect(internal.port).not.toBe(allowed.port)
          expect(outcome(yield* refusal(token, `http://127.0.0.1:${internal.port}/`)).reason).toBe("blocked_address")
          expect(outcome(yield* refusal(token, `http://localhost:${allowed.port}/article`)).reason).toBe("blocked_address")
          expect(outcome(yield* refusal(token, "http://93.184.216.34:25/")).reason).toBe("blocked_port")
        }))

      it.effect("an allowed page resolves to its OpenGraph preview, relative image made absolute, after a redirect", () =>
        Effect.gen(function* () {
          const { allowed } = yield* EmbedSites
          const token = yield* member
          const expected = {
            url: `${allowed.origin}/article`,
            title: "Vox & friends",
            description: "A chat server you run yourself.",
            image: `${allowed.origin}/img/cover.png`,
            video: null,
            site_name: "Example Site"
          }
          expect(yield* resolve(token, `${allowed.origin}/article`)).toEqual(expected)
          expect(yield* resolve(token, `${allowed.origin}/moved`)).toEqual(expected)
          // credentials in the link are neither sent nor echoed
          expect(yield* resolve(token, `http://user:secret@${allowed.hostPort}/article`)).toEqual(expected)
        }))

      it.effect("an oversized page is read only up to embeds.maxBytes, then the connection is dropped", () =>
        Effect.gen(function* () {
          const { allowed } = yield* EmbedSites
          const token = yield* member
          const embed = yield* resolve(token, `${allowed.origin}/big`)
          expect(embed).toMatchObject({ title: "Big page", description: null })
          // the server notices the hang-up once its writes fail: wait for it
          for (let i = 0; i < 50 && !allowed.abandoned.includes("/big"); i++) yield* Effect.sleep("20 millis")
          expect(allowed.abandoned).toContain("/big")
        }))

      it.effect("a slow or silent server times out with a clear error within embeds.timeout", () =>
        Effect.gen(function* () {
          const { allowed } = yield* EmbedSites
          const token = yield* member
          for (const path of ["/slow", "/silent"]) {
            const started = Date.now()
            const error = yield* refusal(token, allowed.origin + path)
            const elapsed = Date.now() - started
            expect({ path, ...outcome(error) }).toEqual({ path, tag: "EmbedUnavailable", code: "EMBED_UNAVAILABLE", reason: "timeout" })
            expect(error.message).toMatch(/too long/)
            expect(elapsed).toBeGreaterThanOrEqual(900)
            expect(elapsed).toBeLessThan(4000)
          }
        }))

      it.effect("only members may resolve; only http(s) URLs are accepted", () =>
        Effect.gen(function* () {
          const { client } = yield* TestServer
          const { allowed } = yield* EmbedSites
          const anonymous = yield* Effect.flip(client.call(EmbedsApi.resolveEmbed, { body: { url: `${allowed.origin}/article` } }))
          expect(anonymous).toMatchObject({ code: "AUTH_FAILED" })
          const token = yield* member
          // the SDK would refuse to send these: raw requests
          const post = (body: unknown) => rawEndpointRequest(EmbedsApi.resolveEmbed, {}, { token, body })
          const bodies = [
            ...["ftp://example.com/", "javascript:alert(1)", "file:///etc/passwd", "not a url", "gopher://127.0.0.1:25/"].map((url) => ({ url })),
            { url: `http://example.com/${"a".repeat(3000)}` },
            { url: 7 },
            {},
            { url: "http://example.com/", extra: true }
          ]
          for (const body of bodies) {
            const response = yield* post(body)
            expect({ body, status: response.status, code: response.body.error.code }).toEqual({ body, status: 400, code: "INVALID_BODY" })
          }
        }))
    })

    layer(withSites(backend, { allowPrivateAddresses: true }), { excludeTestServices: true })((it) => {
      it.effect("embeds.allowPrivateAddresses opens loopback, on any port", () =>
        Effect.gen(function* () {
          const { internal } = yield* EmbedSites
          const token = yield* member
          expect(yield* resolve(token, `http://127.0.0.1:${internal.port}/`)).toMatchObject({ title: "internal secret" })
          expect(yield* resolve(token, `http://localhost:${internal.port}/latest/meta-data`)).toMatchObject({ title: "credentials" })
        }))
    })
  })
}
