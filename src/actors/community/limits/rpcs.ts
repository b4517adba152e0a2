// The server's limits (GET/PATCH /api/v1/server/limits).
import { Rpc } from "@effect/rpc"
import { LimitsPatch, ServerLimits } from "../../../protocol/api/server.js"
import { UserId } from "../../../protocol/ids.js"

export const LimitRpcs = [
  Rpc.make("GetLimits", { success: ServerLimits }),
  /** Stores the named limits; every check after the write sees them. Answers with all limits. */
  Rpc.make("UpdateLimits", { payload: { actor: UserId, patch: LimitsPatch }, success: ServerLimits })
] as const
