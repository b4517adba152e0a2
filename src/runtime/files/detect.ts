// What a file is, judged by its bytes (the client's name and type are only advisory): a known magic
// signature at the start, else UTF-8 text, else application/octet-stream. Nothing is ever detected as
// a type a browser would run (HTML, SVG, JavaScript): those are text/plain or octet-stream.

/** A media type in the allowlist: `type/subtype`, or `type/*` for every subtype of a family. */
export const MEDIA_TYPE_PATTERN = /^[a-z0-9][a-z0-9.+-]*\/([a-z0-9][a-z0-9.+-]*|\*)$/

export const OCTET_STREAM = "application/octet-stream"
export const TEXT_PLAIN = "text/plain"

/** What `files.allowedTypes` accepts unless configured: common images, video, audio, PDF, text, zip. */
export const DEFAULT_ALLOWED_TYPES: ReadonlyArray<string> = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "video/mp4",
  "video/quicktime",
  "video/webm",
  "audio/mpeg",
  "audio/mp4",
  "audio/aac",
  "audio/ogg",
  "audio/wav",
  "audio/flac",
  "application/pdf",
  TEXT_PLAIN,
  "application/zip",
  OCTET_STREAM
]

/** Types shown inline by a download (everything else is an attachment): raster images only. */
export const INLINE_TYPES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"])

export const isAllowed = (allowed: ReadonlyArray<string>, mime: string): boolean =>
  allowed.some((entry) => entry === mime || (entry.endsWith("/*") && mime.startsWith(entry.slice(0, -1))))

/** Enough of the start of a file to recognise every signature below. */
export const HEAD_BYTES = 64

const ascii = (head: Uint8Array, at: number, text: string) => {
  if (head.length < at + text.length) return false
  for (let i = 0; i < text.length; i++) if (head[at + i] !== text.charCodeAt(i)) return false
  return true
}

const bytes = (head: Uint8Array, at: number, values: ReadonlyArray<number>) =>
  head.length >= at + values.length && values.every((v, i) => head[at + i] === v)

/** The ISO base media file brand (MP4, QuickTime, M4A) from an `ftyp` box. */
const isoMedia = (head: Uint8Array): string | undefined => {
  if (!ascii(head, 4, "ftyp") || head.length < 12) return undefined
  const brand = String.fromCharCode(head[8]!, head[9]!, head[10]!, head[11]!)
  if (brand === "qt  ") return "video/quicktime"
  if (brand === "M4A " || brand === "M4B ") return "audio/mp4"
  // HEIF/AVIF images share the container but are not video
  if (["heic", "heix", "mif1", "msf1", "avif", "avis"].includes(brand)) return undefined
  return "video/mp4"
}

/** Matroska/WebM: EBML header, then the DocType string close behind it. */
const matroska = (head: Uint8Array): string | undefined => {
  if (!bytes(head, 0, [0x1a, 0x45, 0xdf, 0xa3])) return undefined
  const text = String.fromCharCode(...head.subarray(0, HEAD_BYTES))
  return text.includes("webm") ? "video/webm" : undefined
}

/** An MPEG audio frame header: 11 sync bits, then a layer that is not the reserved 00 (that is AAC's ADTS). */
const mpegAudio = (head: Uint8Array): string | undefined => {
  if (head.length < 2 || head[0] !== 0xff || (head[1]! & 0xe0) !== 0xe0) return undefined
  const layer = (head[1]! >> 1) & 0x03
  if (layer !== 0) return "audio/mpeg"
  return (head[1]! & 0xf6) === 0xf0 ? "audio/aac" : undefined
}

/** The type a file's first bytes announce, if any. */
export const detectMagic = (head: Uint8Array): string | undefined => {
  if (bytes(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png"
  if (bytes(head, 0, [0xff, 0xd8, 0xff])) return "image/jpeg"
  if (ascii(head, 0, "GIF87a") || ascii(head, 0, "GIF89a")) return "image/gif"
  if (ascii(head, 0, "RIFF")) {
    if (ascii(head, 8, "WEBP")) return "image/webp"
    if (ascii(head, 8, "WAVE")) return "audio/wav"
    return undefined
  }
  if (ascii(head, 0, "%PDF-")) return "application/pdf"
  if (ascii(head, 0, "OggS")) return "audio/ogg"
  if (ascii(head, 0, "fLaC")) return "audio/flac"
  if (ascii(head, 0, "ID3")) return "audio/mpeg"
  if (bytes(head, 0, [0x50, 0x4b]) && (bytes(head, 2, [0x03, 0x04]) || bytes(head, 2, [0x05, 0x06]))) {
    return "application/zip"
  }
  return isoMedia(head) ?? matroska(head) ?? mpegAudio(head)
}

// C0 controls other than tab, line feed, vertical tab, form feed, carriage return and escape; DEL.
// eslint-disable-next-line no-control-regex
const BINARY_CONTROL = /[\u0000-\u0008\u000e-\u001a\u001c-\u001f\u007f]/

/**
 * Follows a file chunk by chunk: its first HEAD_BYTES, and whether all of it is UTF-8 text.
 * `type()` is the verdict once the whole file has been seen.
 */
export const makeDetector = () => {
  const head = new Uint8Array(HEAD_BYTES)
  let headLength = 0
  let text = true
  const decoder = new TextDecoder("utf-8", { fatal: true })
  return {
    update(chunk: Uint8Array) {
      if (headLength < HEAD_BYTES) {
        const take = Math.min(HEAD_BYTES - headLength, chunk.length)
        head.set(chunk.subarray(0, take), headLength)
        headLength += take
      }
      if (text) {
        try {
          text = !BINARY_CONTROL.test(decoder.decode(chunk, { stream: true }))
        } catch {
          text = false
        }
      }
    },
    /** The magic type, once enough of the file is in to tell (or the file ended). */
    magic(final: boolean): string | undefined | null {
      if (headLength < HEAD_BYTES && !final) return null
      return detectMagic(head.subarray(0, headLength))
    },
    type(): string {
      const magic = detectMagic(head.subarray(0, headLength))
      if (magic !== undefined) return magic
      if (text) {
        try {
          decoder.decode() // a multi-byte character cut off at the end is not text
        } catch {
          return OCTET_STREAM
        }
        return TEXT_PLAIN
      }
      return OCTET_STREAM
    }
  }
}
