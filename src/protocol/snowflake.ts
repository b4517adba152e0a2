/**
 * Message ids (DECISIONS.md "IDs", reference PROTOCOL.md §5): uint64 snowflakes laid out as
 *
 *   63            22 21       12 11        0
 *   | timestamp 42  | worker 10 | seq 12   |
 *
 * where timestamp counts milliseconds since the Vox epoch 2025-01-01T00:00:00Z. They exceed
 * 2^53, so code holds them as `bigint` and the wire carries them as exact JSON numbers
 * (see ./json.ts).
 */
import { Data, Either, ParseResult, Schema } from "effect"

/** 2025-01-01T00:00:00Z in Unix milliseconds. */
export const VOX_EPOCH_MS = 1735689600000

export const MAX_SNOWFLAKE_TIMESTAMP = 2 ** 42 - 1
export const MAX_WORKER_ID = 2 ** 10 - 1
export const MAX_SEQUENCE = 2 ** 12 - 1

const UINT64_MAX = (1n << 64n) - 1n
const WORKER_SHIFT = 12
const TIMESTAMP_SHIFT = 22n

/** A snowflake already held as a bigint (database rows, RPC payloads inside the cluster). */
export const SnowflakeFromSelf = Schema.BigIntFromSelf.pipe(
  Schema.filter((n) => (n >= 0n && n <= UINT64_MAX) || `a snowflake is an unsigned 64-bit integer, got ${n}`),
  Schema.brand("Snowflake"),
  Schema.annotations({ identifier: "Snowflake" })
)
export type Snowflake = typeof SnowflakeFromSelf.Type

/**
 * A snowflake as `parseJson` hands it over: a `number` while it is small enough to be exact,
 * a `bigint` beyond that. Encodes to `bigint`, which `stringifyJson` writes as a bare number.
 */
export const Snowflake: Schema.Schema<Snowflake, number | bigint> = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.BigIntFromSelf),
  SnowflakeFromSelf,
  {
    strict: true,
    decode: (input, _options, ast) => {
      if (typeof input === "bigint") return ParseResult.succeed(input)
      if (!Number.isInteger(input)) {
        return ParseResult.fail(new ParseResult.Type(ast, input, `a snowflake is an integer, got ${input}`))
      }
      // parseJson only yields a number above 2^53 for fraction/exponent spellings, and those
      // have already been rounded to a double: accepting one would address the wrong message.
      if (!Number.isSafeInteger(input)) {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, `a snowflake above 2^53 must be written as an exact integer, got ${input}`)
        )
      }
      return ParseResult.succeed(BigInt(input))
    },
    encode: (id) => ParseResult.succeed(id)
  }
)

const DECIMAL_UINT64 = /^(?:0|[1-9][0-9]{0,19})$/

/** A snowflake in a URL path or query string (`/messages/{msg_id}`, `?before=`). */
export const SnowflakeFromString: Schema.Schema<Snowflake, string> = Schema.transformOrFail(
  Schema.String,
  SnowflakeFromSelf,
  {
    strict: true,
    decode: (input, _options, ast) =>
      DECIMAL_UINT64.test(input)
        ? ParseResult.succeed(BigInt(input))
        : ParseResult.fail(new ParseResult.Type(ast, input, `a snowflake is a decimal integer, got ${JSON.stringify(input)}`)),
    encode: (id) => ParseResult.succeed(id.toString())
  }
)

export interface SnowflakeParts {
  /** Milliseconds since `VOX_EPOCH_MS` (not Unix time), 0 .. 2^42-1. */
  readonly timestampMs: number
  readonly workerId: number
  readonly sequence: number
}

export class SnowflakeFieldOutOfRange extends Data.TaggedError("SnowflakeFieldOutOfRange")<{
  readonly field: keyof SnowflakeParts
  readonly value: number
  readonly max: number
}> {
  override get message(): string {
    return `snowflake ${this.field} must be an integer in 0..${this.max}, got ${this.value}`
  }
}

// Callers guarantee the ranges; this is the single place the bit layout is written down.
const compose = (timestampMs: number, workerId: number, sequence: number): Snowflake =>
  ((BigInt(timestampMs) << TIMESTAMP_SHIFT) | BigInt((workerId << WORKER_SHIFT) | sequence)) as Snowflake

const inRange = (value: number, max: number): boolean => Number.isInteger(value) && value >= 0 && value <= max

