// Reads a multipart/form-data upload straight off the request into a staged file: never more than a
// chunk in memory, the file hashed and typed as it passes. The size limit is enforced from the
// Content-Length before anything is read, and on the bytes as they arrive: the first byte past the
// limit stops the reading at once (the connection is then closed, so the rest is never read).
import { Effect, Metric } from "effect"
import * as MP from "multipasta"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import type { IncomingMessage } from "node:http"
import { FileTooLarge, InvalidBody, UnsupportedMediaType } from "../../protocol/errors.js"
import { isAllowed, makeDetector } from "./detect.js"

/** Room for the boundaries, part headers and the small fields around the file. */
export const MULTIPART_OVERHEAD = 64 * 1024
const MAX_PARTS = 8
const MAX_FIELD_BYTES = 4096

/** Bytes the server has read from upload requests: what a refused upload cost it. */
export const uploadBytesRead = Metric.counter("vox_upload_bytes_read", {
  description: "Bytes read from the bodies of file uploads, refused ones included"
})

export interface UploadOptions {
  readonly maxFileBytes: number
  readonly allowedTypes: ReadonlyArray<string>
  /** The form field carrying the file: `file` unless named (emoji and stickers send `image`). */
  readonly fileField?: string
}

export interface ReceivedUpload {
  /** the `name` field */
  readonly name: string | undefined
  /** the `mime` field: what the client says, kept only for the record */
  readonly mime: string | undefined
  /** the filename in the file part's Content-Disposition */
  readonly filename: string | undefined
  readonly size: number
  readonly sha256: string
  /** detected from the bytes */
  readonly type: string
}

export type UploadError = FileTooLarge | InvalidBody | UnsupportedMediaType

const invalid = (message: string) => new InvalidBody({ message, location: "body" })

const refusedType = (type: string) =>
  new UnsupportedMediaType({ message: `Files of type ${type} are not accepted on this server.` })

const describeMultipartError = (error: MP.MultipartError): string => {
  switch (error._tag) {
    case "ReachedLimit":
      return error.limit === "MaxParts"
        ? `An upload has at most ${MAX_PARTS} parts.`
        : `A form field is limited to ${MAX_FIELD_BYTES} bytes.`
    case "EndNotReached":
      return "The multipart body ended before its closing boundary."
    default:
      return "The multipart body is malformed."
  }
}

/** `multipart/form-data` with a boundary, else 415; a declared length past the limit, 413. */
const checkHeaders = (incoming: IncomingMessage, options: UploadOptions) =>
  Effect.gen(function* () {
    const contentType = incoming.headers["content-type"] ?? ""
    if (!/^multipart\/form-data\s*;.*\bboundary=/i.test(contentType)) {
      return yield* new UnsupportedMediaType({ message: "Uploads must be multipart/form-data." })
    }
    const declared = Number(incoming.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > options.maxFileBytes + MULTIPART_OVERHEAD) {
      return yield* new FileTooLarge({ max_bytes: options.maxFileBytes })
    }
    return contentType
  })

/**
 * Receives the upload into `destination` (a new file). Fails with FILE_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE
 * (not multipart, or a type outside the allowlist) or INVALID_BODY; on failure or interruption the
 * request is left unread past that point and `destination` is closed (the caller deletes it).
 */
export const receiveUpload = (incoming: IncomingMessage, destination: string, options: UploadOptions) =>
  Effect.gen(function* () {
    const contentType = yield* checkHeaders(incoming, options)
    const progress = { read: 0 }
    return yield* read(incoming, contentType, destination, options, progress).pipe(
      Effect.ensuring(Effect.suspend(() => Metric.incrementBy(uploadBytesRead, progress.read)))
    )
  })

