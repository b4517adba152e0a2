import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { parseJson, stringifyJson } from "../../src/protocol/json.js"
import {
  add,
  ALL_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  fromNames,
  has,
  missingPermissionName,
  namesOf,
  Permission,
  PERMISSION_NAMES,
  PermissionSet,
  PermissionSetFromString,
  remove,
  RESERVED_MASK,
  resolvePermissions
} from "../../src/protocol/permissions.js"

const P = Permission

describe("permission bits (seed 002 §7)", () => {
  it("places the named bits where the seed's table does", () => {
    expect(P.VIEW_SPACE).toBe(1n)
    expect(P.SEND_IN_THREADS).toBe(1n << 19n)
    expect(P.MANAGE_SPACES).toBe(1n << 24n)
    expect(P.MANAGE_SERVER).toBe(1n << 28n)
    expect(P.MANAGE_2FA).toBe(1n << 37n)
    expect(P.ADMINISTRATOR).toBe(1n << 63n)
    expect(PERMISSION_NAMES).toHaveLength(35)
  })

  it("splits the 64 bits into named and reserved with nothing left over", () => {
    expect(ALL_PERMISSIONS & RESERVED_MASK).toBe(0n)
    expect(ALL_PERMISSIONS | RESERVED_MASK).toBe(2n ** 64n - 1n)
    expect(RESERVED_MASK).toBe((0xfn << 20n) | (((1n << 25n) - 1n) << 38n))
  })

  it("converts between names and sets in bit order", () => {
    const set = fromNames(["MANAGE_SERVER", "VIEW_SPACE", "ADMINISTRATOR"])
    expect(set).toBe(P.VIEW_SPACE | P.MANAGE_SERVER | P.ADMINISTRATOR)
    expect(namesOf(set)).toEqual(["VIEW_SPACE", "MANAGE_SERVER", "ADMINISTRATOR"])
    expect(namesOf(ALL_PERMISSIONS)).toEqual(PERMISSION_NAMES)
    expect(namesOf(0n)).toEqual([])
  })

  it("adds, removes and tests bits", () => {
    const set = add(fromNames([]), P.SEND_MESSAGES, P.READ_HISTORY)
    expect(has(set, P.SEND_MESSAGES)).toBe(true)
    expect(has(set, P.SEND_MESSAGES | P.READ_HISTORY)).toBe(true)
    expect(has(set, P.SEND_MESSAGES | P.ATTACH_FILES)).toBe(false)
    const less = remove(set, P.SEND_MESSAGES)
    expect(has(less, P.SEND_MESSAGES)).toBe(false)
    expect(has(less, P.READ_HISTORY)).toBe(true)
  })

  it("names the missing permission for error extras", () => {
    expect(missingPermissionName(P.MANAGE_SERVER)).toBe("MANAGE_SERVER")
    expect(missingPermissionName(P.SEND_MESSAGES | P.ATTACH_FILES, P.SEND_MESSAGES)).toBe("ATTACH_FILES")
    expect(missingPermissionName(P.ADMINISTRATOR)).toBe("ADMINISTRATOR")
  })

  it("gives @everyone member permissions by default, nothing administrative", () => {
    expect(has(DEFAULT_EVERYONE_PERMISSIONS, P.VIEW_SPACE | P.SEND_MESSAGES | P.READ_HISTORY | P.CONNECT)).toBe(true)
    expect(has(DEFAULT_EVERYONE_PERMISSIONS, P.MENTION_EVERYONE)).toBe(false)
    expect(DEFAULT_EVERYONE_PERMISSIONS & (P.ADMINISTRATOR | P.MANAGE_ROLES | P.BAN_MEMBERS | P.MANAGE_MESSAGES)).toBe(0n)
    expect(Either.isRight(Schema.decodeUnknownEither(PermissionSet)(DEFAULT_EVERYONE_PERMISSIONS))).toBe(true)
  })
})

