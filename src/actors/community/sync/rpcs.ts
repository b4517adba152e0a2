// Catching a client up from the event log (reference API.md "Sync").
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { SyncResponse } from "../../../protocol/api/sync.js"
import { UserId } from "../../../protocol/ids.js"

export const SyncRpcs = [
  Rpc.make("Sync", {
    payload: {
      user_id: UserId,
      /** milliseconds since the Unix epoch */
      since_ms: Schema.Number,
      categories: Schema.Array(Schema.String)
    },
    success: SyncResponse
  })
] as const
