// The Dm entity (one per DM, entity id = String(dm_id)): the single writer of its DM's participants,
// messages and reactions. Its writes run one at a time, so the DM's messages have one total order and
// their snowflake ids increase strictly in commit order. DMs are outside the community's permissions:
// every call names its caller, and whoever is not a participant is refused (403) before anything
// else, whether or not the DM exists, so nobody learns anything of a DM they are not in.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { Dm as DmInfo, DmMessageList, SendDmMessage, UpdateDm } from "../../protocol/api/dms.js"
import { EditedMessage, EmojiParam, HistoryQuery, SentMessage } from "../../protocol/api/messages.js"
import {
  DmPermissionDenied,
  EmptyMessage,
  FileNotFound,
  Forbidden,
  InvalidBody,
  LimitReached,
  MessageNotFound,
  MessageTooLarge,
  SpaceTypeMismatch,
  UserBlocked,
  UserNotFound
} from "../../protocol/errors.js"
import { UserId } from "../../protocol/ids.js"
import { Snowflake } from "../../protocol/snowflake.js"

const Actor = { actor: UserId }

export const Dm = Entity.make("Dm", [
  Rpc.make("Get", { payload: Actor, success: DmInfo, error: Forbidden }),
  /** Hides the DM from the caller's list. */
  Rpc.make("Close", { payload: Actor, error: Forbidden }),
  Rpc.make("Update", {
    payload: { ...Actor, patch: UpdateDm },
    success: DmInfo,
    error: Schema.Union(Forbidden, SpaceTypeMismatch)
  }),
  Rpc.make("AddRecipient", {
    payload: { ...Actor, user_id: UserId },
    error: Schema.Union(Forbidden, SpaceTypeMismatch, UserNotFound, UserBlocked, DmPermissionDenied)
  }),
  /** The caller themselves (leaving), or anyone when the caller owns the group. */
  Rpc.make("RemoveRecipient", {
    payload: { ...Actor, user_id: UserId },
    error: Schema.Union(Forbidden, SpaceTypeMismatch)
  }),
  Rpc.make("MarkRead", {
    payload: { ...Actor, up_to_msg_id: Snowflake },
    error: Schema.Union(Forbidden, MessageNotFound, UserBlocked)
  }),
  Rpc.make("Send", {
    payload: { ...Actor, message: SendDmMessage },
    success: SentMessage,
    error: Schema.Union(Forbidden, EmptyMessage, MessageTooLarge, MessageNotFound, InvalidBody, UserBlocked, FileNotFound)
  }),
  /** Newest first; with only `after`, oldest first from just after it. */
  Rpc.make("History", { payload: { ...Actor, query: HistoryQuery }, success: DmMessageList, error: Forbidden }),
  /** Author only. Every write of messages, reactions and receipts refuses (USER_BLOCKED) in a 1:1 DM a block closed. */
  Rpc.make("Edit", {
    payload: { ...Actor, msg_id: Snowflake, body: Schema.String },
    success: EditedMessage,
    error: Schema.Union(Forbidden, MessageNotFound, EmptyMessage, MessageTooLarge, UserBlocked)
  }),
  /** Author only. */
  Rpc.make("Delete", { payload: { ...Actor, msg_id: Snowflake }, error: Schema.Union(Forbidden, MessageNotFound, UserBlocked) }),
  Rpc.make("AddReaction", {
    payload: { ...Actor, msg_id: Snowflake, emoji: EmojiParam },
    error: Schema.Union(Forbidden, MessageNotFound, LimitReached, UserBlocked)
  }),
  Rpc.make("RemoveReaction", {
    payload: { ...Actor, msg_id: Snowflake, emoji: EmojiParam },
    error: Schema.Union(Forbidden, MessageNotFound, UserBlocked)
  })
])
