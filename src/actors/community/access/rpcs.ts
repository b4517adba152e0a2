// The permission check every handler goes through (seed 002 §7): answered from the entity's cache.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { SpaceType } from "../../../protocol/api/spaces.js"
import { Banned, Forbidden, SpaceNotFound, UserNotFound } from "../../../protocol/errors.js"
import { UserId } from "../../../protocol/ids.js"
import { PERMISSION_NAMES } from "../../../protocol/permissions.js"
import { Membership } from "./Membership.js"

export const AccessRpcs = [
  /** The caller's standing, whoever they are (member or not). */
  Rpc.make("Member", { payload: { user_id: UserId }, success: Membership, error: UserNotFound }),
  /**
   * Succeeds with the caller's standing when they are a member and, if asked, hold `permission` on
   * the server or in `space`. Fails FORBIDDEN (with `missing_permission`), BANNED, or
   * SPACE_NOT_FOUND. `permissions` in the answer are those of the space when one is given.
   */
  Rpc.make("Authorize", {
    payload: {
      user_id: UserId,
      permission: Schema.optional(Schema.Literal(...PERMISSION_NAMES)),
      space: Schema.optional(Schema.Struct({ type: SpaceType, id: Schema.Number }))
    },
    success: Membership,
    error: Schema.Union(Forbidden, Banned, SpaceNotFound)
  }),
  /**
   * Every feed (or room) in which the user holds all of `permissions`, in id order: one question for
   * what would otherwise be an Authorize per space (search, listings). Empty for a non-member.
   */
  Rpc.make("SpacesWith", {
    payload: {
      user_id: UserId,
      space_type: SpaceType,
      permissions: Schema.Array(Schema.Literal(...PERMISSION_NAMES))
    },
    success: Schema.Array(Schema.Number),
    error: Schema.Union(Forbidden, Banned)
  })
] as const
