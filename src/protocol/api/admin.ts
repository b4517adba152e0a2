// Administration of other accounts (reference API.md §6 "Admin").
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { UserId } from "../ids.js"
import { Text } from "./fields.js"

/**
 * Removes every second factor of a user who lost them all (TOTP, recovery codes, WebAuthn keys) and
 * ends all their sessions; audit entry `2fa.admin_reset`. Hierarchy applies: only someone who
 * outranks the user may do it, and not to themselves (they use DELETE /auth/2fa with a code).
 */
export const AdminTwoFactorReset = Schema.Struct({
  target_user_id: UserId,
  reason: Schema.optional(Text(512))
})

export const adminTwoFactorReset = endpoint({
  name: "adminTwoFactorReset",
  method: "POST",
  path: "/api/v1/admin/2fa-reset",
  access: { permission: "MANAGE_2FA" },
  body: AdminTwoFactorReset
})
