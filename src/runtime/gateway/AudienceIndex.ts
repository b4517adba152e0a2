// Who, among the users connected to this node, may receive an event. For every connected user it keeps
// their standing and their permissions on the server and in every feed and room, and for every space
// the set of connected users who may VIEW it, so fan-out walks the recipients and nobody else.
//
// It is kept current by the delivery loop, in log order: an event that changes one user's standing
// (join, leave, ban, role assign) reloads that user before the next event is delivered; one that changes
// roles, overrides or spaces recomputes everyone from the new permission snapshot. Users with the same
// roles and no override of their own share one computation.
import { Effect, Option } from "effect"
import { makeAccessCache, spaceKey, type AccessView } from "../../actors/community/access/AccessCache.js"
import type { Membership } from "../../actors/community/access/Membership.js"
import type { SpaceType } from "../../protocol/api/spaces.js"
import type { Audience } from "../../protocol/events.js"
import type { UserId } from "../../protocol/ids.js"
import { has, NO_PERMISSIONS, Permission, type PermissionSet, resolvePermissions } from "../../protocol/permissions.js"

interface Grants {
  readonly server: PermissionSet
  /** `feed:5` -> permissions there; only spaces where the user holds VIEW_SPACE */
  readonly spaces: ReadonlyMap<string, PermissionSet>
}

interface Entry {
  readonly standing: Membership
  readonly grants: Grants
}

const NOTHING: Grants = { server: NO_PERMISSIONS, spaces: new Map() }
const SPACE_TYPES: ReadonlyArray<SpaceType> = ["feed", "room"]

export const makeAudienceIndex = Effect.gen(function* () {
  const access = yield* makeAccessCache
  const users = new Map<number, Entry>()
  /** connected members */
  const members = new Set<number>()
  /** `feed:5` -> connected users holding VIEW_SPACE there */
  const viewers = new Map<string, Set<number>>()

  const grantsOf = (view: AccessView, standing: Membership): Grants => {
    if (!standing.member || standing.banned) return NOTHING
    const roles = standing.roles.flatMap((id) => Option.toArray(view.role(id)))
    const server = resolvePermissions({ everyone: view.everyone.permissions, roles: roles.map((r) => r.permissions) })
    const spaces = new Map<string, PermissionSet>()
    for (const type of SPACE_TYPES) {
      for (const id of view.spaceIds(type)) {
        const inSpace = view.permissionsIn(standing, { type, id })
        if (Option.isSome(inSpace) && has(inSpace.value, Permission.VIEW_SPACE)) spaces.set(spaceKey(type, id), inSpace.value)
      }
    }
    return { server, spaces }
  }

  const unindex = (userId: number) => {
    const entry = users.get(userId)
    if (entry === undefined) return
    members.delete(userId)
    for (const key of entry.grants.spaces.keys()) viewers.get(key)?.delete(userId)
  }

  const index = (userId: number, entry: Entry) => {
    unindex(userId)
    users.set(userId, entry)
    if (entry.standing.member && !entry.standing.banned) members.add(userId)
    for (const key of entry.grants.spaces.keys()) {
      let set = viewers.get(key)
      if (set === undefined) viewers.set(key, (set = new Set()))
      set.add(userId)
    }
  }

  /** Loads (or reloads) one user's standing and grants. */
  const load = (userId: UserId) =>
    Effect.gen(function* () {
      const view = yield* access.view
      const found = yield* view.standing(userId)
      if (Option.isNone(found)) {
        unindex(userId)
        users.delete(userId)
        return
      }
      index(userId, { standing: found.value, grants: grantsOf(view, found.value) })
    })

  /**
   * Recomputes every connected user from the current snapshot: after a change to roles, overrides or
   * spaces, or one made outside this process. Standings are reloaded only when `reloadStandings`.
   */
  const refresh = (reloadStandings: boolean) =>
    Effect.gen(function* () {
      if (reloadStandings) yield* access.invalidate
      const view = yield* access.view
      const shared = new Map<string, Grants>()
      viewers.clear()
      members.clear()
      for (const [userId, old] of users) {
        const standing = reloadStandings ? Option.getOrUndefined(yield* view.standing(userId as UserId)) : old.standing
        if (standing === undefined) {
          users.delete(userId)
          continue
        }
        let grants: Grants
        if (view.hasUserOverride(userId) || !standing.member || standing.banned) grants = grantsOf(view, standing)
        else {
          const key = standing.roles.join(",")
          grants = shared.get(key) ?? grantsOf(view, standing)
          shared.set(key, grants)
        }
        index(userId, { standing, grants })
      }
    })

  /** The epoch of the snapshot the index was computed from; a different one in the database means refresh. */
  const epoch = Effect.map(access.view, (view) => view.epoch)

  /** The connected users who may receive an event with this audience. */
  const recipients = (audience: Audience): Iterable<number> => {
    switch (audience._tag) {
      case "server": {
        const except = audience.except
        if (except === undefined || except.length === 0) return members
        return [...members].filter((id) => !except.includes(id as UserId))
      }
      case "users":
        return audience.user_ids.filter((id) => users.has(id))
      case "permission": {
        const out: Array<number> = []
        for (const id of members) {
          if (has(users.get(id)!.grants.server, audience.permission)) out.push(id)
        }
        return out
      }
      case "space": {
        const key = spaceKey(audience.space_type, audience.space_id)
        const set = viewers.get(key)
        if (set === undefined) return []
        const except = audience.except
        if (audience.permission === Permission.VIEW_SPACE && (except === undefined || except.length === 0)) return set
        const out: Array<number> = []
        for (const id of set) {
          if (except?.includes(id as UserId)) continue
          if (has(users.get(id)!.grants.spaces.get(key) ?? NO_PERMISSIONS, audience.permission)) out.push(id)
        }
        return out
      }
    }
  }

  /** Whether one connected user may receive an event with this audience (replay after RESUME). */
  const canSee = (userId: number, audience: Audience): boolean => {
    const entry = users.get(userId)
    if (entry === undefined) return false
    const member = members.has(userId)
    switch (audience._tag) {
      case "server":
        return member && !(audience.except?.includes(userId as UserId) ?? false)
      case "users":
        return audience.user_ids.includes(userId as UserId)
      case "permission":
        return member && has(entry.grants.server, audience.permission)
      case "space": {
        const granted = entry.grants.spaces.get(spaceKey(audience.space_type, audience.space_id))
        return granted !== undefined && has(granted, audience.permission) && !(audience.except?.includes(userId as UserId) ?? false)
      }
    }
  }

  return {
    /** Starts tracking a user (their first connection on this node). */
    track: load,
    reload: load,
    /** Stops tracking a user (their last connection closed). */
    forget: (userId: number) => {
      unindex(userId)
      users.delete(userId)
    },
    refresh,
    epoch,
    recipients,
    canSee,
    standing: (userId: number) => users.get(userId)?.standing
  } as const
})

export type AudienceIndex = Effect.Effect.Success<typeof makeAudienceIndex>
