// Gateway events (seed 002 §4 "Dispatch Events"): each has an UPPER_SNAKE name, a payload schema, and
// travels on the event bus with the audience that may see it.
import { Schema } from "effect"
import { CategoryId, DmId, FeedId, RoleId, RoomId, TargetId, UserId } from "./ids.js"
import { PermissionSet } from "./permissions.js"
import { ServerInfo } from "./api/server.js"
import { User } from "./api/users.js"
import { Device, KeyBlob, PairId, PairMethod } from "./api/keys.js"
import { Member } from "./api/members.js"
import { Category, Feed, OverrideTargetType, Room, SpaceType } from "./api/spaces.js"
import { Role } from "./api/roles.js"
import { Invite } from "./api/invites.js"
import { ChatMessage } from "./api/messages.js"
import { Thread, ThreadId } from "./api/threads.js"
import { Emoji, EmojiId, Sticker, StickerId } from "./api/emoji.js"
import { Snowflake } from "./snowflake.js"
import { Presence, TypingStart } from "./gateway.js"
import { Dm, DmMessage } from "./api/dms.js"
import { ModerationWarning } from "./api/reports.js"

/** Who receives an event. The gateway resolves it to sessions; nobody outside it sees the event. */
export const Audience = Schema.Union(
  /**
   * every member of the community, but those in `except`: a presence is never shown to anyone on
   * either side of a block with its user (seed 002 §12)
   */
  Schema.TaggedStruct("server", { except: Schema.optional(Schema.Array(UserId)) }),
  /** exactly these users */
  Schema.TaggedStruct("users", { user_ids: Schema.Array(UserId) }),
  /** members holding this server-level permission (e.g. VIEW_AUDIT_LOG) */
  Schema.TaggedStruct("permission", { permission: PermissionSet }),
  /** members holding this permission in one feed or room (VIEW_SPACE: who can see it) */
  Schema.TaggedStruct("space", {
    space_type: SpaceType,
    space_id: Schema.Number,
    permission: PermissionSet,
    /** left out: those on either side of a block with whoever is typing (seed 002 §12) */
    except: Schema.optional(Schema.Array(UserId))
  })
)
export type Audience = typeof Audience.Type

export interface EventDef<Name extends string, S extends Schema.Schema.AnyNoContext> {
  readonly name: Name
  readonly schema: S
}

const event = <const Name extends string, S extends Schema.Schema.AnyNoContext>(name: Name, schema: S): EventDef<Name, S> => ({
  name,
  schema
})

export const UserUpdate = event("USER_UPDATE", User)
export const ServerUpdate = event("SERVER_UPDATE", ServerInfo)

export const MemberJoin = event("MEMBER_JOIN", Member)
export const MemberLeave = event("MEMBER_LEAVE", Schema.Struct({ user_id: UserId }))
/** Nickname or roles changed: the whole member, so clients need no refetch. */
export const MemberUpdate = event("MEMBER_UPDATE", Member)
export const MemberBan = event("MEMBER_BAN", Schema.Struct({ user_id: UserId }))
export const MemberUnban = event("MEMBER_UNBAN", Schema.Struct({ user_id: UserId }))

export const FeedCreate = event("FEED_CREATE", Feed)
export const FeedUpdate = event("FEED_UPDATE", Feed)
export const FeedDelete = event("FEED_DELETE", Schema.Struct({ feed_id: FeedId }))
export const RoomCreate = event("ROOM_CREATE", Room)
export const RoomUpdate = event("ROOM_UPDATE", Room)
export const RoomDelete = event("ROOM_DELETE", Schema.Struct({ room_id: RoomId }))
export const CategoryCreate = event("CATEGORY_CREATE", Category)
export const CategoryUpdate = event("CATEGORY_UPDATE", Category)
export const CategoryDelete = event("CATEGORY_DELETE", Schema.Struct({ category_id: CategoryId }))

export const RoleCreate = event("ROLE_CREATE", Role)
export const RoleUpdate = event("ROLE_UPDATE", Role)
export const RoleDelete = event("ROLE_DELETE", Schema.Struct({ role_id: RoleId }))
export const RoleAssign = event("ROLE_ASSIGN", Schema.Struct({ user_id: UserId, role_id: RoleId }))
export const RoleRevoke = event("ROLE_REVOKE", Schema.Struct({ user_id: UserId, role_id: RoleId }))

