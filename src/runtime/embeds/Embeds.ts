// Link previews (POST /api/v1/embeds/resolve): fetch the page under the SSRF guards of fetchPage.ts,
// within `embeds.timeout` in total, and read its OpenGraph / Twitter card / <title> metadata.
import { Duration, Effect } from "effect"
import type { ResolvedEmbed } from "../../protocol/api/embeds.js"
import { EmbedUnavailable } from "../../protocol/errors.js"
import { VoxConfig } from "../config/VoxConfig.js"
import { type FetchedPage, fetchPage, type FetchPolicy, type Lookup, systemLookup } from "./fetchPage.js"
import { absoluteHttpUrl, cleanText, firstOf, scanHtml } from "./metadata.js"

export const MAX_REDIRECTS = 5

// The limits of the message Embed schema (src/protocol/api/messages.ts), so a preview fits a message.
const MAX_TITLE = 256
const MAX_DESCRIPTION = 4096
const MAX_SITE_NAME = 256

const TITLE_KEYS = ["og:title", "twitter:title"]
const DESCRIPTION_KEYS = ["og:description", "twitter:description", "description"]
const IMAGE_KEYS = ["og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src"]
const VIDEO_KEYS = ["og:video:secure_url", "og:video", "og:video:url", "twitter:player"]

/** The label of the charset a page declares (Content-Type first, then a <meta> in its first KiB). */
const charsetOf = (contentType: string, body: Uint8Array): string => {
  const fromHeader = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType)?.[1]
  if (fromHeader !== undefined) return fromHeader
  const head = Buffer.from(body.subarray(0, 1024)).toString("latin1")
  return /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ?? "utf-8"
}

const decodeText = (body: Uint8Array, charset: string): string => {
  try {
    return new TextDecoder(charset).decode(body)
  } catch {
    // an unknown label
    return new TextDecoder("utf-8").decode(body)
  }
}

/** The preview of a fetched page. */
export const embedOf = (page: FetchedPage): ResolvedEmbed => {
  const url = page.url.toString()
  if (page._tag === "other") {
    // a direct link to an image or a video is its own preview; nothing else without HTML
    const image = page.mime.startsWith("image/") ? url : null
    const video = page.mime.startsWith("video/") ? url : null
    return { url, title: null, description: null, image, video, site_name: null }
  }
  const { base: declaredBase, meta, title } = scanHtml(decodeText(page.body, charsetOf(page.contentType, page.body)))
  const base = absoluteHttpUrl(declaredBase, url) ?? url
  return {
    url,
    title: cleanText(firstOf(meta, TITLE_KEYS) ?? title, MAX_TITLE),
    description: cleanText(firstOf(meta, DESCRIPTION_KEYS), MAX_DESCRIPTION),
    image: absoluteHttpUrl(firstOf(meta, IMAGE_KEYS), base),
    video: absoluteHttpUrl(firstOf(meta, VIDEO_KEYS), base),
    site_name: cleanText(meta.get("og:site_name"), MAX_SITE_NAME)
  }
}

export interface EmbedSettings extends Omit<FetchPolicy, "maxRedirects"> {
  readonly timeout: Duration.DurationInput
}

/** Resolves `url` to its preview, or fails with EMBED_UNAVAILABLE naming why. */
export const resolveEmbed = (url: string, settings: EmbedSettings, lookup: Lookup = systemLookup) =>
  Effect.suspend(() => {
    if (!URL.canParse(url)) return Effect.fail(new EmbedUnavailable({ reason: "invalid_url", message: "The link is not a valid URL." }))
    const target = new URL(url)
    // credentials in a link are never sent, nor echoed back in the preview
    target.username = ""
    target.password = ""
    return fetchPage(target, { ...settings, maxRedirects: MAX_REDIRECTS }, lookup)
  }).pipe(
    Effect.filterOrFail(
      (page) => page._tag === "html" || page.mime.startsWith("image/") || page.mime.startsWith("video/"),
      () => new EmbedUnavailable({ reason: "unsupported_content", message: "The link is neither a web page nor an image or video." })
    ),
    Effect.map(embedOf),
    Effect.filterOrFail(
      (embed) => embed.image !== null || embed.video !== null || embed.title !== null || embed.description !== null,
      () => new EmbedUnavailable({ reason: "no_metadata", message: "The page has nothing to preview." })
    ),
    Effect.timeoutFail({
      duration: settings.timeout,
      onTimeout: () => new EmbedUnavailable({ reason: "timeout", message: "The page took too long to answer." })
    }),
    Effect.withSpan("Embeds.resolve")
  )

export class Embeds extends Effect.Service<Embeds>()("vox/Embeds", {
  effect: Effect.gen(function* () {
    const config = yield* VoxConfig
    const settings: EmbedSettings = config.embeds
    return {
      resolve: (url: string) => resolveEmbed(url, settings)
    } as const
  })
}) {}
