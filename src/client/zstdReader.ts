// Reading a `compress=zstd` gateway connection: one decompression stream per connection, fed each
// binary message in order; every message decodes to one complete JSON frame.
import { createRequire } from "node:module"
import type * as Binding from "zstd-napi/binding.js"

const binding = createRequire(import.meta.url)("zstd-napi/binding") as typeof Binding

export const makeZstdReader = () => {
  const ctx = new binding.DCtx()
  let out = Buffer.allocUnsafe(256 * 1024)
  return {
    decompress: (message: Uint8Array): string => {
      let input = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
      const chunks: Array<Buffer> = []
      for (;;) {
        const [, produced, consumed] = ctx.decompressStream(out, input)
        chunks.push(Buffer.from(out.subarray(0, produced)))
        input = input.subarray(consumed)
        // a full output buffer may hold back more: grow it and go on
        if (produced === out.length) out = Buffer.allocUnsafe(out.length * 2)
        else if (input.length === 0) break
      }
      return Buffer.concat(chunks).toString("utf8")
    }
  }
}
