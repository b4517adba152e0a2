// SQL of the Feed entity: messages, their reactions and pins, threads and their subscribers. Message ids are snowflakes above 2^53:
// they are bound as decimal text and read back with CAST(... AS TEXT), because SQLite hands integers
// to JavaScript as doubles. Mentions, embeds, attachment ids and components are JSON text columns.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { ChatMessage, Embed, Mention, Reaction } from "../../protocol/api/messages.js"
import { Embed as EmbedSchema, Mention as MentionSchema, type Pin } from "../../protocol/api/messages.js"
import { FeedType } from "../../protocol/api/spaces.js"
import { type Thread, ThreadId } from "../../protocol/api/threads.js"
import { FeedId, UserId } from "../../protocol/ids.js"
import { stringifyJson } from "../../protocol/json.js"
import { type Snowflake, SnowflakeFromString } from "../../protocol/snowflake.js"
import { BoolColumn, decodeRows, IntColumn, JsonColumn } from "../../runtime/db/columns.js"
import { Snowflakes } from "../../runtime/ids/Snowflakes.js"
import { txStatement, valuesOf } from "../../runtime/db/txStatement.js"

/** A message as the database holds it (ids read as text, JSON columns decoded). */
export const MessageRow = Schema.Struct({
  id: SnowflakeFromString,
  feed_id: Schema.compose(IntColumn, FeedId),
  thread_id: Schema.NullOr(IntColumn),
  author_id: Schema.compose(IntColumn, UserId),
  body: Schema.String,
  reply_to: Schema.NullOr(SnowflakeFromString),
  mentions: JsonColumn(Schema.Array(MentionSchema)),
  embeds: JsonColumn(Schema.Array(EmbedSchema)),
  attachments: JsonColumn(Schema.Array(Schema.String)),
  components: JsonColumn(Schema.Array(Schema.Unknown)),
  created_at: IntColumn,
  edited_at: Schema.NullOr(IntColumn)
})
export type MessageRow = typeof MessageRow.Type

const MESSAGE_COLUMNS = `CAST(id AS TEXT) AS id, feed_id, thread_id, author_id, body, CAST(reply_to AS TEXT) AS reply_to,
  mentions, embeds, attachments, components, created_at, edited_at`

const NonceRow = Schema.Struct({ id: SnowflakeFromString, feed_id: IntColumn, thread_id: Schema.NullOr(IntColumn), created_at: IntColumn })
const ThreadRow = Schema.Struct({
  id: Schema.compose(IntColumn, ThreadId),
  feed_id: Schema.compose(IntColumn, FeedId),
  parent_msg_id: Schema.NullOr(SnowflakeFromString),
  name: Schema.String,
  archived: BoolColumn,
  locked: BoolColumn,
  creator_id: Schema.compose(IntColumn, UserId),
  created_at: IntColumn
})
export type ThreadRow = typeof ThreadRow.Type
const THREAD_COLUMNS = "id, feed_id, CAST(parent_msg_id AS TEXT) AS parent_msg_id, name, archived, locked, creator_id, created_at"
const ThreadIdRow = Schema.Struct({ id: Schema.compose(IntColumn, ThreadId) })
const IdRow = Schema.Struct({ id: IntColumn })
const MessageIdRow = Schema.Struct({ id: SnowflakeFromString })
const RoleRow = Schema.Struct({ id: IntColumn, is_everyone: BoolColumn, mentionable: BoolColumn })
const ReactionRow = Schema.Struct({
  message_id: SnowflakeFromString,
  emoji: Schema.String,
  user_id: Schema.compose(IntColumn, UserId)
})
const PinRow = Schema.Struct({
  message_id: SnowflakeFromString,
  feed_id: Schema.compose(IntColumn, FeedId),
  pinned_by: Schema.compose(IntColumn, UserId),
  pinned_at: IntColumn
})
const CountRow = Schema.Struct({ n: IntColumn })
const FeedSettingsRow = Schema.Struct({ type: FeedType, slowmode_seconds: IntColumn })
const CreatedRow = Schema.Struct({ created_at: IntColumn })

// Decoders are built once: a decoder made per call would compile its parser on every query.
const decodeMessages = decodeRows(MessageRow)
const decodeNonces = decodeRows(NonceRow)
const decodeInsertedIds = decodeRows(Schema.Struct({ id: Schema.String }))
const decodeThreads = decodeRows(ThreadRow)
const decodeThreadIds = decodeRows(ThreadIdRow)
const decodeFeedSettings = decodeRows(FeedSettingsRow)
const decodeIds = decodeRows(IdRow)
const decodeMessageIds = decodeRows(MessageIdRow)
const decodeRoles = decodeRows(RoleRow)
const decodeReactions = decodeRows(ReactionRow)
const decodePins = decodeRows(PinRow)
const decodeCounts = decodeRows(CountRow)
const decodeCreated = decodeRows(CreatedRow)

