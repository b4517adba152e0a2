// Column decoders that read the same on both databases: pg returns BIGINT as a string, SQLite as a
// number; booleans are INTEGER 0/1 on both.
import { Schema } from "effect"

/** An integer column that always fits a JS number (ids, counts, millisecond times). */
export const IntColumn = Schema.Union(Schema.Number, Schema.NumberFromString)

export const BoolColumn = Schema.transform(IntColumn, Schema.Boolean, {
  strict: true,
  decode: (n) => n !== 0,
  encode: (b) => (b ? 1 : 0)
})

export const decodeRows = <A, I>(schema: Schema.Schema<A, I>) => Schema.decodeUnknown(Schema.Array(schema))
