// SQL of direct messages: DMs, their participants (dm_recipients), messages and reactions. Message ids
// are snowflakes above 2^53, bound as decimal text and read back with CAST(... AS TEXT), as in
// FeedRepo. Written by the Dm entity of each DM, and by DmDirectory when a DM is created.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { Dm, DmMessage } from "../../protocol/api/dms.js"
import type { Reaction } from "../../protocol/api/messages.js"
import { DmId, UserId } from "../../protocol/ids.js"
import { stringifyJson } from "../../protocol/json.js"
import { type Snowflake, SnowflakeFromString, snowflakeToUnixMs } from "../../protocol/snowflake.js"
import { BoolColumn, decodeRows, IntColumn, JsonColumn } from "../../runtime/db/columns.js"
import { seconds } from "../feed/FeedRepo.js"

const DmRow = Schema.Struct({
  id: Schema.compose(IntColumn, DmId),
  is_group: BoolColumn,
  name: Schema.NullOr(Schema.String),
  icon: Schema.NullOr(Schema.String),
  owner_id: Schema.NullOr(Schema.compose(IntColumn, UserId)),
  created_at: IntColumn
})
type DmRow = typeof DmRow.Type
const DM_COLUMNS = "dms.id, dms.is_group, dms.name, dms.icon, dms.owner_id, dms.created_at"

const RecipientRow = Schema.Struct({
  dm_id: Schema.compose(IntColumn, DmId),
  user_id: Schema.compose(IntColumn, UserId),
  closed: BoolColumn,
  last_read_msg_id: Schema.NullOr(SnowflakeFromString)
})
export type Recipient = typeof RecipientRow.Type

export const DmMessageRow = Schema.Struct({
  id: SnowflakeFromString,
  dm_id: Schema.compose(IntColumn, DmId),
  author_id: Schema.compose(IntColumn, UserId),
  body: Schema.String,
  reply_to: Schema.NullOr(SnowflakeFromString),
  /** ids of files uploaded to this DM (migration 0015) */
  attachments: JsonColumn(Schema.Array(Schema.String)),
  created_at: IntColumn,
  edited_at: Schema.NullOr(IntColumn)
})
export type DmMessageRow = typeof DmMessageRow.Type
const MESSAGE_COLUMNS =
  `CAST(id AS TEXT) AS id, dm_id, author_id, body, CAST(reply_to AS TEXT) AS reply_to, attachments, created_at, edited_at`

const LastMessageRow = Schema.Struct({ dm_id: Schema.compose(IntColumn, DmId), last_id: SnowflakeFromString })
const NonceRow = Schema.Struct({ id: SnowflakeFromString, dm_id: Schema.compose(IntColumn, DmId), created_at: IntColumn })
const IdRow = Schema.Struct({ id: IntColumn })
const ReactionRow = Schema.Struct({ message_id: SnowflakeFromString, emoji: Schema.String, user_id: Schema.compose(IntColumn, UserId) })

// Decoders are built once: a decoder made per call would compile its parser on every query.
const decodeDms = decodeRows(DmRow)
const decodeRecipients = decodeRows(RecipientRow)
const decodeMessages = decodeRows(DmMessageRow)
const decodeLastMessages = decodeRows(LastMessageRow)
const decodeNonces = decodeRows(NonceRow)
const decodeIds = decodeRows(IdRow)
const decodeReactions = decodeRows(ReactionRow)

export const toDmMessage = (row: DmMessageRow, reactions: ReadonlyArray<Reaction> = []): DmMessage => ({
  msg_id: row.id,
  dm_id: row.dm_id,
  author_id: row.author_id,
  body: row.body,
  timestamp: seconds(row.created_at),
  reply_to: row.reply_to,
  edit_timestamp: row.edited_at === null ? null : seconds(row.edited_at),
  attachments: row.attachments,
  reactions,
  federated: false,
  author_address: null
})

export interface NewDmMessage {
  readonly id: Snowflake
  readonly dm_id: DmId
  readonly author_id: UserId
  readonly body: string
  readonly reply_to: Snowflake | null
  readonly attachments: ReadonlyArray<string>
  readonly nonce: string | null
  readonly created_at: number
}

