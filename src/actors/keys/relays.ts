// The gateway's E2EE opcodes (seed 002 §4): op 9 MLS_RELAY and op 10 CPACE_RELAY, registered with the
// gateway as feature ops. The server is the MLS delivery service (DECISIONS.md): it checks who sends
// to whom and how big a message is, never what it says.
//
// op 9: the sender must be a participant of the DM; a Welcome goes to the invited users it names, a
// Commit or Proposal to every participant (the sender's other sessions too: they share its leaf key,
// seed 002 §8) or to the participants it names. A message naming anyone outside the DM is refused as
// a whole, and so is anything in a 1:1 DM a block closed. Neither opcode has an answer frame, so a refused message is dropped (and logged at debug).
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { blobBytes } from "../../protocol/api/keys.js"
import * as Ev from "../../protocol/events.js"
import type { MlsRelay } from "../../protocol/gateway.js"
import { Events } from "../../runtime/events/Events.js"
import { GatewayFeatureOps, type OpHandlers, type OpSender } from "../../runtime/gateway/FeatureOps.js"
import { readLimits } from "../community/limits/limits.js"
import { checkDmOpen } from "../dm/allowed.js"
import { Dm } from "../dm/Dm.js"
import { toUsers } from "../dm/rules.js"
import { Pairing } from "./Pairing.js"

const EVENTS = { welcome: Ev.MlsWelcome, commit: Ev.MlsCommit, proposal: Ev.MlsProposal } as const

/** Handlers never fail: a storage failure is logged and the message is lost, like a dropped frame. */
const logFailure = <R>(what: string) => (self: Effect.Effect<void, never, R>) =>
  Effect.catchAllCause(self, (cause) => Effect.logWarning(`${what} failed`, cause))

export const KeyRelaysLive = Layer.effect(
  GatewayFeatureOps,
  Effect.gen(function* () {
    const events = yield* Events
    const pairing = yield* Pairing
    const dms = yield* Dm.client
    const sql = yield* SqlClient.SqlClient

    const refuse = (reason: string, sender: OpSender, message: MlsRelay) =>
      Effect.logDebug("MLS relay refused", { user_id: sender.userId, dm_id: message.dm_id, reason })

    const mls = (sender: OpSender, message: MlsRelay) =>
      Effect.gen(function* () {
        const max = (yield* readLimits).max_mls_message_bytes
        if (blobBytes(message.data) > max) return yield* refuse("message too large", sender, message)
        const dm = yield* dms(String(message.dm_id)).Get({ actor: sender.userId }).pipe(
          Effect.catchTag("Forbidden", () => Effect.succeed(null)),
          // The cluster failing to reach the entity is no answer about the sender: it is a failure.
          Effect.orDie
        )
        if (dm === null) return yield* refuse("sender is not a participant", sender, message)
        // A 1:1 DM frozen by a block carries nothing more, key traffic included (seed 002 §12).
        const open = yield* checkDmOpen(dm).pipe(Effect.as(true), Effect.catchTag("UserBlocked", () => Effect.succeed(false)))
        if (!open) return yield* refuse("a block closed this DM", sender, message)
        const participants = new Set(dm.participant_ids)
        const named = message.recipients === undefined ? null : [...new Set(message.recipients)]
        if (named !== null && named.some((id) => !participants.has(id))) {
          return yield* refuse("a recipient is not a participant", sender, message)
        }
        const audience = named ?? dm.participant_ids
        yield* events.transact((emit) =>
          emit(EVENTS[message.type], { dm_id: message.dm_id, sender_id: sender.userId, data: message.data }, toUsers(audience))
        )
      }).pipe(Effect.orDie, Effect.provideService(SqlClient.SqlClient, sql), logFailure("MLS relay"))

    const handlers: OpHandlers = {
      9: mls,
      10: (sender, message) => pairing.relay(sender, message).pipe(Effect.provideService(SqlClient.SqlClient, sql), logFailure("CPace relay"))
    }
    return handlers
  })
)
