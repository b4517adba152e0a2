// Column decoders that read the same on both databases: pg returns BIGINT as a string, SQLite as a
// number; booleans are INTEGER 0/1 on both.
import { type Effect, ParseResult, Schema } from "effect"
import { parseJson, stringifyJson } from "../../protocol/json.js"

/** An integer column that always fits a JS number (ids, counts, millisecond times). */
export const IntColumn = Schema.Union(Schema.Number, Schema.NumberFromString)

export const BoolColumn = Schema.transform(IntColumn, Schema.Boolean, {
  strict: true,
  decode: (n) => n !== 0,
  encode: (b) => (b ? 1 : 0)
})

// One decoder per row schema: callers ask for it on every query, and a fresh Schema.Array each time
// would make Effect compile a new parser for every query run.
const rowDecoders = new WeakMap<Schema.Schema.Any, (rows: unknown) => Effect.Effect<ReadonlyArray<unknown>, ParseResult.ParseError>>()

export const decodeRows = <A, I>(schema: Schema.Schema<A, I>): (rows: unknown) => Effect.Effect<ReadonlyArray<A>, ParseResult.ParseError> => {
  let decode = rowDecoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknown(Schema.Array(schema)) as (rows: unknown) => Effect.Effect<ReadonlyArray<unknown>, ParseResult.ParseError>
    rowDecoders.set(schema, decode)
  }
  return decode as (rows: unknown) => Effect.Effect<ReadonlyArray<A>, ParseResult.ParseError>
}

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
