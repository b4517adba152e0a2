// A user's standing in the community: what every permission check reads.
import { Schema } from "effect"
import { RoleId, UserId } from "../../../protocol/ids.js"
import { PermissionSet } from "../../../protocol/permissions.js"

export const Membership = Schema.Struct({
  user_id: UserId,
  /** false for an account that left, was kicked or is banned */
  member: Schema.Boolean,
  banned: Schema.Boolean,
  owner: Schema.Boolean,
  suspended: Schema.Boolean,
  /** assigned roles, highest first; @everyone is implicit */
  roles: Schema.Array(RoleId),
  /** server-level permissions (seed 002 §7 steps 1, 2 and 6); none for a non-member */
  permissions: PermissionSet,
  /**
   * The position of the member's highest role (0: only @everyone); the owner outranks everyone.
   * Nobody acts on a role at or above their own top position (ROLE_HIERARCHY).
   */
  top_position: Schema.Number
})
export type Membership = typeof Membership.Type

/** The owner's rank: above every role there can be. */
export const OWNER_POSITION = Number.MAX_SAFE_INTEGER
