// Photos carry what the camera knew: where (GPS), when, on what device (EXIF, XMP, IPTC, PNG text
// chunks). Every still image is re-encoded without any of it, turned upright first (orientation was
// EXIF too); its ICC colour profile stays. GIFs cannot hold EXIF and keep their bytes. Every image
// also gets a small WebP thumbnail of its first frame. All of it by sharp (libvips), loaded on first use.
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import { pipeline } from "node:stream/promises"
import type { Sharp, SharpOptions } from "sharp"
import { UnsupportedMediaType } from "../../protocol/errors.js"

/** The image types that are processed; everything else is stored as uploaded. */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"])

/** Thumbnails fit in this square, never enlarged. */
export const THUMBNAIL_SIZE = 256

/** Larger images are refused rather than decoded: a few bytes can claim billions of pixels. */
export const MAX_IMAGE_PIXELS = 100_000_000

export interface ProcessedImage {
  readonly width: number
  readonly height: number
  /** The re-encoded image written to the output path, or undefined when the original is kept (GIF). */
  readonly cleaned: { readonly size: number; readonly sha256: string } | undefined
}

const loadSharp = Effect.promise(async () => {
  const sharp = (await import("sharp")).default
  // libvips' operation cache would keep staged files open after they are deleted
  sharp.cache(false)
  return sharp
}).pipe(Effect.cached, Effect.runSync)

const hashFile = async (path: string) => {
  const hash = createHash("sha256")
  await pipeline(Fs.createReadStream(path), hash)
  return hash.digest("hex")
}

const encode = (image: Sharp, type: string): Sharp => {
  switch (type) {
    case "image/jpeg":
      return image.jpeg({ quality: 90 })
    case "image/png":
      return image.png()
    default:
      return image.webp({ quality: 90 })
  }
}

const undecodable = () =>
  new UnsupportedMediaType({
    message: `The image could not be decoded: it is damaged, or larger than ${MAX_IMAGE_PIXELS / 1_000_000} megapixels.`
  })

/**
 * Writes the image at `input` without its metadata to `output` (not for GIFs) and its thumbnail to
 * `thumbnail`. An image that cannot be decoded is refused: it would be stored with whatever it carries.
 */
export const processImage = (input: string, type: string, output: string, thumbnail: string) =>
  Effect.flatMap(loadSharp, (sharp) =>
    Effect.tryPromise({
      try: async (): Promise<ProcessedImage> => {
        const options: SharpOptions = { autoOrient: true, limitInputPixels: MAX_IMAGE_PIXELS, failOn: "error" }
        const animated = type === "image/gif" || type === "image/webp"
        let cleaned: ProcessedImage["cleaned"]
        let source = input
        if (type !== "image/gif") {
          const info = await encode(sharp(input, { ...options, animated }).keepIccProfile(), type).toFile(output)
          cleaned = { size: info.size, sha256: await hashFile(output) }
          source = output
        }
        const meta = await sharp(source, { ...options, animated }).metadata()
        await sharp(source, options)
          .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: "inside", withoutEnlargement: true })
          .webp({ quality: 75 })
          .toFile(thumbnail)
        // an animation's height is that of one frame
        return { width: meta.width, height: meta.pageHeight ?? meta.height, cleaned }
      },
      catch: (cause) => cause
    }).pipe(
      Effect.tapError((cause) => Effect.logDebug("image refused", cause)),
      Effect.mapError(undecodable)
    ))
