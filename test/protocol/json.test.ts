import { describe, expect, it } from "vitest"
import { MAX_JSON_DEPTH, parseJson, parseJsonExact, stringifyJson, type JsonParseResult } from "../../src/protocol/json.js"

const valueOf = (r: JsonParseResult): unknown => {
  if (!r.ok) throw new Error(`expected ok, got ${r.error} at ${r.position}`)
  return r.value
}

describe("parseJson: 64-bit integers", () => {
  it.each([
    ["9223372036854775808", 2n ** 63n],
    ["18446744073709551615", 2n ** 64n - 1n],
    ["-9223372036854775808", -(2n ** 63n)],
    ["9007199254740993", 9007199254740993n],
    ["9007199254740992", 9007199254740992n],
    ["-9007199254740992", -9007199254740992n],
    ["123456789012345678901234567890", 123456789012345678901234567890n]
  ])("%s becomes an exact bigint", (text, expected) => {
    expect(valueOf(parseJson(text))).toBe(expected)
    expect(valueOf(parseJson(`{"id":${text}}`))).toEqual({ id: expected })
  })

  it("round-trips 2^63, 2^64-1 and -(2^63) through stringifyJson", () => {
    for (const n of [2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n)]) {
      const text = stringifyJson({ id: n, list: [n] })
      expect(text).toBe(`{"id":${n},"list":[${n}]}`)
      expect(valueOf(parseJson(text))).toEqual({ id: n, list: [n] })
    }
  })

  it("keeps safe integers, fractions and exponents as numbers", () => {
    expect(valueOf(parseJson("9007199254740991"))).toBe(9007199254740991)
    expect(valueOf(parseJson("1000000000000000"))).toBe(1e15)
    expect(valueOf(parseJson("[1.5, 1e300, 123, 12345678901234567.5, 1E+2]"))).toEqual([1.5, 1e300, 123, 12345678901234568, 100])
    expect(Object.is(valueOf(parseJson("-0")), -0)).toBe(true)
    // Same inputs through the exact parser, whatever the fast path would do.
    expect(valueOf(parseJsonExact("[1.5, 1e300, 123, -0]"))).toEqual([1.5, 1e300, 123, -0])
    expect(Object.is((valueOf(parseJsonExact("[-0]")) as Array<number>)[0], -0)).toBe(true)
  })

  it("leaves long digit runs inside strings alone", () => {
    expect(valueOf(parseJson('{"token":"12345678901234567890","n":1}'))).toEqual({ token: "12345678901234567890", n: 1 })
  })
})

describe("parseJson: RFC 8259 strictness", () => {
  const BIG = "12345678901234567890" // forces the hand-written parser
  const malformed = [
    '{"a":1,}',
    "[1,]",
    "[01]",
    "[-01]",
    "{a:1}",
    '"\\x"',
    "[1]x",
    "",
    " ",
    "[",
    "{",
    '{"a"}',
    '{"a":}',
    '{"a" 1}',
    "[1 2]",
    "NaN",
    "Infinity",
    "-",
    "1.",
    ".5",
    "+1",
    "1e",
    "1e+",
    "tru",
    "nul",
    "[true false]",
    '"abc',
    '"a\u0001b"',
    '"\\u12G4"',
    '"\\u12"',
    "// c\n1",
    "/* c */ 1",
    "[1]]",
    "'a'",
    "\u00a01",
    "\ufeff1"
  ]

  it.each(malformed)("rejects %j on both paths", (text) => {
    expect(parseJson(text).ok).toBe(false)
    expect(parseJson(`[${BIG},${text}]`).ok).toBe(false)
    expect(parseJsonExact(text).ok).toBe(false)
  })

  it("agrees with JSON.parse on everything it accepts", () => {
    const valid = [
      '{"a":[1,2,{"b":null}],"c":true,"d":false,"e":"x\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"}',
      " \t\r\n[ ] ",
      "{ }",
      '"\\ud800"',
      '"é😀"',
      "0",
      "-1.25e-3",
      '{"a":1,"a":2}',
      '"\u2028\u2029"'
    ]
    for (const text of valid) expect(valueOf(parseJsonExact(text))).toEqual(JSON.parse(text))
  })

  it("reports where the problem is", () => {
    expect(parseJsonExact('{"a":1,}')).toMatchObject({ ok: false, position: 7 })
    expect(parseJsonExact("[1]x")).toMatchObject({ ok: false, position: 3 })
    expect(parseJsonExact("[01]")).toMatchObject({ ok: false, position: 2 })
    expect(parseJson("[1]x")).toMatchObject({ ok: false, position: 3 })
  })

  it(`limits nesting to ${MAX_JSON_DEPTH} on the exact path`, () => {
    const nest = (depth: number) => `${"[".repeat(depth)}${BIG}${"]".repeat(depth)}`
    expect(parseJson(nest(MAX_JSON_DEPTH)).ok).toBe(true)
    const tooDeep = parseJson(nest(MAX_JSON_DEPTH + 1))
    expect(tooDeep).toMatchObject({ ok: false, position: MAX_JSON_DEPTH })
    expect(parseJson(nest(300)).ok).toBe(false)
    expect(parseJson(`${'{"a":'.repeat(300)}${BIG}${"}".repeat(300)}`).ok).toBe(false)
  })
})

