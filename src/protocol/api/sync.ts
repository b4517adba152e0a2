// Catching up after a failed gateway resume: reference API.md §6 "Sync". The server answers with the
// events of the asked categories since a time, oldest first, or tells the client to refetch state.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { Snowflake } from "../snowflake.js"

/** Which gateway events each sync category covers (reference API.md "Sync categories"). */
export const SyncCategories = {
  members: ["MEMBER_JOIN", "MEMBER_LEAVE", "MEMBER_UPDATE", "MEMBER_BAN", "MEMBER_UNBAN"],
  roles: ["ROLE_CREATE", "ROLE_UPDATE", "ROLE_DELETE", "ROLE_ASSIGN", "ROLE_REVOKE"],
  feeds: ["FEED_CREATE", "FEED_UPDATE", "FEED_DELETE"],
  rooms: ["ROOM_CREATE", "ROOM_UPDATE", "ROOM_DELETE"],
  categories: ["CATEGORY_CREATE", "CATEGORY_UPDATE", "CATEGORY_DELETE"],
  emoji: ["EMOJI_CREATE", "EMOJI_UPDATE", "EMOJI_DELETE"],
  bans: ["MEMBER_BAN", "MEMBER_UNBAN"],
  invites: ["INVITE_CREATE", "INVITE_DELETE"]
} as const satisfies Record<string, ReadonlyArray<string>>

/** `MEMBER_JOIN` -> `member.join`: the sync and audit spelling of a gateway event name. */
export const dottedEventType = (name: string): string => {
  const cut = name.indexOf("_")
  return cut < 0 ? name.toLowerCase() : `${name.slice(0, cut).toLowerCase()}.${name.slice(cut + 1).toLowerCase()}`
}

/** At most this many events per answer; more than that and a full refetch is cheaper. */
export const SYNC_MAX_EVENTS = 1000

export const SyncRequest = Schema.Struct({
  /** Unix seconds (fractions allowed): events after this moment. */
  since_timestamp: Schema.Number.pipe(Schema.nonNegative(), Schema.finite()),
  /** Unknown names are ignored (future categories). */
  categories: Schema.Array(Schema.String.pipe(Schema.maxLength(64))).pipe(Schema.maxItems(64))
})
export type SyncRequest = typeof SyncRequest.Type

export const SyncEvent = Schema.Struct({
  event_id: Snowflake,
  type: Schema.String,
  payload: Schema.Unknown,
  /** Unix seconds with millisecond fraction */
  timestamp: Schema.Number
})
export type SyncEvent = typeof SyncEvent.Type

export const SyncResponse = Schema.Struct({
  events: Schema.Array(SyncEvent),
  server_timestamp: Schema.Number,
  /**
   * True when the server cannot answer from its event log (the time is beyond retention, or too much
   * changed): drop local state and fetch it again (layout, members, roles, ...).
   */
  full_refetch: Schema.Boolean
})
export type SyncResponse = typeof SyncResponse.Type

export const sync = endpoint({
  name: "sync",
  method: "POST",
  path: "/api/v1/sync",
  access: "member",
  body: SyncRequest,
  success: SyncResponse
})
