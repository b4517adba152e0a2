// Field rules shared by several bodies (reference authentication.md / users.md / server.md).
import { Schema } from "effect"

// eslint-disable-next-line no-control-regex
const noControl = /^[^\u0000-\u001f\u007f]*$/

export const Username = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_]{3,32}$/, {
    message: () => "Usernames are 3-32 characters: letters, digits and underscores"
  })
)

export const Password = Schema.String.pipe(
  Schema.minLength(8, { message: () => "Passwords are at least 8 characters" }),
  Schema.maxLength(256, { message: () => "Passwords are at most 256 characters" })
)

/** 1-64 visible characters, no control characters, not only whitespace. */
export const DisplayName = Schema.String.pipe(
  Schema.pattern(noControl, { message: () => "Display names cannot contain control characters" }),
  Schema.filter((s) => s.trim().length > 0, { message: () => "Display names cannot be blank" }),
  Schema.maxLength(64, { message: () => "Display names are at most 64 characters" })
)

export const HttpUrl = Schema.String.pipe(
  Schema.maxLength(2048),
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      return u.protocol === "https:" || u.protocol === "http:"
    } catch {
      return false
    }
  }, { message: () => "Expected an http(s) URL" })
)

export const Text = (max: number) =>
  Schema.String.pipe(Schema.maxLength(max, { message: () => `At most ${max} characters` }))

/** Times travel as ISO 8601 strings in UTC. */
export const Timestamp = Schema.String

/** A name of something in the community (feed, room, category, role): 1-64 visible characters. */
export const Name = (what: string) =>
  Schema.String.pipe(
    Schema.pattern(noControl, { message: () => `${what} names cannot contain control characters` }),
    Schema.filter((s) => s.trim().length > 0, { message: () => `${what} names cannot be empty` }),
    Schema.maxLength(64, { message: () => `${what} names are at most 64 characters` })
  )

export const MAX_POSITION = 1_000_000

/** A sort position in a list (layout, roles): a whole number, 0 first. */
export const Position = Schema.Number.pipe(
  Schema.int({ message: () => "Positions are whole numbers" }),
  Schema.between(0, MAX_POSITION, { message: () => `Positions are between 0 and ${MAX_POSITION}` })
)

/** Unix time in whole seconds (invites, audit log; reference API.md). */
export const UnixSeconds = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** A non-negative whole number in a query string. */
export const UnsignedFromString = Schema.compose(
  Schema.String.pipe(Schema.pattern(/^[0-9]{1,15}$/, { message: () => "Expected a whole number" })),
  Schema.NumberFromString
)
