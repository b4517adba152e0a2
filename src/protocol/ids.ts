// Entity ids are uint32, sequential from 1 (DECISIONS.md "IDs"); message ids are snowflakes (snowflake.ts).
import { Schema } from "effect"

export const UINT32_MAX = 4_294_967_295

const uint32Id = <const B extends string>(brand: B) =>
  Schema.Number.pipe(Schema.int(), Schema.between(1, UINT32_MAX), Schema.brand(brand))

export const UserId = uint32Id("UserId")
export type UserId = typeof UserId.Type
export const RoleId = uint32Id("RoleId")
export type RoleId = typeof RoleId.Type
export const FeedId = uint32Id("FeedId")
export type FeedId = typeof FeedId.Type
export const RoomId = uint32Id("RoomId")
export type RoomId = typeof RoomId.Type
export const CategoryId = uint32Id("CategoryId")
export type CategoryId = typeof CategoryId.Type
export const DmId = uint32Id("DmId")
export type DmId = typeof DmId.Type

/** A role or a user id: what a permission override targets. */
export const TargetId = Schema.Number.pipe(Schema.int(), Schema.between(1, UINT32_MAX))

/** A path segment that must be a plain decimal id: no sign, exponent, hex or whitespace. */
const DecimalString = Schema.String.pipe(
  Schema.pattern(/^[0-9]{1,10}$/, { message: () => "Expected a decimal id" })
)

/** The same id read from a URL path segment or query string. */
export const idFromString = <A extends number, I extends number>(id: Schema.Schema<A, I>) =>
  Schema.compose(Schema.compose(DecimalString, Schema.NumberFromString), id, { strict: false })
