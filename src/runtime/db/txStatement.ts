// The few statements a write runs every time (the event log's, a send's), run on the open transaction's
// own connection. The `sql` template's compiler, span and connection handling cost several times what
// such a statement costs SQLite (about 50 µs against 8 inside a transaction). Each statement is written
// once, with `?` placeholders; PostgreSQL gets `$1, $2, ...`. Outside a transaction the statement
// runs the usual way.
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option } from "effect"

/** The same text with PostgreSQL's numbered placeholders (the texts here hold no `?` but placeholders). */
const numbered = (text: string) => {
  let n = 0
  return text.replace(/\?/g, () => `$${++n}`)
}

/** `(?, ?, ?), (?, ?, ?)`: the VALUES of a multi-row insert of `rows` rows of `columns` columns. */
export const valuesOf = (rows: number, columns: number) => {
  const row = `(${Array.from({ length: columns }, () => "?").join(", ")})`
  return Array.from({ length: rows }, () => row).join(", ")
}

/** Runs `text` with `params` through `sql`: on the transaction's connection when one is open. */
export const txStatement = (
  sql: SqlClient.SqlClient,
  text: string,
  params: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<unknown>, SqlError> => {
  const dialectText = sql.onDialectOrElse({ pg: () => numbered(text), orElse: () => text })
  return Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (open) =>
    Option.isSome(open) ? open.value[0].execute(dialectText, params, undefined) : sql.unsafe(dialectText, params))
}
