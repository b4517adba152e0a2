/**
 * The 64-bit permission bitfield of seed 002 §7. A permission set is a `bigint` in code and
 * an exact JSON number on the wire (DECISIONS.md "Permissions"); ADMINISTRATOR is bit 63,
 * far above 2^53, which is why none of this can use `number`.
 */
import { ParseResult, Schema } from "effect"

const UINT64_MAX = (1n << 64n) - 1n

// Bits 20-23 and 38-62 are reserved by seed 002 §7 and "must be 0".
const bitRange = (from: bigint, to: bigint): bigint => ((1n << (to - from + 1n)) - 1n) << from
export const RESERVED_MASK: bigint = bitRange(20n, 23n) | bitRange(38n, 62n)

const reservedBitsOf = (n: bigint): Array<number> => {
  const bits: Array<number> = []
  for (let i = 0; i < 64; i++) if ((RESERVED_MASK >> BigInt(i)) & 1n && (n >> BigInt(i)) & 1n) bits.push(i)
  return bits
}

/** A permission set already held as a bigint (database, cluster messages). */
export const PermissionSetFromSelf = Schema.BigIntFromSelf.pipe(
  Schema.filter((n) => {
    if (n < 0n || n > UINT64_MAX) return `a permission set is an unsigned 64-bit integer, got ${n}`
    if ((n & RESERVED_MASK) !== 0n) {
      return `reserved permission bits must be 0 (seed 002 §7), got bits ${reservedBitsOf(n).join(", ")} set in ${n}`
    }
    return true
  }),
  Schema.brand("PermissionSet"),
  Schema.annotations({ identifier: "PermissionSet" })
)
export type PermissionSet = typeof PermissionSetFromSelf.Type

/**
 * A permission set as `parseJson` hands it over: a `number` while it is below 2^53, a
 * `bigint` beyond (any set with ADMINISTRATOR). Encodes to `bigint`, which `stringifyJson`
 * writes as a bare, exact number.
 */
export const PermissionSet: Schema.Schema<PermissionSet, number | bigint> = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.BigIntFromSelf),
  PermissionSetFromSelf,
  {
    strict: true,
    decode: (input, _options, ast) => {
      if (typeof input === "bigint") return ParseResult.succeed(input)
      if (!Number.isInteger(input)) {
        return ParseResult.fail(new ParseResult.Type(ast, input, `a permission set is an integer, got ${input}`))
      }
      // Valid sets below 2^53 are exact numbers and those above arrive as bigint from
      // parseJson; a number up there was spelled with an exponent and has lost bits.
      if (!Number.isSafeInteger(input)) {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, `a permission set above 2^53 must be written as an exact integer, got ${input}`)
        )
      }
      return ParseResult.succeed(BigInt(input))
    },
    encode: (set) => ParseResult.succeed(set)
  }
)

/** A permission set stored as decimal text (SQL columns that cannot hold uint64). */
export const PermissionSetFromString: Schema.Schema<PermissionSet, string> = Schema.transformOrFail(
  Schema.String,
  PermissionSetFromSelf,
  {
    strict: true,
    decode: (input, _options, ast) =>
      /^(?:0|[1-9][0-9]{0,19})$/.test(input)
        ? ParseResult.succeed(BigInt(input))
        : ParseResult.fail(
            new ParseResult.Type(ast, input, `a permission set is a decimal integer, got ${JSON.stringify(input)}`)
          ),
    encode: (set) => ParseResult.succeed(set.toString())
  }
)

// Only for masks this module builds from the seed's table, which are valid by construction.
const bit = (n: bigint): PermissionSet => (1n << n) as PermissionSet

