// Invites: reference API.md §6 "Invites". Times are Unix seconds, as the reference shows them.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { FeedId, UserId } from "../ids.js"
import { Page, PageQuery } from "../pagination.js"
import { UnixSeconds } from "./fields.js"

export const Invite = Schema.Struct({
  code: Schema.String,
  creator_id: Schema.NullOr(UserId),
  feed_id: Schema.NullOr(FeedId),
  /** null: unlimited */
  max_uses: Schema.NullOr(Schema.Number),
  uses: Schema.Number,
  /** null: never expires */
  expires_at: Schema.NullOr(UnixSeconds),
  created_at: UnixSeconds
})
export type Invite = typeof Invite.Type

export const InviteCreate = Schema.Struct({
  feed_id: Schema.optional(FeedId),
  /** 0 or absent: unlimited */
  max_uses: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 1_000_000, {
    message: () => "max_uses is between 0 (unlimited) and 1000000"
  }))),
  /** seconds; 0 or absent: never expires */
  max_age: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 365 * 86_400, {
    message: () => "max_age is between 0 (never) and 31536000 seconds"
  })))
})
export type InviteCreate = typeof InviteCreate.Type

/** What anyone holding a code may see before joining. */
export const InvitePreview = Schema.Struct({
  code: Schema.String,
  server_name: Schema.String,
  server_icon: Schema.NullOr(Schema.String),
  member_count: Schema.Number,
  feed_id: Schema.NullOr(FeedId),
  expires_at: Schema.NullOr(UnixSeconds)
})
export type InvitePreview = typeof InvitePreview.Type

/** Codes are 10 base62 characters; anything else cannot be one. */
export const InviteCode = Schema.String.pipe(Schema.maxLength(64))
const CodeParams = Schema.Struct({ code: InviteCode })

export const createInvite = endpoint({
  name: "createInvite",
  method: "POST",
  path: "/api/v1/invites",
  access: { permission: "CREATE_INVITES" },
  body: InviteCreate,
  success: Invite,
  status: 201
})

export const listInvites = endpoint({
  name: "listInvites",
  method: "GET",
  path: "/api/v1/invites",
  access: { permission: "CREATE_INVITES" },
  query: PageQuery(1000),
  success: Page(Invite)
})

/** Its creator may delete an invite; anyone else needs MANAGE_SERVER (checked by the handler). */
export const deleteInvite = endpoint({
  name: "deleteInvite",
  method: "DELETE",
  path: "/api/v1/invites/:code",
  access: "member",
  params: CodeParams
})

export const resolveInvite = endpoint({
  name: "resolveInvite",
  method: "GET",
  path: "/api/v1/invites/:code",
  access: "public",
  params: CodeParams,
  success: InvitePreview
})
