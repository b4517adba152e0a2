// Device pairing over the server, seed 002 §8 "Device Pairing: CPace Method". The new device asks
// (POST /keys/devices/pair), an existing device approves and shows a 6-digit code, the user types it
// on the new device, and the two run CPace through op 10: isi from the new device, rsi from the
// existing one, a confirmation from each, and only when the new device's confirmation checks out
// does the existing device send the leaf key, sealed under the CPace key. A wrong code fails on both
// sides and nothing sealed ever leaves the existing device.
import { Duration, Effect, Queue, Schema } from "effect"
import * as Keys from "../../protocol/api/keys.js"
import * as Ev from "../../protocol/events.js"
import { type CPaceRelay, Op } from "../../protocol/gateway.js"
import type { Dispatch, GatewayClient } from "../GatewayClient.js"
import type { VoxCallError } from "../VoxClient.js"
import { fromBase64, toBase64 } from "./bytes.js"
import * as CPace from "./cpace.js"
import type { E2eeDevice } from "./E2eeDevice.js"
import { CPaceConfirmationFailed, type CPaceShareInvalid, MlsFailure, type SealedBoxUndecryptable } from "./errors.js"
import { fromBytes, toBytes } from "./leafBundle.js"

export type PairingError = VoxCallError | MlsFailure | CPaceConfirmationFailed | CPaceShareInvalid | SealedBoxUndecryptable

export interface PairingOptions {
  /** Default: the seed's 5 minutes. */
  readonly within?: Duration.DurationInput
}

const CPaceMessage = Schema.Struct({ pair_id: Keys.PairId, side: Ev.PairSide, data: Keys.KeyBlob })
const LeafTransfer = Ev.CPaceLeafTransfer.schema

/** The next pairing dispatch of `type` from the other side, waiting at most `within`. */
const fromPeer = (device: E2eeDevice, pairId: string, type: string, peerSide: CPace.Side, within: Duration.DurationInput) =>
  Effect.gen(function* () {
    const box = yield* device.mailbox(pairId)
    for (;;) {
      const d: Dispatch = yield* Queue.take(box)
      if (d.t === Ev.DevicePairResult.name && d.d.approved === false) {
        return yield* new MlsFailure({ message: "the pairing was denied" })
      }
      if (d.t === type && d.d.side === peerSide) return d
    }
  }).pipe(Effect.timeoutFail({
    duration: within,
    onTimeout: () => new MlsFailure({ message: `pairing ${pairId}: no ${type} from the other device` })
  }))

const send = (gateway: GatewayClient, message: CPaceRelay) => gateway.send(Op.CPACE_RELAY, message)

const decodeShare = (d: Dispatch) =>
  Effect.map(Schema.decodeUnknown(CPaceMessage)(d.d).pipe(Effect.mapError((e) => new MlsFailure({ message: e.message }))), (m) => fromBase64(m.data))

/**
 * The new device: asks to pair, waits for approval, runs CPace with the code `enterCode` gives (the
 * one the existing device shows), receives the leaf key and registers itself with fresh key packages.
 */
export const pairAsNewDevice = (
  device: E2eeDevice,
  gateway: GatewayClient,
  input: { readonly deviceName: string; readonly enterCode: (pairId: string) => Effect.Effect<string> } & PairingOptions
): Effect.Effect<void, PairingError> =>
  Effect.gen(function* () {
    const within = input.within ?? CPace.PAIRING_TIMEOUT
    const { pair_id: pairId } = yield* device.client.call(Keys.startPairing, { body: { device_name: input.deviceName, method: "cpace" } })
    // The existing device shows its code once it approved.
    const box = yield* device.mailbox(pairId)
    for (;;) {
      const d = yield* Queue.take(box).pipe(Effect.timeoutFail({
        duration: within,
        onTimeout: () => new MlsFailure({ message: `pairing ${pairId} was not answered` })
      }))
      if (d.t !== Ev.DevicePairResult.name) continue
      if (d.d.approved !== true) return yield* new MlsFailure({ message: "the pairing was denied" })
      break
    }
    const code = yield* input.enterCode(pairId)
    const me = CPace.start("initiator", code, pairId)
    yield* send(gateway, { type: "isi", pair_id: pairId, data: toBase64(me.share) })
    const rsi = yield* fromPeer(device, pairId, Ev.CPaceRsi.name, "responder", within)
    const sk = yield* CPace.sessionKey(me, yield* decodeShare(rsi))
    yield* send(gateway, { type: "confirm", pair_id: pairId, data: toBase64(CPace.confirmation(sk, "initiator", pairId)) })
    const theirs = yield* fromPeer(device, pairId, Ev.CPaceConfirm.name, "responder", within)
    yield* CPace.verifyConfirmation(sk, "responder", pairId, yield* decodeShare(theirs))
    const transfer = yield* fromPeer(device, pairId, Ev.CPaceLeafTransfer.name, "responder", within)
    const sealed = yield* Schema.decodeUnknown(LeafTransfer)(transfer.d).pipe(Effect.mapError((e) => new MlsFailure({ message: e.message })))
    if (sealed.nonce === null) return yield* new MlsFailure({ message: "the leaf transfer has no nonce" })
    const leaf = yield* CPace.openLeaf(sk, pairId, fromBase64(sealed.nonce), fromBase64(sealed.data))
    yield* device.install(yield* fromBytes(device.userId, leaf))
    yield* device.register(input.deviceName)
  })

/**
 * An existing device: takes the next pairing request, approves it, shows the code through `show`,
 * and sends the leaf key once the new device has proven it holds the same CPace key.
 */
export const approvePairing = (
  device: E2eeDevice,
  gateway: GatewayClient,
  input: { readonly show: (code: string, pairId: string) => Effect.Effect<void> } & PairingOptions
): Effect.Effect<void, PairingError> =>
  Effect.gen(function* () {
    const within = input.within ?? CPace.PAIRING_TIMEOUT
    // Only a device that has the leaf key can give it.
    yield* device.keys
    const prompts = yield* device.mailbox("prompts")
    const prompt = yield* Queue.take(prompts).pipe(Effect.timeoutFail({
      duration: within,
      onTimeout: () => new MlsFailure({ message: "no pairing request arrived" })
    }))
    const pairId = yield* Schema.decodeUnknown(Keys.PairId)(prompt.d.pair_id).pipe(Effect.mapError((e) => new MlsFailure({ message: e.message })))
    const code = CPace.generatePairingCode()
    yield* device.client.call(Keys.respondPairing, { params: { pair_id: pairId }, body: { approved: true } })
    yield* input.show(code, pairId)
    const isi = yield* fromPeer(device, pairId, Ev.CPaceIsi.name, "initiator", within)
    const me = CPace.start("responder", code, pairId)
    const sk = yield* CPace.sessionKey(me, yield* decodeShare(isi))
    yield* send(gateway, { type: "rsi", pair_id: pairId, data: toBase64(me.share) })
    yield* send(gateway, { type: "confirm", pair_id: pairId, data: toBase64(CPace.confirmation(sk, "responder", pairId)) })
    const theirs = yield* fromPeer(device, pairId, Ev.CPaceConfirm.name, "initiator", within)
    yield* CPace.verifyConfirmation(sk, "initiator", pairId, yield* decodeShare(theirs))
    // The group states as they are now, not as they were when the request came.
    const box = yield* CPace.sealLeaf(sk, pairId, yield* toBytes(device.userId, yield* device.keys))
    yield* send(gateway, { type: "leaf_transfer", pair_id: pairId, data: toBase64(box.ciphertext), nonce: toBase64(box.nonce) })
  })
