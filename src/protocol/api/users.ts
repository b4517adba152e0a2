// Users: reference API.md §6 "Users".
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { idFromString, RoleId, UserId } from "../ids.js"
import { PermissionSet } from "../permissions.js"
import { DisplayName, HttpUrl, Text, Timestamp } from "./fields.js"

export const User = Schema.Struct({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String),
  bio: Schema.NullOr(Schema.String),
  roles: Schema.Array(RoleId),
  is_bot: Schema.Boolean,
  created_at: Timestamp
})
export type User = typeof User.Type

/** The caller's own profile, with what the client needs to draw its UI: its server-level permissions. */
export const Me = Schema.Struct({
  ...User.fields,
  permissions: PermissionSet,
  owner: Schema.Boolean
})
export type Me = typeof Me.Type

export const ProfilePatch = Schema.Struct({
  display_name: Schema.optional(DisplayName),
  avatar: Schema.optional(Schema.NullOr(HttpUrl)),
  bio: Schema.optional(Schema.NullOr(Text(256)))
})
export type ProfilePatch = typeof ProfilePatch.Type

export const getUser = endpoint({
  name: "getUser",
  method: "GET",
  path: "/api/v1/users/:user_id",
  access: "account",
  params: Schema.Struct({ user_id: idFromString(UserId) }),
  success: User
})

export const getMe = endpoint({
  name: "getMe",
  method: "GET",
  path: "/api/v1/users/@me",
  access: "account",
  success: Me
})

export const updateMe = endpoint({
  name: "updateMe",
  method: "PATCH",
  path: "/api/v1/users/@me",
  access: "account",
  body: ProfilePatch,
  success: Me
})
