import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { parseJson, stringifyJson } from "../../src/protocol/json.js"
import {
  InvalidWorkerId,
  makeSnowflake,
  makeSnowflakeGenerator,
  MAX_SEQUENCE,
  MAX_SNOWFLAKE_TIMESTAMP,
  Snowflake,
  SnowflakeFieldOutOfRange,
  SnowflakeFromString,
  snowflakeFromTime,
  snowflakeParts,
  snowflakeToUnixMs,
  VOX_EPOCH_MS,
  type SnowflakeGenerator
} from "../../src/protocol/snowflake.js"

const generator = (workerId: number, now: () => number): SnowflakeGenerator =>
  Either.getOrThrow(makeSnowflakeGenerator(workerId, now))

const expectStrictlyIncreasing = (ids: ReadonlyArray<bigint>) => {
  for (let i = 1; i < ids.length; i++) {
    if (!((ids[i] as bigint) > (ids[i - 1] as bigint))) throw new Error(`ids[${i}] = ${ids[i]} <= ${ids[i - 1]}`)
  }
}

describe("snowflake layout", () => {
  it("puts the timestamp in bits 22-63, the worker in 12-21, the sequence in 0-11", () => {
    expect(VOX_EPOCH_MS).toBe(Date.UTC(2025, 0, 1))
    expect(Either.getOrThrow(makeSnowflake({ timestampMs: 0, workerId: 0, sequence: 0 }))).toBe(0n)
    expect(Either.getOrThrow(makeSnowflake({ timestampMs: 1, workerId: 0, sequence: 0 }))).toBe(1n << 22n)
    expect(Either.getOrThrow(makeSnowflake({ timestampMs: 0, workerId: 1, sequence: 0 }))).toBe(1n << 12n)
    expect(Either.getOrThrow(makeSnowflake({ timestampMs: 0, workerId: 0, sequence: 1 }))).toBe(1n)
    expect(Either.getOrThrow(makeSnowflake({ timestampMs: 1000, workerId: 5, sequence: 7 }))).toBe(
      (1000n << 22n) | (5n << 12n) | 7n
    )
    expect(
      Either.getOrThrow(makeSnowflake({ timestampMs: MAX_SNOWFLAKE_TIMESTAMP, workerId: 1023, sequence: 4095 }))
    ).toBe(2n ** 64n - 1n)
  })

  it("splits back into the same parts", () => {
    const parts = { timestampMs: 31_536_000_000, workerId: 517, sequence: 4001 }
    const id = Either.getOrThrow(makeSnowflake(parts))
    expect(id > 2n ** 53n).toBe(true)
    expect(snowflakeParts(id)).toEqual(parts)
    expect(snowflakeToUnixMs(id)).toBe(VOX_EPOCH_MS + 31_536_000_000)
  })

  it("refuses fields that do not fit their bits", () => {
    const bad = [
      { timestampMs: -1, workerId: 0, sequence: 0 },
      { timestampMs: MAX_SNOWFLAKE_TIMESTAMP + 1, workerId: 0, sequence: 0 },
      { timestampMs: 0, workerId: 1024, sequence: 0 },
      { timestampMs: 0, workerId: 0, sequence: 4096 },
      { timestampMs: 0.5, workerId: 0, sequence: 0 }
    ]
    for (const parts of bad) {
      const result = makeSnowflake(parts)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(result.left).toBeInstanceOf(SnowflakeFieldOutOfRange)
    }
  })

  it("turns a Unix time into the lowest id of that millisecond", () => {
    const t = VOX_EPOCH_MS + 86_400_000
    const cursor = snowflakeFromTime(t)
    expect(snowflakeParts(cursor)).toEqual({ timestampMs: 86_400_000, workerId: 0, sequence: 0 })
    const ids = generator(1023, () => t)
    expect(ids.next() >= cursor).toBe(true)
    expect(snowflakeFromTime(t + 1) > ids.next()).toBe(true)
    expect(snowflakeFromTime(0)).toBe(0n)
    expect(snowflakeFromTime(Number.MAX_SAFE_INTEGER)).toBe(BigInt(MAX_SNOWFLAKE_TIMESTAMP) << 22n)
  })
})

