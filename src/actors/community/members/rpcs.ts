// Members and bans: listing, leaving, nicknames, kicks, bans (joining is in invites/).
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { Ban, Member } from "../../../protocol/api/members.js"
import { Banned, Forbidden, RoleHierarchy, UserNotFound } from "../../../protocol/errors.js"
import { UserId } from "../../../protocol/ids.js"
import { Page } from "../../../protocol/pagination.js"

/** One page in user id order: ids above `after` (0 for the first page), at most `limit`. */
const PagePayload = { after: Schema.Number, limit: Schema.Number }

/** What a moderation write can refuse: the actor lost their standing, the target, the hierarchy. */
const ModerationError = Schema.Union(UserNotFound, Forbidden, Banned, RoleHierarchy)

export const MemberRpcs = [
  Rpc.make("ListMembers", { payload: PagePayload, success: Page(Member) }),
  Rpc.make("GetMember", { payload: { user_id: UserId }, success: Member, error: UserNotFound }),
  /** The actor leaves; the owner cannot, nor the last administrator. The account stays. */
  Rpc.make("LeaveServer", { payload: { actor: UserId }, error: Schema.Union(Forbidden, Banned) }),
  /**
   * Sets or clears (null) a member's nickname: their own with CHANGE_NICKNAME, someone else's with
   * MANAGE_NICKNAMES when the actor outranks them.
   */
  Rpc.make("SetNickname", {
    payload: { actor: UserId, user_id: UserId, nickname: Schema.NullOr(Schema.String) },
    success: Member,
    error: ModerationError
  }),
  Rpc.make("KickMember", {
    payload: { actor: UserId, user_id: UserId, reason: Schema.optional(Schema.String) },
    error: ModerationError
  }),
  /** Bans an account, member or not; banning again only updates the stored reason. */
  Rpc.make("BanMember", {
    payload: {
      actor: UserId,
      user_id: UserId,
      reason: Schema.optional(Schema.String),
      delete_msg_days: Schema.Number
    },
    error: ModerationError
  }),
  Rpc.make("UnbanMember", {
    payload: { actor: UserId, user_id: UserId },
    error: Schema.Union(UserNotFound, Forbidden, Banned)
  }),
  Rpc.make("ListBans", { payload: PagePayload, success: Page(Ban) })
] as const
