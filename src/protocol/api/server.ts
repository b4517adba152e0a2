// The community's own settings and limits: reference API.md §6 "Server".
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

const limit = (min: number, max: number) =>
  Schema.Number.pipe(Schema.int({ message: () => "Expected a whole number" }), Schema.between(min, max, {
    message: () => `Expected a whole number between ${min} and ${max}`
  }))

/** Every configurable limit, with the range an administrator may set it to. */
export const LimitRanges = {
  max_members: limit(1, 10_000_000),
  max_feeds: limit(1, 10_000),
  max_rooms: limit(1, 10_000),
  max_categories: limit(1, 1_000),
  max_roles: limit(2, 1_000),
  max_invites: limit(1, 100_000),
  max_message_length: limit(1, 100_000),
  max_attachment_size_mb: limit(1, 10_240),
  max_reactions_per_message: limit(1, 1_000),
  max_emoji: limit(1, 10_000),
  max_stickers: limit(1, 10_000),
  /** Everyone in one group DM, its creator included (reference API.md "Direct Messages": 403 beyond). */
  max_group_dm_participants: limit(2, 1_000),
  /** A DM message body is ciphertext the server cannot count characters of: it is bounded in UTF-8 bytes. */
  max_dm_message_bytes: limit(1_024, 1_048_576),
  /** Registered E2EE devices of one user (reference API.md "Add Device": 503 DEVICE_LIMIT_REACHED beyond). */
  max_devices_per_user: limit(1, 100),
  /** One identity key, signed prekey or key package, and one relayed pairing message, in decoded bytes. */
  max_key_package_bytes: limit(256, 65_536),
  /** One relayed MLS Welcome, Commit or Proposal, in decoded bytes (a Welcome grows with the group). */
  max_mls_message_bytes: limit(1_024, 786_432),
  /** The encrypted key backup, in decoded bytes. */
  max_key_backup_bytes: limit(1_024, 786_432)
} as const

export type LimitName = keyof typeof LimitRanges

export const ServerLimits = Schema.Struct(LimitRanges)
export type ServerLimits = typeof ServerLimits.Type

/** Only the named limits change; an unknown name is refused (400), as is a value out of range. */
export const LimitsPatch = Schema.partial(ServerLimits)
export type LimitsPatch = typeof LimitsPatch.Type

export const DEFAULT_LIMITS: ServerLimits = {
  max_members: 100_000,
  max_feeds: 500,
  max_rooms: 200,
  max_categories: 100,
  max_roles: 250,
  max_invites: 1_000,
  max_message_length: 4_000,
  max_attachment_size_mb: 50,
  max_reactions_per_message: 20,
  max_emoji: 200,
  max_stickers: 100,
  max_group_dm_participants: 10,
  // room for a max_message_length body of four-byte characters, encrypted and base64-encoded
  max_dm_message_bytes: 32_768,
  max_devices_per_user: 10,
  max_key_package_bytes: 16_384,
  max_mls_message_bytes: 262_144,
  max_key_backup_bytes: 262_144
}

export const getServer = endpoint({
  name: "getServer",
  method: "GET",
  path: "/api/v1/server",
  access: "member",
  success: ServerInfo
})

export const updateServer = endpoint({
  name: "updateServer",
  method: "PATCH",
  path: "/api/v1/server",
  access: { permission: "MANAGE_SERVER" },
  body: ServerPatch,
  success: ServerInfo
})

export const getLimits = endpoint({
  name: "getLimits",
  method: "GET",
  path: "/api/v1/server/limits",
  access: { permission: "MANAGE_SERVER" },
  success: ServerLimits
})

export const updateLimits = endpoint({
  name: "updateLimits",
  method: "PATCH",
  path: "/api/v1/server/limits",
  access: { permission: "MANAGE_SERVER" },
  body: LimitsPatch,
  success: ServerLimits
})
