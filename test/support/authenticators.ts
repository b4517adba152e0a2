// Second factors for tests, written from the specifications and independent of the server's
// libraries: RFC 6238 TOTP codes (node:crypto HMAC), and a software WebAuthn authenticator that
// makes real ES256 keys and signatures with node:crypto and encodes its attestation in CBOR.
import { createHash, createHmac, createSign, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto"

// --- TOTP ------------------------------------------------------------------------------------------

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

export const base32Decode = (text: string): Buffer => {
  let bits = 0
  let value = 0
  const out: Array<number> = []
  for (const c of text.replace(/=+$/, "").toUpperCase()) {
    const index = BASE32.indexOf(c)
    if (index < 0) throw new Error(`not base32: ${c}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** RFC 4226 HOTP, SHA-1, 6 digits, of a base32 secret at a counter (the RFC 6238 time step). */
export const totpAt = (secret: string, step: number): string => {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = mac.readUInt32BE(offset) & 0x7fffffff
  return String(binary % 1_000_000).padStart(6, "0")
}

/** The RFC 6238 time step of now. */
export const currentStep = () => Math.floor(Date.now() / 30_000)

// --- CBOR (RFC 8949): the few types an attestation object needs --------------------------------------

export type Cbor = number | string | Uint8Array | ReadonlyMap<Cbor, Cbor>

const head = (major: number, length: number): Buffer => {
  if (length < 24) return Buffer.from([(major << 5) | length])
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length])
  if (length < 0x10000) {
    const b = Buffer.alloc(3)
    b[0] = (major << 5) | 25
    b.writeUInt16BE(length, 1)
    return b
  }
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(length, 1)
  return b
}

export const cbor = (value: Cbor): Buffer => {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8")
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value])
  const parts: Array<Buffer> = [head(5, value.size)]
  for (const [k, v] of value) parts.push(cbor(k), cbor(v))
  return Buffer.concat(parts)
}

// --- WebAuthn ------------------------------------------------------------------------------------------

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest()
const b64url = (data: Uint8Array | string) => Buffer.from(data).toString("base64url")

const FLAG_UP = 0x01
const FLAG_UV = 0x04
const FLAG_AT = 0x40

export interface Ceremony {
  /** The origin the "browser" reports in the client data. */
  readonly origin: string
  /** The RP id whose hash the authenticator puts in its data. */
  readonly rpId: string
  /** Whether the user was verified (PIN, biometrics): the UV flag. */
  readonly userVerified?: boolean
}

/** One credential on a software authenticator: a P-256 key pair and a signature counter. */
export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(32)
  private readonly privateKey: KeyObject
  private readonly publicKey: KeyObject
  counter = 0

  constructor() {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" })
    this.privateKey = pair.privateKey
    this.publicKey = pair.publicKey
  }

  get id() {
    return b64url(this.credentialId)
  }

  /** The public key as COSE_Key (RFC 9053): EC2, ES256, P-256. */
  private coseKey() {
    const jwk = this.publicKey.export({ format: "jwk" })
    return cbor(new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, "base64url")],
      [-3, Buffer.from(jwk.y!, "base64url")]
    ]))
  }

  private authData(rpId: string, flags: number, extra: Buffer = Buffer.alloc(0)) {
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), counter, extra])
  }

  private clientData(type: string, challenge: string, origin: string) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), "utf8")
  }

  /** navigator.credentials.create() with attestation "none". */
  register(challenge: string, ceremony: Ceremony) {
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.credentialId.length)
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, this.coseKey()])
    const flags = FLAG_UP | FLAG_AT | (ceremony.userVerified === false ? 0 : FLAG_UV)
    const attestationObject = cbor(new Map<Cbor, Cbor>([
      ["fmt", "none"],
      ["attStmt", new Map()],
      ["authData", this.authData(ceremony.rpId, flags, attested)]
    ]))
    return {
      client_data_json: b64url(this.clientData("webauthn.create", challenge, ceremony.origin)),
      attestation_object: b64url(attestationObject),
      credential_id: this.id
    }
  }

  /**
   * navigator.credentials.get(): signs authenticatorData ‖ SHA-256(clientDataJSON) with ES256.
   * The counter goes up by one first, unless `counter` pins it (a cloned key replaying an old one).
   */
  assert(challenge: string, ceremony: Ceremony & { readonly counter?: number }) {
    this.counter = ceremony.counter ?? this.counter + 1
    const authenticatorData = this.authData(ceremony.rpId, FLAG_UP | (ceremony.userVerified === false ? 0 : FLAG_UV))
    const clientData = this.clientData("webauthn.get", challenge, ceremony.origin)
    const signature = createSign("SHA256").update(Buffer.concat([authenticatorData, sha256(clientData)])).sign(this.privateKey)
    return {
      client_data_json: b64url(clientData),
      authenticator_data: b64url(authenticatorData),
      signature: b64url(signature),
      credential_id: this.id
    }
  }
}