export const PermissionOverrideUpdate = event(
  "PERMISSION_OVERRIDE_UPDATE",
  Schema.Struct({
    space_type: SpaceType,
    space_id: Schema.Number,
    target_type: OverrideTargetType,
    target_id: TargetId,
    allow: PermissionSet,
    deny: PermissionSet
  })
)
export const PermissionOverrideDelete = event(
  "PERMISSION_OVERRIDE_DELETE",
  Schema.Struct({ space_type: SpaceType, space_id: Schema.Number, target_type: OverrideTargetType, target_id: TargetId })
)

export const InviteCreate = event("INVITE_CREATE", Invite)
export const InviteDelete = event("INVITE_DELETE", Schema.Struct({ code: Schema.String }))

export const MessageCreate = event("MESSAGE_CREATE", ChatMessage)
export const MessageUpdate = event(
  "MESSAGE_UPDATE",
  Schema.Struct({ msg_id: Snowflake, feed_id: FeedId, body: Schema.String, edit_timestamp: Schema.Number })
)
export const MessageDelete = event("MESSAGE_DELETE", Schema.Struct({ msg_id: Snowflake, feed_id: FeedId }))
export const MessageBulkDelete = event(
  "MESSAGE_BULK_DELETE",
  Schema.Struct({ feed_id: FeedId, msg_ids: Schema.Array(Snowflake) })
)
const ReactionChange = Schema.Struct({ msg_id: Snowflake, feed_id: FeedId, user_id: UserId, emoji: Schema.String })
export const MessageReactionAdd = event("MESSAGE_REACTION_ADD", ReactionChange)
export const MessageReactionRemove = event("MESSAGE_REACTION_REMOVE", ReactionChange)
export const MessagePinUpdate = event(
  "MESSAGE_PIN_UPDATE",
  Schema.Struct({ msg_id: Snowflake, feed_id: FeedId, pinned: Schema.Boolean })
)

export const ThreadCreate = event("THREAD_CREATE", Thread)
export const ThreadUpdate = event("THREAD_UPDATE", Thread)
export const ThreadDelete = event("THREAD_DELETE", Schema.Struct({ thread_id: ThreadId, feed_id: FeedId }))

export const EmojiCreate = event("EMOJI_CREATE", Emoji)
/** Beyond the reference: an emoji renamed (its id, and so its reactions, stay). */
export const EmojiUpdate = event("EMOJI_UPDATE", Emoji)
export const EmojiDelete = event("EMOJI_DELETE", Schema.Struct({ emoji_id: EmojiId }))
export const StickerCreate = event("STICKER_CREATE", Sticker)
export const StickerUpdate = event("STICKER_UPDATE", Sticker)
export const StickerDelete = event("STICKER_DELETE", Schema.Struct({ sticker_id: StickerId }))

export const PresenceUpdate = event("PRESENCE_UPDATE", Presence)
export const TypingStartEvent = event("TYPING_START", TypingStart)

// Direct messages (GATEWAY.md "DM Events"), always to the DM's participants alone. A DM's messages
// take the feed message events' names, with `dm_id` where a feed message has `feed_id`.
export const DmCreate = event("DM_CREATE", Dm)
/** The whole DM after a change of name, icon or owner. */
export const DmUpdate = event("DM_UPDATE", Dm)
export const DmRecipientAdd = event("DM_RECIPIENT_ADD", Schema.Struct({ dm_id: DmId, user_id: UserId }))
export const DmRecipientRemove = event("DM_RECIPIENT_REMOVE", Schema.Struct({ dm_id: DmId, user_id: UserId }))
export const DmReadNotify = event("DM_READ_NOTIFY", Schema.Struct({ dm_id: DmId, user_id: UserId, up_to_msg_id: Snowflake }))

