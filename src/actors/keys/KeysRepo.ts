// SQL of the key directory: devices and their keys, one-time key packages, key backups (migration
// 0014). Claims of one-time key packages are single statements that delete the row they hand out, so
// each package goes to exactly one caller however many claim at once (DECISIONS.md).
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { Device } from "../../protocol/api/keys.js"
import { UserId } from "../../protocol/ids.js"
import { BoolColumn, decodeRows, IntColumn } from "../../runtime/db/columns.js"

const DeviceRow = Schema.Struct({
  device_id: Schema.String,
  name: Schema.String,
  created_at: IntColumn,
  one_time_prekeys: IntColumn,
  last_resort: BoolColumn
})
type DeviceRow = typeof DeviceRow.Type

const KeysRow = Schema.Struct({
  device_id: Schema.String,
  identity_key: Schema.String,
  signed_prekey: Schema.String,
  last_resort: Schema.NullOr(Schema.String)
})
export type DeviceKeys = typeof KeysRow.Type

const DataRow = Schema.Struct({ data: Schema.String })
const CountRow = Schema.Struct({ n: IntColumn })
const SessionDeviceRow = Schema.Struct({ device_id: Schema.String })
const HasKeysRow = Schema.Struct({ has_keys: BoolColumn })
const UserRow = Schema.Struct({ user_id: Schema.compose(IntColumn, UserId) })

const toDevice = (row: DeviceRow): Device => ({
  device_id: row.device_id,
  device_name: row.name,
  created_at: new Date(row.created_at).toISOString(),
  one_time_prekeys: row.one_time_prekeys,
  last_resort: row.last_resort
})

/** Advisory lock namespace of per-user key directory changes on PostgreSQL ("keys"). */
const LOCK_NAMESPACE = 0x6b657973n