const read = (
  incoming: IncomingMessage,
  contentType: string,
  destination: string,
  options: UploadOptions,
  progress: { read: number }
) =>
  Effect.async<ReceivedUpload, UploadError>((resume) => {
    const maxBodyBytes = options.maxFileBytes + MULTIPART_OVERHEAD
    const out = Fs.createWriteStream(destination, { flags: "wx" })
    const hash = createHash("sha256")
    const detector = makeDetector()
    const fileField = options.fileField ?? "file"
    const fields: { name?: string; mime?: string } = {}
    let settled = false
    let ended = false
    let parsed = false
    let signatureChecked = false
    let file: { filename: string | undefined; size: number; complete: boolean } | undefined

    const detach = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("close", onClose)
      incoming.off("error", onClose)
      out.off("drain", onDrain)
      incoming.pause()
    }
    /** Settles once the staged file is closed, so the caller can delete it. */
    const settle = (outcome: Effect.Effect<ReceivedUpload, UploadError>) => {
      if (settled) return
      settled = true
      detach()
      if (out.closed) return resume(outcome)
      out.once("close", () => resume(outcome))
      out.destroy()
    }
    const fail = (error: UploadError) => settle(Effect.fail(error))

    out.on("error", (cause) => settle(Effect.die(cause)))

    const parser = MP.make({
      headers: { "content-type": contentType },
      maxParts: MAX_PARTS,
      maxFieldSize: MAX_FIELD_BYTES,
      isFile: (info) => info.name === fileField,
      onField(info, value) {
        if (info.name !== "name" && info.name !== "mime") {
          return fail(invalid(`Unknown form field "${info.name}": an upload has the fields ${fileField}, name and mime.`))
        }
        if (fields[info.name] !== undefined) return fail(invalid(`The field "${info.name}" appears twice.`))
        fields[info.name] = MP.decodeField(info, value)
      },
      onFile(info) {
        if (file !== undefined) {
          fail(invalid("An upload carries exactly one file."))
          return () => {}
        }
        const current = { filename: info.filename, size: 0, complete: false }
        file = current
        return (chunk) => {
          if (settled) return
          if (chunk === null) {
            current.complete = true
            return
          }
          current.size += chunk.length
          if (current.size > options.maxFileBytes) return fail(new FileTooLarge({ max_bytes: options.maxFileBytes }))
          hash.update(chunk)
          detector.update(chunk)
          // A type refused by its signature is refused before the rest arrives.
          if (!signatureChecked) {
            const magic = detector.magic(false)
            if (magic !== null) signatureChecked = true
            if (typeof magic === "string" && !isAllowed(options.allowedTypes, magic)) return fail(refusedType(magic))
          }
          out.write(chunk)
        }
      },
      onError(error) {
        fail(invalid(describeMultipartError(error)))
      },
      onDone() {
        parsed = true
      }
    })

    const onDrain = () => incoming.resume()
    function onData(chunk: Buffer) {
      progress.read += chunk.length
      if (progress.read > maxBodyBytes) return fail(new FileTooLarge({ max_bytes: options.maxFileBytes }))
      try {
        parser.write(chunk)
      } catch {
        // the parser throws on a malformed filename* encoding
        return fail(invalid("The multipart body is malformed."))
      }
      if (!settled && out.writableNeedDrain) {
        incoming.pause()
        out.once("drain", onDrain)
      }
    }
    function onEnd() {
      ended = true
      if (settled) return
      try {
        parser.end()
      } catch {
        return fail(invalid("The multipart body is malformed."))
      }
      if (settled) return
      if (!parsed) return fail(invalid("The multipart body ended before its closing boundary."))
      if (file === undefined || !file.complete) return fail(invalid(`The "${fileField}" field is missing.`))
      const type = detector.type()
      if (!isAllowed(options.allowedTypes, type)) return fail(refusedType(type))
      const received: ReceivedUpload = {
        name: fields.name,
        mime: fields.mime,
        filename: file.filename,
        size: file.size,
        sha256: hash.digest("hex"),
        type
      }
      settled = true
      detach()
      out.once("close", () => resume(out.errored === null ? Effect.succeed(received) : Effect.die(out.errored)))
      out.end()
    }
    function onClose() {
      if (!ended) fail(invalid("The upload was cut off."))
    }

    incoming.on("data", onData)
    incoming.on("end", onEnd)
    incoming.on("close", onClose)
    incoming.on("error", onClose)
    incoming.resume()

    // Interrupted (the client went away): stop reading and close the staged file.
    return Effect.async<void>((done) => {
      if (settled) return done(Effect.void)
      settled = true
      detach()
      if (out.closed) return done(Effect.void)
      out.once("close", () => done(Effect.void))
      out.destroy()
    })
  })
