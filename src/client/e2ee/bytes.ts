// Byte helpers shared by the E2EE modules: joining, UTF-8 and the base64 the protocol carries bytes in.
export const concat = (...parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export const utf8 = (text: string) => new TextEncoder().encode(text)

export const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

export const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"))
