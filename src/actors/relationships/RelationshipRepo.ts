// SQL of relationships (migration 0013): blocks, friendships and dm-settings. Written by the
// Relationships service alone; read also by the DM rules (who may DM whom) and by presence (who must
// not see whom), inside their own transactions.
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { type DmPermission, DmPermission as DmPermissionSchema, type FriendState } from "../../protocol/api/relationships.js"
import { UserId } from "../../protocol/ids.js"
import { decodeRows, IntColumn } from "../../runtime/db/columns.js"

const FriendshipRow = Schema.Struct({
  requester_id: Schema.compose(IntColumn, UserId),
  created_at: IntColumn,
  accepted_at: Schema.NullOr(IntColumn)
})
export type Friendship = typeof FriendshipRow.Type

const PersonRow = Schema.Struct({
  user_id: Schema.compose(IntColumn, UserId),
  username: Schema.String,
  display_name: Schema.String,
  avatar: Schema.NullOr(Schema.String),
  since: IntColumn
})
export type Person = typeof PersonRow.Type

const FriendRow = Schema.Struct({ ...PersonRow.fields, requester_id: Schema.compose(IntColumn, UserId), accepted_at: Schema.NullOr(IntColumn) })
const UserIdRow = Schema.Struct({ user_id: Schema.compose(IntColumn, UserId) })
const SettingRow = Schema.Struct({ dm_permission: DmPermissionSchema })
const CountRow = Schema.Struct({ n: IntColumn })

const decodeFriendships = decodeRows(FriendshipRow)
const decodePeople = decodeRows(PersonRow)
const decodeFriends = decodeRows(FriendRow)
const decodeUserIds = decodeRows(UserIdRow)
const decodeSettings = decodeRows(SettingRow)
const decodeCounts = decodeRows(CountRow)

const pair = (a: UserId, b: UserId) => ({ user_low: Math.min(a, b), user_high: Math.max(a, b) })

