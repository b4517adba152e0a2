// Invites and joining the community.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { Invite, InviteCreate, InvitePreview } from "../../../protocol/api/invites.js"
import { Member } from "../../../protocol/api/members.js"
import {
  Banned,
  Forbidden,
  InviteExpired,
  InviteInvalid,
  LimitReached,
  ServerFull,
  SpaceNotFound
} from "../../../protocol/errors.js"
import { UserId } from "../../../protocol/ids.js"
import { Page } from "../../../protocol/pagination.js"

/** Where a page of invites starts: after this one, in creation order (`created_at` in milliseconds). */
export const InvitePosition = Schema.Struct({ created_at: Schema.Number, code: Schema.String })
export type InvitePosition = typeof InvitePosition.Type

export const InviteRpcs = [
  /** A new invite; a feed it points at must exist and be visible to the actor. `max_invites` applies. */
  Rpc.make("CreateInvite", {
    payload: { actor: UserId, invite: InviteCreate },
    success: Invite,
    error: Schema.Union(SpaceNotFound, Forbidden, LimitReached)
  }),
  /** One page in creation order, after `after` (the first page without it). */
  Rpc.make("ListInvites", {
    payload: { after: Schema.optional(InvitePosition), limit: Schema.Number },
    success: Page(Invite)
  }),
  /** Its creator may delete an invite; anyone else needs MANAGE_SERVER. */
  Rpc.make("DeleteInvite", {
    payload: { actor: UserId, code: Schema.String },
    error: Schema.Union(InviteInvalid, Forbidden)
  }),
  /** What the holder of a usable code sees before joining (no account needed). */
  Rpc.make("ResolveInvite", {
    payload: { code: Schema.String },
    success: InvitePreview,
    error: Schema.Union(InviteInvalid, InviteExpired)
  }),
  /**
   * The account becomes a member (again). Already a member: the member, nothing spent. A banned
   * account never gets in. The code is required unless registration is open; `max_members` applies.
   */
  Rpc.make("JoinServer", {
    payload: { user_id: UserId, invite_code: Schema.optional(Schema.String) },
    success: Member,
    error: Schema.Union(Banned, InviteInvalid, InviteExpired, ServerFull)
  })
] as const
