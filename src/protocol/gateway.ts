// The WebSocket gateway's wire (seed 002 §4, DECISIONS.md "Gateway framing"): every frame is
// `{op, t?, s?, d}`; opcodes 0-12; close codes 4000-4009 exactly as the seed lists them.
import { Schema } from "effect"
import { DmId, FeedId, RoomId, UserId } from "./ids.js"
import { UnixSeconds } from "./api/fields.js"

export const Op = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  RESUME: 3,
  HELLO: 4,
  HEARTBEAT_ACK: 5,
  VOICE_STATE_UPDATE: 6,
  PRESENCE_UPDATE: 7,
  TYPING: 8,
  MLS_RELAY: 9,
  CPACE_RELAY: 10,
  VOICE_CODEC_NEG: 11,
  STAGE_RESPONSE: 12
} as const
export type Op = (typeof Op)[keyof typeof Op]

export const CloseCode = {
  UNKNOWN_ERROR: 4000,
  UNKNOWN_OPCODE: 4001,
  DECODE_ERROR: 4002,
  NOT_AUTHENTICATED: 4003,
  AUTH_FAILED: 4004,
  ALREADY_AUTHENTICATED: 4005,
  RATE_LIMITED: 4006,
  SESSION_TIMEOUT: 4007,
  SERVER_RESTART: 4008,
  SESSION_EXPIRED: 4009
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** Close codes after which the client may RESUME its session (the seed's "Reconnect?" column). */
export const RESUMABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.UNKNOWN_ERROR,
  CloseCode.RATE_LIMITED,
  CloseCode.SESSION_TIMEOUT,
  CloseCode.SERVER_RESTART
])

/** Any frame a client sends, before its `d` is decoded by the schema of its opcode. */
export const ClientFrame = Schema.Struct({ op: Schema.Number.pipe(Schema.int()), d: Schema.optional(Schema.Unknown) })
export type ClientFrame = typeof ClientFrame.Type

export const Capability = Schema.String.pipe(Schema.maxLength(64))
const Capabilities = Schema.Array(Capability).pipe(Schema.maxItems(32))

export const Hello = Schema.Struct({ heartbeat_interval: Schema.Number })

export const Identify = Schema.Struct({
  token: Schema.String.pipe(Schema.maxLength(512)),
  capabilities: Schema.optionalWith(Capabilities, { default: () => [] }),
  protocol_version: Schema.optional(Schema.Number)
})
export type Identify = typeof Identify.Type

export const SessionId = Schema.String.pipe(Schema.pattern(/^gw_[A-Za-z0-9_-]{16,64}$/), Schema.brand("GatewaySessionId"))
export type SessionId = typeof SessionId.Type

export const Resume = Schema.Struct({
  token: Schema.String.pipe(Schema.maxLength(512)),
  session_id: Schema.String.pipe(Schema.maxLength(128)),
  last_sequence: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
})
export type Resume = typeof Resume.Type

/** What the server can do, announced in READY. */
export const SERVER_CAPABILITIES = ["e2ee", "compress.zstd"] as const

export const Ready = Schema.Struct({
  session_id: SessionId,
  user_id: UserId,
  display_name: Schema.String,
  server_name: Schema.String,
  server_icon: Schema.NullOr(Schema.String),
  /** Unix seconds. */
  server_time: Schema.Number,
  protocol_version: Schema.Number,
  capabilities: Schema.Array(Schema.String),
  is_bot: Schema.Boolean
})
export type Ready = typeof Ready.Type

export const Resumed = Schema.Struct({ session_id: SessionId, replayed: Schema.Number })

// --- presence (op 7) and typing (op 8) ---

/** What a client may set; `invisible` is shown to everyone else as `offline`. */
export const PresenceStatus = Schema.Literal("online", "idle", "dnd", "invisible")
export type PresenceStatus = typeof PresenceStatus.Type
/** What others see. */
export const VisibleStatus = Schema.Literal("online", "idle", "dnd", "offline")
export type VisibleStatus = typeof VisibleStatus.Type

export const CustomStatus = Schema.Struct({
  text: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
  emoji: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
  /** Unix seconds after which the custom status is cleared. */
  expiry: Schema.optional(UnixSeconds)
})
export type CustomStatus = typeof CustomStatus.Type

export const Activity = Schema.Struct({
  type: Schema.Literal("playing", "streaming", "listening"),
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  detail: Schema.optional(Schema.String.pipe(Schema.maxLength(128)))
})
export type Activity = typeof Activity.Type