describe("parseJson: __proto__", () => {
  it.each([
    ["fast path", '{"__proto__":{"polluted":true},"n":1}'],
    ["exact path", '{"__proto__":{"polluted":true},"n":12345678901234567890}']
  ])("makes __proto__ an own data property (%s)", (_path, text) => {
    const value = valueOf(parseJson(text)) as Record<string, unknown>
    expect(Object.prototype.hasOwnProperty.call(value, "__proto__")).toBe(true)
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect((value as { polluted?: unknown }).polluted).toBeUndefined()
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.keys(value)).toEqual(["__proto__", "n"])
    expect(stringifyJson(value)).toBe(text)
  })
})

describe("stringifyJson", () => {
  it("writes bigints as bare integer literals and skips undefined like JSON.stringify", () => {
    expect(stringifyJson({ a: 2n ** 63n, b: [1n, "x"], c: undefined })).toBe('{"a":9223372036854775808,"b":[1,"x"]}')
  })

  it("matches JSON.stringify on bigint-free values", () => {
    const date = new Date(Date.UTC(2025, 0, 1))
    const samples: Array<unknown> = [
      { a: 1, b: "two", c: [true, false, null], d: { e: -0, f: 1.5e-7 } },
      [undefined, () => 1, Symbol("s"), NaN, Infinity, -Infinity],
      { u: undefined, f: () => 1, s: Symbol("s"), n: null },
      { date, nested: { toJSON: (key: string) => `key=${key}` } },
      [{ toJSON: (key: string) => `index=${key}` }],
      { quote: '"', backslash: "\\", control: "\u0000\u001f\n", lone: "\ud800x", pair: "😀", sep: "\u2028" },
      { '"odd key"': 1, "\ud800": 2, 10: "ten", 2: "two" },
      [new Number(3), new String("s"), new Boolean(false)],
      new Map([[1, 2]]),
      Object.assign(new Array<unknown>(2), { 1: 1 }),
      "plain",
      42,
      null,
      Object.assign(Object.create(null) as object, { x: 1 })
    ]
    for (const sample of samples) expect(stringifyJson(sample)).toBe(JSON.stringify(sample))
  })

  it("passes toJSON the property key and serialises what it returns, bigint included", () => {
    const seen: Array<string> = []
    const id = { toJSON: (key: string) => (seen.push(key), 2n ** 64n - 1n) }
    expect(stringifyJson({ id, list: [id] })).toBe('{"id":18446744073709551615,"list":[18446744073709551615]}')
    expect(seen).toEqual(["id", "0"])
  })

  it("preserves user strings that look like any placeholder verbatim", () => {
    const tricky = ["\u0000n123", "__bigint__123", "@@BIGINT:1@@", "123n", "\\u0000n1"]
    const value = { tricky, big: 2n ** 63n, [tricky[0] as string]: 2n ** 64n - 1n }
    const text = stringifyJson(value)
    expect(text).toBe(
      `{"tricky":${JSON.stringify(tricky)},"big":9223372036854775808,${JSON.stringify(tricky[0])}:18446744073709551615}`
    )
    expect(valueOf(parseJson(text))).toEqual(value)
  })

  it("gives a JSON text even for a top-level value JSON has no form for", () => {
    expect(stringifyJson(undefined)).toBe("null")
    expect(stringifyJson(() => 1)).toBe("null")
  })

  it("refuses a cycle as JSON.stringify does", () => {
    const a: Record<string, unknown> = { n: 1n }
    a["self"] = a
    expect(() => stringifyJson(a)).toThrow(TypeError)
  })

  it("serialises deep but acyclic values, repeated references included", () => {
    const shared = { x: 1n }
    let deep: unknown = shared
    for (let i = 0; i < 500; i++) deep = [deep, shared]
    const text = stringifyJson(deep)
    expect(text.startsWith("[".repeat(500))).toBe(true)
    expect(text.split('{"x":1}').length - 1).toBe(501)
  })
})
