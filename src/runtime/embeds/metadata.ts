// A page's preview metadata from its HTML: OpenGraph (og:*), Twitter cards (twitter:*), then the
// plain <title> and <meta name="description">. A small tag scanner, not an HTML parser: it reads tags
// and their attributes, skips comments and the raw text of <script>, <style> and the like (so a
// "<meta" inside a script is not taken for a tag), and never builds a tree. Input is already capped
// in size by the fetch.

/** What a page declares, as written (URLs not yet resolved). First occurrence of each key wins. */
export interface PageMetadata {
  readonly title: string | undefined
  readonly meta: ReadonlyMap<string, string>
  /** `<base href>`: what relative URLs are relative to */
  readonly base: string | undefined
}

// Elements whose content is text, not markup: skipped up to their end tag.
const RAW_TEXT = new Set(["script", "style", "textarea", "xmp", "iframe", "noembed", "noframes", "template", "svg", "math"])

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: "\u00a0", hellip: "\u2026", mdash: "\u2014",
  ndash: "\u2013", lsquo: "\u2018", rsquo: "\u2019", ldquo: "\u201c", rdquo: "\u201d", laquo: "\u00ab",
  raquo: "\u00bb", middot: "\u00b7", bull: "\u2022", copy: "\u00a9", reg: "\u00ae", trade: "\u2122",
  euro: "\u20ac", pound: "\u00a3", yen: "\u00a5", cent: "\u00a2", deg: "\u00b0", times: "\u00d7"
}

/** Character references: numeric ones always, named ones from a short list of common ones. */
export const decodeEntities = (text: string): string =>
  text.replace(/&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});?/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
      return valid ? String.fromCodePoint(code) : "\ufffd"
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole
  })

const isSpace = (c: string | undefined) => c === " " || c === "\n" || c === "\t" || c === "\r" || c === "\f"

/** Where the content before the end tag `</name ...>` ends, and the index past that tag (or the text's end). */
const skipPastEndTag = (html: string, name: string, from: number): { contentEnd: number; next: number } => {
  const endTag = new RegExp(`</${name}(?=[\\s/>]|$)`, "gi")
  endTag.lastIndex = from
  const found = endTag.exec(html)
  if (found === null) return { contentEnd: html.length, next: html.length }
  const close = html.indexOf(">", found.index)
  return { contentEnd: found.index, next: close < 0 ? html.length : close + 1 }
}

interface Tag {
  readonly name: string
  readonly attributes: ReadonlyMap<string, string>
  /** index just past the tag's `>` */
  readonly end: number
}

/** Reads the start tag at `lt` (`html[lt] === "<"`); undefined when it is not one. */
const readTag = (html: string, lt: number): Tag | undefined => {
  const nameMatch = /^[A-Za-z][^\s/>]*/.exec(html.slice(lt + 1, lt + 64))
  if (nameMatch === null) return undefined
  const name = nameMatch[0].toLowerCase()
  const attributes = new Map<string, string>()
  let i = lt + 1 + nameMatch[0].length
  const n = html.length
  for (;;) {
    while (i < n && (isSpace(html[i]) || html[i] === "/")) i++
    if (i >= n) return { name, attributes, end: n }
    if (html[i] === ">") return { name, attributes, end: i + 1 }
    const attrStart = i
    i++ // a first "=" belongs to the name (HTML tokenizer rule)
    while (i < n && !isSpace(html[i]) && html[i] !== "/" && html[i] !== ">" && html[i] !== "=") i++
    const attrName = html.slice(attrStart, i).toLowerCase()
    while (i < n && isSpace(html[i])) i++
    let value = ""
    if (html[i] === "=") {
      i++
      while (i < n && isSpace(html[i])) i++
      const quote = html[i]
      if (quote === "\"" || quote === "'") {
        const close = html.indexOf(quote, i + 1)
        const stop = close < 0 ? n : close
        value = html.slice(i + 1, stop)
        i = stop + 1
      } else {
        const start = i
        while (i < n && !isSpace(html[i]) && html[i] !== ">") i++
        value = html.slice(start, i)
      }
    }
    if (!attributes.has(attrName)) attributes.set(attrName, decodeEntities(value))
  }
}

/** Scans a page for its title, its <meta> properties and its <base href>. */
export const scanHtml = (html: string): PageMetadata => {
  const meta = new Map<string, string>()
  let title: string | undefined
  let base: string | undefined
  let i = 0
  while (i < html.length) {
    const lt = html.indexOf("<", i)
    if (lt < 0) break
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4)
      i = end < 0 ? html.length : end + 3
      continue
    }
    const next = html[lt + 1]
    if (next === "!" || next === "?" || next === "/") {
      // doctype, CDATA, processing instruction, end tag: nothing to read
      const end = html.indexOf(">", lt + 1)
      i = end < 0 ? html.length : end + 1
      continue
    }
    const tag = readTag(html, lt)
    if (tag === undefined) {
      i = lt + 1
      continue
    }
    i = tag.end
    if (tag.name === "meta") {
      const key = tag.attributes.get("property") ?? tag.attributes.get("name") ?? tag.attributes.get("itemprop")
      const content = tag.attributes.get("content")
      if (key !== undefined && content !== undefined) {
        const k = key.trim().toLowerCase()
        if (k !== "" && !meta.has(k)) meta.set(k, content)
      }
    } else if (tag.name === "base") {
      base ??= tag.attributes.get("href")
    } else if (tag.name === "title") {
      const { contentEnd, next: after } = skipPastEndTag(html, "title", i)
      title ??= decodeEntities(html.slice(i, contentEnd))
      i = after
    } else if (RAW_TEXT.has(tag.name)) {
      i = skipPastEndTag(html, tag.name, i).next
    }
  }
  return { title, meta, base }
}

/** Collapses whitespace, drops control characters, cuts at `max` code points; empty -> null. */
export const cleanText = (text: string | undefined, max: number): string | null => {
  if (text === undefined) return null
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").replace(/\s+/g, " ").trim()
  if (flat === "") return null
  const points = Array.from(flat)
  return points.length <= max ? flat : points.slice(0, max - 1).join("").trimEnd() + "\u2026"
}

/** An absolute http(s) URL of at most `max` characters, resolved against `base`; else null. */
export const absoluteHttpUrl = (raw: string | undefined, base: string, max = 2048): string | null => {
  if (raw === undefined || raw.trim() === "") return null
  let url: URL
  try {
    url = new URL(raw.trim(), base)
  } catch {
    return null
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null
  const text = url.toString()
  return text.length <= max ? text : null
}

/** The first of `keys` the page declares. */
export const firstOf = (meta: ReadonlyMap<string, string>, keys: ReadonlyArray<string>): string | undefined => {
  for (const key of keys) {
    const value = meta.get(key)
    if (value !== undefined && value.trim() !== "") return value
  }
  return undefined
}
