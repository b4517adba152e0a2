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
