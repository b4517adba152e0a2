// Behaviour of reports. Filing one only reads (what the reporter could see) and adds a row, beside the
// entity's writes. Resolving is a write of its own: the action, the report's new status and the audit
// entries commit together, so a refused action (a missing permission, the hierarchy) leaves the report
// open, and two moderators resolving at once cannot both act.
import type { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Effect, Either, Option, Schema } from "effect"
import type { Report } from "../../../protocol/api/reports.js"
import { Forbidden, InvalidBody, ReportAlreadyResolved, ReportNotFound } from "../../../protocol/errors.js"
import { ModerationWarningEvent } from "../../../protocol/events.js"
import type { ReportId } from "../../../protocol/api/reports.js"
import { decodeCursor, encodeCursor } from "../../../protocol/pagination.js"
import { Sessions } from "../../../runtime/auth/Sessions.js"
import { dieOnStorageError } from "../../../runtime/db/storageErrors.js"
import type { AccessView } from "../access/AccessCache.js"
import type { Membership } from "../access/Membership.js"
import type { CommunityContext, Tx } from "../CommunityTx.js"
import { requireOutranksMember } from "../hierarchy.js"
import { accountOf, actorIn, makeModeration } from "../members/moderation.js"
import { makeEvidence } from "./evidence.js"
import { makeReportRepo } from "./ReportRepo.js"
import type { ReportRpcs } from "./rpcs.js"

const DEFAULT_LIMIT = 50
const Cursor = Schema.Struct({ id: Schema.Number.pipe(Schema.int(), Schema.nonNegative()) })

export const reportHandlers = (ctx: CommunityContext) =>
  Effect.gen(function* () {
    const repo = yield* makeReportRepo
    const evidence = yield* makeEvidence
    const moderation = yield* makeModeration
    const sessions = yield* Sessions

    const report = (id: ReportId) =>
      Effect.flatMap(repo.find(id), Option.match({ onNone: () => Effect.fail(new ReportNotFound()), onSome: Effect.succeed }))

    /**
     * A warning reaches the warned user's sessions alone (MODERATION_WARNING); like a kick, it is given
     * only to someone the moderator outranks. Audited as `member.warn`.
     */
    const warn = (tx: Tx, view: AccessView, actor: Membership, subject: Report, note: string | undefined) =>
      Effect.gen(function* () {
        const target = yield* accountOf(view, subject.reported_user_id)
        if (target.member) yield* requireOutranksMember(actor, target)
        yield* tx.emit(
          ModerationWarningEvent,
          { reason: subject.reason, note: note ?? null, warned_at: new Date().toISOString() },
          { _tag: "users", user_ids: [target.user_id] }
        )
        yield* tx.audit({
          event_type: "member.warn",
          actor_id: actor.user_id,
          target_id: target.user_id,
          metadata: { reason: note, report_id: subject.report_id }
        })
      })

    return {
      CreateReport: ({ payload }) =>
        Rpc.fork(Effect.gen(function* () {
          const checked = yield* evidence.check(yield* ctx.access.view, payload.reporter, payload.report)
          const id = yield* repo.insert({
            reporter_id: payload.reporter,
            reported_user_id: payload.report.reported_user_id,
            dm_id: checked.place.dm_id,
            feed_id: checked.place.feed_id,
            reason: payload.report.reason,
            description: payload.report.description ?? "",
            messages: checked.messages,
            created_at: Date.now()
          })
          return yield* report(id).pipe(Effect.orDie)
        }).pipe(dieOnStorageError)),

      ListReports: ({ payload: { query } }) =>
        Rpc.fork(Effect.gen(function* () {
          const after = query.cursor === undefined
            ? 0
            : yield* Either.match(decodeCursor(Cursor, query.cursor), {
              onLeft: () => Effect.fail(new InvalidBody({ message: "Invalid cursor", location: "query" })),
              onRight: (c) => Effect.succeed(c.id)
            })
          const limit = query.limit ?? DEFAULT_LIMIT
          const rows = yield* repo.page({ status: query.status, after, limit: limit + 1 })
          const reports = rows.slice(0, limit)
          const last = reports.at(-1)
          return { reports, cursor: rows.length > limit && last !== undefined ? encodeCursor({ id: last.report_id }) : null }
        }).pipe(dieOnStorageError)),

      ResolveReport: ({ payload }) =>
        ctx.write((tx) =>
          Effect.gen(function* () {
            const { action, reason, delete_msg_days } = payload.resolution
            if (delete_msg_days !== undefined && action !== "ban") {
              return yield* new InvalidBody({ message: "delete_msg_days goes with the ban action only.", location: "body" })
            }
            const view = yield* ctx.access.fresh
            const actor = yield* actorIn(view, payload.actor, "VIEW_REPORTS")
            const subject = yield* report(payload.report_id)
            if (subject.status === "resolved") return yield* new ReportAlreadyResolved()
            if (subject.reported_user_id === actor.user_id) {
              return yield* new Forbidden({ message: "A report about you is resolved by another moderator." })
            }
            const step = {
              actor: actor.user_id,
              user_id: subject.reported_user_id,
              reason,
              context: { report_id: subject.report_id }
            }
            let ended: Effect.Effect.Success<ReturnType<typeof moderation.ban>> | undefined
            switch (action) {
              case "kick":
                yield* moderation.kick(tx, view, step)
                break
              case "ban":
                ended = yield* moderation.ban(tx, view, { ...step, delete_msg_days: delete_msg_days ?? 0 })
                break
              case "warn":
                yield* warn(tx, view, actor, subject, reason)
                break
              case "dismiss":
                break
            }
            const at = Date.now()
            if (!(yield* repo.resolve(subject.report_id, { resolved_by: actor.user_id, action, reason: reason ?? null, at }))) {
              return yield* new ReportAlreadyResolved()
            }
            yield* tx.audit({
              event_type: "report.resolve",
              actor_id: actor.user_id,
              target_id: subject.reported_user_id,
              metadata: { report_id: subject.report_id, action, reason }
            })
            return { resolved: yield* report(subject.report_id).pipe(Effect.orDie), ended }
          })
        ).pipe(
          Effect.tap(({ ended }) => (ended === undefined ? Effect.void : sessions.announce(ended.revocation))),
          Effect.map(({ resolved }) => resolved),
          dieOnStorageError
        )
    } satisfies Entity.HandlersFrom<(typeof ReportRpcs)[number]>
  })
