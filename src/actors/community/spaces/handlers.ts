// Behaviour of the community's structure. Writes check everything they depend on (category, override
// targets, the caller's authority) inside their own transaction, so a check and its change cannot be
// separated by another write.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Option } from "effect"
import type { OverrideTargetType, SpaceType } from "../../../protocol/api/spaces.js"
import {
  CategoryNotFound,
  Forbidden,
  LimitReached,
  RoleNotFound,
  SpaceNotFound,
  UserNotFound
} from "../../../protocol/errors.js"
import * as Ev from "../../../protocol/events.js"
import type { Audience } from "../../../protocol/events.js"
import type { UserId } from "../../../protocol/ids.js"
import { has, missingPermissionName, Permission, type PermissionSet } from "../../../protocol/permissions.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { AccessView } from "../access/AccessCache.js"
import type { Membership } from "../access/Membership.js"
import type { CommunityContext, Tx } from "../CommunityTx.js"
import { requireOutranks } from "../hierarchy.js"
import { readLimits } from "../limits/limits.js"
import type { SpaceRpcs } from "./rpcs.js"
import { type Columns, type CreateOf, Feeds, type PatchOf, Rooms, type SpaceKind, type SpaceOf } from "./SpaceKind.js"
import { makeSpaceRepo, type OverrideTarget } from "./SpaceRepo.js"

const server: Audience = { _tag: "server" }

/** Who hears about a feed or room: those who may see it. */
const spaceAudience = (type: SpaceType, id: number): Audience => ({
  _tag: "space",
  space_type: type,
  space_id: id,
  permission: Permission.VIEW_SPACE
})

/** `{ feed_id }` / `{ room_id }`, heading a space's audit metadata. */
const auditRef = <T extends SpaceType>(kind: SpaceKind<T>, space: SpaceOf<T>): Record<string, unknown> =>
  kind.ref(space)

/** Only the override's own fields: its event and audit entry carry no more. */
const targetOf = (payload: OverrideTarget): OverrideTarget => ({
  space_type: payload.space_type,
  space_id: payload.space_id,
  target_type: payload.target_type,
  target_id: payload.target_id
})

const notMember = () => new Forbidden({ message: "You are not a member of this server." })

/** The caller of a write, as the write's own transaction sees them. */
const actorIn = (view: AccessView, userId: UserId) =>
  Effect.flatMap(view.standing(userId), (found) =>
    Option.isSome(found) && found.value.member ? Effect.succeed(found.value) : Effect.fail(notMember()))

/** Who an override is for, and what it allows (absent when it is being removed). */
interface OverrideInput {
  readonly target_type: OverrideTargetType
  readonly target_id: number
  readonly allow?: PermissionSet | undefined
}

/**
 * May `actor` write (or remove) an override for this target? The target must exist (a role,
 * @everyone included, or any account); a role override is bound by the role hierarchy; and an
 * override grants nothing the actor does not hold server-wide, unless they are the owner or an
 * administrator.
 */
const checkOverride = (view: AccessView, actor: Membership, input: OverrideInput) =>
  Effect.gen(function* () {
    if (input.target_type === "role") {
      const role = view.role(input.target_id)
      if (Option.isNone(role)) return yield* new RoleNotFound()
      yield* requireOutranks(actor, role.value.position, "You cannot change overrides of a role at or above your own highest role.")
    } else if (Option.isNone(yield* view.standing(input.target_id as UserId))) {
      return yield* new UserNotFound()
    }
    if (input.allow === undefined || actor.owner || has(actor.permissions, Permission.ADMINISTRATOR)) return
    if ((input.allow & ~actor.permissions) !== 0n) {
      const missing = missingPermissionName(input.allow, actor.permissions)
      return yield* new Forbidden({
        message: `An override cannot allow ${missing}: you do not hold it yourself.`,
        missing_permission: missing
      })
    }
  })