describe("PermissionSet schema", () => {
  const decode = Schema.decodeUnknownEither(PermissionSet)

  it("carries ADMINISTRATOR (2^63) through the wire exactly", () => {
    const body = stringifyJson({ permissions: Schema.encodeSync(PermissionSet)(fromNames(["ADMINISTRATOR", "VIEW_SPACE"])) })
    expect(body).toBe('{"permissions":9223372036854775809}')
    const parsed = parseJson(body)
    if (!parsed.ok) throw new Error(parsed.error)
    const { permissions } = Schema.decodeUnknownSync(Schema.Struct({ permissions: PermissionSet }))(parsed.value)
    expect(permissions).toBe(P.ADMINISTRATOR | P.VIEW_SPACE)
    expect(has(permissions, P.ADMINISTRATOR)).toBe(true)
  })

  it("accepts small sets as numbers (reference API.md role example)", () => {
    expect(decode(234881024)).toEqual(Either.right(P.MANAGE_ROLES | P.MANAGE_EMOJI | P.MANAGE_WEBHOOKS))
    expect(decode(0)).toEqual(Either.right(0n))
  })

  it.each([
    [1 << 20, "reserved permission bits must be 0", "20"],
    [1n << 40n, "reserved permission bits must be 0", "40"],
    [(1n << 22n) | (1n << 62n) | 1n, "reserved permission bits must be 0", "22, 62"],
    [2n ** 63n - 1n, "reserved permission bits must be 0", "20, 21, 22, 23, 38"],
    [-1, "unsigned 64-bit", "-1"],
    [2n ** 64n, "unsigned 64-bit", "18446744073709551616"],
    [1.5, "integer", "1.5"],
    [2 ** 63, "exact integer", ""]
  ])("rejects %s", (input, message, detail) => {
    const result = decode(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.message).toContain(message)
      expect(result.left.message).toContain(detail)
    }
  })

  it("reads and writes the decimal text kept in SQL", () => {
    const all = Schema.decodeUnknownSync(PermissionSetFromString)(ALL_PERMISSIONS.toString())
    expect(all).toBe(ALL_PERMISSIONS)
    expect(Schema.encodeSync(PermissionSetFromString)(all)).toBe(ALL_PERMISSIONS.toString())
    expect(Either.isLeft(Schema.decodeUnknownEither(PermissionSetFromString)(String(1n << 50n)))).toBe(true)
    expect(Either.isLeft(Schema.decodeUnknownEither(PermissionSetFromString)("12abc"))).toBe(true)
  })
})