export const makeKeysRepo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const DEVICE_COLUMNS = sql.literal(`d.device_id, d.name, d.created_at,
    (SELECT COUNT(*) FROM key_packages p WHERE p.user_id = d.user_id AND p.device_id = d.device_id) AS one_time_prekeys,
    CASE WHEN d.last_resort IS NULL THEN 0 ELSE 1 END AS last_resort`)

  /**
   * Makes the caller's transaction the only one changing this user's devices until it ends: on
   * PostgreSQL an advisory lock; SQLite has a single writer already.
   */
  const lockUser = (userId: UserId) =>
    sql.onDialectOrElse({
      pg: () => sql`SELECT pg_advisory_xact_lock(${((LOCK_NAMESPACE << 32n) + BigInt(userId)).toString()}::bigint)`.pipe(Effect.asVoid),
      orElse: () => Effect.void
    })

  /** The user's devices, oldest first. */
  const devices = (userId: UserId) =>
    sql`SELECT ${DEVICE_COLUMNS} FROM key_devices d WHERE d.user_id = ${userId} ORDER BY d.created_at, d.device_id`.pipe(
      Effect.flatMap(decodeRows(DeviceRow)),
      Effect.map((rows) => rows.map(toDevice))
    )

  const device = (userId: UserId, deviceId: string) =>
    sql`SELECT ${DEVICE_COLUMNS} FROM key_devices d WHERE d.user_id = ${userId} AND d.device_id = ${deviceId}`.pipe(
      Effect.flatMap(decodeRows(DeviceRow)),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toDevice))
    )

  /** The device the user registered from this auth session, if any (the latest if several). */
  const deviceOfSession = (userId: UserId, sessionId: bigint) =>
    sql`SELECT device_id FROM key_devices WHERE user_id = ${userId} AND session_id = ${sessionId.toString()}
      ORDER BY created_at DESC LIMIT 1`.pipe(
      Effect.flatMap(decodeRows(SessionDeviceRow)),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.device_id))
    )

  const countDevices = (userId: UserId) =>
    sql`SELECT COUNT(*) AS n FROM key_devices WHERE user_id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  /** Registers the device, or renames it and binds it to this session when it exists. */
  const upsertDevice = (userId: UserId, deviceId: string, name: string, sessionId: bigint, now: number) =>
    sql`INSERT INTO key_devices (user_id, device_id, name, session_id, created_at)
      VALUES (${userId}, ${deviceId}, ${name}, ${sessionId.toString()}, ${now})
      ON CONFLICT (user_id, device_id) DO UPDATE SET name = excluded.name, session_id = excluded.session_id`

  /** Whether there was such a device. */
  const removeDevice = (userId: UserId, deviceId: string) =>
    Effect.gen(function* () {
      yield* sql`DELETE FROM key_packages WHERE user_id = ${userId} AND device_id = ${deviceId}`
      const gone = yield* sql`DELETE FROM key_devices WHERE user_id = ${userId} AND device_id = ${deviceId} RETURNING device_id`
      return gone.length > 0
    })

  const hasKeys = (userId: UserId, deviceId: string) =>
    sql`SELECT CASE WHEN identity_key IS NULL OR signed_prekey IS NULL THEN 0 ELSE 1 END AS has_keys
      FROM key_devices WHERE user_id = ${userId} AND device_id = ${deviceId}`.pipe(
      Effect.flatMap(decodeRows(HasKeysRow)),
      Effect.map((rows) => rows[0]?.has_keys ?? false)
    )

  /** Replaces the keys given; those not given stay. */
  const setKeys = (
    userId: UserId,
    deviceId: string,
    keys: { readonly identity_key: string | null; readonly signed_prekey: string | null; readonly last_resort: string | null }
  ) =>
    sql`UPDATE key_devices SET
      identity_key = COALESCE(${keys.identity_key}, identity_key),
      signed_prekey = COALESCE(${keys.signed_prekey}, signed_prekey),
      last_resort = COALESCE(${keys.last_resort}, last_resort)
      WHERE user_id = ${userId} AND device_id = ${deviceId}`

  const addPackages = (userId: UserId, deviceId: string, packages: ReadonlyArray<string>) =>
    packages.length === 0
      ? Effect.void
      : sql`INSERT INTO key_packages ${sql.insert(packages.map((data) => ({ user_id: userId, device_id: deviceId, data })))}`.pipe(Effect.asVoid)

  const countPackages = (userId: UserId, deviceId: string) =>
    sql`SELECT COUNT(*) AS n FROM key_packages WHERE user_id = ${userId} AND device_id = ${deviceId}`.pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  /** The devices of a user that can be given a bundle: those that uploaded their keys. */
  const keyedDevices = (userId: UserId) =>
    sql`SELECT device_id, identity_key, signed_prekey, last_resort FROM key_devices
      WHERE user_id = ${userId} AND identity_key IS NOT NULL AND signed_prekey IS NOT NULL
      ORDER BY created_at, device_id`.pipe(Effect.flatMap(decodeRows(KeysRow)))

  /**
   * Takes the device's oldest one-time key package, deleting it in the same statement. On PostgreSQL
   * concurrent claims skip the row another claim has locked instead of waiting on it and coming back
   * empty-handed; on SQLite the single writer runs the statement alone.
   */
  const claimPackage = (userId: UserId, deviceId: string) =>
    sql.onDialectOrElse({
      pg: () =>
        sql`DELETE FROM key_packages WHERE id = (
          SELECT id FROM key_packages WHERE user_id = ${userId} AND device_id = ${deviceId}
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
        ) RETURNING data`,
      orElse: () =>
        sql`DELETE FROM key_packages WHERE id = (
          SELECT id FROM key_packages WHERE user_id = ${userId} AND device_id = ${deviceId} ORDER BY id LIMIT 1
        ) RETURNING data`
    }).pipe(
      Effect.flatMap(decodeRows(DataRow)),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.data))
    )

  const backup = (userId: UserId) =>
    sql`SELECT data FROM key_backups WHERE user_id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(DataRow)),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.data))
    )

  const putBackup = (userId: UserId, data: string, now: number) =>
    sql`INSERT INTO key_backups (user_id, data, updated_at) VALUES (${userId}, ${data}, ${now})
      ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`

  /** Forgets every key of the user: packages, device keys, the backup. The devices stay registered. */
  const forgetKeys = (userId: UserId) =>
    Effect.gen(function* () {
      yield* sql`DELETE FROM key_packages WHERE user_id = ${userId}`
      yield* sql`UPDATE key_devices SET identity_key = NULL, signed_prekey = NULL, last_resort = NULL WHERE user_id = ${userId}`
      yield* sql`DELETE FROM key_backups WHERE user_id = ${userId}`
    })

  /**
   * Everyone who shares a DM with the user (closed ones included: the MLS group is still there).
   * Reads the DMs' participant table, which the Dm entity writes; this only reads it.
   */
  const dmContacts = (userId: UserId) =>
    sql`SELECT DISTINCT other.user_id FROM dm_recipients mine
      JOIN dm_recipients other ON other.dm_id = mine.dm_id
      WHERE mine.user_id = ${userId} AND other.user_id <> ${userId}
      ORDER BY other.user_id`.pipe(
      Effect.flatMap(decodeRows(UserRow)),
      Effect.map((rows) => rows.map((r) => r.user_id))
    )

  const userExists = (userId: UserId) =>
    sql`SELECT COUNT(*) AS n FROM users WHERE id = ${userId}`.pipe(
      Effect.flatMap(decodeRows(CountRow)),
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

  return {
    userExists,
    lockUser,
    devices,
    device,
    deviceOfSession,
    countDevices,
    upsertDevice,
    removeDevice,
    hasKeys,
    setKeys,
    addPackages,
    countPackages,
    keyedDevices,
    claimPackage,
    backup,
    putBackup,
    forgetKeys,
    dmContacts
  } as const
})

export class KeysRepo extends Effect.Service<KeysRepo>()("vox/KeysRepo", { effect: makeKeysRepo }) {}
