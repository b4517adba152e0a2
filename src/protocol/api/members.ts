// Members and bans: reference API.md §6 "Members".
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, RoleId, UserId } from "../ids.js"
import { Page, PageQuery } from "../pagination.js"
import { DisplayName, Text, Timestamp } from "./fields.js"

export const Member = Schema.Struct({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String),
  nickname: Schema.NullOr(Schema.String),
  role_ids: Schema.Array(RoleId),
  joined_at: Timestamp
})
export type Member = typeof Member.Type

export const Ban = Schema.Struct({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.String,
  reason: Schema.NullOr(Schema.String),
  banned_by: Schema.NullOr(UserId),
  banned_at: Timestamp
})
export type Ban = typeof Ban.Type

/** The body may be left out entirely when registration is open. */
export const JoinRequest = Schema.UndefinedOr(Schema.Struct({
  /** Required unless registration is open (config `auth.registration`). */
  invite_code: Schema.optional(Schema.String.pipe(Schema.maxLength(64)))
}))

export const NicknamePatch = Schema.Struct({
  /** null clears it */
  nickname: Schema.NullOr(DisplayName)
})
export type NicknamePatch = typeof NicknamePatch.Type

const Reason = Text(512)

export const KickRequest = Schema.UndefinedOr(Schema.Struct({ reason: Schema.optional(Reason) }))

export const BanRequest = Schema.UndefinedOr(Schema.Struct({
  reason: Schema.optional(Reason),
  /** Delete the user's messages of the last N days (0-14). */
  delete_msg_days: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 14, {
    message: () => "delete_msg_days is between 0 and 14"
  })))
}))

const UserParams = Schema.Struct({ user_id: idFromString(UserId) })

export const listMembers = endpoint({
  name: "listMembers",
  method: "GET",
  path: "/api/v1/members",
  access: "member",
  query: PageQuery(1000),
  success: Page(Member)
})

export const getMember = endpoint({
  name: "getMember",
  method: "GET",
  path: "/api/v1/members/:user_id",
  access: "member",
  params: UserParams,
  success: Member
})

export const joinServer = endpoint({
  name: "joinServer",
  method: "POST",
  path: "/api/v1/members/@me/join",
  access: "account",
  body: JoinRequest,
  success: Member
})

export const leaveServer = endpoint({
  name: "leaveServer",
  method: "DELETE",
  path: "/api/v1/members/@me",
  access: "member"
})

export const updateOwnMember = endpoint({
  name: "updateOwnMember",
  method: "PATCH",
  path: "/api/v1/members/@me",
  access: { permission: "CHANGE_NICKNAME" },
  body: NicknamePatch,
  success: Member
})

export const updateMember = endpoint({
  name: "updateMember",
  method: "PATCH",
  path: "/api/v1/members/:user_id",
  access: { permission: "MANAGE_NICKNAMES" },
  params: UserParams,
  body: NicknamePatch,
  success: Member
})

export const kickMember = endpoint({
  name: "kickMember",
  method: "DELETE",
  path: "/api/v1/members/:user_id",
  access: { permission: "KICK_MEMBERS" },
  params: UserParams,
  body: KickRequest
})

export const banMember = endpoint({
  name: "banMember",
  method: "PUT",
  path: "/api/v1/bans/:user_id",
  access: { permission: "BAN_MEMBERS" },
  params: UserParams,
  body: BanRequest
})

export const unbanMember = endpoint({
  name: "unbanMember",
  method: "DELETE",
  path: "/api/v1/bans/:user_id",
  access: { permission: "BAN_MEMBERS" },
  params: UserParams
})

export const listBans = endpoint({
  name: "listBans",
  method: "GET",
  path: "/api/v1/bans",
  access: { permission: "BAN_MEMBERS" },
  query: PageQuery(1000),
  success: Page(Ban)
})