export const spaceHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const repo = yield* makeSpaceRepo

    const requireCategory = (id: number) =>
      Effect.flatMap(repo.findCategory(id), Option.match({
        onNone: () => Effect.fail(new CategoryNotFound()),
        onSome: Effect.succeed
      }))

    /**
     * May the caller write (or, without `allow`, remove) this override? Asked inside the write, of
     * the feed or room and the target as that transaction sees them.
     */
    const authorizeOverride = (payload: OverrideTarget & { readonly actor: UserId }, allow: PermissionSet | undefined) =>
      Effect.gen(function* () {
        const view = yield* ctx.access.fresh
        if (!view.spaceExists(payload.space_type, payload.space_id)) return yield* new SpaceNotFound()
        const actor = yield* actorIn(view, payload.actor)
        yield* checkOverride(view, actor, { target_type: payload.target_type, target_id: payload.target_id, allow })
      })

    const requireSpace = <T extends SpaceType>(kind: SpaceKind<T>, id: number) =>
      Effect.flatMap(repo.findSpace(kind, id), Option.match({
        onNone: () => Effect.fail(new SpaceNotFound({ message: `${kind.noun} not found.` })),
        onSome: Effect.succeed
      }))

    /** Fails LIMIT_REACHED when one more would exceed the limit in force. */
    const requireBelowLimit = (
      limit: "max_categories" | SpaceKind<SpaceType>["limit"],
      table: "categories" | SpaceKind<SpaceType>["table"]
    ) =>
      Effect.gen(function* () {
        const max = (yield* readLimits)[limit]
        const n = yield* repo.countOf(table)
        if (n >= max) {
          return yield* new LimitReached({ limit, max, message: `This server already has its maximum of ${max} ${table}.` })
        }
      })

    /**
     * The initial overrides of a new feed or room: writing them is role management, so they need
     * MANAGE_ROLES and pass the same checks as PUT .../permissions (else MANAGE_SPACES alone would
     * be a way to grant oneself anything in a space of one's own making).
     */
    const checkInitialOverrides = (view: AccessView, actor: Membership, overrides: ReadonlyArray<OverrideInput>) =>
      Effect.gen(function* () {
        if (overrides.length === 0) return
        if (!has(actor.permissions, Permission.MANAGE_ROLES)) {
          return yield* new Forbidden({
            message: "Setting permission overrides needs the MANAGE_ROLES permission.",
            missing_permission: "MANAGE_ROLES"
          })
        }
        for (const o of overrides) yield* checkOverride(view, actor, o)
      })

    /** Emits the update of every feed (or room) given, as it is now. */
    const announceMoved = <T extends SpaceType>(tx: Tx, kind: SpaceKind<T>, ids: ReadonlyArray<number>) =>
      Effect.forEach(ids, (id) =>
        Effect.flatMap(Effect.orDie(requireSpace(kind, id)), (space) =>
          tx.emit(kind.updated, space, spaceAudience(kind.type, id))), { discard: true })

    const createSpace = <T extends SpaceType>(kind: SpaceKind<T>, actorId: UserId, input: CreateOf<T>) =>
      ctx.write((tx) =>
        Effect.gen(function* () {
          const view = yield* ctx.access.fresh
          const actor = yield* actorIn(view, actorId)
          const categoryId = input.category_id ?? null
          if (categoryId !== null) yield* requireCategory(categoryId)
          const overrides = input.permission_overrides ?? []
          yield* checkInitialOverrides(view, actor, overrides)
          yield* requireBelowLimit(kind.limit, kind.table)
          const position = input.position ?? (yield* repo.nextSpacePosition(kind, categoryId))
          const common = { name: input.name, type: input.type, category_id: categoryId, position }
          const id = yield* repo.insertSpace(kind, common, input)
          for (const o of overrides) {
            const target = { space_type: kind.type, space_id: id, target_type: o.target_type, target_id: o.target_id }
            yield* repo.setOverride(target, o.allow, o.deny)
          }
          const space = yield* Effect.orDie(requireSpace(kind, id))
          yield* tx.emit(kind.created, space, spaceAudience(kind.type, id))
          yield* tx.audit({
            event_type: `${kind.type}.create`,
            actor_id: actorId,
            target_id: id,
            metadata: { ...auditRef(kind, space), name: space.name, type: space.type, category_id: categoryId, overrides: overrides.length }
          })
          return space
        })
      ).pipe(dieOnStorageError)

    /** The columns a patch sets; a space moved to another category without a position goes last there. */
    const columnsOf = <T extends SpaceType>(kind: SpaceKind<T>, current: SpaceOf<T>, patch: PatchOf<T>) =>
      Effect.gen(function* () {
        const set: Columns = {}
        if (patch.name !== undefined) set.name = patch.name
        if (patch.category_id !== undefined && patch.category_id !== current.category_id) {
          if (patch.category_id !== null) yield* requireCategory(patch.category_id)
          set.category_id = patch.category_id
          if (patch.position === undefined) set.position = yield* repo.nextSpacePosition(kind, patch.category_id)
        }
        if (patch.position !== undefined) set.position = patch.position
        return { ...set, ...kind.patchColumns(patch) }
      })

    const updateSpace = <T extends SpaceType>(kind: SpaceKind<T>, actorId: UserId, id: number, patch: PatchOf<T>) =>
      ctx.write((tx) =>
        Effect.gen(function* () {
          const current = yield* requireSpace(kind, id)
          const set = yield* columnsOf(kind, current, patch)
          if (Object.keys(patch).length === 0) return current
          yield* repo.updateSpace(kind, id, set)
          const space = yield* requireSpace(kind, id)
          yield* tx.emit(kind.updated, space, spaceAudience(kind.type, id))
          yield* tx.audit({
            event_type: `${kind.type}.update`,
            actor_id: actorId,
            target_id: id,
            metadata: { ...auditRef(kind, space), name: space.name, changes: { ...patch } }
          })
          return space
        })
      ).pipe(dieOnStorageError)

    const deleteSpace = <T extends SpaceType>(kind: SpaceKind<T>, actorId: UserId, id: number) =>
      ctx.write((tx) =>
        Effect.gen(function* () {
          const space = yield* requireSpace(kind, id)
          yield* repo.removeOverridesOf({ type: kind.type, id })
          yield* repo.deleteSpace(kind, id)
          yield* tx.emit(kind.deleted, kind.ref(space), server)
          yield* tx.audit({
            event_type: `${kind.type}.delete`,
            actor_id: actorId,
            target_id: id,
            metadata: { ...auditRef(kind, space), name: space.name }
          })
        })
      ).pipe(dieOnStorageError)

    return {
      GetLayout: ({ payload }) =>
        Rpc.fork(Effect.gen(function* () {
          const [categories, feeds, rooms] = yield* Effect.all([repo.categories, repo.spaces(Feeds), repo.spaces(Rooms)])
          const view = yield* ctx.access.view
          const found = yield* view.standing(payload.user_id)
          if (Option.isNone(found) || !found.value.member) return yield* notMember()
          const member = found.value
          // Resolved with the overrides of each space (seed 002 §7); a space the view does not know
          // yet (created after its snapshot) is left out until the next request.
          const sees = (type: SpaceType, id: number) =>
            Option.match(view.permissionsIn(member, { type, id }), {
              onNone: () => false,
              onSome: (set) => has(set, Permission.VIEW_SPACE)
            })
          return {
            categories,
            feeds: feeds.filter((f) => sees("feed", f.feed_id)),
            rooms: rooms.filter((r) => sees("room", r.room_id))
          }
        }).pipe(dieOnStorageError)),

      GetFeed: ({ payload }) => Rpc.fork(requireSpace(Feeds, payload.feed_id).pipe(dieOnStorageError)),
      GetRoom: ({ payload }) => Rpc.fork(requireSpace(Rooms, payload.room_id).pipe(dieOnStorageError)),

      // --- categories ----------------------------------------------------------------------------

      CreateCategory: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            yield* requireBelowLimit("max_categories", "categories")
            const input = payload.category
            const position = input.position ?? (yield* repo.nextCategoryPosition)
            const id = yield* repo.insertCategory({ name: input.name, position })
            const category = yield* Effect.orDie(requireCategory(id))
            yield* tx.emit(Ev.CategoryCreate, category, server)
            yield* tx.audit({
              event_type: "category.create",
              actor_id: payload.actor,
              target_id: id,
              metadata: { category_id: id, name: category.name, position }
            })
            return category
          })
        ).pipe(dieOnStorageError),

      UpdateCategory: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const id = payload.category_id
            yield* requireCategory(id)
            const patch = payload.patch
            const set: Record<string, string | number> = {}
            if (patch.name !== undefined) set.name = patch.name
            if (patch.position !== undefined) set.position = patch.position
            yield* repo.updateCategory(id, set)
            const category = yield* requireCategory(id)
            if (Object.keys(set).length === 0) return category
            yield* tx.emit(Ev.CategoryUpdate, category, server)
            yield* tx.audit({
              event_type: "category.update",
              actor_id: payload.actor,
              target_id: id,
              metadata: { category_id: id, name: category.name, changes: { ...patch } }
            })
            return category
          })
        ).pipe(dieOnStorageError),

      DeleteCategory: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const id = payload.category_id
            const category = yield* requireCategory(id)
            const feedIds = yield* repo.spaceIdsIn(Feeds, id)
            const roomIds = yield* repo.spaceIdsIn(Rooms, id)
            // Explicitly, not only through ON DELETE SET NULL: the moved spaces' updates are announced.
            yield* repo.uncategorize(id)
            yield* repo.deleteCategory(id)
            yield* announceMoved(tx, Feeds, feedIds)
            yield* announceMoved(tx, Rooms, roomIds)
            yield* tx.emit(Ev.CategoryDelete, { category_id: category.category_id }, server)
            yield* tx.audit({
              event_type: "category.delete",
              actor_id: payload.actor,
              target_id: id,
              metadata: { category_id: id, name: category.name, feed_ids: feedIds, room_ids: roomIds }
            })
          })
        ).pipe(dieOnStorageError),

      // --- feeds and rooms ----------------------------------------------------------------------

      CreateFeed: ({ payload }) => createSpace(Feeds, payload.actor, payload.feed),
      UpdateFeed: ({ payload }) => updateSpace(Feeds, payload.actor, payload.feed_id, payload.patch),
      DeleteFeed: ({ payload }) => deleteSpace(Feeds, payload.actor, payload.feed_id),
      CreateRoom: ({ payload }) => createSpace(Rooms, payload.actor, payload.room),
      UpdateRoom: ({ payload }) => updateSpace(Rooms, payload.actor, payload.room_id, payload.patch),
      DeleteRoom: ({ payload }) => deleteSpace(Rooms, payload.actor, payload.room_id),

      // --- permission overrides ------------------------------------------------------------------

      SetOverride: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const { allow, deny } = payload.bits
            yield* authorizeOverride(payload, allow)
            const target = targetOf(payload)
            yield* repo.setOverride(target, allow, deny)
            const override = { ...target, allow, deny }
            yield* tx.emit(Ev.PermissionOverrideUpdate, override, spaceAudience(target.space_type, target.space_id))
            yield* tx.audit({
              event_type: "permission_override.update",
              actor_id: payload.actor,
              target_id: target.target_id,
              metadata: override
            })
          })
        ).pipe(dieOnStorageError),

      // Removing an override that is not there answers 204, as removing one that is: the outcome the
      // caller asked for holds either way. The space and the target must exist (their NOT_FOUND
      // codes), and the caller must have the authority to remove it, so nothing is learned for free.
      DeleteOverride: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            yield* authorizeOverride(payload, undefined)
            const target = targetOf(payload)
            if (!(yield* repo.removeOverride(target))) return
            yield* tx.emit(Ev.PermissionOverrideDelete, target, spaceAudience(target.space_type, target.space_id))
            yield* tx.audit({
              event_type: "permission_override.delete",
              actor_id: payload.actor,
              target_id: target.target_id,
              metadata: target
            })
          })
        ).pipe(dieOnStorageError)
    } satisfies Entity.HandlersFrom<(typeof SpaceRpcs)[number]>
  })
