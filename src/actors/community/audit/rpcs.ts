// Reading the audit log (seed 002 §15).
import { Rpc } from "@effect/rpc"
import { AuditPage, AuditQuery } from "../../../protocol/api/audit.js"
import { InvalidBody } from "../../../protocol/errors.js"

export const AuditRpcs = [
  Rpc.make("QueryAuditLog", { payload: { query: AuditQuery }, success: AuditPage, error: InvalidBody })
] as const
