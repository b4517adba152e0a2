// Operational endpoints (reference API.md §2) and gateway discovery.
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"

export const Status = Schema.Struct({ status: Schema.Literal("ok") })

export const GatewayInfo = Schema.Struct({
  url: Schema.String,
  media_url: Schema.NullOr(Schema.String),
  protocol_version: Schema.Number,
  min_version: Schema.Number,
  max_version: Schema.Number
})

export const PROTOCOL_VERSION = 1

export const health = endpoint({ name: "health", method: "GET", path: "/health", access: "public", success: Status })

/** 200 when the database answers, else 503 SERVICE_UNAVAILABLE. */
export const ready = endpoint({ name: "ready", method: "GET", path: "/ready", access: "public", success: Status })

export const gateway = endpoint({
  name: "gateway",
  method: "GET",
  path: "/api/v1/gateway",
  access: "public",
  success: GatewayInfo
})
