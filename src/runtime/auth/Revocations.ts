// Every session that ends (logout, revocation, a password change, a ban, a suspension, an admin 2FA
// reset) is announced here, after the deletion commits, so the gateway can close that session's
// connections at once instead of waiting for its next re-authentication. In-process: a cluster issue
// replaces this layer with one that reaches every node.
import { Effect, PubSub, type Queue, type Scope } from "effect"
import type { UserId } from "../../protocol/ids.js"

export interface Revocation {
  readonly user_id: UserId
  /** The sessions that ended, or every session the user had. */
  readonly session_ids: ReadonlyArray<bigint> | "all"
}

/** Whether `revocation` ends the session of `caller`. */
export const ends = (revocation: Revocation, caller: { readonly userId: UserId; readonly sessionId: bigint }) =>
  revocation.user_id === caller.userId &&
  (revocation.session_ids === "all" || revocation.session_ids.includes(caller.sessionId))

export class Revocations extends Effect.Service<Revocations>()("vox/Revocations", {
  scoped: Effect.gen(function* () {
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<Revocation>(), PubSub.shutdown)
    return {
      /** Announces ended sessions; call it once their deletion is committed. */
      publish: (revocation: Revocation) =>
        revocation.session_ids !== "all" && revocation.session_ids.length === 0
          ? Effect.void
          : PubSub.publish(hub, revocation).pipe(Effect.asVoid),
      /** A queue of every revocation published from now on, for as long as the scope lives. */
      subscribe: PubSub.subscribe(hub) as Effect.Effect<Queue.Dequeue<Revocation>, never, Scope.Scope>
    }
  })
}) {}
