// Device pairing (seed 002 §8 "Device Pairing"): a new device asks, another session of the same user
// approves or denies, then the two run CPace (or the QR transfer) through op 10, which this service
// relays between exactly those two sessions' user. A pairing lives `keys.pairTtl` (5 minutes); the
// expiry sweep tells the user's sessions DEVICE_PAIR_EXPIRED, and a late answer gets 410.
//
// The pairing is bound to auth sessions, the only device identity a request or a gateway connection
// carries: the session that asked is the initiator (it cannot answer its own request), the session
// that approved is the responder, and op 10 messages are accepted from those two alone, each only in
// its own role (isi from the initiator; rsi and leaf_transfer from the responder; confirm from both).
import { Duration, Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import { blobBytes, type PairId, type StartPairing } from "../../protocol/api/keys.js"
import { CPaceExpired, DevicePairDenied, DevicePairExpired, DevicePairNotFound, Forbidden, InvalidBody } from "../../protocol/errors.js"
import * as Ev from "../../protocol/events.js"
import type { CPaceRelay } from "../../protocol/gateway.js"
import type { UserId } from "../../protocol/ids.js"
import type { ClientMeta } from "../../runtime/auth/Accounts.js"
import type { Caller } from "../../runtime/auth/Sessions.js"
import { VoxConfig } from "../../runtime/config/VoxConfig.js"
import { dieOnStorageError } from "../../runtime/db/storageErrors.js"
import { type Emit, Events } from "../../runtime/events/Events.js"
import { readLimits } from "../community/limits/limits.js"
import { toUsers } from "../dm/rules.js"
import { checkBlobSize } from "./KeyDirectory.js"
import { type Pairing as PairingRow, PairingRepo } from "./PairingRepo.js"

const newPairId = () => `pair_${randomBytes(18).toString("base64url")}`

/** Who may send each op 10 message type. */
const SENDERS = {
  isi: ["initiator"],
  rsi: ["responder"],
  confirm: ["initiator", "responder"],
  leaf_transfer: ["responder"]
} as const satisfies Record<CPaceRelay["type"], ReadonlyArray<Ev.PairSide>>

const EVENTS = {
  isi: Ev.CPaceIsi,
  rsi: Ev.CPaceRsi,
  confirm: Ev.CPaceConfirm
} as const

export class Pairing extends Effect.Service<Pairing>()("vox/Pairing", {
  effect: Effect.gen(function* () {
    const repo = yield* PairingRepo
    const events = yield* Events
    const config = yield* VoxConfig
    const ttlMs = Duration.toMillis(config.keys.pairTtl)

    /** Expires the pairing now if its time is up and nobody did yet; true when it is expired. */
    const expireIfDue = (emit: Emit, pairing: PairingRow, now: number) =>
      Effect.gen(function* () {
        if (pairing.status === "expired") return true
        if (pairing.expires_at > now || (pairing.status !== "pending" && pairing.status !== "approved")) return false
        if (yield* repo.transition(pairing.id, pairing.status, "expired")) {
          yield* emit(Ev.DevicePairExpired, { pair_id: pairing.id }, toUsers([pairing.user_id]))
        }
        return true
      })

    const start = (caller: Caller, meta: ClientMeta, body: StartPairing) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const method = body.method ?? "cpace"
          if (method === "qr" && body.temp_public_key === undefined) {
            return yield* new InvalidBody({ message: "The QR method needs the new device's temp_public_key.", location: "body" })
          }
          if (body.temp_public_key !== undefined) {
            yield* checkBlobSize(body.temp_public_key, (yield* readLimits).max_key_package_bytes, "A temporary public key")
          }
          const now = Date.now()
          const pairing = {
            id: newPairId(),
            user_id: caller.userId,
            initiator_session: caller.sessionId.toString(),
            device_name: body.device_name,
            method,
            temp_public_key: body.temp_public_key ?? null,
            ip: meta.ip,
            created_at: now,
            expires_at: now + ttlMs
          }
          yield* repo.insert(pairing)
          const expiresAt = new Date(pairing.expires_at).toISOString()
          yield* emit(Ev.DevicePairPrompt, {
            pair_id: pairing.id,
            device_name: pairing.device_name,
            ip: pairing.ip,
            location: null,
            method: pairing.method,
            temp_public_key: pairing.temp_public_key,
            expires_at: expiresAt
          }, toUsers([caller.userId]))
          return { pair_id: pairing.id, expires_at: expiresAt }
        })
      ).pipe(dieOnStorageError)

    const respond = (caller: Caller, pairId: PairId, approved: boolean) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const found = yield* repo.find(pairId)
          if (Option.isNone(found) || found.value.user_id !== caller.userId) return yield* new DevicePairNotFound()
          const pairing = found.value
          if (yield* expireIfDue(emit, pairing, Date.now())) return { expired: true, method: pairing.method } as const
          if (pairing.status === "denied") return yield* new DevicePairDenied()
          if (pairing.initiator_session === caller.sessionId.toString()) {
            return yield* new Forbidden({ message: "A device cannot answer its own pairing request." })
          }
          const moved = yield* repo.transition(pairId, "pending", approved ? "approved" : "denied", caller.sessionId)
          if (!moved) return yield* new Forbidden({ message: "This pairing request was already answered." })
          if (!approved) {
            // seed 002 §8: a denied pairing is flagged; its pair_id relays nothing more.
            yield* Effect.logWarning("Device pairing denied", { user_id: caller.userId, pair_id: pairId, ip: pairing.ip })
          }
          yield* emit(Ev.DevicePairResult, { pair_id: pairId, approved }, toUsers([caller.userId]))
          return { expired: false } as const
        })
      ).pipe(
        // The expiry is committed (and announced) before the caller hears 410.
        Effect.flatMap((outcome): Effect.Effect<void, CPaceExpired | DevicePairExpired> =>
          !outcome.expired ? Effect.void : outcome.method === "cpace" ? Effect.fail(new CPaceExpired()) : Effect.fail(new DevicePairExpired())
        ),
        dieOnStorageError
      )

    /**
     * Relays one op 10 message to the user's sessions, or refuses it (silently: op 10 has no answer)
     * when the pairing is not the sender's, not approved, over, or the sender's role does not send
     * that message. A relayed leaf_transfer completes the pairing.
     */
    const relay = (sender: { readonly userId: UserId; readonly authSessionId: bigint }, message: CPaceRelay) =>
      events.transact((emit) =>
        Effect.gen(function* () {
          const found = yield* repo.find(message.pair_id)
          if (Option.isNone(found) || found.value.user_id !== sender.userId) return "not the sender's pairing"
          const pairing = found.value
          if (yield* expireIfDue(emit, pairing, Date.now())) return "pairing expired"
          if (pairing.status !== "approved") return `pairing ${pairing.status}`
          const session = sender.authSessionId.toString()
          const side: Ev.PairSide | null = session === pairing.initiator_session
            ? "initiator"
            : session === pairing.responder_session
            ? "responder"
            : null
          if (side === null || !(SENDERS[message.type] as ReadonlyArray<Ev.PairSide>).includes(side)) {
            return `${message.type} is not the ${side ?? "bystander"}'s to send`
          }
          const max = (yield* readLimits).max_key_package_bytes
          const oversize = [message.data, message.nonce].some((blob) => blob !== undefined && blobBytes(blob) > max)
          if (oversize) return "message too large"
          const audience = toUsers([sender.userId])
          const base = { pair_id: pairing.id, side, data: message.data }
          if (message.type === "leaf_transfer") {
            if (!(yield* repo.transition(pairing.id, "approved", "completed"))) return "pairing no longer open"
            yield* emit(Ev.CPaceLeafTransfer, { ...base, nonce: message.nonce ?? null }, audience)
          } else {
            yield* emit(EVENTS[message.type], base, audience)
          }
          return null
        })
      ).pipe(
        Effect.flatMap((refused) =>
          refused === null ? Effect.void : Effect.logDebug("CPace relay refused", { pair_id: message.pair_id, reason: refused })
        ),
        dieOnStorageError
      )

    /** Expires what is due and announces it; forgets pairings long over. */
    const sweep = events.transact((emit) =>
      Effect.gen(function* () {
        const now = Date.now()
        const expired = yield* repo.expireDue(now)
        for (const p of expired) yield* emit(Ev.DevicePairExpired, { pair_id: p.id }, toUsers([p.user_id]))
        yield* repo.purge(now)
      })
    )

    return { start, respond, relay, sweep, ttlMs } as const
  }),
  dependencies: [PairingRepo.Default]
}) {}
