import { SqlError } from "@effect/sql"
import { Effect, ParseResult } from "effect"

type StorageError = SqlError.SqlError | ParseResult.ParseError

const isStorageError = (e: unknown): e is StorageError =>
  e instanceof SqlError.SqlError || ParseResult.isParseError(e)

/**
 * Storage failures (the database is gone, a row does not decode) are not part of any entity's
 * protocol: they become defects, which the HTTP edge answers with 500 UNKNOWN_ERROR.
 */
export const dieOnStorageError = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.catchIf(self, (e): e is Extract<E, StorageError> => isStorageError(e), (e) => Effect.die(e))
