// Cursor pagination `{"items", "cursor"}` (reference API.md §1): `cursor` is opaque to clients and
// null on the last page; pass it back as `after`.
import { Either, Schema } from "effect"

export const Page = <S extends Schema.Schema.AnyNoContext>(item: S) =>
  Schema.Struct({ items: Schema.Array(item), cursor: Schema.NullOr(Schema.String) })

/** `?limit=` as it arrives in a query string, bounded by the endpoint's maximum. */
export const Limit = (max: number) =>
  Schema.compose(
    Schema.String.pipe(Schema.pattern(/^[0-9]{1,4}$/, { message: () => "Expected a whole number" })),
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, max)),
    { strict: false }
  )

export const PageQuery = (max: number) =>
  Schema.Struct({ limit: Schema.optional(Limit(max)), after: Schema.optional(Schema.String) })

/** Cursors carry the position of the last item as JSON, base64url-encoded. */
export const encodeCursor = (position: Record<string, string | number>): string =>
  Buffer.from(JSON.stringify(position), "utf8").toString("base64url")

export const decodeCursor = <A, I>(schema: Schema.Schema<A, I>, cursor: string): Either.Either<A, string> => {
  const decode = Schema.decodeUnknownEither(Schema.parseJson(schema))
  return Either.mapLeft(decode(Buffer.from(cursor, "base64url").toString("utf8")), () => "Invalid cursor")
}
