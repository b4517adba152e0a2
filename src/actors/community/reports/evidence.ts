// What a report may quote, and from where (seed 002 §12 "Client-Side Reporting"). The server cannot
// check a decrypted DM body against its ciphertext, so the quoted text is the reporter's word; what it
// can check, it does: the reporter could see the messages (a participant of the DM, a reader of the
// feed), and each quoted message is one the reported user wrote there. Only reads: the DM and feed
// tables belong to their entities.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { CreateReport, ReportedMessage } from "../../../protocol/api/reports.js"
import { Forbidden, InvalidBody, MessageNotFound, UserNotFound } from "../../../protocol/errors.js"
import type { DmId, FeedId, UserId } from "../../../protocol/ids.js"
import { has, Permission } from "../../../protocol/permissions.js"
import { type Snowflake, SnowflakeFromString } from "../../../protocol/snowflake.js"
import { decodeRows, IntColumn } from "../../../runtime/db/columns.js"
import type { AccessView } from "../access/AccessCache.js"
import { authorize } from "../access/handlers.js"

const AuthoredRow = Schema.Struct({ id: SnowflakeFromString, author_id: IntColumn, created_at: IntColumn })
type AuthoredRow = typeof AuthoredRow.Type
const decodeAuthored = decodeRows(AuthoredRow)

/** Where the quoted messages are, as checked. */
export interface Place {
  readonly dm_id: DmId | null
  readonly feed_id: FeedId | null
}

const invalid = (message: string) => new InvalidBody({ message, location: "body" })

export const makeEvidence = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const inDm = (dmId: DmId, userId: UserId) =>
    sql`SELECT 1 AS one FROM dm_recipients WHERE dm_id = ${dmId} AND user_id = ${userId}`.pipe(
      Effect.map((rows) => rows.length > 0)
    )

  const authored = (place: Place, ids: ReadonlyArray<Snowflake>) => {
    if (ids.length === 0) return Effect.succeed(new Map<Snowflake, AuthoredRow>())
    const text = ids.map((id) => id.toString())
    const query = place.dm_id !== null
      ? sql`SELECT CAST(id AS TEXT) AS id, author_id, created_at FROM dm_messages
          WHERE dm_id = ${place.dm_id} AND ${sql.in("id", text)}`
      : sql`SELECT CAST(id AS TEXT) AS id, author_id, created_at FROM messages
          WHERE feed_id = ${place.feed_id} AND ${sql.in("id", text)}`
    return query.pipe(
      Effect.flatMap(decodeAuthored),
      Effect.map((rows) => new Map(rows.map((r) => [r.id, r])))
    )
  }

  /** The reporter may see the place: a participant of the DM, or VIEW_SPACE and READ_HISTORY in the feed. */
  const canSee = (view: AccessView, reporter: UserId, place: Place) =>
    Effect.gen(function* () {
      if (place.dm_id !== null) {
        if (!(yield* inDm(place.dm_id, reporter))) {
          return yield* new Forbidden({ message: "You are not a participant of this DM." })
        }
        return
      }
      if (place.feed_id === null) return
      const member = yield* authorize(view, {
        user_id: reporter,
        permission: "VIEW_SPACE",
        space: { type: "feed", id: place.feed_id }
      })
      if (!has(member.permissions, Permission.READ_HISTORY)) {
        return yield* new Forbidden({
          message: "You need the READ_HISTORY permission in this feed.",
          missing_permission: "READ_HISTORY"
        })
      }
    })

  /**
   * The report's place and quoted messages, checked: a stranger to the place is refused (403) before
   * anything about its messages is said. The kept timestamp of each message is the server's.
   */
  const check = (view: AccessView, reporter: UserId, input: CreateReport) =>
    Effect.gen(function* () {
      if (input.reported_user_id === reporter) return yield* invalid("You cannot report yourself.")
      if (input.dm_id !== undefined && input.feed_id !== undefined) {
        return yield* invalid("A report names the DM or the feed its messages are in, not both.")
      }
      const quoted = input.messages ?? []
      const place: Place = { dm_id: input.dm_id ?? null, feed_id: input.feed_id ?? null }
      if (quoted.length > 0 && place.dm_id === null && place.feed_id === null) {
        return yield* invalid("Quoted messages need the dm_id or feed_id they are in.")
      }
      if (new Set(quoted.map((m) => m.msg_id)).size < quoted.length) return yield* invalid("A message is quoted twice.")
      if (Option.isNone(yield* view.standing(input.reported_user_id))) return yield* new UserNotFound()
      yield* canSee(view, reporter, place)
      // A DM report quoting nothing still concerns someone in that DM.
      if (place.dm_id !== null && quoted.length === 0 && !(yield* inDm(place.dm_id, input.reported_user_id))) {
        return yield* invalid("The reported user is not in this DM.")
      }
      const found = yield* authored(place, quoted.map((m) => m.msg_id))
      const where = place.dm_id !== null ? "DM" : "feed"
      const messages: Array<ReportedMessage> = []
      for (const m of quoted) {
        const row = found.get(m.msg_id)
        if (row === undefined) return yield* new MessageNotFound({ message: `Message ${m.msg_id} is not in this ${where}.` })
        if (row.author_id !== input.reported_user_id) {
          return yield* invalid(`Message ${m.msg_id} was not written by the reported user.`)
        }
        messages.push({ msg_id: m.msg_id, body: m.body, timestamp: Math.floor(row.created_at / 1000) })
      }
      return { place, messages }
    })

  return { check } as const
})
