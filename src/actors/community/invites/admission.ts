// Who may come in: the checks a registration through the API and a join share, run inside the write
// that adds the member, so two people cannot both take an invite's last use or the last free seat.
import { Effect, Option } from "effect"
import { InviteExpired, InviteInvalid, ServerFull } from "../../../protocol/errors.js"
import type { UserId } from "../../../protocol/ids.js"
import type { Tx } from "../CommunityTx.js"
import { readLimits } from "../limits/limits.js"
import { MemberRepo } from "../members/MemberRepo.js"
import { type InviteRow, isExpired, isUsedUp, makeInviteRepo } from "./InviteRepo.js"

export const makeAdmission = Effect.gen(function* () {
  const invites = yield* makeInviteRepo
  const members = yield* MemberRepo

  /** The invite behind `code` if it can be used at `now`: unknown or spent is INVITE_INVALID, expired INVITE_EXPIRED. */
  const usable = (code: string, now: number) =>
    Effect.gen(function* () {
      const found = yield* invites.find(code)
      if (Option.isNone(found)) return yield* new InviteInvalid()
      if (isExpired(found.value, now)) return yield* new InviteExpired()
      if (isUsedUp(found.value)) return yield* new InviteInvalid({ message: "This invite has no uses left." })
      return found.value
    })

  /**
   * Whether one more member may come in (before anything is written): the invite when a code is given
   * (and one is needed unless `required` is false), then `max_members` as it stands in this
   * transaction, so a limit lowered a moment ago already applies.
   */
  const check = (input: { readonly code: string | undefined; readonly required: boolean; readonly now: number }) =>
    Effect.gen(function* () {
      if (input.code === undefined && input.required) {
        return yield* new InviteInvalid({ message: "An invite code is required to join this server." })
      }
      const invite = input.code === undefined ? undefined : yield* usable(input.code, input.now)
      const limits = yield* readLimits
      if ((yield* members.count) >= limits.max_members) return yield* new ServerFull()
      return invite
    })

  /** Once the member exists: spends one use of the invite they came through, and records it. */
  const spend = (tx: Tx, invite: InviteRow, userId: UserId) =>
    Effect.gen(function* () {
      // `check` found a use left in this same transaction; the guard in the UPDATE is the last word.
      if (!(yield* invites.consume(invite.code))) return yield* new InviteInvalid({ message: "This invite has no uses left." })
      yield* tx.audit({ event_type: "invite.use", actor_id: userId, target_id: userId, metadata: { code: invite.code } })
    })

  return { usable, check, spend } as const
})
