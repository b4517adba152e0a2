// The Community entity (one instance): the single writer of server-wide state — who has an account,
// membership, roles, and the server's settings. HTTP handlers and the CLI call it through its client.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { ServerInfo, ServerPatch } from "../../protocol/api/server.js"
import { Forbidden, UsernameTaken, UserNotFound } from "../../protocol/errors.js"
import { RoleId, UserId } from "../../protocol/ids.js"
import { PermissionSet } from "../../protocol/permissions.js"

/** The only instance's id: one server is one community. */
export const COMMUNITY_ID = "community"

/** A user's standing in the community, what permission checks read. */
export const Membership = Schema.Struct({
  user_id: UserId,
  roles: Schema.Array(RoleId),
  /** server-level permissions (seed 002 §7 steps 1, 2 and 6; no feed or room overrides) */
  permissions: PermissionSet,
  owner: Schema.Boolean,
  suspended: Schema.Boolean
})
export type Membership = typeof Membership.Type

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

export const Community = Entity.make("Community", [
  /** Creates an account and its membership; the first account on a fresh server becomes the owner. */
  Rpc.make("Register", {
    payload: {
      username: Schema.String,
      password_hash: Schema.String,
      display_name: Schema.optional(Schema.String),
      admin: Schema.Boolean
    },
    success: Membership,
    error: UsernameTaken
  }),
  Rpc.make("Member", { payload: { user_id: UserId }, success: Membership, error: UserNotFound }),
  Rpc.make("GetServer", { success: ServerInfo }),
  Rpc.make("UpdateServer", { payload: { patch: ServerPatch }, success: ServerInfo }),
  /** Grants or takes the Admin role; the last administrator cannot be taken away. */
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
])
