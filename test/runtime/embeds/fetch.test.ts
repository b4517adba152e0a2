// The guarded fetch behind link previews, with a DNS of the test's own: the connection goes to the
// addresses that were checked (never a second DNS answer), every redirect hop is checked again, and
// bodies, encodings and statuses are handled as the endpoint promises.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Zlib from "node:zlib"
import { type EmbedSettings, resolveEmbed } from "../../../src/runtime/embeds/Embeds.js"
import { fetchPage, type Lookup, type ResolvedAddress } from "../../../src/runtime/embeds/fetchPage.js"
import { html, redirect, sendHtml, servePages } from "./pageServer.js"

/** A DNS answering from a table, counting questions. */
const fakeDns = (table: Record<string, ReadonlyArray<ResolvedAddress>>) => {
  const asked: Array<string> = []
  const lookup: Lookup = (hostname) => {
    asked.push(hostname)
    const answer = table[hostname]
    return answer === undefined ? Promise.reject(new Error("ENOTFOUND")) : Promise.resolve(answer)
  }
  return { asked, lookup }
}

const loopback: ReadonlyArray<ResolvedAddress> = [{ address: "127.0.0.1", family: 4 }]

const settings = (overrides: Partial<EmbedSettings> = {}): EmbedSettings => ({
  allowPrivateAddresses: false,
  allowHosts: [],
  maxBytes: 64 * 1024,
  timeout: "2 seconds",
  ...overrides
})

const page = html(`<meta property="og:title" content="Pinned">`)

describe("address pinning", () => {
  it.scoped("connects to the address that was checked: the name is looked up once, by us", () =>
    Effect.gen(function* () {
      const site = yield* servePages(() => ({ "/p": sendHtml(page) }))
      // "rebind.test" exists only in our table: had the request asked the system DNS again, it would fail
      const dns = fakeDns({ "rebind.test": loopback })
      const embed = yield* resolveEmbed(
        `http://rebind.test:${site.port}/p`,
        settings({ allowHosts: [`rebind.test:${site.port}`] }),
        dns.lookup
      )
      expect(embed).toMatchObject({ url: `http://rebind.test:${site.port}/p`, title: "Pinned" })
      expect(dns.asked).toEqual(["rebind.test"])
      expect(site.requests).toEqual([{ path: "/p", host: `rebind.test:${site.port}` }])
    }))

  it.scoped("a name with any non-public answer is refused, even beside a public one, without connecting", () =>
    Effect.gen(function* () {
      const dns = fakeDns({
        "mixed.test": [{ address: "93.184.216.34", family: 4 }, { address: "127.0.0.1", family: 4 }],
        "v6.test": [{ address: "2606:4700::1", family: 6 }, { address: "::ffff:169.254.169.254", family: 6 }],
        "private.test": [{ address: "10.1.2.3", family: 4 }]
      })
      for (const host of ["mixed.test", "v6.test", "private.test"]) {
        const error = yield* Effect.flip(resolveEmbed(`http://${host}/`, settings(), dns.lookup))
        expect([host, error.reason]).toEqual([host, "blocked_address"])
      }
    }))

  it.scoped("every redirect hop is looked up and checked again", () =>
    Effect.gen(function* () {
      const site = yield* servePages(() => ({ "/hop": redirect("http://inside.test/latest/meta-data") }))
      const dns = fakeDns({ "outside.test": loopback, "inside.test": [{ address: "169.254.169.254", family: 4 }] })
      const error = yield* Effect.flip(resolveEmbed(
        `http://outside.test:${site.port}/hop`,
        settings({ allowHosts: [`outside.test:${site.port}`] }),
        dns.lookup
      ))
      expect(error.reason).toBe("blocked_address")
      expect(dns.asked).toEqual(["outside.test", "inside.test"])
    }))

  it.effect("a name that does not resolve", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(resolveEmbed("http://nowhere.test/", settings(), fakeDns({}).lookup))
      expect(error.reason).toBe("unresolvable")
      const empty = yield* Effect.flip(resolveEmbed("http://empty.test/", settings(), fakeDns({ "empty.test": [] }).lookup))
      expect(empty.reason).toBe("unresolvable")
    }))
})

