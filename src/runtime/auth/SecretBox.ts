// The server key and what it protects: TOTP secrets sealed with AES-256-GCM, and keyed hashes
// (HMAC-SHA-256) for recovery codes and WebAuthn user handles. A copy of the database alone yields
// neither a TOTP secret nor a way to test recovery-code guesses offline.
//
// The key is `auth.secretKey` (32 bytes, base64) or, when unset, `<dataDir>/secret.key`, created on
// first start with mode 0600 so a fresh `npm start` works without any setup.
import { Effect, Option, Redacted } from "effect"
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { VoxConfig, VoxConfigError } from "../config/VoxConfig.js"

const KEY_FILE = "secret.key"
const VERSION = "v1"

const keyError = (source: string, message: string) =>
  new VoxConfigError({ setting: "auth.secretKey", source, message })

const decodeKey = (text: string, source: string) => {
  const key = Buffer.from(text.trim(), "base64")
  return key.length === 32
    ? Effect.succeed(key)
    : Effect.fail(keyError(source, `The server key in ${source} must be 32 bytes in base64.`))
}

/**
 * The key file of the data directory, created when absent. It is written under a temporary name and
 * linked into place, so two processes starting at once (the server and `vox admin`) end up with the
 * same key, and nobody ever reads a half-written file.
 */
const keyFromDataDir = (dataDir: string) =>
  Effect.gen(function* () {
    const file = Path.resolve(dataDir, KEY_FILE)
    const existing = yield* Effect.try({
      try: () => (Fs.existsSync(file) ? Fs.readFileSync(file, "utf8") : undefined),
      catch: (e) => keyError(file, `Cannot read the server key ${file}: ${String(e)}`)
    })
    if (existing !== undefined) {
      const mode = Fs.statSync(file).mode & 0o077
      if (mode !== 0) yield* Effect.logWarning(`${file} is readable by other users; chmod 600 it.`)
      return yield* decodeKey(existing, file)
    }
    const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`
    const failed = (e: unknown) => keyError(file, `Cannot create the server key ${file}: ${String(e)}`)
    yield* Effect.try({
      try: () => {
        Fs.mkdirSync(Path.dirname(file), { recursive: true })
        Fs.writeFileSync(temp, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" })
      },
      catch: failed
    })
    yield* Effect.try({ try: () => Fs.linkSync(temp, file), catch: (e) => e as NodeJS.ErrnoException }).pipe(
      // someone else created it first: theirs is the key
      Effect.catchIf((e) => e.code === "EEXIST", () => Effect.void),
      Effect.mapError(failed),
      Effect.ensuring(Effect.sync(() => Fs.rmSync(temp, { force: true })))
    )
    yield* Effect.logDebug(`Created the server key ${file}; back it up with the database.`)
    return yield* decodeKey(Fs.readFileSync(file, "utf8"), file)
  })

/** A sealed value that does not open: the key changed, or the row was tampered with. */
export class SealBroken extends Error {
  constructor(context: string) {
    super(`A sealed ${context} value cannot be opened: was the server key (auth.secretKey) changed?`)
  }
}

export class SecretBox extends Effect.Service<SecretBox>()("vox/SecretBox", {
  effect: Effect.gen(function* () {
    const config = yield* VoxConfig
    const master = yield* Option.match(config.auth.secretKey, {
      onSome: (key) => decodeKey(Redacted.value(key), "auth.secretKey"),
      onNone: () => keyFromDataDir(config.dataDir)
    })
    // One subkey per use, so a value made for one purpose is never valid for another.
    const subkey = (label: string) => Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `vox ${label}`, 32))
    const sealKey = subkey("seal v1")
    const hashKey = subkey("hash v1")

    /**
     * AES-256-GCM with a random 96-bit nonce. `context` (e.g. `totp:42`) is authenticated with it:
     * a value copied to another user's row does not open there.
     */
    const seal = (context: string, plaintext: Uint8Array) => {
      const iv = randomBytes(12)
      const cipher = createCipheriv("aes-256-gcm", sealKey, iv)
      cipher.setAAD(Buffer.from(context, "utf8"))
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
      return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url")}`
    }

    const open = (context: string, sealed: string) => {
      const [version, data] = sealed.split(".")
      if (version !== VERSION || data === undefined) return Effect.die(new SealBroken(context))
      return Effect.try({
        try: () => {
          const bytes = Buffer.from(data, "base64url")
          const decipher = createDecipheriv("aes-256-gcm", sealKey, bytes.subarray(0, 12))
          decipher.setAAD(Buffer.from(context, "utf8"))
          decipher.setAuthTag(bytes.subarray(bytes.length - 16))
          return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()])
        },
        catch: () => new SealBroken(context)
      }).pipe(Effect.orDie)
    }

    /** HMAC-SHA-256 under the server key: equal inputs give equal hashes, so rows can be looked up by it. */
    const keyedHash = (context: string, value: string) =>
      createHmac("sha256", hashKey).update(`${context}\u0000${value}`, "utf8").digest()

    return { seal, open, keyedHash } as const
  })
}) {}
