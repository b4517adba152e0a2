// `compress=zstd` (seed 002 §4 "Compression"): each server→client message is compressed with one
// zstd stream per connection, flushed after every message, so a message decodes as soon as it
// arrives and later messages reuse the earlier ones as context (small JSON events compress to about a
// quarter that way, against four fifths as independent frames). Parameters per dependency-notes.md:
// level 1 with a 32 KiB window keeps a context near 120 KB, for ten thousand connections about 1.2 GB.
import { createRequire } from "node:module"
import type * as Binding from "zstd-napi/binding.js"

const binding = createRequire(import.meta.url)("zstd-napi/binding") as typeof Binding

export interface ZstdStream {
  /** The next message of the stream, complete and decodable by itself given the ones before it. */
  readonly compress: (message: string) => Buffer
}

export const makeZstdStream = (): ZstdStream => {
  const ctx = new binding.CCtx()
  ctx.setParameter(binding.CParameter.compressionLevel, 1)
  ctx.setParameter(binding.CParameter.windowLog, 15)
  ctx.setParameter(binding.CParameter.hashLog, 14)
  ctx.setParameter(binding.CParameter.chainLog, 14)
  let out = Buffer.allocUnsafe(64 * 1024)
  return {
    compress: (message) => {
      let input = Buffer.from(message, "utf8")
      const chunks: Array<Buffer> = []
      for (;;) {
        const [remaining, produced, consumed] = ctx.compressStream2(out, input, binding.EndDirective.flush)
        chunks.push(Buffer.from(out.subarray(0, produced)))
        input = input.subarray(consumed)
        if (remaining === 0 && input.length === 0) break
        if (produced === out.length) out = Buffer.allocUnsafe(out.length * 2)
      }
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    }
  }
}
