// The community's own settings: reference API.md §6 "Server".
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { DisplayName, HttpUrl, Text } from "./fields.js"

export const ServerInfo = Schema.Struct({
  name: Schema.String,
  icon: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  member_count: Schema.Number
})
export type ServerInfo = typeof ServerInfo.Type

export const ServerPatch = Schema.Struct({
  name: Schema.optional(DisplayName),
  icon: Schema.optional(Schema.NullOr(HttpUrl)),
  description: Schema.optional(Schema.NullOr(Text(512)))
})
export type ServerPatch = typeof ServerPatch.Type

export const getServer = endpoint({
  name: "getServer",
  method: "GET",
  path: "/api/v1/server",
  access: "session",
  success: ServerInfo
})

export const updateServer = endpoint({
  name: "updateServer",
  method: "PATCH",
  path: "/api/v1/server",
  access: "session",
  body: ServerPatch,
  success: ServerInfo
})