export const makeDmRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const first = <A>(rows: ReadonlyArray<A>) => Option.fromNullable(rows[0])
  const text = (ids: ReadonlyArray<Snowflake>) => ids.map((id) => id.toString())

  /** Everyone in these DMs, in the order they joined. */
  const recipientsOf = (dmIds: ReadonlyArray<DmId>) =>
    dmIds.length === 0
      ? Effect.succeed([] as ReadonlyArray<Recipient>)
      : sql`SELECT dm_id, user_id, closed, CAST(last_read_msg_id AS TEXT) AS last_read_msg_id FROM dm_recipients
          WHERE ${sql.in("dm_id", dmIds)} ORDER BY joined_at, user_id`.pipe(Effect.flatMap(decodeRecipients))

  const recipients = (dmId: DmId) => recipientsOf([dmId])

  /** The participant's row, none when they are not in the DM (or it does not exist). */
  const recipient = (dmId: DmId, userId: UserId) =>
    sql`SELECT dm_id, user_id, closed, CAST(last_read_msg_id AS TEXT) AS last_read_msg_id FROM dm_recipients
      WHERE dm_id = ${dmId} AND user_id = ${userId}`.pipe(Effect.flatMap(decodeRecipients), Effect.map(first))

  const participantIds = (dmId: DmId) => Effect.map(recipients(dmId), (rows) => rows.map((r) => r.user_id))

  const lastMessages = (dmIds: ReadonlyArray<DmId>) =>
    dmIds.length === 0
      ? Effect.succeed(new Map<DmId, Snowflake>())
      : sql`SELECT dm_id, CAST(MAX(id) AS TEXT) AS last_id FROM dm_messages WHERE ${sql.in("dm_id", dmIds)} GROUP BY dm_id`.pipe(
          Effect.flatMap(decodeLastMessages),
          Effect.map((rows) => new Map(rows.map((r) => [r.dm_id, r.last_id])))
        )

  /** DM rows as the protocol shows them, with participants and latest message, most recently active first. */
  const views = (rows: ReadonlyArray<DmRow>) =>
    Effect.gen(function* () {
      const ids = rows.map((r) => r.id)
      const [people, last] = yield* Effect.all([recipientsOf(ids), lastMessages(ids)])
      const activeAt = (row: DmRow) => {
        const id = last.get(row.id)
        return id === undefined ? row.created_at : snowflakeToUnixMs(id)
      }
      return [...rows]
        .sort((a, b) => activeAt(b) - activeAt(a) || b.id - a.id)
        .map((row): Dm => ({
          dm_id: row.id,
          is_group: row.is_group,
          participant_ids: people.filter((p) => p.dm_id === row.id).map((p) => p.user_id),
          name: row.name,
          icon: row.icon,
          owner_id: row.owner_id,
          created_at: new Date(row.created_at).toISOString(),
          last_message_id: last.get(row.id) ?? null
        }))
    })

  const view = (dmId: DmId) =>
    sql`SELECT ${sql.literal(DM_COLUMNS)} FROM dms WHERE id = ${dmId}`.pipe(
      Effect.flatMap(decodeDms),
      Effect.flatMap(views),
      Effect.map(first)
    )

  /** The DMs a user is in and has not closed. */
  const listFor = (userId: UserId) =>
    sql`SELECT ${sql.literal(DM_COLUMNS)} FROM dms JOIN dm_recipients r ON r.dm_id = dms.id
      WHERE r.user_id = ${userId} AND r.closed = 0`.pipe(Effect.flatMap(decodeDms), Effect.flatMap(views))

  /** The 1:1 DM of this pair, if there is one. */
  const findPair = (a: UserId, b: UserId) =>
    sql`SELECT id FROM dms WHERE pair_low = ${Math.min(a, b)} AND pair_high = ${Math.max(a, b)}`.pipe(
      Effect.flatMap(decodeIds),
      Effect.map((rows) => Option.map(first(rows), (r) => DmId.make(r.id)))
    )

  /**
   * Creates the 1:1 DM of this pair unless it exists: none when another transaction made it first
   * (on PostgreSQL this statement waits for that transaction and then does nothing).
   */
  const insertPair = (a: UserId, b: UserId, createdAt: number) =>
    sql`INSERT INTO dms ${sql.insert({
      is_group: 0,
      name: null,
      icon: null,
      owner_id: null,
      pair_low: Math.min(a, b),
      pair_high: Math.max(a, b),
      created_at: createdAt
    })} ON CONFLICT (pair_low, pair_high) DO NOTHING RETURNING id`.pipe(
      Effect.flatMap(decodeIds),
      Effect.map((rows) => Option.map(first(rows), (r) => DmId.make(r.id)))
    )

  const insertGroup = (ownerId: UserId, name: string | null, createdAt: number) =>
    sql`INSERT INTO dms ${sql.insert({
      is_group: 1,
      name,
      icon: null,
      owner_id: ownerId,
      pair_low: null,
      pair_high: null,
      created_at: createdAt
    })} RETURNING id`.pipe(Effect.flatMap(decodeIds), Effect.map((rows) => DmId.make(rows[0]!.id)))

  const addRecipients = (dmId: DmId, userIds: ReadonlyArray<UserId>, joinedAt: number) =>
    userIds.length === 0
      ? Effect.void
      : sql`INSERT INTO dm_recipients ${sql.insert(userIds.map((user_id) => ({
        dm_id: dmId,
        user_id,
        joined_at: joinedAt,
        closed: 0,
        last_read_msg_id: null
      })))}`

  const removeRecipient = (dmId: DmId, userId: UserId) =>
    sql`DELETE FROM dm_recipients WHERE dm_id = ${dmId} AND user_id = ${userId}`

  const setClosed = (dmId: DmId, userId: UserId, closed: boolean) =>
    sql`UPDATE dm_recipients SET closed = ${closed ? 1 : 0} WHERE dm_id = ${dmId} AND user_id = ${userId}`

  /** A new message shows the DM again to everyone who closed it. */
  const reopenForAll = (dmId: DmId) => sql`UPDATE dm_recipients SET closed = 0 WHERE dm_id = ${dmId} AND closed = 1`

  const setLastRead = (dmId: DmId, userId: UserId, msgId: Snowflake) =>
    sql`UPDATE dm_recipients SET last_read_msg_id = ${msgId.toString()} WHERE dm_id = ${dmId} AND user_id = ${userId}`

  const updateGroup = (dmId: DmId, fields: { readonly name: string | null; readonly icon: string | null; readonly owner_id: UserId | null }) =>
    sql`UPDATE dms SET ${sql.update(fields)} WHERE id = ${dmId}`

  /** Which of these user ids are accounts. */
  const existingUsers = (ids: ReadonlyArray<number>) =>
    ids.length === 0
      ? Effect.succeed(new Set<number>())
      : sql`SELECT id FROM users WHERE ${sql.in("id", ids)}`.pipe(
          Effect.flatMap(decodeIds),
          Effect.map((rows) => new Set(rows.map((r) => r.id)))
        )

  // --- messages ---

  const findMessage = (dmId: DmId, id: Snowflake) =>
    sql`SELECT ${sql.literal(MESSAGE_COLUMNS)} FROM dm_messages WHERE id = ${id.toString()} AND dm_id = ${dmId}`.pipe(
      Effect.flatMap(decodeMessages),
      Effect.map(first)
    )

  /** The DM message an author sent with this nonce, in whatever DM. */
  const findByNonce = (authorId: UserId, nonce: string) =>
    sql`SELECT CAST(id AS TEXT) AS id, dm_id, created_at FROM dm_messages WHERE author_id = ${authorId} AND nonce = ${nonce}`.pipe(
      Effect.flatMap(decodeNonces),
      Effect.map(first)
    )

  /**
   * Stores a message; false when the author's nonce is already taken (by a send to another DM that
   * committed first: within a DM, its entity looks the nonce up before inserting).
   */
  const insertMessage = (m: NewDmMessage) => {
    const row = sql`INSERT INTO dm_messages ${sql.insert({
      id: m.id.toString(),
      dm_id: m.dm_id,
      author_id: m.author_id,
      body: m.body,
      reply_to: m.reply_to === null ? null : m.reply_to.toString(),
      attachments: stringifyJson(m.attachments),
      nonce: m.nonce,
      created_at: m.created_at,
      edited_at: null
    })}`
    if (m.nonce === null) return Effect.as(row, true)
    return sql`${row} ON CONFLICT (author_id, nonce) WHERE nonce IS NOT NULL DO NOTHING RETURNING 1 AS inserted`.pipe(
      Effect.map((rows) => rows.length > 0)
    )
  }

  const editBody = (id: Snowflake, body: string, editedAt: number) =>
    sql`UPDATE dm_messages SET body = ${body}, edited_at = ${editedAt} WHERE id = ${id.toString()}`

  /** Deletes a message; its reactions go with it (ON DELETE CASCADE). */
  const removeMessage = (id: Snowflake) => sql`DELETE FROM dm_messages WHERE id = ${id.toString()}`

  /** One page of the DM's messages, with the same order rules as a feed's history (FeedRepo.page). */
  const page = (
    dmId: DmId,
    q: { readonly before?: Snowflake | undefined; readonly after?: Snowflake | undefined; readonly limit: number }
  ) => {
    const ascending = q.after !== undefined && q.before === undefined
    const clauses = [sql`dm_id = ${dmId}`]
    if (q.before !== undefined) clauses.push(sql`id < ${q.before.toString()}`)
    if (q.after !== undefined) clauses.push(sql`id > ${q.after.toString()}`)
    return sql`SELECT ${sql.literal(MESSAGE_COLUMNS)} FROM dm_messages WHERE ${sql.and(clauses)}
      ORDER BY id ${sql.literal(ascending ? "ASC" : "DESC")} LIMIT ${q.limit}`.pipe(Effect.flatMap(decodeMessages))
  }

  /** Rows as protocol messages with their reactions: grouped per emoji in the order each first appeared. */
  const hydrate = (rows: ReadonlyArray<DmMessageRow>) =>
    Effect.gen(function* () {
      if (rows.length === 0) return []
      const reactions = yield* sql`SELECT CAST(message_id AS TEXT) AS message_id, emoji, user_id FROM dm_reactions
        WHERE ${sql.in("message_id", text(rows.map((r) => r.id)))} ORDER BY created_at, user_id, emoji`.pipe(
        Effect.flatMap(decodeReactions)
      )
      const byMessage = new Map<Snowflake, Map<string, Array<UserId>>>()
      for (const r of reactions) {
        let emojis = byMessage.get(r.message_id)
        if (emojis === undefined) byMessage.set(r.message_id, (emojis = new Map()))
        let users = emojis.get(r.emoji)
        if (users === undefined) emojis.set(r.emoji, (users = []))
        users.push(r.user_id)
      }
      return rows.map((row) =>
        toDmMessage(row, [...(byMessage.get(row.id) ?? [])].map(([emoji, user_ids]) => ({ emoji, count: user_ids.length, user_ids })))
      )
    })

  const hasReaction = (id: Snowflake, emoji: string, userId: UserId) =>
    sql`SELECT 1 AS id FROM dm_reactions WHERE message_id = ${id.toString()} AND emoji = ${emoji} AND user_id = ${userId}`.pipe(
      Effect.map((rows) => rows.length > 0)
    )

  /** The distinct emoji already on a message. */
  const emojisOn = (id: Snowflake) =>
    sql<{ emoji: string }>`SELECT DISTINCT emoji FROM dm_reactions WHERE message_id = ${id.toString()}`.pipe(
      Effect.map((rows) => new Set(rows.map((r) => r.emoji)))
    )

  const addReaction = (id: Snowflake, emoji: string, userId: UserId) =>
    sql`INSERT INTO dm_reactions ${sql.insert({ message_id: id.toString(), emoji, user_id: userId, created_at: Date.now() })}`

  const removeReaction = (id: Snowflake, emoji: string, userId: UserId) =>
    sql`DELETE FROM dm_reactions WHERE message_id = ${id.toString()} AND emoji = ${emoji} AND user_id = ${userId}`

  return {
    recipients,
    recipient,
    participantIds,
    view,
    listFor,
    findPair,
    insertPair,
    insertGroup,
    addRecipients,
    removeRecipient,
    setClosed,
    reopenForAll,
    setLastRead,
    updateGroup,
    existingUsers,
    findMessage,
    findByNonce,
    insertMessage,
    editBody,
    removeMessage,
    page,
    hydrate,
    hasReaction,
    emojisOn,
    addReaction,
    removeReaction
  } as const
})

export class DmRepo extends Effect.Service<DmRepo>()("vox/DmRepo", { effect: makeDmRepo }) {}
