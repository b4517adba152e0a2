// Reports (seed 002 §12): filed by anyone who could see what they report, listed and resolved by
// moderators. Resolving carries out its action (members/moderation.ts) in the same write.
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { CreateReport, Report, ReportId, ReportPage, ReportQuery, ResolveReport } from "../../../protocol/api/reports.js"
import {
  Banned,
  Forbidden,
  InvalidBody,
  MessageNotFound,
  ReportAlreadyResolved,
  ReportNotFound,
  RoleHierarchy,
  SpaceNotFound,
  UserNotFound
} from "../../../protocol/errors.js"
import { UserId } from "../../../protocol/ids.js"

export const ReportRpcs = [
  Rpc.make("CreateReport", {
    payload: { reporter: UserId, report: CreateReport },
    success: Report,
    error: Schema.Union(InvalidBody, UserNotFound, Forbidden, Banned, SpaceNotFound, MessageNotFound)
  }),
  Rpc.make("ListReports", { payload: { query: ReportQuery }, success: ReportPage, error: InvalidBody }),
  Rpc.make("ResolveReport", {
    payload: { actor: UserId, report_id: ReportId, resolution: ResolveReport },
    success: Report,
    error: Schema.Union(ReportNotFound, ReportAlreadyResolved, InvalidBody, UserNotFound, Forbidden, Banned, RoleHierarchy)
  })
] as const