/** Seed 002 §7, in bit order (namesOf relies on that order). */
export const Permission = {
  VIEW_SPACE: bit(0n),
  SEND_MESSAGES: bit(1n),
  SEND_EMBEDS: bit(2n),
  ATTACH_FILES: bit(3n),
  ADD_REACTIONS: bit(4n),
  READ_HISTORY: bit(5n),
  MENTION_EVERYONE: bit(6n),
  USE_EXTERNAL_EMOJI: bit(7n),
  CONNECT: bit(8n),
  SPEAK: bit(9n),
  VIDEO: bit(10n),
  MUTE_MEMBERS: bit(11n),
  DEAFEN_MEMBERS: bit(12n),
  MOVE_MEMBERS: bit(13n),
  PRIORITY_SPEAKER: bit(14n),
  STREAM: bit(15n),
  STAGE_MODERATOR: bit(16n),
  CREATE_THREADS: bit(17n),
  MANAGE_THREADS: bit(18n),
  SEND_IN_THREADS: bit(19n),
  MANAGE_SPACES: bit(24n),
  MANAGE_ROLES: bit(25n),
  MANAGE_EMOJI: bit(26n),
  MANAGE_WEBHOOKS: bit(27n),
  MANAGE_SERVER: bit(28n),
  KICK_MEMBERS: bit(29n),
  BAN_MEMBERS: bit(30n),
  CREATE_INVITES: bit(31n),
  CHANGE_NICKNAME: bit(32n),
  MANAGE_NICKNAMES: bit(33n),
  VIEW_AUDIT_LOG: bit(34n),
  MANAGE_MESSAGES: bit(35n),
  VIEW_REPORTS: bit(36n),
  MANAGE_2FA: bit(37n),
  ADMINISTRATOR: bit(63n)
} as const

export type PermissionName = keyof typeof Permission

const PERMISSION_ENTRIES = Object.entries(Permission) as ReadonlyArray<readonly [PermissionName, PermissionSet]>

export const PERMISSION_NAMES: ReadonlyArray<PermissionName> = PERMISSION_ENTRIES.map(([name]) => name)

/** Every named bit, ADMINISTRATOR included: what an administrator resolves to. */
export const ALL_PERMISSIONS: PermissionSet = PERMISSION_ENTRIES.reduce(
  (acc, [, mask]) => (acc | mask) as PermissionSet,
  0n as PermissionSet
)

/**
 * What a new server's @everyone role holds. Neither the seeds nor the reference fix it; this
 * is what members of a community server expect: read, talk, react, join voice, open threads,
 * invite friends and pick their own nickname, nothing that acts on other members.
 */
export const DEFAULT_EVERYONE_PERMISSIONS: PermissionSet = (Permission.VIEW_SPACE |
  Permission.SEND_MESSAGES |
  Permission.SEND_EMBEDS |
  Permission.ATTACH_FILES |
  Permission.ADD_REACTIONS |
  Permission.READ_HISTORY |
  Permission.USE_EXTERNAL_EMOJI |
  Permission.CONNECT |
  Permission.SPEAK |
  Permission.VIDEO |
  Permission.STREAM |
  Permission.CREATE_THREADS |
  Permission.SEND_IN_THREADS |
  Permission.CREATE_INVITES |
  Permission.CHANGE_NICKNAME) as PermissionSet

export const NO_PERMISSIONS: PermissionSet = 0n as PermissionSet

/** True when `set` holds every bit of `perm`. Check a resolved set (step 6 applied). */
export const has = (set: bigint, perm: bigint): boolean => (set & perm) === perm

export const add = (set: PermissionSet, ...perms: ReadonlyArray<PermissionSet>): PermissionSet =>
  perms.reduce((acc, p) => (acc | p) as PermissionSet, set)

// Clearing bits can never make a valid set invalid, so any bigint mask is accepted.
export const remove = (set: PermissionSet, ...perms: ReadonlyArray<bigint>): PermissionSet =>
  perms.reduce<PermissionSet>((acc, p) => (acc & ~p) as PermissionSet, set)

export const namesOf = (set: bigint): Array<PermissionName> =>
  PERMISSION_ENTRIES.filter(([, mask]) => (set & mask) !== 0n).map(([name]) => name)

export const fromNames = (names: Iterable<PermissionName>): PermissionSet => {
  let set = 0n
  for (const name of names) set |= Permission[name]
  return set as PermissionSet
}

/**
 * The name to put in the `missing_permission` field of a FORBIDDEN error (reference API.md
 * §3): the lowest named bit of `required` that `granted` lacks. With a single-bit `required`
 * that is simply its name. ADMINISTRATOR is the answer when no named bit is missing, since
 * then nothing short of an administrator passes the check.
 */