describe("resolvePermissions (seed 002 §7 resolution order)", () => {
  const everyone = P.VIEW_SPACE | P.READ_HISTORY | P.SEND_MESSAGES

  it("step 1: starts from @everyone", () => {
    expect(resolvePermissions({ everyone, roles: [] })).toBe(everyone)
  })

  it("step 2: roles only add", () => {
    expect(resolvePermissions({ everyone, roles: [P.KICK_MEMBERS, P.BAN_MEMBERS | P.VIEW_SPACE] })).toBe(
      everyone | P.KICK_MEMBERS | P.BAN_MEMBERS
    )
  })

  it("step 3: the @everyone override denies, then allows", () => {
    const result = resolvePermissions({
      everyone,
      roles: [P.ATTACH_FILES],
      overrides: { everyone: { allow: P.ADD_REACTIONS, deny: P.SEND_MESSAGES | P.ATTACH_FILES } }
    })
    expect(result).toBe(P.VIEW_SPACE | P.READ_HISTORY | P.ADD_REACTIONS)
    // The same bit in both: the allow wins within one override.
    expect(
      has(resolvePermissions({ everyone, roles: [], overrides: { everyone: { allow: P.STREAM, deny: P.STREAM } } }), P.STREAM)
    ).toBe(true)
  })

  it("step 4: role overrides merge, so one role's allow beats another role's deny", () => {
    const result = resolvePermissions({
      everyone,
      roles: [0n, 0n],
      overrides: {
        roles: [
          { allow: 0n, deny: P.SEND_MESSAGES | P.READ_HISTORY },
          { allow: P.SEND_MESSAGES, deny: 0n }
        ]
      }
    })
    expect(has(result, P.SEND_MESSAGES)).toBe(true)
    expect(has(result, P.READ_HISTORY)).toBe(false)
  })

  it("step 4 follows step 3: a role override re-allows what @everyone's override denied", () => {
    const result = resolvePermissions({
      everyone,
      roles: [],
      overrides: { everyone: { allow: 0n, deny: P.SEND_MESSAGES }, roles: [{ allow: P.SEND_MESSAGES, deny: 0n }] }
    })
    expect(has(result, P.SEND_MESSAGES)).toBe(true)
  })

  it("step 4 follows step 3: a role override denies what @everyone's override allowed", () => {
    const result = resolvePermissions({
      everyone,
      roles: [],
      overrides: { everyone: { allow: P.ATTACH_FILES, deny: 0n }, roles: [{ allow: 0n, deny: P.ATTACH_FILES }] }
    })
    expect(has(result, P.ATTACH_FILES)).toBe(false)
  })

  it("step 5: the user's own override has the last word", () => {
    const overrides = {
      everyone: { allow: P.ATTACH_FILES, deny: 0n },
      roles: [{ allow: P.MENTION_EVERYONE, deny: P.SEND_MESSAGES }],
      user: { allow: P.SEND_MESSAGES, deny: P.MENTION_EVERYONE | P.ATTACH_FILES }
    }
    const result = resolvePermissions({ everyone, roles: [], overrides })
    expect(result).toBe(P.VIEW_SPACE | P.READ_HISTORY | P.SEND_MESSAGES)
  })

  it("step 5 can take away what a role grants on the server", () => {
    const result = resolvePermissions({
      everyone,
      roles: [P.MANAGE_MESSAGES],
      overrides: { user: { allow: 0n, deny: P.MANAGE_MESSAGES } }
    })
    expect(has(result, P.MANAGE_MESSAGES)).toBe(false)
  })

  it("step 6: ADMINISTRATOR from a role bypasses everything, a deny override included", () => {
    const result = resolvePermissions({
      everyone: 0n,
      roles: [P.ADMINISTRATOR],
      overrides: {
        everyone: { allow: 0n, deny: ALL_PERMISSIONS },
        roles: [{ allow: 0n, deny: P.VIEW_SPACE | P.ADMINISTRATOR }],
        user: { allow: 0n, deny: P.SEND_MESSAGES | P.ADMINISTRATOR }
      }
    })
    expect(result).toBe(ALL_PERMISSIONS)
    expect(has(result, P.ADMINISTRATOR | P.VIEW_SPACE | P.SEND_MESSAGES | P.MANAGE_2FA)).toBe(true)
    expect(resolvePermissions({ everyone: P.ADMINISTRATOR, roles: [] })).toBe(ALL_PERMISSIONS)
  })

  it("step 6: an override cannot make a user administrator", () => {
    const result = resolvePermissions({
      everyone,
      roles: [],
      overrides: { user: { allow: P.ADMINISTRATOR | P.MANAGE_ROLES, deny: 0n } }
    })
    expect(has(result, P.ADMINISTRATOR)).toBe(false)
    expect(has(result, P.MANAGE_ROLES)).toBe(true)
    expect(has(result, P.BAN_MEMBERS)).toBe(false)
  })

  it("never hands out reserved bits, whatever storage held", () => {
    const result = resolvePermissions({ everyone: everyone | (1n << 21n), roles: [1n << 50n] })
    expect(result & RESERVED_MASK).toBe(0n)
    expect(result).toBe(everyone)
  })
})
