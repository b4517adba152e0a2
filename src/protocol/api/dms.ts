// Direct messages, one-to-one and group: reference API.md "Direct Messages" and detail/api/dms.md.
// DMs live outside the community's permission system: every endpoint is open to any signed-in account
// and the Dm entity refuses (403) whoever is not a participant. Message bodies are end-to-end
// encrypted by the clients (seed 002 §8): the server stores and relays them exactly as sent, so a DM
// message has no mentions, embeds or components the server could read.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { DmId, idFromString, UserId } from "../ids.js"
import { Snowflake, SnowflakeFromString } from "../snowflake.js"
import { HttpUrl, Name, Timestamp } from "./fields.js"
import { EditedMessage, EditMessage, EmojiParam, HistoryQuery, Reaction, SentMessage } from "./messages.js"

export const Dm = Schema.Struct({
  dm_id: DmId,
  is_group: Schema.Boolean,
  /** Everyone in the DM, the caller included, in the order they joined. */
  participant_ids: Schema.Array(UserId),
  /** Group DMs only; null for a 1:1 DM or an unnamed group. */
  name: Schema.NullOr(Schema.String),
  icon: Schema.NullOr(Schema.String),
  /** Who created the group (passed on when they leave); null for a 1:1 DM. */
  owner_id: Schema.NullOr(UserId),
  created_at: Timestamp,
  last_message_id: Schema.NullOr(Snowflake)
})
export type Dm = typeof Dm.Type

export const DmList = Schema.Struct({ dms: Schema.Array(Dm) })

/** The most user ids one request to open a group names (the server's participant limit applies too). */
export const MAX_GROUP_DM_REQUEST = 100

/**
 * A 1:1 DM (`recipient_id`: the same pair always gets the same DM) or a new group DM
 * (`recipient_ids`, the caller joining them), never both.
 */
export const OpenDm = Schema.Union(
  Schema.Struct({ recipient_id: UserId }),
  Schema.Struct({
    recipient_ids: Schema.Array(UserId).pipe(Schema.minItems(1), Schema.maxItems(MAX_GROUP_DM_REQUEST)),
    name: Schema.optional(Name("Group DM"))
  })
)
export type OpenDm = typeof OpenDm.Type

/** A group DM's name and icon; null clears one. */
export const UpdateDm = Schema.Struct({
  name: Schema.optional(Schema.NullOr(Name("Group DM"))),
  icon: Schema.optional(Schema.NullOr(HttpUrl))
})
export type UpdateDm = typeof UpdateDm.Type

export const MarkDmRead = Schema.Struct({ up_to_msg_id: Snowflake })

/**
 * A message of a DM. `body` is whatever the sender's client put there (MLS ciphertext): bounded by the
 * server limit `max_dm_message_bytes` (UTF-8 bytes), never read.
 */
export const DmMessage = Schema.Struct({
  msg_id: Snowflake,
  dm_id: DmId,
  author_id: UserId,
  body: Schema.String,
  /** Unix seconds */
  timestamp: Schema.Number,
  reply_to: Schema.NullOr(Snowflake),
  edit_timestamp: Schema.NullOr(Schema.Number),
  /** file ids from POST /dms/{dm_id}/files */
  attachments: Schema.Array(Schema.String),
  reactions: Schema.Array(Reaction),
  federated: Schema.Boolean,
  author_address: Schema.NullOr(Schema.String)
})
export type DmMessage = typeof DmMessage.Type

export const SendDmMessage = Schema.Struct({
  body: Schema.String,
  reply_to: Schema.optional(Snowflake),
  /** Files uploaded to this DM (POST /dms/{dm_id}/files), as in a feed message: with them, the body may be empty. */
  attachments: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(64))).pipe(Schema.maxItems(10))),
  /** A retry with the same nonce from the same author returns the original message, as in feeds. */
  nonce: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)))
})
export type SendDmMessage = typeof SendDmMessage.Type

export const DmMessageList = Schema.Struct({ messages: Schema.Array(DmMessage) })

