// The lossless JSON codec runs on every request and response: how it compares with the native one.
import { bench, describe } from "vitest"
import { parseJson, stringifyJson } from "../src/protocol/json.js"
import { makeSnowflakeGenerator } from "../src/protocol/snowflake.js"
import { Either } from "effect"

const generator = Either.getOrThrow(makeSnowflakeGenerator(1, Date.now))
const page = {
  items: Array.from({ length: 100 }, (_, i) => ({
    id: generator.next(),
    feed_id: 7,
    author_id: 1000 + i,
    body: `message number ${i} with some text that looks like chat`,
    reactions: [{ emoji: "👍", count: i % 5 }],
    permissions: 1n << 63n
  })),
  cursor: "eyJpZCI6MTIzNH0"
}
const text = stringifyJson(page)
const small = stringifyJson({ username: "alice", password: "correct horse battery" })

describe("stringify a page of 100 messages", () => {
  bench("stringifyJson (bigint exact)", () => void stringifyJson(page))
  bench("JSON.stringify (bigints as strings)", () => void JSON.stringify(page, (_, v) => (typeof v === "bigint" ? v.toString() : v)))
})

describe("parse a page of 100 messages", () => {
  bench("parseJson (64-bit exact)", () => void parseJson(text))
  bench("JSON.parse (lossy)", () => void JSON.parse(text))
})

describe("parse a login body (fast path)", () => {
  bench("parseJson", () => void parseJson(small))
  bench("JSON.parse", () => void JSON.parse(small))
})

describe("snowflakes", () => {
  bench("next()", () => void generator.next())
})
