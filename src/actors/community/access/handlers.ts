import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Either, Option } from "effect"
import { Banned, Forbidden, SpaceNotFound, UserNotFound } from "../../../protocol/errors.js"
import type { UserId } from "../../../protocol/ids.js"
import { has, Permission, type PermissionName } from "../../../protocol/permissions.js"
import type { SpaceType } from "../../../protocol/api/spaces.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { CommunityContext } from "../CommunityTx.js"
import type { AccessView } from "./AccessCache.js"
import type { Membership } from "./Membership.js"
import type { AccessRpcs } from "./rpcs.js"

const missingInSpace = (permissions: bigint, permission: PermissionName): PermissionName =>
  has(permissions, Permission.VIEW_SPACE) ? permission : "VIEW_SPACE"

type AccessInput = {
  readonly user_id: UserId
  readonly permission?: PermissionName | undefined
  readonly space?: { readonly type: SpaceType; readonly id: number } | undefined
}

/**
 * The one permission check (seed 002 §7) on a known standing: membership first (a kicked or banned
 * user's sessions stop reaching the community at once), then the permission on the server or in the
 * feed or room.
 */
export const judgeAccess = (
  view: Pick<AccessView, "permissionsIn">,
  found: Option.Option<Membership>,
  input: AccessInput
): Either.Either<Membership, Forbidden | Banned | SpaceNotFound> => {
  if (Option.isNone(found)) return Either.left(new Forbidden({ message: "You are not a member of this server." }))
  const member = found.value
  if (member.banned) return Either.left(new Banned())
  if (!member.member) return Either.left(new Forbidden({ message: "You are not a member of this server." }))
  let permissions = member.permissions
  if (input.space !== undefined) {
    const inSpace = view.permissionsIn(member, input.space)
    if (Option.isNone(inSpace)) return Either.left(new SpaceNotFound())
    permissions = inSpace.value
  }
  // Any question about a space is first whether one sees it: a feed hidden from a member gives them
  // nothing there, whatever else @everyone grants (so READ_HISTORY alone never opens a hidden feed).
  const required = input.permission === undefined ? undefined : input.space === undefined ? input.permission : missingInSpace(permissions, input.permission)
  if (required !== undefined && !has(permissions, Permission[required])) {
    return Either.left(new Forbidden({
      message: `You need the ${required} permission${input.space === undefined ? "" : ` in this ${input.space.type}`}.`,
      missing_permission: required
    }))
  }
  return Either.right({ ...member, permissions })
}

/** `judgeAccess` on the user's standing, loaded if the view does not hold it yet. */
export const authorize = (view: AccessView, input: AccessInput) =>
  Effect.flatMap(view.standing(input.user_id), (found) => judgeAccess(view, found, input))

export const accessHandlers = (ctx: CommunityContext) =>
  Effect.succeed({
    // Reads run beside the entity's writes (Rpc.fork): they only consult the cache, which is exact.
    Member: ({ payload }) =>
      Rpc.fork(Effect.flatMap(ctx.access.view, (view) => view.standing(payload.user_id)).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed })),
        dieOnStorageError
      )),
    SpacesWith: ({ payload }) =>
      Rpc.fork(Effect.gen(function* () {
        const view = yield* ctx.access.view
        const member = yield* authorize(view, { user_id: payload.user_id }).pipe(
          Effect.catchTag("SpaceNotFound", Effect.die)
        )
        const required = payload.permissions.reduce((acc, name) => acc | Permission[name], 0n)
        return view.spaceIds(payload.space_type).filter((id) =>
          Option.match(view.permissionsIn(member, { type: payload.space_type, id }), {
            onNone: () => false,
            onSome: (set) => has(set, required)
          }))
      }).pipe(dieOnStorageError)),
    Authorize: ({ payload }) =>
      Rpc.fork(Effect.flatMap(ctx.access.view, (view) => authorize(view, payload)).pipe(dieOnStorageError))
  } satisfies Entity.HandlersFrom<(typeof AccessRpcs)[number]>)
