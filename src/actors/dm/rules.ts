// Rules shared by the Dm entity and the DM directory.
import { Effect } from "effect"
import { EmptyMessage, Forbidden, MessageTooLarge, SpaceTypeMismatch } from "../../protocol/errors.js"
import type { Audience } from "../../protocol/events.js"
import type { UserId } from "../../protocol/ids.js"

/** Exactly these users: a DM's events reach its participants and nobody else. */
export const toUsers = (userIds: ReadonlyArray<UserId>): Audience => ({ _tag: "users", user_ids: userIds })

export const notParticipant = new Forbidden({ message: "You are not a participant of this DM." })

export const groupOnly = (what: string) => new SpaceTypeMismatch({ message: `Only a group DM ${what}.` })

/** The server's participant limit, exceeded: 403 as the reference says. */
export const tooManyParticipants = (max: number) => new Forbidden({ message: `A group DM holds at most ${max} participants.` })

/**
 * A DM body is ciphertext: only its size is judged, in UTF-8 bytes (a character count means nothing
 * for it). Only a body that could be too big is measured. A message carrying files may have none.
 */
export const checkDmBody = (body: string, maxBytes: number, hasAttachments = false) => {
  if (body.length === 0 && !hasAttachments) return Effect.fail(new EmptyMessage())
  if (body.length * 3 > maxBytes && new TextEncoder().encode(body).length > maxBytes) {
    return Effect.fail(new MessageTooLarge({ message: `A DM message body is at most ${maxBytes} bytes.` }))
  }
  return Effect.void
}