/** Builds a snowflake from its three fields, refusing any field that does not fit its bits. */
export const makeSnowflake = (parts: SnowflakeParts): Either.Either<Snowflake, SnowflakeFieldOutOfRange> => {
  const checks = [
    ["timestampMs", parts.timestampMs, MAX_SNOWFLAKE_TIMESTAMP],
    ["workerId", parts.workerId, MAX_WORKER_ID],
    ["sequence", parts.sequence, MAX_SEQUENCE]
  ] as const
  for (const [field, value, max] of checks) {
    if (!inRange(value, max)) return Either.left(new SnowflakeFieldOutOfRange({ field, value, max }))
  }
  return Either.right(compose(parts.timestampMs, parts.workerId, parts.sequence))
}

export const snowflakeParts = (id: Snowflake): SnowflakeParts => ({
  timestampMs: Number(id >> TIMESTAMP_SHIFT),
  workerId: Number((id >> BigInt(WORKER_SHIFT)) & BigInt(MAX_WORKER_ID)),
  sequence: Number(id & BigInt(MAX_SEQUENCE))
})

/** When the id was issued, in Unix milliseconds (reference PROTOCOL.md §5). */
export const snowflakeToUnixMs = (id: Snowflake): number => Number(id >> TIMESTAMP_SHIFT) + VOX_EPOCH_MS

/**
 * The lowest snowflake of a Unix millisecond, for turning a time into a `before`/`after`
 * cursor: every message issued at or after `unixMs` has an id >= the result. Times outside
 * the 42-bit range clamp to its ends, so any time still orders correctly against real ids.
 */
export const snowflakeFromTime = (unixMs: number): Snowflake => {
  const elapsed = Math.floor(unixMs - VOX_EPOCH_MS)
  const clamped = Number.isNaN(elapsed) ? 0 : Math.min(Math.max(elapsed, 0), MAX_SNOWFLAKE_TIMESTAMP)
  return compose(clamped, 0, 0)
}

export interface SnowflakeGenerator {
  readonly workerId: number
  /** A snowflake greater than every one this generator issued before. */
  readonly next: () => Snowflake
}

export class InvalidWorkerId extends Data.TaggedError("InvalidWorkerId")<{ readonly workerId: number }> {
  override get message(): string {
    return `snowflake worker id must be an integer in 0..${MAX_WORKER_ID}, got ${this.workerId}`
  }
}

/**
 * Issues strictly increasing snowflakes for one worker.
 *
 * Wall clocks step backwards (NTP, VM migration). Ordering is what cursors and "newest
 * message" depend on, so the generator never goes back: it keeps a logical timestamp that
 * only moves forward, issues from it while `now()` lags behind, and when the 4096 sequence
 * numbers of a millisecond run out it borrows the next millisecond instead of busy-waiting
 * (an Effect fiber must not spin). The logical time catches up with the wall clock as soon as
 * the wall clock passes it.
 *
 * `lastIssued` (for example the highest id this worker stored before a restart) makes the
 * guarantee survive a restart onto a clock that is behind.
 *
 * Returns `Left` rather than throwing for a bad worker id; configuration is validated before
 * this runs, so the `Left` is a second line of defence. A clock before the Vox epoch counts
 * as the epoch itself. Past 2^42 ms (the year 2164) the layout has no room; not handled.
 */
export const makeSnowflakeGenerator = (
  workerId: number,
  now: () => number,
  options?: { readonly lastIssued?: Snowflake }
): Either.Either<SnowflakeGenerator, InvalidWorkerId> => {
  if (!inRange(workerId, MAX_WORKER_ID)) return Either.left(new InvalidWorkerId({ workerId }))
  let lastTimestamp = -1
  let sequence = 0
  if (options?.lastIssued !== undefined) {
    const last = snowflakeParts(options.lastIssued)
    lastTimestamp = last.timestampMs
    sequence = last.sequence
  }
  const next = (): Snowflake => {
    const elapsed = Math.max(Math.floor(now() - VOX_EPOCH_MS), 0)
    if (elapsed > lastTimestamp) {
      lastTimestamp = elapsed
      sequence = 0
    } else if (sequence < MAX_SEQUENCE) {
      sequence++
    } else {
      lastTimestamp++
      sequence = 0
    }
    return compose(lastTimestamp, workerId, sequence)
  }
  return Either.right({ workerId, next })
}
