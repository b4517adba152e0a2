// Permission checks of the HTTP handlers: the caller's server-level permissions come from the
// Community entity, and a refusal names the missing permission (reference errors.md).
import { Effect } from "effect"
import { COMMUNITY_ID, Community } from "../../../actors/community/Community.js"
import { Forbidden } from "../../../protocol/errors.js"
import { has, missingPermissionName } from "../../../protocol/permissions.js"
import { CurrentCaller } from "../route.js"

export const requireServerPermission = (permission: bigint) =>
  Effect.gen(function* () {
    const caller = yield* CurrentCaller
    const community = (yield* Community.client)(COMMUNITY_ID)
    const member = yield* community.Member({ user_id: caller.userId })
    if (!has(member.permissions, permission)) {
      const name = missingPermissionName(permission, member.permissions)
      return yield* new Forbidden({ message: `You need the ${name} permission.`, missing_permission: name })
    }
    return member
  })
