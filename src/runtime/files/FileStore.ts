// Where the bytes of uploaded files live. An upload is first staged in a temporary file on the local
// disk (it is checked, hashed and typed while it arrives), then committed under its id. The local
// implementation keeps committed files on disk too (LocalFileStore.ts); the S3-compatible one uploads
// the staged file on commit and streams from the bucket on open (S3FileStore.ts). `files.storage`
// picks one (FileStoreLive.ts).
import { Context, type Effect, type Option, Schema, type Scope, type Stream } from "effect"
import type { FileId } from "../../protocol/api/files.js"

export class FileStoreError extends Schema.TaggedError<FileStoreError>()("FileStoreError", {
  operation: Schema.String,
  cause: Schema.Defect
}) {}

/** The store cannot be used at all (a bucket that does not exist, refused credentials): a startup error. */
export class FileStoreUnavailable extends Schema.TaggedError<FileStoreUnavailable>()("FileStoreUnavailable", {
  message: Schema.String
}) {}

export interface StagedFile {
  /** A local file to write the upload to; it is deleted when the staging scope closes, unless committed. */
  readonly path: string
}

export interface StoredFile {
  readonly size: number
  readonly content: Stream.Stream<Uint8Array, FileStoreError>
}

/** What is kept of a file: the file itself, and for images a thumbnail. */
export type FileVariant = "original" | "thumbnail"

export interface FileStoreShape {
  readonly stage: Effect.Effect<StagedFile, never, Scope.Scope>
  /** Keeps a complete, checked upload under `id`; durable when this succeeds. */
  readonly commit: (staged: StagedFile, id: FileId, variant: FileVariant) => Effect.Effect<void, FileStoreError>
  readonly open: (id: FileId, variant: FileVariant) => Effect.Effect<Option.Option<StoredFile>, FileStoreError>
  /** Removes every variant of `id`. */
  readonly remove: (id: FileId) => Effect.Effect<void, FileStoreError>
}

export class FileStore extends Context.Tag("vox/FileStore")<FileStore, FileStoreShape>() {}