/** Unix seconds, as messages show their times (reference API.md §6 "Messages"). */
export const seconds = (ms: number) => Math.floor(ms / 1000)

export interface NewMessage {
  readonly id: Snowflake
  readonly feed_id: FeedId
  readonly thread_id: ThreadId | null
  readonly author_id: UserId
  readonly body: string
  readonly reply_to: Snowflake | null
  readonly mentions: ReadonlyArray<Mention>
  readonly embeds: ReadonlyArray<Embed>
  readonly attachments: ReadonlyArray<string>
  readonly components: ReadonlyArray<unknown>
  readonly nonce: string | null
  readonly created_at: number
}

/** One audit log entry, written in the caller's transaction (the columns of CommunityTx's). */
export interface FeedAuditEntry {
  readonly event_type: string
  readonly actor_id: UserId
  readonly target_id: number | null
  readonly metadata: Record<string, unknown>
}

/** A message as the protocol shows it, given its reactions and whether it is pinned. */
export const toChatMessage = (
  row: MessageRow,
  reactions: ReadonlyArray<Reaction> = [],
  pinned = false
): ChatMessage => ({
  msg_id: row.id,
  feed_id: row.feed_id,
  thread_id: row.thread_id,
  author_id: row.author_id,
  body: row.body,
  timestamp: seconds(row.created_at),
  reply_to: row.reply_to,
  mentions: row.mentions,
  embeds: row.embeds,
  attachments: row.attachments,
  components: row.components,
  edit_timestamp: row.edited_at === null ? null : seconds(row.edited_at),
  pinned,
  reactions,
  federated: false,
  author_address: null
})

export const toThread = (row: ThreadRow): Thread => ({
  thread_id: row.id,
  parent_feed_id: row.feed_id,
  parent_msg_id: row.parent_msg_id,
  name: row.name,
  archived: row.archived,
  locked: row.locked,
  creator_id: row.creator_id,
  created_at: seconds(row.created_at)
})

/** Top-level messages of the feed (null), or the messages of one of its threads. */
export type Where = ThreadId | null

