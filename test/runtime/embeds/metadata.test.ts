// Reading a page's preview metadata: which tags count, in which order, and what is never mistaken for one.
import { describe, expect, it } from "vitest"
import { embedOf } from "../../../src/runtime/embeds/Embeds.js"
import { absoluteHttpUrl, cleanText, decodeEntities, scanHtml } from "../../../src/runtime/embeds/metadata.js"

const page = (html: string, url = "https://example.com/a/b.html", contentType = "text/html; charset=utf-8") =>
  embedOf({ _tag: "html", url: new URL(url), contentType, body: Buffer.from(html, "utf8"), truncated: false })

describe("scanHtml", () => {
  it("reads meta properties and names, any quoting and case, first occurrence wins", () => {
    const { meta, title } = scanHtml(`<!doctype html><HTML><Head>
      <META PROPERTY="og:title" CONTENT="First">
      <meta property='og:title' content='Second'>
      <meta name=description content=unquoted>
      <meta content="reversed order" property="og:description"/>
      <meta name="twitter:image" content="/t.png" >
      <title>  The
        title </title>
    </head><body></body></HTML>`)
    expect(meta.get("og:title")).toBe("First")
    expect(meta.get("description")).toBe("unquoted")
    expect(meta.get("og:description")).toBe("reversed order")
    expect(meta.get("twitter:image")).toBe("/t.png")
    expect(title).toBe("  The\n        title ")
  })

  it("skips comments, scripts, styles, templates and SVG titles", () => {
    const { meta, title } = scanHtml(`<head>
      <!-- <meta property="og:title" content="in a comment"> -->
      <script>document.write('<meta property="og:title" content="in a script"><title>no</title>')</script>
      <style>/* <meta property="og:image" content="x.png"> */</style>
      <template><meta property="og:description" content="inert"></template>
      <svg><title>icon</title></svg>
      <title>Real</title>
      <meta property="og:title" content="Real title">
    </head>`)
    expect(title).toBe("Real")
    expect(meta.get("og:title")).toBe("Real title")
    expect(meta.has("og:image")).toBe(false)
    expect(meta.has("og:description")).toBe(false)
  })

  it("survives malformed markup: unclosed quotes, stray brackets, truncated tags", () => {
    expect(scanHtml(`<<<meta property="og:title" content="ok"> a < b <3 <meta`).meta.get("og:title")).toBe("ok")
    expect(scanHtml(`<meta property="og:title" content="never closed`).meta.get("og:title")).toBe("never closed")
    expect(scanHtml(`<title>no end`).title).toBe("no end")
    expect(scanHtml("").meta.size).toBe(0)
  })

  it("decodes character references", () => {
    expect(decodeEntities("Tom &amp; Jerry &lt;3 &#39;x&#x27; &quot;q&quot; &hellip; &unknown; &#0; &#xD800;"))
      .toBe("Tom & Jerry <3 'x' \"q\" \u2026 &unknown; \ufffd \ufffd")
    expect(scanHtml(`<meta property="og:title" content="A &amp; B">`).meta.get("og:title")).toBe("A & B")
  })
})

describe("the preview", () => {
  it("prefers OpenGraph, then Twitter, then <title> and the description meta; URLs made absolute", () => {
    expect(page(`<title>Plain</title><meta name="description" content="plain description">
      <meta name="twitter:title" content="Card"><meta property="og:title" content="Graph">
      <meta property="og:image" content="../img/cover.png"><meta property="og:video" content="//cdn.example.net/v.mp4">
      <meta property="og:site_name" content="Example">`)).toEqual({
      url: "https://example.com/a/b.html",
      title: "Graph",
      description: "plain description",
      image: "https://example.com/img/cover.png",
      video: "https://cdn.example.net/v.mp4",
      site_name: "Example"
    })
    expect(page(`<title>Plain</title><meta name="twitter:title" content="Card">`).title).toBe("Card")
    expect(page(`<title>Plain &amp; simple</title>`)).toMatchObject({ title: "Plain & simple", description: null, image: null })
  })

  it("resolves relative URLs against <base href>, and drops non-http(s) ones", () => {
    expect(page(`<base href="https://static.example.org/x/"><meta property="og:image" content="i.png">`).image)
      .toBe("https://static.example.org/x/i.png")
    expect(page(`<meta property="og:title" content="t"><meta property="og:image" content="javascript:alert(1)">`).image).toBeNull()
    expect(page(`<meta property="og:title" content="t"><meta property="og:image" content="data:image/png;base64,AAAA">`).image).toBeNull()
    expect(absoluteHttpUrl("https://example.com/" + "a".repeat(3000), "https://example.com/")).toBeNull()
  })

  it("cleans and caps text to the message Embed limits", () => {
    expect(cleanText("  a\n\t b\u0000c  ", 10)).toBe("a b c")
    expect(cleanText("   ", 10)).toBeNull()
    const long = page(`<meta property="og:title" content="${"x".repeat(1000)}"><meta property="og:description" content="${"é".repeat(5000)}">`)
    expect(Array.from(long.title ?? "").length).toBe(256)
    expect(Array.from(long.description ?? "").length).toBe(4096)
    expect(cleanText("😀".repeat(10), 5)).toBe("😀😀😀😀\u2026")
  })

  it("decodes the charset the page declares", () => {
    const latin1 = Buffer.from(`<meta charset="iso-8859-1"><title>Caf\xe9</title>`, "latin1")
    expect(embedOf({ _tag: "html", url: new URL("http://example.com/"), contentType: "text/html", body: latin1, truncated: false }).title)
      .toBe("Café")
    const header = Buffer.from(`<title>Caf\xe9</title>`, "latin1")
    expect(embedOf({ _tag: "html", url: new URL("http://example.com/"), contentType: "text/html; charset=ISO-8859-1", body: header, truncated: false }).title)
      .toBe("Café")
  })

  it("a direct image or video link is its own preview", () => {
    expect(embedOf({ _tag: "other", url: new URL("https://example.com/cat.png"), mime: "image/png" }))
      .toEqual({ url: "https://example.com/cat.png", title: null, description: null, image: "https://example.com/cat.png", video: null, site_name: null })
    expect(embedOf({ _tag: "other", url: new URL("https://example.com/v.webm"), mime: "video/webm" }).video)
      .toBe("https://example.com/v.webm")
  })
})