export const missingPermissionName = (required: bigint, granted: bigint = 0n): PermissionName => {
  const missing = required & ~granted
  for (const [name, mask] of PERMISSION_ENTRIES) if ((missing & mask) !== 0n) return name
  return "ADMINISTRATOR"
}

export interface PermissionOverride {
  readonly allow: bigint
  readonly deny: bigint
}

export interface PermissionInput {
  /** The @everyone role's set. */
  readonly everyone: bigint
  /** The sets of the user's other roles. */
  readonly roles: ReadonlyArray<bigint>
  /** The feed/room overrides that apply to this user; absent for a server-level check. */
  readonly overrides?:
    | {
        readonly everyone?: PermissionOverride | undefined
        /** Overrides for the roles the user holds, and only those. */
        readonly roles?: ReadonlyArray<PermissionOverride> | undefined
        readonly user?: PermissionOverride | undefined
      }
    | undefined
}

const applyOverride = (set: bigint, allow: bigint, deny: bigint): bigint => (set & ~deny) | allow

/**
 * A user's effective permissions in a feed or room (or on the server, without overrides),
 * in the resolution order of seed 002 §7.
 *
 * ADMINISTRATOR is decided on the server-level set alone: a feed override can neither grant
 * it nor take it away, so a MANAGE_ROLES holder cannot make themselves administrator of one
 * feed, and an administrator cannot be locked out of one. The result holds the
 * ADMINISTRATOR bit exactly when the server-level set does. Reserved bits never survive.
 */
export const resolvePermissions = (input: PermissionInput): PermissionSet => {
  // Seed 002 §7 step 1: the @everyone role is the base.
  let set = input.everyone
  // Step 2: roles only ever add.
  for (const role of input.roles) set |= role
  // Step 6 looks at this server-level set: administrator bypasses everything, overrides included.
  if ((set & Permission.ADMINISTRATOR) !== 0n) return ALL_PERMISSIONS

  const overrides = input.overrides
  if (overrides !== undefined) {
    // Step 3: the feed/room @everyone override; deny clears before allow sets.
    if (overrides.everyone !== undefined) {
      set = applyOverride(set, overrides.everyone.allow, overrides.everyone.deny)
    }
    // Step 4: the user's role overrides act as one: a role's allow beats another role's deny.
    if (overrides.roles !== undefined && overrides.roles.length > 0) {
      let allow = 0n
      let deny = 0n
      for (const o of overrides.roles) {
        allow |= o.allow
        deny |= o.deny
      }
      set = applyOverride(set, allow, deny)
    }
    // Step 5: the user's own override is the most specific and applies last.
    if (overrides.user !== undefined) {
      set = applyOverride(set, overrides.user.allow, overrides.user.deny)
    }
  }
  return (set & ALL_PERMISSIONS & ~Permission.ADMINISTRATOR) as PermissionSet
}

/** An override as a feed or room stores it: for a role (the @everyone role included) or a user. */
export interface TargetedOverride extends PermissionOverride {
  readonly target_type: "role" | "user"
  readonly target_id: number
}

/**
 * A member's permissions in one feed or room: picks, from all of the space's overrides, the ones
 * seed 002 §7 applies to this member (the @everyone role's, those of roles they hold, their own) and
 * resolves. Overrides for other roles and other users are ignored.
 */
export const resolveInSpace = (input: {
  readonly everyoneRoleId: number
  readonly everyone: bigint
  /** the member's roles other than @everyone */
  readonly roles: ReadonlyArray<{ readonly id: number; readonly permissions: bigint }>
  readonly userId: number
  readonly overrides: ReadonlyArray<TargetedOverride>
}): PermissionSet => {
  const held = new Set(input.roles.map((r) => r.id))
  return resolvePermissions({
    everyone: input.everyone,
    roles: input.roles.map((r) => r.permissions),
    overrides: {
      everyone: input.overrides.find((o) => o.target_type === "role" && o.target_id === input.everyoneRoleId),
      roles: input.overrides.filter((o) =>
        o.target_type === "role" && o.target_id !== input.everyoneRoleId && held.has(o.target_id)
      ),
      user: input.overrides.find((o) => o.target_type === "user" && o.target_id === input.userId)
    }
  })
}
