// Column decoders that read the same on both databases: pg returns BIGINT as a string, SQLite as a
// number; booleans are INTEGER 0/1 on both.
import { ParseResult, Schema } from "effect"
import { parseJson, stringifyJson } from "../../protocol/json.js"

/** An integer column that always fits a JS number (ids, counts, millisecond times). */
export const IntColumn = Schema.Union(Schema.Number, Schema.NumberFromString)

export const BoolColumn = Schema.transform(IntColumn, Schema.Boolean, {
  strict: true,
  decode: (n) => n !== 0,
  encode: (b) => (b ? 1 : 0)
})

export const decodeRows = <A, I>(schema: Schema.Schema<A, I>) => Schema.decodeUnknown(Schema.Array(schema))

/** A JSON text column decoded with `schema`, losslessly: integers beyond 2^53 stay exact. */
export const JsonColumn = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.compose(
    Schema.transformOrFail(Schema.String, Schema.Unknown, {
      strict: true,
      decode: (text, _options, ast) => {
        const parsed = parseJson(text)
        return parsed.ok ? ParseResult.succeed(parsed.value) : ParseResult.fail(new ParseResult.Type(ast, text, parsed.error))
      },
      encode: (value) => ParseResult.succeed(stringifyJson(value))
    }),
    schema
  )
