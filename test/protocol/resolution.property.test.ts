// Issue 3, acceptance 1: permission resolution against a model of seed 002 §7 written bit by bit, on
// thousands of random communities: roles (some with ADMINISTRATOR), members holding some of them, and
// a feed's overrides for @everyone, for roles the member holds and does not hold, for the member and for
// other users. The model reads the seed's six steps literally, one permission at a time.
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import {
  ALL_PERMISSIONS,
  Permission,
  PERMISSION_NAMES,
  resolveInSpace,
  resolvePermissions,
  type TargetedOverride
} from "../../src/protocol/permissions.js"

const EVERYONE_ID = 1
const NAMED = PERMISSION_NAMES.map((name) => Permission[name])
const ADMIN = Permission.ADMINISTRATOR

/** A set of named bits; ADMINISTRATOR only when `admin` allows it, and then rarely. */
const permissionSet = (admin: boolean) =>
  fc.tuple(
    fc.subarray(NAMED.filter((b) => b !== ADMIN)),
    admin ? fc.integer({ min: 0, max: 9 }).map((n) => n === 0) : fc.constant(false)
  ).map(([bits, isAdmin]) => bits.reduce((acc, b) => acc | b, isAdmin ? ADMIN : 0n))

/** Overrides never carry ADMINISTRATOR and never allow and deny the same bit (the API refuses both). */
const overrideBits = fc.tuple(permissionSet(false), permissionSet(false)).map(([allow, deny]) => ({
  allow,
  deny: deny & ~allow
}))

const community = fc.record({
  everyone: permissionSet(true),
  roles: fc.array(permissionSet(true), { maxLength: 6 }),
  userId: fc.integer({ min: 1, max: 5 })
}).chain(({ everyone, roles, userId }) => {
  const roleIds = roles.map((_, i) => i + 2)
  return fc.record({
    everyone: fc.constant(everyone),
    roles: fc.constant(roles.map((permissions, i) => ({ id: roleIds[i]!, permissions }))),
    userId: fc.constant(userId),
    held: fc.subarray(roleIds),
    overrides: fc.uniqueArray(
      fc.record({
        target_type: fc.constantFrom("role" as const, "user" as const),
        target_id: fc.integer({ min: 1, max: roleIds.length + 1 }),
        bits: overrideBits
      }),
      { maxLength: 8, selector: (o) => `${o.target_type}:${o.target_id}` }
    ).map((list): Array<TargetedOverride> =>
      list.map((o) => ({ target_type: o.target_type, target_id: o.target_id, ...o.bits }))
    )
  })
})

type Community = typeof community extends fc.Arbitrary<infer A> ? A : never

/** Seed 002 §7, one bit at a time. */
const model = (c: Community): bigint => {
  const holds = (roleId: number) => c.held.includes(roleId)
  const roleSets = c.roles.filter((r) => holds(r.id)).map((r) => r.permissions)
  const has = (set: bigint, bit: bigint) => (set & bit) !== 0n
  const everyoneOverride = c.overrides.find((o) => o.target_type === "role" && o.target_id === EVERYONE_ID)
  const roleOverrides = c.overrides.filter((o) => o.target_type === "role" && o.target_id !== EVERYONE_ID && holds(o.target_id))
  const userOverride = c.overrides.find((o) => o.target_type === "user" && o.target_id === c.userId)

  // Step 6 looks at the server-level grant (overrides cannot hold ADMINISTRATOR).
  const administrator = has(c.everyone, ADMIN) || roleSets.some((s) => has(s, ADMIN))
  if (administrator) return ALL_PERMISSIONS

  let result = 0n
  for (const bit of NAMED) {
    if (bit === ADMIN) continue
    // 1 and 2: @everyone, then any held role, grants
    let granted = has(c.everyone, bit) || roleSets.some((s) => has(s, bit))
    // 3: the @everyone override: deny, then allow
    if (everyoneOverride !== undefined) {
      if (has(everyoneOverride.deny, bit)) granted = false
      if (has(everyoneOverride.allow, bit)) granted = true
    }
    // 4: the held roles' overrides together: any deny, then any allow
    if (roleOverrides.some((o) => has(o.deny, bit))) granted = false
    if (roleOverrides.some((o) => has(o.allow, bit))) granted = true
    // 5: the member's own override
    if (userOverride !== undefined) {
      if (has(userOverride.deny, bit)) granted = false
      if (has(userOverride.allow, bit)) granted = true
    }
    if (granted) result |= bit
  }
  return result
}

const resolve = (c: Community) =>
  resolveInSpace({
    everyoneRoleId: EVERYONE_ID,
    everyone: c.everyone,
    roles: c.roles.filter((r) => c.held.includes(r.id)),
    userId: c.userId,
    overrides: c.overrides
  })

describe("permission resolution against a model of seed 002 §7", () => {
  it("agrees with the model in a feed or room, overrides included", () => {
    fc.assert(fc.property(community, (c) => resolve(c) === model(c)), { numRuns: 5000 })
  })

  it("agrees with the model on the server (no overrides)", () => {
    fc.assert(
      fc.property(community, (c) =>
        resolvePermissions({ everyone: c.everyone, roles: c.roles.filter((r) => c.held.includes(r.id)).map((r) => r.permissions) }) ===
          model({ ...c, overrides: [] })),
      { numRuns: 5000 }
    )
  })

  it("covers the interesting cases: administrators, user overrides, overrides of roles not held", () => {
    const samples = fc.sample(community, { numRuns: 5000, seed: 42 })
    const admins = samples.filter((c) => model(c) === ALL_PERMISSIONS).length
    const userOverrides = samples.filter((c) => c.overrides.some((o) => o.target_type === "user" && o.target_id === c.userId)).length
    const foreignRoleOverrides = samples.filter((c) =>
      c.overrides.some((o) => o.target_type === "role" && o.target_id !== EVERYONE_ID && !c.held.includes(o.target_id))
    ).length
    expect(admins).toBeGreaterThan(250)
    expect(userOverrides).toBeGreaterThan(250)
    expect(foreignRoleOverrides).toBeGreaterThan(250)
  })
})
