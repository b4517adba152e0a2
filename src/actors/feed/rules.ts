// Rules of the Feed entity that more than one of its writes applies.
import { EmptyMessage, Forbidden, MessageTooLarge } from "../../protocol/errors.js"
import type { PermissionName } from "../../protocol/permissions.js"
import { Effect } from "effect"

export const missing = (permission: PermissionName, what: string) =>
  new Forbidden({ message: `You need the ${permission} permission in this feed ${what}.`, missing_permission: permission })

/** Bodies are limited in characters (Unicode code points), not UTF-16 units or bytes. */
const characters = (body: string) => {
  let n = 0
  for (const _ of body) n++
  return n
}

/** A body within the server's limit, and a message that is not empty. */
export const checkBody = (body: string, hasContent: boolean, maxLength: number) => {
  if (body.trim().length === 0 && !hasContent) return Effect.fail(new EmptyMessage())
  // Most bodies are short: only one that could be too long in UTF-16 units is counted.
  if (body.length > maxLength && characters(body) > maxLength) {
    return Effect.fail(new MessageTooLarge({ message: `The message body is longer than ${maxLength} characters.` }))
  }
  return Effect.void
}
