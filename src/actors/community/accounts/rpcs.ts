// Accounts and the server's own settings.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { ServerInfo, ServerPatch } from "../../../protocol/api/server.js"
import {
  Forbidden,
  InviteExpired,
  InviteInvalid,
  RegistrationClosed,
  ServerFull,
  UsernameTaken,
  UserNotFound
} from "../../../protocol/errors.js"
import { UserId } from "../../../protocol/ids.js"
import { Membership } from "../access/Membership.js"

export const AccountSummary = Schema.Struct({
  user_id: UserId,
  username: Schema.String,
  display_name: Schema.String,
  admin: Schema.Boolean,
  owner: Schema.Boolean,
  suspended: Schema.Boolean,
  created_at: Schema.Number
})
export type AccountSummary = typeof AccountSummary.Type

export const AccountRpcs = [
  /**
   * Creates an account and its membership; the first account on a fresh server becomes the owner.
   * `via: "api"` applies the registration mode (open, invite-only, closed) and `max_members`;
   * `via: "admin"` is the operator's `vox admin create-user`, which neither applies.
   */
  Rpc.make("Register", {
    payload: {
      username: Schema.String,
      password_hash: Schema.String,
      display_name: Schema.optional(Schema.String),
      invite_code: Schema.optional(Schema.String),
      admin: Schema.Boolean,
      via: Schema.Literal("api", "admin")
    },
    success: Membership,
    error: Schema.Union(UsernameTaken, RegistrationClosed, ServerFull, InviteExpired, InviteInvalid)
  }),
  Rpc.make("GetServer", { success: ServerInfo }),
  Rpc.make("UpdateServer", { payload: { actor: UserId, patch: ServerPatch }, success: ServerInfo }),
  /** Grants or takes the Admin role (`vox admin set-admin`); the last administrator stays. */
  Rpc.make("SetAdmin", {
    payload: { user_id: UserId, admin: Schema.Boolean },
    success: Membership,
    error: Schema.Union(UserNotFound, Forbidden)
  }),
  Rpc.make("SetSuspended", {
    payload: { user_id: UserId, suspended: Schema.Boolean },
    success: Membership,
    error: UserNotFound
  }),
  Rpc.make("ListAccounts", { success: Schema.Array(AccountSummary) })
] as const