describe("fetching", () => {
  const allowed = (port: number, overrides: Partial<EmbedSettings> = {}) =>
    settings({ allowHosts: [`127.0.0.1:${port}`], ...overrides })

  it.scoped("follows relative redirects on an allowed host, up to five", () =>
    Effect.gen(function* () {
      const site = yield* servePages(() => ({
        "/a": redirect("/b", 301),
        "/b": redirect("c", 307),
        "/c": redirect("/page?x=1", 308),
        "/page?x=1": sendHtml(page),
        "/loop": redirect("/loop"),
        "/r1": redirect("/r2"), "/r2": redirect("/r3"), "/r3": redirect("/r4"), "/r4": redirect("/r5"),
        "/r5": redirect("/page?x=1"),
        "/r0": redirect("/r1"),
        "/nowhere": (_req, res) => {
          res.writeHead(302)
          res.end()
        },
        "/ftp": redirect("ftp://example.com/file"),
        "/bad": redirect("http://[broken/")
      }))
      expect(yield* resolveEmbed(`${site.origin}/a`, allowed(site.port))).toMatchObject({ url: `${site.origin}/page?x=1`, title: "Pinned" })
      expect((yield* resolveEmbed(`${site.origin}/r1`, allowed(site.port))).title).toBe("Pinned") // 5 redirects
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/r0`, allowed(site.port)))).reason).toBe("too_many_redirects")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/loop`, allowed(site.port)))).reason).toBe("too_many_redirects")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/nowhere`, allowed(site.port)))).reason).toBe("http_status")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/ftp`, allowed(site.port)))).reason).toBe("invalid_url")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/bad`, allowed(site.port)))).reason).toBe("invalid_url")
    }))

  it.scoped("statuses, content types and encodings", () =>
    Effect.gen(function* () {
      const body = html(`<meta property="og:title" content="Compressed">`)
      const site = yield* servePages(() => ({
        "/gone": (_req, res) => {
          res.writeHead(410, { "content-type": "text/html" })
          res.end(page)
        },
        "/json": (_req, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(`{"og:title": "no"}`)
        },
        "/cat.png": (_req, res) => {
          res.writeHead(200, { "content-type": "image/png" })
          res.end(Buffer.alloc(100))
        },
        "/gzip": sendHtml(Zlib.gzipSync(body).toString("latin1"), { "content-encoding": "gzip" }),
        "/br": (_req, res) => {
          res.writeHead(200, { "content-type": "text/html", "content-encoding": "br" })
          res.end(Zlib.brotliCompressSync(body))
        },
        "/zstd": sendHtml(body, { "content-encoding": "zstd" }),
        "/empty": sendHtml(html("", "<p>just text</p>"))
      }))
      const policy = allowed(site.port)
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/gone`, policy))).reason).toBe("http_status")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/missing`, policy))).reason).toBe("http_status")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/json`, policy))).reason).toBe("unsupported_content")
      expect((yield* resolveEmbed(`${site.origin}/cat.png`, policy)).image).toBe(`${site.origin}/cat.png`)
      expect((yield* resolveEmbed(`${site.origin}/br`, policy)).title).toBe("Compressed")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/zstd`, policy))).reason).toBe("unsupported_content")
      expect((yield* Effect.flip(resolveEmbed(`${site.origin}/empty`, policy))).reason).toBe("no_metadata")
    }))

  it.scoped("gzip bodies are capped after decompression (a small bomb stays small)", () =>
    Effect.gen(function* () {
      const bomb = Zlib.gzipSync(Buffer.concat([Buffer.from(html(`<meta property="og:title" content="Bomb">`)), Buffer.alloc(50 * 1024 * 1024, 0x20)]))
      const site = yield* servePages(() => ({
        "/bomb": (_req, res) => {
          res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" })
          res.end(bomb)
        }
      }))
      const fetched = yield* fetchPage(new URL(`${site.origin}/bomb`), { ...allowed(site.port), maxRedirects: 0 })
      expect(fetched._tag).toBe("html")
      if (fetched._tag === "html") {
        expect(fetched.body.length).toBe(64 * 1024)
        expect(fetched.truncated).toBe(true)
      }
    }))

  it.scoped("a refused connection is unreachable; ports other than 80 and 443 need an allowance", () =>
    Effect.gen(function* () {
      const site = yield* servePages(() => ({}))
      const closedPort = yield* Effect.scoped(Effect.map(servePages(() => ({})), (s) => s.port))
      const error = yield* Effect.flip(resolveEmbed(`http://127.0.0.1:${closedPort}/`, settings({ allowHosts: [`127.0.0.1:${closedPort}`] })))
      expect(error.reason).toBe("unreachable")
      const port = yield* Effect.flip(resolveEmbed("http://8.8.8.8:8080/", settings(), fakeDns({}).lookup))
      expect(port.reason).toBe("blocked_port")
      // allowPrivateAddresses lifts both checks
      const open = yield* Effect.flip(resolveEmbed(`${site.origin}/nothing`, settings({ allowPrivateAddresses: true })))
      expect(open.reason).toBe("http_status")
    }))
})