describe("makeSnowflakeGenerator", () => {
  it("refuses a worker id outside 0..1023", () => {
    for (const workerId of [-1, 1024, 1.5, NaN]) {
      const result = makeSnowflakeGenerator(workerId, Date.now)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(result.left).toBeInstanceOf(InvalidWorkerId)
    }
  })

  it("stamps ids with its worker id and the clock", () => {
    const ids = generator(42, () => VOX_EPOCH_MS + 5000)
    expect(snowflakeParts(ids.next())).toEqual({ timestampMs: 5000, workerId: 42, sequence: 0 })
    expect(snowflakeParts(ids.next())).toEqual({ timestampMs: 5000, workerId: 42, sequence: 1 })
  })

  it("is strictly increasing over 10k calls of the real clock", () => {
    const ids = generator(3, Date.now)
    expectStrictlyIncreasing(Array.from({ length: 10_000 }, () => ids.next()))
  })

  it("stays strictly increasing when the clock steps back 5 s", () => {
    let clock = VOX_EPOCH_MS + 1_000_000
    const ids = generator(7, () => clock)
    const issued: Array<bigint> = []
    for (let i = 0; i < 10; i++) {
      issued.push(ids.next())
      clock++
    }
    const before = issued.at(-1) as bigint
    clock -= 5000
    for (let i = 0; i < 10_000; i++) {
      issued.push(ids.next())
      if (i % 3 === 0) clock++
    }
    expectStrictlyIncreasing(issued)
    // While the clock lags, ids keep the last timestamp rather than the clock's.
    expect(snowflakeParts(issued[10] as Snowflake).timestampMs).toBe(snowflakeParts(before as Snowflake).timestampMs)
  })

  it("moves to the next millisecond when 4096 sequence numbers run out, without waiting", () => {
    const ids = generator(9, () => VOX_EPOCH_MS + 777)
    const issued = Array.from({ length: 3 * (MAX_SEQUENCE + 1) + 5 }, () => ids.next())
    expectStrictlyIncreasing(issued)
    expect(snowflakeParts(issued[MAX_SEQUENCE] as Snowflake)).toEqual({ timestampMs: 777, workerId: 9, sequence: 4095 })
    expect(snowflakeParts(issued[MAX_SEQUENCE + 1] as Snowflake)).toEqual({ timestampMs: 778, workerId: 9, sequence: 0 })
    expect(snowflakeParts(issued.at(-1) as Snowflake).timestampMs).toBe(780)
  })

  it("continues after lastIssued when restarted on a clock that is behind", () => {
    const first = generator(1, () => VOX_EPOCH_MS + 10_000)
    const last = first.next()
    const restarted = Either.getOrThrow(makeSnowflakeGenerator(1, () => VOX_EPOCH_MS + 9_000, { lastIssued: last }))
    expect(restarted.next() > last).toBe(true)
  })

  it("treats a clock before the Vox epoch as the epoch", () => {
    const ids = generator(0, () => 0)
    expect(ids.next()).toBe(0n)
    expect(ids.next()).toBe(1n)
  })
})

describe("Snowflake schema", () => {
  const decode = Schema.decodeUnknownEither(Snowflake)

  it("decodes 2^53+1 from parseJson as an exact bigint and writes it back as a number", () => {
    const parsed = parseJson('{"msg_id":9007199254740993}')
    if (!parsed.ok) throw new Error(parsed.error)
    const { msg_id } = Schema.decodeUnknownSync(Schema.Struct({ msg_id: Snowflake }))(parsed.value)
    expect(msg_id).toBe(9007199254740993n)
    expect(stringifyJson(Schema.encodeSync(Schema.Struct({ msg_id: Snowflake }))({ msg_id }))).toBe(
      '{"msg_id":9007199254740993}'
    )
  })

  it("accepts small ids as numbers and the whole uint64 range as bigint", () => {
    expect(decode(0)).toEqual(Either.right(0n))
    expect(decode(12345)).toEqual(Either.right(12345n))
    expect(decode(2n ** 64n - 1n)).toEqual(Either.right(2n ** 64n - 1n))
    expect(Schema.encodeSync(Snowflake)(decode(12345).pipe(Either.getOrThrow))).toBe(12345n)
  })

  it.each([
    [-1, "unsigned 64-bit"],
    [-1n, "unsigned 64-bit"],
    [1.5, "integer"],
    [2n ** 64n, "unsigned 64-bit"],
    [2 ** 60, "exact integer"],
    ["123", "Expected"]
  ])("rejects %s", (input, message) => {
    const result = decode(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) expect(result.left.message).toContain(message)
  })

  it("reads ids from URL text", () => {
    const fromString = Schema.decodeUnknownEither(SnowflakeFromString)
    expect(fromString("18446744073709551615")).toEqual(Either.right(2n ** 64n - 1n))
    for (const bad of ["", "-1", "01", "1.0", "1e3", " 1", "18446744073709551616", "0x10"]) {
      expect(Either.isLeft(fromString(bad))).toBe(true)
    }
    expect(Schema.encodeSync(SnowflakeFromString)(snowflakeFromTime(VOX_EPOCH_MS + 1))).toBe(String(1n << 22n))
  })
})
