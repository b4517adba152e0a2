/**
 * Lossless JSON for VoxProtocol.
 *
 * Snowflakes and permission sets are uint64 values that travel as bare JSON numbers
 * (DECISIONS.md "IDs" and "Permissions"). `JSON.parse` rounds anything above 2^53 - 1 to
 * the nearest double and `JSON.stringify` refuses `bigint`, so every byte that crosses the
 * wire goes through this module instead.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonArray | JsonObject
export type JsonArray = ReadonlyArray<JsonValue>
export interface JsonObject {
  readonly [key: string]: JsonValue
}

export type JsonParseResult =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: string; readonly position: number }

/** Deepest nesting of arrays/objects the exact parser accepts (a top-level `[]` is depth 1). */
export const MAX_JSON_DEPTH = 256

// Every integer literal with at most 15 digits is below 2^53 and therefore exact as a double,
// so only a text with a run of 16+ digits can need bigint treatment. Runs inside strings or
// fractions also trigger the exact parser; that costs speed, never correctness.
const LONG_DIGIT_RUN = /\d{16}/

/**
 * Parses one JSON text (RFC 8259). Integers outside the safe range (|n| > 2^53 - 1) become
 * `bigint`; every other number (fractions, exponents, -0, small integers) stays a `number`.
 *
 * Texts without a long digit run go through the native `JSON.parse`, which is exact for them.
 * That path has no depth limit: V8's `JSON.parse` is iterative, so deep nesting cannot
 * overflow the stack there, and its `__proto__` keys already become own data properties.
 */
export const parseJson = (text: string): JsonParseResult => {
  if (LONG_DIGIT_RUN.test(text)) return parseJsonExact(text)
  try {
    const value: JsonValue = JSON.parse(text)
    return { ok: true, value }
  } catch {
    // V8's messages differ between versions and do not always carry a position; the exact
    // parser reports both consistently. It follows the same grammar, so it rejects too.
    const exact = parseJsonExact(text)
    return exact.ok ? { ok: false, error: "Invalid JSON", position: 0 } : exact
  }
}

class JsonSyntaxError {
  constructor(
    readonly message: string,
    readonly position: number
  ) {}
}

/**
 * The hand-written parser behind `parseJson`, usable directly when the caller wants the depth
 * limit (`MAX_JSON_DEPTH`) enforced whatever the text looks like.
 */
export const parseJsonExact = (text: string): JsonParseResult => {
  try {
    const parser = new Parser(text)
    parser.skipWhitespace()
    const value = parser.parseValue(0)
    parser.skipWhitespace()
    if (parser.pos < text.length) parser.fail("Unexpected data after JSON value")
    return { ok: true, value }
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { ok: false, error: e.message, position: e.position }
    // Only the engine itself (out of memory) can get here; that is not a syntax problem.
    throw e
  }
}

// Code points used by the parser, named so the grammar reads like RFC 8259 §2-§7.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const SLASH = 0x2f
const COMMA = 0x2c
const COLON = 0x3a
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const LBRACE = 0x7b
const RBRACE = 0x7d
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const LOWER_E = 0x65
const UPPER_E = 0x45

const isDigit = (c: number): boolean => c >= DIGIT_0 && c <= DIGIT_9

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

// 15 digits is the longest digit count that is always a safe integer (see LONG_DIGIT_RUN).
const ALWAYS_SAFE_DIGITS = 15

class Parser {
  pos = 0
  // Skips the run of characters a string copies verbatim; the native regex scan is ~25% faster
  // overall than a charCodeAt loop. Sticky and per parser, so no shared lastIndex state.
  // eslint-disable-next-line no-control-regex -- control characters are what ends such a run
  readonly plain = /[^"\\\u0000-\u001f]*/y
  constructor(readonly text: string) {}

  fail(message: string, position: number = this.pos): never {
    throw new JsonSyntaxError(message, position)
  }

  unexpected(): never {
    if (this.pos >= this.text.length) this.fail("Unexpected end of JSON input")
    this.fail(`Unexpected character ${JSON.stringify(this.text[this.pos])}`)
  }

  skipWhitespace(): void {
    const text = this.text
    let pos = this.pos
    for (;;) {
      const c = text.charCodeAt(pos)
      // RFC 8259 §2: only space, tab, LF and CR; NaN (end of text) ends the loop.
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++
      else break
    }
    this.pos = pos
  }

  parseValue(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos)
    switch (c) {
      case QUOTE:
        return this.parseString()
      case LBRACE:
        return this.parseObject(depth + 1)
      case LBRACKET:
        return this.parseArray(depth + 1)
      case 0x74: // t
        return this.parseLiteral("true", true)
      case 0x66: // f
        return this.parseLiteral("false", false)
      case 0x6e: // n
        return this.parseLiteral("null", null)
      default:
        if (c === MINUS || isDigit(c)) return this.parseNumber()
        return this.unexpected()
    }
  }

