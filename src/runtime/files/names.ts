// File names are display text only: storage paths come from server-issued ids. Still, a name travels
// back in Content-Disposition and into clients' "save as" dialogs, so it is cleaned of directories,
// control and bidirectional-override characters, and kept to a sane length.

export const MAX_NAME_LENGTH = 255
export const FALLBACK_NAME = "file"

// C0/C1 controls, DEL, and the bidi embeddings/overrides/isolates that can make "exe.png" display
// as "png.exe"; also zero-width characters and BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g

const MAX_EXTENSION = 16

/** The last path segment, without unsafe characters, trimmed, at most MAX_NAME_LENGTH characters. */
export const sanitizeFileName = (raw: string | undefined): string => {
  if (raw === undefined) return FALLBACK_NAME
  const base = raw.normalize("NFC").split(/[/\\]/).pop() ?? ""
  let name = base.replace(/[\t\n\v\f\r]/g, " ").replace(UNSAFE, "").replace(/\s+/g, " ").trim()
  // "..", "." and names made only of dots and spaces mean nothing; leading dots hide files on Unix
  name = name.replace(/^[.\s]+/, "").replace(/[.\s]+$/, "")
  if (name === "") return FALLBACK_NAME
  const chars = Array.from(name)
  if (chars.length <= MAX_NAME_LENGTH) return name
  // keep the extension when the name is cut
  const dot = name.lastIndexOf(".")
  const extension = dot > 0 ? Array.from(name.slice(dot)) : []
  if (extension.length > 1 && extension.length <= MAX_EXTENSION) {
    return chars.slice(0, MAX_NAME_LENGTH - extension.length).join("").trimEnd() + extension.join("")
  }
  return chars.slice(0, MAX_NAME_LENGTH).join("").trimEnd()
}

/** RFC 8187 value-chars: everything but unreserved attr-chars percent-encoded as UTF-8. */
const encodeExtValue = (value: string) =>
  encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/**
 * `attachment; filename="fallback"; filename*=UTF-8''...` (RFC 6266): the quoted ASCII fallback for
 * old clients, the exact name in filename*.
 */
export const contentDisposition = (disposition: "inline" | "attachment", name: string) => {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_")
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(name)}`
}