const DmParams = Schema.Struct({ dm_id: idFromString(DmId) })
const RecipientParams = Schema.Struct({ dm_id: idFromString(DmId), user_id: idFromString(UserId) })
const MessageParams = Schema.Struct({ dm_id: idFromString(DmId), msg_id: SnowflakeFromString })
const ReactionParams = Schema.Struct({ ...MessageParams.fields, emoji: EmojiParam })

/** 201 when the DM was created, 200 when the 1:1 DM already existed (and is shown again if it was closed). */
export const openDm = endpoint({
  name: "openDm",
  method: "POST",
  path: "/api/v1/dms",
  access: "account",
  body: OpenDm,
  success: Dm,
  status: 201
})

/** The caller's DMs that they have not closed, most recently active first. */
export const listDms = endpoint({
  name: "listDms",
  method: "GET",
  path: "/api/v1/dms",
  access: "account",
  success: DmList
})

export const getDm = endpoint({
  name: "getDm",
  method: "GET",
  path: "/api/v1/dms/:dm_id",
  access: "account",
  params: DmParams,
  success: Dm
})

/** Hides the DM from the caller's list, for them only; a new message or reopening shows it again. */
export const closeDm = endpoint({
  name: "closeDm",
  method: "DELETE",
  path: "/api/v1/dms/:dm_id",
  access: "account",
  params: DmParams
})

/** Group DMs only; any participant. */
export const updateDm = endpoint({
  name: "updateDm",
  method: "PATCH",
  path: "/api/v1/dms/:dm_id",
  access: "account",
  params: DmParams,
  body: UpdateDm,
  success: Dm
})

/** Group DMs only; any participant adds someone who accepts DMs from them, within the participant limit. */
export const addDmRecipient = endpoint({
  name: "addDmRecipient",
  method: "PUT",
  path: "/api/v1/dms/:dm_id/recipients/:user_id",
  access: "account",
  params: RecipientParams
})

/** Group DMs only: a participant removes themselves (leaves); only the group's owner removes others. */
export const removeDmRecipient = endpoint({
  name: "removeDmRecipient",
  method: "DELETE",
  path: "/api/v1/dms/:dm_id/recipients/:user_id",
  access: "account",
  params: RecipientParams
})

/** The caller has read up to this message; the other participants get DM_READ_NOTIFY. */
export const markDmRead = endpoint({
  name: "markDmRead",
  method: "POST",
  path: "/api/v1/dms/:dm_id/read",
  access: "account",
  params: DmParams,
  body: MarkDmRead
})

/** Same paging as a feed's history: newest first; with only `after`, oldest first from just after it. */
export const getDmHistory = endpoint({
  name: "getDmHistory",
  method: "GET",
  path: "/api/v1/dms/:dm_id/messages",
  access: "account",
  params: DmParams,
  query: HistoryQuery,
  success: DmMessageList
})

export const sendDmMessage = endpoint({
  name: "sendDmMessage",
  method: "POST",
  path: "/api/v1/dms/:dm_id/messages",
  access: "account",
  params: DmParams,
  body: SendDmMessage,
  success: SentMessage,
  status: 201
})

/** Author only. */
export const editDmMessage = endpoint({
  name: "editDmMessage",
  method: "PATCH",
  path: "/api/v1/dms/:dm_id/messages/:msg_id",
  access: "account",
  params: MessageParams,
  body: EditMessage,
  success: EditedMessage
})

/** Author only. */
export const deleteDmMessage = endpoint({
  name: "deleteDmMessage",
  method: "DELETE",
  path: "/api/v1/dms/:dm_id/messages/:msg_id",
  access: "account",
  params: MessageParams
})

export const addDmReaction = endpoint({
  name: "addDmReaction",
  method: "PUT",
  path: "/api/v1/dms/:dm_id/messages/:msg_id/reactions/:emoji",
  access: "account",
  params: ReactionParams
})

/** Removes the caller's own reaction. */
export const removeDmReaction = endpoint({
  name: "removeDmReaction",
  method: "DELETE",
  path: "/api/v1/dms/:dm_id/messages/:msg_id/reactions/:emoji",
  access: "account",
  params: ReactionParams
})