export const PresenceSet = Schema.Struct({
  status: PresenceStatus,
  custom_status: Schema.optional(Schema.NullOr(CustomStatus)),
  activity: Schema.optional(Schema.NullOr(Activity))
})
export type PresenceSet = typeof PresenceSet.Type

/** A user's presence as others see it: the PRESENCE_UPDATE payload and GET /users/{id}/presence. */
export const Presence = Schema.Struct({
  user_id: UserId,
  status: VisibleStatus,
  custom_status: Schema.NullOr(CustomStatus),
  activity: Schema.NullOr(Activity)
})
export type Presence = typeof Presence.Type

/** Exactly one of `feed_id` or `dm_id`. */
export const Typing = Schema.Union(
  Schema.Struct({ feed_id: FeedId }),
  Schema.Struct({ dm_id: DmId })
)
export type Typing = typeof Typing.Type

export const TypingStart = Schema.Struct({
  user_id: UserId,
  feed_id: Schema.optional(FeedId),
  dm_id: Schema.optional(DmId),
  /** Unix milliseconds. */
  timestamp: Schema.Number
})

// --- opcodes whose routing belongs to the voice, E2EE and stage features ---

export const VoiceStateUpdate = Schema.Struct({
  self_mute: Schema.Boolean,
  self_deaf: Schema.Boolean,
  video: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  streaming: Schema.optionalWith(Schema.Boolean, { default: () => false })
})

const Base64 = Schema.String.pipe(
  Schema.maxLength(1024 * 1024),
  Schema.pattern(/^[A-Za-z0-9+/]*={0,2}$/, { message: () => "base64 data expected" })
)

/**
 * An MLS message for one DM (seed 002 §4 op 9). The seed's frame names no destination; the server
 * needs one: `dm_id` always, and for a Welcome the invited users (`recipients`). Commits and
 * Proposals go to every participant of the DM, or to the participants listed in `recipients`.
 */
export const MlsRelay = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("welcome"),
    data: Base64,
    dm_id: DmId,
    recipients: Schema.Array(UserId).pipe(Schema.minItems(1), Schema.maxItems(256))
  }),
  Schema.Struct({
    type: Schema.Literal("commit", "proposal"),
    data: Base64,
    dm_id: DmId,
    recipients: Schema.optional(Schema.Array(UserId).pipe(Schema.minItems(1), Schema.maxItems(256)))
  })
)
export type MlsRelay = typeof MlsRelay.Type

/**
 * A pairing message between two devices of the same user (seed 002 §4 op 10): `isi` and `confirm`
 * from the new device, `rsi`, `confirm` and `leaf_transfer` (with its AES-GCM `nonce`) from the device
 * that approved the pairing.
 */
export const CPaceRelay = Schema.Struct({
  type: Schema.Literal("isi", "rsi", "confirm", "leaf_transfer"),
  pair_id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  data: Base64,
  nonce: Schema.optional(Base64)
})
export type CPaceRelay = typeof CPaceRelay.Type

export const VoiceCodecNeg = Schema.Struct({
  codec: Schema.Literal("opus", "av1", "av1_screen"),
  spatial_layers: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 4))),
  temporal_layers: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 4))),
  target_bitrates: Schema.optional(Schema.Array(Schema.Number.pipe(Schema.nonNegative())).pipe(Schema.maxItems(8))),
  dependency_templates: Schema.optional(Schema.Array(Schema.Unknown).pipe(Schema.maxItems(64)))
})

export const StageResponse = Schema.Struct({
  room_id: RoomId,
  type: Schema.Literal("request_ack", "invite_ack"),
  approved: Schema.optional(Schema.Boolean),
  accepted: Schema.optional(Schema.Boolean)
})

/** The payload schema of each client opcode after IDENTIFY (HEARTBEAT's `d` is the client's last sequence or null). */
export const FeatureOpPayloads = {
  [Op.VOICE_STATE_UPDATE]: VoiceStateUpdate,
  [Op.MLS_RELAY]: MlsRelay,
  [Op.CPACE_RELAY]: CPaceRelay,
  [Op.VOICE_CODEC_NEG]: VoiceCodecNeg,
  [Op.STAGE_RESPONSE]: StageResponse
} as const
export type FeatureOp = keyof typeof FeatureOpPayloads