// End-to-end encryption (seed 002 §4 "E2E Encryption Events"). MLS messages go to DM participants
// alone; device and pairing events to the user's own sessions alone. IDENTIFY names no device, so
// every session of a user receives them: `side` tells the two ends of a pairing apart.
const MlsMessage = Schema.Struct({ dm_id: DmId, sender_id: UserId, data: KeyBlob })
export const MlsWelcome = event("MLS_WELCOME", MlsMessage)
export const MlsCommit = event("MLS_COMMIT", MlsMessage)
export const MlsProposal = event("MLS_PROPOSAL", MlsMessage)
export const DeviceListUpdate = event("DEVICE_LIST_UPDATE", Schema.Struct({ user_id: UserId, devices: Schema.Array(Device) }))
export const DevicePairPrompt = event(
  "DEVICE_PAIR_PROMPT",
  Schema.Struct({
    pair_id: PairId,
    device_name: Schema.String,
    /** The address the new device asked from. */
    ip: Schema.NullOr(Schema.String),
    /** Where that address is; null: this server does no address lookups. */
    location: Schema.NullOr(Schema.String),
    method: PairMethod,
    /** QR method: the new device's temporary public key. */
    temp_public_key: Schema.NullOr(KeyBlob),
    expires_at: Schema.String
  })
)
export const DevicePairResult = event("DEVICE_PAIR_RESULT", Schema.Struct({ pair_id: PairId, approved: Schema.Boolean }))
export const DevicePairExpired = event("DEVICE_PAIR_EXPIRED", Schema.Struct({ pair_id: PairId }))
/** Which end of the pairing sent it: the new device (`initiator`) or the one that approved (`responder`). */
export const PairSide = Schema.Literal("initiator", "responder")
export type PairSide = typeof PairSide.Type
const CPaceMessage = Schema.Struct({ pair_id: PairId, side: PairSide, data: KeyBlob })
export const CPaceIsi = event("CPACE_ISI", CPaceMessage)
export const CPaceRsi = event("CPACE_RSI", CPaceMessage)
export const CPaceConfirm = event("CPACE_CONFIRM", CPaceMessage)
export const CPaceLeafTransfer = event(
  "CPACE_LEAF_TRANSFER",
  Schema.Struct({ ...CPaceMessage.fields, nonce: Schema.NullOr(KeyBlob) })
)
export const KeyResetNotify = event("KEY_RESET_NOTIFY", Schema.Struct({ user_id: UserId }))
export const DmMessageCreate = event("MESSAGE_CREATE", DmMessage)
export const DmMessageUpdate = event(
  "MESSAGE_UPDATE",
  Schema.Struct({ msg_id: Snowflake, dm_id: DmId, body: Schema.String, edit_timestamp: Schema.Number })
)
export const DmMessageDelete = event("MESSAGE_DELETE", Schema.Struct({ msg_id: Snowflake, dm_id: DmId }))
const DmReactionChange = Schema.Struct({ msg_id: Snowflake, dm_id: DmId, user_id: UserId, emoji: Schema.String })
export const DmMessageReactionAdd = event("MESSAGE_REACTION_ADD", DmReactionChange)
export const DmMessageReactionRemove = event("MESSAGE_REACTION_REMOVE", DmReactionChange)

// Relationships (GATEWAY.md "User Relationship Events"), each to the users it concerns alone: `user_id`
// acted on `target_id`. A friend request that is accepted comes again with `status: "accepted"`.
// A block is told to its author's own sessions only: the blocked user is not told (they see the
// block's effects, as seed 002 §12 lists them, and nothing more).
export const FriendRequest = event(
  "FRIEND_REQUEST",
  Schema.Struct({ user_id: UserId, target_id: UserId, status: Schema.Literal("pending", "accepted") })
)
/** A friendship ended, or a request was cancelled or declined (by `user_id`, or by a block). */
export const FriendRemove = event("FRIEND_REMOVE", Schema.Struct({ user_id: UserId, target_id: UserId }))
export const BlockAdd = event("BLOCK_ADD", Schema.Struct({ user_id: UserId, target_id: UserId }))
export const BlockRemove = event("BLOCK_REMOVE", Schema.Struct({ user_id: UserId, target_id: UserId }))

/** A moderator resolved a report against the user with a warning: to that user alone (api/reports.ts). */
export const ModerationWarningEvent = event("MODERATION_WARNING", ModerationWarning)