export const makeRelationshipRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  /**
   * Takes the pair's lock for the rest of the caller's transaction: on PostgreSQL a second transaction
   * of the same pair waits here until the first ends, and then reads what it wrote.
   */
  const lockPair = (a: UserId, b: UserId) => {
    const row = pair(a, b)
    return sql`INSERT INTO relationship_pairs ${sql.insert(row)}
      ON CONFLICT (user_low, user_high) DO UPDATE SET user_low = excluded.user_low`.pipe(Effect.asVoid)
  }

  /** Whether a block stands between the two, whoever made it. */
  const blockedEitherWay = (a: UserId, b: UserId) =>
    sql`SELECT COUNT(*) AS n FROM user_blocks
      WHERE (user_id = ${a} AND target_id = ${b}) OR (user_id = ${b} AND target_id = ${a})`.pipe(
      Effect.flatMap(decodeCounts),
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

  const hasBlocked = (userId: UserId, targetId: UserId) =>
    sql`SELECT COUNT(*) AS n FROM user_blocks WHERE user_id = ${userId} AND target_id = ${targetId}`.pipe(
      Effect.flatMap(decodeCounts),
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

  /** Everyone on either side of a block with this user. */
  const blockedWith = (userId: UserId) =>
    sql`SELECT target_id AS user_id FROM user_blocks WHERE user_id = ${userId}
      UNION SELECT user_id FROM user_blocks WHERE target_id = ${userId}`.pipe(
      Effect.flatMap(decodeUserIds),
      Effect.map((rows) => rows.map((r) => r.user_id))
    )

  /** True when the block is new. */
  const insertBlock = (userId: UserId, targetId: UserId, at: number) =>
    sql`INSERT INTO user_blocks ${sql.insert({ user_id: userId, target_id: targetId, created_at: at })}
      ON CONFLICT (user_id, target_id) DO NOTHING RETURNING 1 AS n`.pipe(Effect.map((rows) => rows.length > 0))

  /** True when there was a block to remove. */
  const deleteBlock = (userId: UserId, targetId: UserId) =>
    sql`DELETE FROM user_blocks WHERE user_id = ${userId} AND target_id = ${targetId} RETURNING 1 AS n`.pipe(
      Effect.map((rows) => rows.length > 0)
    )

  const friendship = (a: UserId, b: UserId) => {
    const { user_low, user_high } = pair(a, b)
    return sql`SELECT requester_id, created_at, accepted_at FROM friendships
      WHERE user_low = ${user_low} AND user_high = ${user_high}`.pipe(
      Effect.flatMap(decodeFriendships),
      Effect.map((rows) => Option.fromNullable(rows[0]))
    )
  }

  const areFriends = (a: UserId, b: UserId) =>
    Effect.map(friendship(a, b), (f) => Option.isSome(f) && f.value.accepted_at !== null)

  const insertRequest = (requester: UserId, target: UserId, at: number) =>
    sql`INSERT INTO friendships ${sql.insert({ ...pair(requester, target), requester_id: requester, created_at: at, accepted_at: null })}`

  const accept = (a: UserId, b: UserId, at: number) => {
    const { user_low, user_high } = pair(a, b)
    return sql`UPDATE friendships SET accepted_at = ${at} WHERE user_low = ${user_low} AND user_high = ${user_high}`
  }

  /** True when there was a friendship or request to end. */
  const deleteFriendship = (a: UserId, b: UserId) => {
    const { user_low, user_high } = pair(a, b)
    return sql`DELETE FROM friendships WHERE user_low = ${user_low} AND user_high = ${user_high} RETURNING 1 AS n`.pipe(
      Effect.map((rows) => rows.length > 0)
    )
  }

  /** The caller's friends and requests after `after` (a user id), in user id order. */
  const friendsPage = (userId: UserId, state: FriendState | undefined, after: number, limit: number) => {
    const stateClause = state === undefined
      ? sql`1 = 1`
      : state === "friend"
      ? sql`f.accepted_at IS NOT NULL`
      : state === "incoming"
      ? sql`f.accepted_at IS NULL AND f.requester_id <> ${userId}`
      : sql`f.accepted_at IS NULL AND f.requester_id = ${userId}`
    return sql`SELECT u.id AS user_id, u.username, u.display_name, u.avatar, f.created_at AS since, f.requester_id, f.accepted_at
      FROM friendships f JOIN users u
        ON u.id = CASE WHEN f.user_low = ${userId} THEN f.user_high ELSE f.user_low END
      WHERE (f.user_low = ${userId} OR f.user_high = ${userId}) AND ${stateClause} AND u.id > ${after}
      ORDER BY u.id LIMIT ${limit}`.pipe(
      Effect.flatMap(decodeFriends),
      Effect.map((rows) =>
        rows.map((r) => ({
          ...r,
          since: r.accepted_at ?? r.since,
          relationship: (r.accepted_at !== null ? "friend" : r.requester_id === userId ? "outgoing" : "incoming") as FriendState
        }))
      )
    )
  }

  /** The users this one blocked after `after` (a user id), in user id order. */
  const blocksPage = (userId: UserId, after: number, limit: number) =>
    sql`SELECT u.id AS user_id, u.username, u.display_name, u.avatar, b.created_at AS since
      FROM user_blocks b JOIN users u ON u.id = b.target_id
      WHERE b.user_id = ${userId} AND u.id > ${after} ORDER BY u.id LIMIT ${limit}`.pipe(Effect.flatMap(decodePeople))

  const dmPermission = (userId: UserId) =>
    sql`SELECT dm_permission FROM dm_settings WHERE user_id = ${userId}`.pipe(
      Effect.flatMap(decodeSettings),
      Effect.map((rows): DmPermission => rows[0]?.dm_permission ?? "everyone")
    )

  const setDmPermission = (userId: UserId, permission: DmPermission) => {
    const row = { dm_permission: permission, updated_at: Date.now() }
    return sql`INSERT INTO dm_settings ${sql.insert({ user_id: userId, ...row })}
      ON CONFLICT (user_id) DO UPDATE SET ${sql.update(row)}`.pipe(Effect.asVoid)
  }

  /**
   * Whether both are members of the community (not left, kicked or banned). Read here rather than
   * asked of the Community entity: the DM rules run inside a DM's transaction, which the entity's own
   * queries would wait behind.
   */
  const bothMembers = (a: UserId, b: UserId) =>
    sql`SELECT COUNT(*) AS n FROM members m
      WHERE m.user_id IN (${a}, ${b}) AND NOT EXISTS (SELECT 1 FROM bans x WHERE x.user_id = m.user_id)`.pipe(
      Effect.flatMap(decodeCounts),
      Effect.map((rows) => (rows[0]?.n ?? 0) === (a === b ? 1 : 2))
    )

  const userExists = (userId: UserId) =>
    sql`SELECT COUNT(*) AS n FROM users WHERE id = ${userId}`.pipe(
      Effect.flatMap(decodeCounts),
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

  return {
    lockPair,
    blockedEitherWay,
    hasBlocked,
    blockedWith,
    insertBlock,
    deleteBlock,
    friendship,
    areFriends,
    insertRequest,
    accept,
    deleteFriendship,
    friendsPage,
    blocksPage,
    dmPermission,
    setDmPermission,
    bothMembers,
    userExists
  } as const
})

export class RelationshipRepo extends Effect.Service<RelationshipRepo>()("vox/RelationshipRepo", { effect: makeRelationshipRepo }) {}
