// The permission check of every REST request (seed 002 §7), answered in the request's own process.
// It is the Community entity's Authorize, from a cache of its own: the cache is exact (it compares
// `server.access_epoch` before every answer, see AccessCache.ts), so asking the entity through the
// cluster would only add a hop for the same answer. Reads only: the Community entity stays the one
// writer of what the answer depends on.
import { Effect, Either, Option } from "effect"
import type { SpaceType } from "../../../protocol/api/spaces.js"
import type { UserId } from "../../../protocol/ids.js"
import type { PermissionName } from "../../../protocol/permissions.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import { SyncReads } from "../../../runtime/db/SyncReads.js"
import { decodeEpoch, EPOCH_QUERY, makeAccessCache } from "./AccessCache.js"
import { authorize, judgeAccess } from "./handlers.js"

export class Access extends Effect.Service<Access>()("vox/Access", {
  effect: Effect.map(Effect.all([makeAccessCache, SyncReads]), ([cache, reads]) => ({
    /**
     * The caller's standing when they are a member and, if asked, hold `permission` on the server or
     * in `space` (whose permissions the answer then carries); FORBIDDEN, BANNED or SPACE_NOT_FOUND.
     */
    authorize: (input: {
      readonly user_id: UserId
      readonly permission?: PermissionName | undefined
      readonly space?: { readonly type: SpaceType; readonly id: number } | undefined
    }) => Effect.flatMap(cache.view, (view) => authorize(view, input)).pipe(dieOnStorageError),
    /**
     * `authorize` answered at once from what the cache holds, for a hot path: undefined when the cache
     * is behind the database's epoch or does not know the user yet (the usual way fills it).
     */
    authorizeNow: Option.match(reads, {
      onNone: () => undefined,
      onSome: (reader) => (input: Parameters<typeof judgeAccess>[2]) => {
        const epoch = decodeEpoch(reader.all(EPOCH_QUERY, [])[0])
        if (Either.isLeft(epoch)) return undefined
        const view = cache.peek(epoch.right.epoch)
        const standing = view?.standingNow(input.user_id)
        return view === undefined || standing === undefined ? undefined : judgeAccess(view, Option.some(standing), input)
      }
    })
  }))
}) {}
