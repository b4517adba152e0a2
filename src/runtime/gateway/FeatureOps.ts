// Where the client opcodes of other features plug in: voice state (6), MLS relay (9), CPace relay (10),
// codec negotiation (11) and stage responses (12). The gateway decodes and validates each payload
// against its protocol schema (a bad one closes the connection with 4002) and hands it to the handler
// the owning feature registered; the gateway core never changes for a new feature.
import { Context, type Effect, Layer, type Schema } from "effect"
import type { FeatureOp, FeatureOpPayloads, SessionId } from "../../protocol/gateway.js"
import type { UserId } from "../../protocol/ids.js"

/** Who sent a feature opcode. */
export interface OpSender {
  readonly userId: UserId
  readonly sessionId: SessionId
  /** The auth session behind the gateway session (pairing binds to it). */
  readonly authSessionId: bigint
}

export type OpHandler<O extends FeatureOp> = (
  sender: OpSender,
  payload: Schema.Schema.Type<(typeof FeatureOpPayloads)[O]>
) => Effect.Effect<void>

export type OpHandlers = { readonly [O in FeatureOp]?: OpHandler<O> }

export class GatewayFeatureOps extends Context.Tag("vox/gateway/FeatureOps")<GatewayFeatureOps, OpHandlers>() {
  /** No feature registered yet: payloads are validated and accepted, and go nowhere. */
  static readonly none = Layer.succeed(GatewayFeatureOps, {})
}
