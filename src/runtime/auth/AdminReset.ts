// POST /api/v1/admin/2fa-reset (reference API.md §6 "Admin 2FA Reset", security/two-factor.md): a
// user who lost every second factor gets every session ended, then all their factors removed in one
// transaction with the audit entry.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { COMMUNITY_ID, Community, type Membership } from "../../actors/community/Community.js"
import { requireOutranksMember } from "../../actors/community/hierarchy.js"
import { Forbidden } from "../../protocol/errors.js"
import type { UserId } from "../../protocol/ids.js"
import { stringifyJson } from "../../protocol/json.js"
import { dieOnStorageError } from "../db/storageErrors.js"
import { Snowflakes } from "../ids/Snowflakes.js"
import { Sessions } from "./Sessions.js"
import { TwoFactor } from "./TwoFactor.js"

export const resetTwoFactor = (actor: Membership, targetId: UserId, reason: string | undefined) =>
  Effect.gen(function* () {
    if (targetId === actor.user_id) {
      return yield* new Forbidden({ message: "Remove your own second factors with DELETE /api/v1/auth/2fa." })
    }
    // A moderator cannot strip the protection of someone at or above them (the owner, an admin).
    const target = yield* (yield* Community.client)(COMMUNITY_ID).Member({ user_id: targetId })
    yield* requireOutranksMember(actor, target)

    const sql = yield* SqlClient.SqlClient
    const twoFactor = yield* TwoFactor
    const sessions = yield* Sessions
    const snowflakes = yield* Snowflakes
    // Sessions first (their ending is announced to the gateway as it commits): should the rest fail,
    // the user is signed out with their factors intact, never left signed in without them.
    const sessionsEnded = yield* sessions.revokeAll(targetId)
    yield* sql.withTransaction(Effect.gen(function* () {
      const removed = yield* twoFactor.removeAll(targetId)
      const id = yield* snowflakes.next
      yield* sql`INSERT INTO audit_log ${sql.insert({
        id: id.toString(),
        event_type: "2fa.admin_reset",
        actor_id: actor.user_id,
        target_id: targetId,
        metadata: stringifyJson({
          ...(reason === undefined ? {} : { reason }),
          totp: removed.totp,
          webauthn_credentials: removed.webauthn_credentials,
          recovery_codes: removed.recovery_codes,
          sessions_ended: sessionsEnded
        }),
        created_at: Date.now()
      })}`
    })).pipe(dieOnStorageError)
  })
