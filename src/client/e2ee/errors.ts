// What can go wrong on the client's side of end-to-end encryption. These never travel: the server
// cannot see them (it holds no key), so they are SDK errors, not protocol error codes.
import { Schema } from "effect"

/** The peer's CPace share is not a valid ristretto255 element, or yields the identity (an attack). */
export class CPaceShareInvalid extends Schema.TaggedError<CPaceShareInvalid>()("CPaceShareInvalid", {
  message: Schema.String
}) {}

/** The peer's confirmation does not match: a wrong pairing code, or someone in the middle. */
export class CPaceConfirmationFailed extends Schema.TaggedError<CPaceConfirmationFailed>()("CPaceConfirmationFailed", {
  message: Schema.String
}) {}

/** A sealed box (leaf transfer, key backup) that does not open with the key at hand. */
export class SealedBoxUndecryptable extends Schema.TaggedError<SealedBoxUndecryptable>()("SealedBoxUndecryptable", {
  message: Schema.String
}) {}

/** A recovery phrase that is not 12 words of the BIP39 English list with a valid checksum. */
export class RecoveryPhraseInvalid extends Schema.TaggedError<RecoveryPhraseInvalid>()("RecoveryPhraseInvalid", {
  message: Schema.String
}) {}

/** ts-mls refused an MLS operation or message (wrong epoch, not a member any more, malformed bytes). */
export class MlsFailure extends Schema.TaggedError<MlsFailure>()("MlsFailure", {
  message: Schema.String
}) {}
