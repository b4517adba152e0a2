// Every member request resolves permissions once, and the layout once per feed and room: what a
// resolution costs in a busy space (many roles, many overrides), next to the server-level one.
import { bench, describe } from "vitest"
import { Permission, resolveInSpace, resolvePermissions, type TargetedOverride } from "../src/protocol/permissions.js"

const EVERYONE = 1
const roles = Array.from({ length: 20 }, (_, i) => ({ id: i + 2, permissions: (1n << BigInt(i % 19)) | Permission.VIEW_SPACE }))
const held = roles.filter((_, i) => i % 3 === 0)
const overrides: Array<TargetedOverride> = [
  { target_type: "role", target_id: EVERYONE, allow: 0n, deny: Permission.SEND_MESSAGES },
  ...roles.map((r, i): TargetedOverride => ({ target_type: "role", target_id: r.id, allow: 1n << BigInt(i % 17), deny: 0n })),
  ...Array.from({ length: 10 }, (_, i): TargetedOverride => ({
    target_type: "user", target_id: 100 + i, allow: Permission.ATTACH_FILES, deny: 0n
  }))
]

describe("permission resolution", () => {
  bench("server level, 7 roles", () => {
    resolvePermissions({ everyone: Permission.VIEW_SPACE, roles: held.map((r) => r.permissions) })
  })
  bench("in a feed: 7 of 20 roles held, 31 overrides", () => {
    resolveInSpace({ everyoneRoleId: EVERYONE, everyone: Permission.VIEW_SPACE, roles: held, userId: 105, overrides })
  })
})