export const makeFeedRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const snowflakes = yield* Snowflakes
  const text = (ids: ReadonlyArray<Snowflake>) => ids.map((id) => id.toString())
  const first = <A>(rows: ReadonlyArray<A>) => Option.fromNullable(rows[0])

  /** A feed's type and slowmode, none when it does not exist (a room id is not a feed). */
  const feedSettings = (feedId: FeedId) =>
    txStatement(sql, "SELECT type, slowmode_seconds FROM feeds WHERE id = ?", [feedId]).pipe(
      Effect.flatMap(decodeFeedSettings),
      Effect.map(first)
    )

  /** The type of a feed, none when it does not exist. */
  const feedType = (feedId: FeedId) => Effect.map(feedSettings(feedId), Option.map((f) => f.type))

  /** When an author's latest message still stored in this feed (or its threads) was sent, in ms. */
  const lastMessageAt = (feedId: FeedId, authorId: UserId) =>
    sql`SELECT created_at FROM messages WHERE author_id = ${authorId} AND feed_id = ${feedId}
      ORDER BY id DESC LIMIT 1`.pipe(Effect.flatMap(decodeCreated), Effect.map((rows) => Option.map(first(rows), (r) => r.created_at)))

  const inThread = (thread: Where | "any") =>
    thread === "any" ? sql`1 = 1` : thread === null ? sql`thread_id IS NULL` : sql`thread_id = ${thread}`

  /**
   * A top-level message of this feed; with `thread`, a message of that thread; with "any", a message
   * anywhere in the feed (what edits, deletes, reactions and pins act on).
   */
  const find = (feedId: FeedId, id: Snowflake, thread: Where | "any" = null) =>
    sql`SELECT ${sql.literal(MESSAGE_COLUMNS)} FROM messages
      WHERE id = ${id.toString()} AND feed_id = ${feedId} AND ${inThread(thread)}`.pipe(
      Effect.flatMap(decodeMessages),
      Effect.map(first)
    )

  /** The message an author sent with this nonce, in whatever feed. */
  const findByNonce = (authorId: UserId, nonce: string) =>
    sql`SELECT CAST(id AS TEXT) AS id, feed_id, thread_id, created_at FROM messages WHERE author_id = ${authorId} AND nonce = ${nonce}`.pipe(
      Effect.flatMap(decodeNonces),
      Effect.map(first)
    )

  /**
   * Stores messages in one statement; returns the ids of those stored. A message whose author's nonce
   * is already taken (by a send of another feed that committed first: within a feed, its writer looks
   * nonces up before storing) is left out, without an error, so the transaction holding the other
   * sends goes on (a failed statement would abort it on PostgreSQL).
   */
  const insertMany = (messages: ReadonlyArray<NewMessage>) => {
    if (messages.length === 0) return Effect.succeed(new Set<string>())
    const values = messages.flatMap((m) => [
      m.id.toString(),
      m.feed_id,
      m.thread_id,
      m.author_id,
      m.body,
      m.reply_to === null ? null : m.reply_to.toString(),
      stringifyJson(m.mentions),
      stringifyJson(m.embeds),
      stringifyJson(m.attachments),
      stringifyJson(m.components),
      m.nonce,
      m.created_at
    ])
    const insert = `INSERT INTO messages (id, feed_id, thread_id, author_id, body, reply_to, mentions, embeds, attachments,
      components, nonce, created_at) VALUES ${valuesOf(messages.length, 12)}`
    if (messages.every((m) => m.nonce === null)) {
      return Effect.as(txStatement(sql, insert, values), new Set(messages.map((m) => m.id.toString())))
    }
    return txStatement(
      sql,
      `${insert} ON CONFLICT (author_id, nonce) WHERE nonce IS NOT NULL DO NOTHING RETURNING CAST(id AS TEXT) AS id`,
      values
    ).pipe(
      Effect.flatMap(decodeInsertedIds),
      Effect.map((inserted) => new Set(inserted.map((r) => r.id)))
    )
  }

  const editBody = (id: Snowflake, body: string, editedAt: number) =>
    sql`UPDATE messages SET body = ${body}, edited_at = ${editedAt} WHERE id = ${id.toString()}`

  /** Deletes messages; their reactions and pins go with them (ON DELETE CASCADE). */
  const remove = (ids: ReadonlyArray<Snowflake>) =>
    ids.length === 0 ? Effect.void : sql`DELETE FROM messages WHERE ${sql.in("id", text(ids))}`

  /** Which of `ids` are messages of this feed (top-level or in a thread), in id order. */
  const existing = (feedId: FeedId, ids: ReadonlyArray<Snowflake>) =>
    ids.length === 0
      ? Effect.succeed([] as Array<Snowflake>)
      : sql`SELECT CAST(id AS TEXT) AS id FROM messages
          WHERE ${sql.in("id", text(ids))} AND feed_id = ${feedId} ORDER BY id`.pipe(
          Effect.flatMap(decodeMessageIds),
          Effect.map((rows) => rows.map((r) => r.id))
        )

  /**
   * One page of the feed's top-level messages. Newest first, below `before` and above `after` when
   * given; with only `after`, oldest first from just after it (catching up forwards).
   */
  const page = (
    feedId: FeedId,
    q: { readonly before?: Snowflake | undefined; readonly after?: Snowflake | undefined; readonly limit: number },
    thread: Where = null
  ) => {
    const ascending = q.after !== undefined && q.before === undefined
    const clauses = [sql`feed_id = ${feedId}`, inThread(thread)]
    if (q.before !== undefined) clauses.push(sql`id < ${q.before.toString()}`)
    if (q.after !== undefined) clauses.push(sql`id > ${q.after.toString()}`)
    return sql`SELECT ${sql.literal(MESSAGE_COLUMNS)} FROM messages WHERE ${sql.and(clauses)}
      ORDER BY id ${sql.literal(ascending ? "ASC" : "DESC")} LIMIT ${q.limit}`.pipe(Effect.flatMap(decodeMessages))
  }

  /** Reactions grouped per emoji (in the order each emoji first appeared), reactors oldest first. */
  const reactionsOf = (ids: ReadonlyArray<Snowflake>) =>
    Effect.gen(function* () {
      const byMessage = new Map<Snowflake, Map<string, Array<UserId>>>()
      if (ids.length === 0) return byMessage
      const rows = yield* sql`SELECT CAST(message_id AS TEXT) AS message_id, emoji, user_id FROM reactions
        WHERE ${sql.in("message_id", text(ids))} ORDER BY created_at, user_id, emoji`.pipe(Effect.flatMap(decodeReactions))
      for (const row of rows) {
        let emojis = byMessage.get(row.message_id)
        if (emojis === undefined) byMessage.set(row.message_id, (emojis = new Map()))
        let users = emojis.get(row.emoji)
        if (users === undefined) emojis.set(row.emoji, (users = []))
        users.push(row.user_id)
      }
      return byMessage
    })

  const pinnedAmong = (ids: ReadonlyArray<Snowflake>) =>
    ids.length === 0
      ? Effect.succeed(new Set<Snowflake>())
      : sql`SELECT CAST(message_id AS TEXT) AS id FROM pins WHERE ${sql.in("message_id", text(ids))}`.pipe(
          Effect.flatMap(decodeMessageIds),
          Effect.map((rows) => new Set(rows.map((r) => r.id)))
        )

  /** Rows as protocol messages, with their reactions and pinned flags. */
  const hydrate = (rows: ReadonlyArray<MessageRow>) =>
    Effect.gen(function* () {
      const ids = rows.map((r) => r.id)
      const [reactions, pinned] = yield* Effect.all([reactionsOf(ids), pinnedAmong(ids)])
      return rows.map((row) => {
        const emojis = reactions.get(row.id)
        const list: Array<Reaction> = emojis === undefined
          ? []
          : [...emojis].map(([emoji, user_ids]) => ({ emoji, count: user_ids.length, user_ids }))
        return toChatMessage(row, list, pinned.has(row.id))
      })
    })

  const hasReaction = (id: Snowflake, emoji: string, userId: UserId) =>
    sql`SELECT COUNT(*) AS n FROM reactions WHERE message_id = ${id.toString()} AND emoji = ${emoji} AND user_id = ${userId}`.pipe(
      Effect.flatMap(decodeCounts),
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

  /** The distinct emoji already on a message. */
  const emojisOn = (id: Snowflake) =>
    sql<{ emoji: string }>`SELECT DISTINCT emoji FROM reactions WHERE message_id = ${id.toString()}`.pipe(
      Effect.map((rows) => new Set(rows.map((r) => r.emoji)))
    )

  const addReaction = (id: Snowflake, emoji: string, userId: UserId) =>
    sql`INSERT INTO reactions ${sql.insert({ message_id: id.toString(), emoji, user_id: userId, created_at: Date.now() })}`

  const removeReaction = (id: Snowflake, emoji: string, userId: UserId) =>
    sql`DELETE FROM reactions WHERE message_id = ${id.toString()} AND emoji = ${emoji} AND user_id = ${userId}`

  const isPinned = (id: Snowflake) =>
    Effect.map(pinnedAmong([id]), (set) => set.has(id))

  const pinCount = (feedId: FeedId) =>
    sql`SELECT COUNT(*) AS n FROM pins WHERE feed_id = ${feedId}`.pipe(
      Effect.flatMap(decodeCounts),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  const pin = (feedId: FeedId, id: Snowflake, by: UserId) =>
    sql`INSERT INTO pins ${sql.insert({ message_id: id.toString(), feed_id: feedId, pinned_by: by, pinned_at: Date.now() })}`

  const unpin = (id: Snowflake) => sql`DELETE FROM pins WHERE message_id = ${id.toString()}`

  /** The feed's pins, most recently pinned first. */
  const pins = (feedId: FeedId) =>
    sql`SELECT CAST(message_id AS TEXT) AS message_id, feed_id, pinned_by, pinned_at FROM pins
      WHERE feed_id = ${feedId} ORDER BY pinned_at DESC, message_id DESC`.pipe(
      Effect.flatMap(decodePins),
      Effect.map((rows) =>
        rows.map((r): typeof Pin.Type => ({ msg_id: r.message_id, feed_id: r.feed_id, pinned_by: r.pinned_by, pinned_at: seconds(r.pinned_at) }))
      )
    )

  /** Which of these user ids are accounts. */
  const existingUsers = (ids: ReadonlyArray<number>) =>
    ids.length === 0
      ? Effect.succeed(new Set<number>())
      : sql`SELECT id FROM users WHERE ${sql.in("id", ids)}`.pipe(
          Effect.flatMap(decodeIds),
          Effect.map((rows) => new Set(rows.map((r) => r.id)))
        )

  /** These roles, by id: whether each is @everyone and whether anyone may mention it. */
  const rolesById = (ids: ReadonlyArray<number>) =>
    ids.length === 0
      ? Effect.succeed(new Map<number, typeof RoleRow.Type>())
      : sql`SELECT id, is_everyone, mentionable FROM roles WHERE ${sql.in("id", ids)}`.pipe(
          Effect.flatMap(decodeRoles),
          Effect.map((rows) => new Map(rows.map((r) => [r.id, r])))
        )

  const audit = (entry: FeedAuditEntry) =>
    Effect.gen(function* () {
      const id = yield* snowflakes.next
      yield* sql`INSERT INTO audit_log ${sql.insert({
        id: id.toString(),
        event_type: entry.event_type,
        actor_id: entry.actor_id,
        target_id: entry.target_id,
        metadata: stringifyJson(entry.metadata),
        created_at: Date.now()
      })}`
    })

  /** A thread of this feed. */
  const findThread = (feedId: FeedId, id: ThreadId) =>
    sql`SELECT ${sql.literal(THREAD_COLUMNS)} FROM threads WHERE id = ${id} AND feed_id = ${feedId}`.pipe(
      Effect.flatMap(decodeThreads),
      Effect.map(first)
    )

  /**
   * One page of the feed's threads, active or archived, newest first: those with an id below
   * `before` when given.
   */
  const threadsPage = (feedId: FeedId, q: { readonly archived: boolean; readonly before?: number | undefined; readonly limit: number }) =>
    sql`SELECT ${sql.literal(THREAD_COLUMNS)} FROM threads
      WHERE ${sql.and([
        sql`feed_id = ${feedId}`,
        sql`archived = ${q.archived ? 1 : 0}`,
        ...(q.before === undefined ? [] : [sql`id < ${q.before}`])
      ])}
      ORDER BY id DESC LIMIT ${q.limit}`.pipe(Effect.flatMap(decodeThreads))

  /** Whether a thread already hangs off this message. */
  const threadOf = (parentMsgId: Snowflake) =>
    sql`SELECT id FROM threads WHERE parent_msg_id = ${parentMsgId.toString()}`.pipe(
      Effect.flatMap(decodeThreadIds),
      Effect.map((rows) => rows.length > 0)
    )

  const insertThread = (t: {
    readonly feed_id: FeedId
    readonly parent_msg_id: Snowflake | null
    readonly name: string
    readonly creator_id: UserId
    readonly created_at: number
  }) =>
    sql`INSERT INTO threads ${sql.insert({
      feed_id: t.feed_id,
      parent_msg_id: t.parent_msg_id === null ? null : t.parent_msg_id.toString(),
      name: t.name,
      archived: 0,
      locked: 0,
      creator_id: t.creator_id,
      created_at: t.created_at
    })} RETURNING id`.pipe(Effect.flatMap(decodeThreadIds), Effect.map((rows) => rows[0]!.id))

  const updateThread = (id: ThreadId, t: { readonly name: string; readonly archived: boolean; readonly locked: boolean }) =>
    sql`UPDATE threads SET name = ${t.name}, archived = ${t.archived ? 1 : 0}, locked = ${t.locked ? 1 : 0} WHERE id = ${id}`

  /** Deletes a thread with its messages (their reactions and pins, and its subscriptions, cascade). */
  const removeThread = (id: ThreadId) =>
    Effect.gen(function* () {
      yield* sql`DELETE FROM messages WHERE thread_id = ${id}`
      yield* sql`DELETE FROM threads WHERE id = ${id}`
    })

  const subscribe = (id: ThreadId, userId: UserId) =>
    sql`INSERT INTO thread_subscribers ${sql.insert({ thread_id: id, user_id: userId, created_at: Date.now() })}
      ON CONFLICT (thread_id, user_id) DO NOTHING`

  const unsubscribe = (id: ThreadId, userId: UserId) =>
    sql`DELETE FROM thread_subscribers WHERE thread_id = ${id} AND user_id = ${userId}`

  const subscribers = (id: ThreadId) =>
    sql`SELECT user_id AS id FROM thread_subscribers WHERE thread_id = ${id} ORDER BY user_id`.pipe(
      Effect.flatMap(decodeIds),
      Effect.map((rows) => rows.map((r) => r.id))
    )

  return {
    findThread,
    threadsPage,
    threadOf,
    insertThread,
    updateThread,
    removeThread,
    subscribe,
    unsubscribe,
    subscribers,
    feedType,
    feedSettings,
    lastMessageAt,
    find,
    findByNonce,
    insertMany,
    editBody,
    remove,
    existing,
    page,
    hydrate,
    hasReaction,
    emojisOn,
    addReaction,
    removeReaction,
    isPinned,
    pinCount,
    pin,
    unpin,
    pins,
    existingUsers,
    rolesById,
    audit
  } as const
})

export class FeedRepo extends Effect.Service<FeedRepo>()("vox/FeedRepo", { effect: makeFeedRepo }) {}
