// The Community entity's permission cache. It answers "who is this user here, and what may they do in
// this feed or room?" from memory, and is exact: every write that can change an answer bumps
// `server.access_epoch` in its own transaction, and every check compares that one number first. A
// change made by this process, by `vox admin` beside it, or by another node is seen by the very next
// check; nothing waits for a timer.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { SpaceType } from "../../../protocol/api/spaces.js"
import { RoleId, UserId } from "../../../protocol/ids.js"
import {
  has,
  NO_PERMISSIONS,
  Permission,
  type PermissionSet,
  PermissionSetFromString,
  resolveInSpace,
  resolvePermissions,
  type TargetedOverride
} from "../../../protocol/permissions.js"
import { BoolColumn, decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import { type Membership, OWNER_POSITION } from "./Membership.js"

export interface CachedRole {
  readonly id: RoleId
  readonly permissions: PermissionSet
  readonly position: number
  readonly everyone: boolean
}


interface Snapshot {
  readonly epoch: number
  readonly ownerId: number | null
  readonly everyone: CachedRole
  readonly roles: ReadonlyMap<number, CachedRole>
  /** `feed:5` -> its overrides; every existing feed and room has an entry */
  readonly spaces: ReadonlyMap<string, ReadonlyArray<TargetedOverride>>
  /** users some override in some space names: their permissions are their own, not their roles' */
  readonly overriddenUsers: ReadonlySet<number>
  /** filled on demand, dropped with the snapshot */
  readonly standings: Map<number, Membership>
}

// A community with more active users than this rebuilds entries on demand instead of growing forever.
const MAX_CACHED_STANDINGS = 200_000

const EpochRow = Schema.Struct({ epoch: IntColumn, owner_id: Schema.NullOr(IntColumn) })

/** What every check compares first: the one number every access-changing write bumps. */
export const EPOCH_QUERY = "SELECT access_epoch AS epoch, owner_id FROM server WHERE id = 1"

export const decodeEpoch = Schema.decodeUnknownEither(EpochRow)
const RoleRow = Schema.Struct({
  id: Schema.compose(IntColumn, RoleId),
  permissions: PermissionSetFromString,
  position: IntColumn,
  is_everyone: BoolColumn
})
const SpaceRow = Schema.Struct({ space_type: Schema.Literal("feed", "room"), id: IntColumn })
const OverrideRow = Schema.Struct({
  space_type: Schema.Literal("feed", "room"),
  space_id: IntColumn,
  target_type: Schema.Literal("role", "user"),
  target_id: IntColumn,
  allow_bits: PermissionSetFromString,
  deny_bits: PermissionSetFromString
})
const StandingRow = Schema.Struct({
  suspended: BoolColumn,
  member: IntColumn,
  banned: IntColumn
})
const AssignmentRow = Schema.Struct({ role_id: Schema.compose(IntColumn, RoleId) })

export const spaceKey = (type: SpaceType, id: number) => `${type}:${id}`

export const makeAccessCache = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // The snapshot of the latest epoch seen; replaced whole, never changed but for its standings.
  let current: Snapshot | undefined

  const readEpoch = sql.unsafe(EPOCH_QUERY).pipe(
    Effect.flatMap(decodeRows(EpochRow)),
    Effect.map((rows) => rows[0]!)
  )

  const build = (epoch: number, ownerId: number | null) =>
    Effect.gen(function* () {
      const [roleRows, spaceRows, overrideRows] = yield* Effect.all([
        sql`SELECT id, permissions, position, is_everyone FROM roles`.pipe(Effect.flatMap(decodeRows(RoleRow))),
        sql`SELECT 'feed' AS space_type, id FROM feeds UNION ALL SELECT 'room' AS space_type, id FROM rooms`.pipe(
          Effect.flatMap(decodeRows(SpaceRow))
        ),
        sql`SELECT space_type, space_id, target_type, target_id, allow_bits, deny_bits FROM permission_overrides`.pipe(
          Effect.flatMap(decodeRows(OverrideRow))
        )
      ])
      const roles = new Map<number, CachedRole>()
      let everyone: CachedRole | undefined
      for (const r of roleRows) {
        const role: CachedRole = { id: r.id, permissions: r.permissions, position: r.position, everyone: r.is_everyone }
        roles.set(r.id, role)
        if (r.is_everyone) everyone = role
      }
      const spaces = new Map<string, Array<TargetedOverride>>()
      const overriddenUsers = new Set<number>()
      for (const s of spaceRows) spaces.set(spaceKey(s.space_type, s.id), [])
      for (const o of overrideRows) {
        if (o.target_type === "user") overriddenUsers.add(o.target_id)
        spaces.get(spaceKey(o.space_type, o.space_id))?.push({
          target_type: o.target_type,
          target_id: o.target_id,
          allow: o.allow_bits,
          deny: o.deny_bits
        })
      }
      if (everyone === undefined) return yield* Effect.dieMessage("the @everyone role is missing")
      const snapshot: Snapshot = { epoch, ownerId, everyone, roles, spaces, overriddenUsers, standings: new Map() }
      return snapshot
    })

  /** The snapshot of the current epoch, rebuilt when anything changed since the last check. */
  const snapshot = Effect.gen(function* () {
    const { epoch, owner_id } = yield* readEpoch
    if (current !== undefined && current.epoch === epoch) return current
    const fresh = yield* build(epoch, owner_id)
    current = fresh
    return fresh
  })

  const loadStanding = (snap: Snapshot, userId: UserId) =>
    Effect.gen(function* () {
      const rows = yield* sql`SELECT u.suspended,
          (SELECT COUNT(*) FROM members m WHERE m.user_id = u.id) AS member,
          (SELECT COUNT(*) FROM bans b WHERE b.user_id = u.id) AS banned
        FROM users u WHERE u.id = ${userId}`.pipe(Effect.flatMap(decodeRows(StandingRow)))
      const row = rows[0]
      if (row === undefined) return Option.none<Membership>()
      const member = row.member > 0
      const assigned = member
        ? yield* sql`SELECT role_id FROM member_roles WHERE user_id = ${userId}`.pipe(
          Effect.flatMap(decodeRows(AssignmentRow))
        )
        : []
      const roles = assigned
        .map((a) => snap.roles.get(a.role_id))
        .filter((r): r is CachedRole => r !== undefined && !r.everyone)
        .sort((a, b) => b.position - a.position || a.id - b.id)
      const owner = snap.ownerId === userId
      const standing: Membership = {
        user_id: userId,
        member,
        banned: row.banned > 0,
        owner,
        suspended: row.suspended,
        roles: roles.map((r) => r.id),
        permissions: member
          ? resolvePermissions({ everyone: snap.everyone.permissions, roles: roles.map((r) => r.permissions) })
          : NO_PERMISSIONS,
        top_position: owner ? OWNER_POSITION : (roles[0]?.position ?? 0)
      }
      return Option.some(standing)
    })

  /** Questions answered from one snapshot. */
  const viewOf = (snap: Snapshot, remember: boolean) => {
    /** A user's standing; none when there is no such account. */
    const standing = (userId: UserId) =>
      Effect.gen(function* () {
        const hit = snap.standings.get(userId)
        if (hit !== undefined) return Option.some(hit)
        const loaded = yield* loadStanding(snap, userId)
        if (remember && Option.isSome(loaded)) {
          if (snap.standings.size >= MAX_CACHED_STANDINGS) snap.standings.clear()
          snap.standings.set(userId, loaded.value)
        }
        return loaded
      })

    /**
     * A member's permissions in a feed or room (seed 002 §7, all six steps), or none when the space
     * does not exist. Non-members have no permissions anywhere.
     */
    const permissionsIn = (member: Membership, space: { readonly type: SpaceType; readonly id: number }) => {
      const overrides = snap.spaces.get(spaceKey(space.type, space.id))
      if (overrides === undefined) return Option.none<PermissionSet>()
      if (!member.member) return Option.some(NO_PERMISSIONS)
      const resolved = resolveInSpace({
        everyoneRoleId: snap.everyone.id,
        everyone: snap.everyone.permissions,
        roles: member.roles.flatMap((id) => {
          const role = snap.roles.get(id)
          return role === undefined ? [] : [role]
        }),
        userId: member.user_id,
        overrides
      })
      // a space one cannot see grants nothing in it
      return Option.some(has(resolved, Permission.VIEW_SPACE) ? resolved : NO_PERMISSIONS)
    }

    return {
      standing,
      /** A standing this view already holds, without loading one. */
      standingNow: (userId: UserId) => snap.standings.get(userId),
      permissionsIn,
      /** A role (position, permissions), for hierarchy checks. */
      role: (roleId: number) => Option.fromNullable(snap.roles.get(roleId)),
      everyone: snap.everyone,
      epoch: snap.epoch,
      ownerId: snap.ownerId,
      /** Whether an override names this user (else their permissions follow from their roles alone). */
      hasUserOverride: (userId: number) => snap.overriddenUsers.has(userId),
      spaceExists: (type: SpaceType, id: number) => snap.spaces.has(spaceKey(type, id)),
      /** The ids of every feed or room, in id order. */
      spaceIds: (type: SpaceType) =>
        [...snap.spaces.keys()]
          .filter((key) => key.startsWith(`${type}:`))
          .map((key) => Number(key.slice(type.length + 1)))
          .sort((a, b) => a - b)
    } as const
  }

  return {
    /** The cached view of the current epoch: for reads and permission checks. */
    view: Effect.map(snapshot, (snap) => viewOf(snap, true)),
    /**
     * A view built from the database as this transaction sees it, never cached: what write handlers
     * use, so nothing uncommitted can leak into the cache if the transaction rolls back.
     */
    fresh: Effect.flatMap(readEpoch, ({ epoch, owner_id }) => build(epoch, owner_id)).pipe(
      Effect.map((snap) => viewOf(snap, false))
    ),
    /**
     * The cached view if it is of `epoch`, reading nothing: for a check that read the epoch itself
     * (`decodeEpoch` of the row of EPOCH_QUERY). Undefined when the cache is behind.
     */
    peek: (epoch: number) => (current !== undefined && current.epoch === epoch ? viewOf(current, true) : undefined),
    /** Forget everything: the next check rebuilds. */
    invalidate: Effect.sync(() => {
      current = undefined
    })
  } as const
})

export type AccessCache = Effect.Effect.Success<typeof makeAccessCache>
export type AccessView = Effect.Effect.Success<AccessCache["view"]>