  parseLiteral<A extends JsonValue>(word: string, value: A): A {
    if (!this.text.startsWith(word, this.pos)) {
      // Point at the first character that differs, as a reader would look for it.
      let i = 0
      while (i < word.length && this.text.charCodeAt(this.pos + i) === word.charCodeAt(i)) i++
      this.pos += i
      this.unexpected()
    }
    this.pos += word.length
    return value
  }

  checkDepth(depth: number): void {
    if (depth > MAX_JSON_DEPTH) this.fail(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`)
  }

  parseArray(depth: number): JsonArray {
    this.checkDepth(depth)
    this.pos++ // [
    const out: Array<JsonValue> = []
    this.skipWhitespace()
    if (this.text.charCodeAt(this.pos) === RBRACKET) {
      this.pos++
      return out
    }
    for (;;) {
      this.skipWhitespace()
      out.push(this.parseValue(depth))
      this.skipWhitespace()
      const c = this.text.charCodeAt(this.pos)
      if (c === COMMA) {
        this.pos++
        continue
      }
      if (c === RBRACKET) {
        this.pos++
        return out
      }
      this.unexpected()
    }
  }

  parseObject(depth: number): JsonObject {
    this.checkDepth(depth)
    this.pos++ // {
    const out: Record<string, JsonValue> = {}
    this.skipWhitespace()
    if (this.text.charCodeAt(this.pos) === RBRACE) {
      this.pos++
      return out
    }
    for (;;) {
      this.skipWhitespace()
      // A member name must be a string: this also rejects `{a:1}` and a trailing comma.
      if (this.text.charCodeAt(this.pos) !== QUOTE) this.unexpected()
      const key = this.parseString()
      this.skipWhitespace()
      if (this.text.charCodeAt(this.pos) !== COLON) this.unexpected()
      this.pos++
      this.skipWhitespace()
      const value = this.parseValue(depth)
      if (key === "__proto__") {
        // Plain assignment would replace the prototype (and let a client smuggle inherited
        // properties into every lookup); JSON.parse makes it an own property, and so do we.
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true })
      } else {
        out[key] = value
      }
      this.skipWhitespace()
      const c = this.text.charCodeAt(this.pos)
      if (c === COMMA) {
        this.pos++
        continue
      }
      if (c === RBRACE) {
        this.pos++
        return out
      }
      this.unexpected()
    }
  }

  parseString(): string {
    const text = this.text
    let pos = this.pos + 1 // opening quote
    let segmentStart = pos
    let result = ""
    for (;;) {
      this.plain.lastIndex = pos
      this.plain.test(text)
      pos = this.plain.lastIndex
      const c = text.charCodeAt(pos)
      if (c === QUOTE) {
        this.pos = pos + 1
        return result + text.slice(segmentStart, pos)
      }
      if (c === BACKSLASH) {
        result += text.slice(segmentStart, pos)
        pos++
        const e = text.charCodeAt(pos)
        switch (e) {
          case QUOTE:
            result += '"'
            break
          case BACKSLASH:
            result += "\\"
            break
          case SLASH:
            result += "/"
            break
          case 0x62: // b
            result += "\b"
            break
          case 0x66: // f
            result += "\f"
            break
          case 0x6e: // n
            result += "\n"
            break
          case 0x72: // r
            result += "\r"
            break
          case 0x74: // t
            result += "\t"
            break
          case 0x75: {
            // u: exactly four hex digits; surrogate halves are taken as they come, like JSON.parse.
            let code = 0
            for (let i = 1; i <= 4; i++) {
              const h = hexValue(text.charCodeAt(pos + i))
              if (h < 0) {
                this.pos = pos + i
                if (this.pos >= text.length) this.unexpected()
                this.fail("Bad Unicode escape in JSON string")
              }
              code = code * 16 + h
            }
            result += String.fromCharCode(code)
            pos += 4
            break
          }
          default:
            this.pos = pos
            if (pos >= text.length) this.unexpected()
            this.fail("Bad escaped character in JSON string")
        }
        pos++
        segmentStart = pos
        continue
      }
      if (c < 0x20 || Number.isNaN(c)) {
        this.pos = pos
        if (pos >= text.length) this.fail("Unterminated string in JSON")
        this.fail("Bad control character in JSON string")
      }
      pos++
    }
  }

  parseNumber(): number | bigint {
    const text = this.text
    const start = this.pos
    let pos = start
    if (text.charCodeAt(pos) === MINUS) pos++
    const intStart = pos
    const first = text.charCodeAt(pos)
    if (first === DIGIT_0) {
      pos++
      // RFC 8259 §6: int = zero / ( digit1-9 *DIGIT ), so `01` is not a number.
      if (isDigit(text.charCodeAt(pos))) this.fail("Leading zero in JSON number", pos)
    } else if (isDigit(first)) {
      pos++
      while (isDigit(text.charCodeAt(pos))) pos++
    } else {
      this.pos = pos
      this.unexpected()
    }
    const intDigits = pos - intStart
    let integer = true
    if (text.charCodeAt(pos) === DOT) {
      integer = false
      pos++
      if (!isDigit(text.charCodeAt(pos))) {
        this.pos = pos
        this.unexpected()
      }
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    const e = text.charCodeAt(pos)
    if (e === LOWER_E || e === UPPER_E) {
      integer = false
      pos++
      const sign = text.charCodeAt(pos)
      if (sign === PLUS || sign === MINUS) pos++
      if (!isDigit(text.charCodeAt(pos))) {
        this.pos = pos
        this.unexpected()
      }
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    this.pos = pos
    const literal = text.slice(start, pos)
    const n = Number(literal)
    if (!integer || intDigits <= ALWAYS_SAFE_DIGITS || Number.isSafeInteger(n)) return n
    return BigInt(literal)
  }
}

/**
 * `JSON.stringify` for VoxProtocol: a `bigint` is written as a bare integer literal, exactly.
 *
 * Everything else matches `JSON.stringify(value)`: `toJSON(key)` is honoured, `undefined`,
 * functions and symbols are left out of objects and become `null` in arrays, non-finite
 * numbers become `null`, Number/String/Boolean/BigInt wrapper objects are unwrapped.
 * Differences: a top-level value with no JSON form gives `"null"` (never `undefined`), so the
 * result is always a JSON text; and `BigInt.prototype.toJSON`, should anyone define it, is
 * ignored, because the exact literal is the point of this function.
 *
 * A direct serializer rather than `JSON.stringify` with a replacer: it measured faster here,
 * and a bigint never passes through a placeholder string that user data could imitate.
 *
 * @throws TypeError on a cyclic value, as `JSON.stringify` does: that is a bug in the caller,
 * not a runtime condition, so it is not part of the result type.
 */
export const stringifyJson = (value: unknown): string => serialize(value, "", { depth: 0, ancestors: undefined }) ?? "null"

interface SerializeState {
  depth: number
  ancestors: Set<object> | undefined
}

// A cycle only exists if the recursion goes ever deeper, so ancestors are tracked from this
// depth on: ordinary responses never pay for the bookkeeping, and any cycle still repeats an
// object within one period past it.
const CYCLE_CHECK_DEPTH = 128

// Strings without quotes, backslashes, control characters or surrogates serialise verbatim;
// anything else goes to the native escaper, which also handles lone surrogates (ES2019).
// eslint-disable-next-line no-control-regex -- control characters are what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

const quote = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)

const hasToJSON = (v: object): v is { toJSON: (key: string) => unknown } =>
  typeof (v as { toJSON?: unknown }).toJSON === "function"

// `key` stays a number for array slots so the common case (no toJSON) never formats it.
const serialize = (input: unknown, key: string | number, state: SerializeState): string | undefined => {
  let value = input
  if (typeof value === "object" && value !== null && hasToJSON(value)) value = value.toJSON(String(key))
  switch (typeof value) {
    case "string":
      return quote(value)
    case "number":
      return Number.isFinite(value) ? String(value) : "null"
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return value.toString()
    case "object":
      if (value === null) return "null"
      return serializeObject(value, state)
    default:
      return undefined
  }
}

const serializeObject = (value: object, state: SerializeState): string | undefined => {
  if (value instanceof Number) return serialize(Number(value), "", state)
  if (value instanceof String) return quote(String(value))
  if (value instanceof Boolean) return value.valueOf() ? "true" : "false"
  if (value instanceof BigInt) return value.valueOf().toString()

  state.depth++
  if (state.depth > CYCLE_CHECK_DEPTH) {
    state.ancestors ??= new Set()
    if (state.ancestors.has(value)) throw new TypeError("stringifyJson: cyclic structure")
    state.ancestors.add(value)
  }
  let out: string
  if (Array.isArray(value)) {
    const items: ReadonlyArray<unknown> = value
    out = "["
    for (let i = 0; i < items.length; i++) {
      if (i > 0) out += ","
      out += serialize(items[i], i, state) ?? "null"
    }
    out += "]"
  } else {
    const record = value as Record<string, unknown>
    out = "{"
    let first = true
    for (const k of Object.keys(record)) {
      const s = serialize(record[k], k, state)
      if (s === undefined) continue
      out += first ? `${quote(k)}:${s}` : `,${quote(k)}:${s}`
      first = false
    }
    out += "}"
  }
  state.ancestors?.delete(value)
  state.depth--
  return out
}
