// Link previews: reference API.md §6 "Embeds". The server fetches the page itself (with SSRF guards:
// DECISIONS.md "outbound resolution") and answers with its OpenGraph / Twitter card metadata.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { HttpUrl } from "./fields.js"

export const ResolveEmbedRequest = Schema.Struct({ url: HttpUrl })
export type ResolveEmbedRequest = typeof ResolveEmbedRequest.Type

/**
 * A page's preview. `title`, `description`, `image` and `video` are the reference's fields; a page
 * that does not declare one gives null. `url` is where the fetch ended after redirects. Lengths fit
 * the message `Embed` schema, so a client can attach the result to a message as it is.
 */
export const ResolvedEmbed = Schema.Struct({
  url: Schema.String,
  title: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  /** absolute http(s) URL */
  image: Schema.NullOr(Schema.String),
  /** absolute http(s) URL of an embeddable video or player */
  video: Schema.NullOr(Schema.String),
  site_name: Schema.NullOr(Schema.String)
})
export type ResolvedEmbed = typeof ResolvedEmbed.Type

/** A refused address, an unreachable page or one without usable metadata: 422 EMBED_UNAVAILABLE. */
export const resolveEmbed = endpoint({
  name: "resolveEmbed",
  method: "POST",
  path: "/api/v1/embeds/resolve",
  access: "member",
  body: ResolveEmbedRequest,
  success: ResolvedEmbed
})
