// The file store `files.storage` names. The S3 client is loaded only when it is used: it is large, and
// a server on the local disk never needs it.
import { Effect, Layer } from "effect"
import { VoxConfig } from "../config/VoxConfig.js"
import { LocalFileStoreLive } from "./LocalFileStore.js"

export const FileStoreLive = Layer.unwrapEffect(
  Effect.map(VoxConfig, (config) =>
    config.files.storage === "s3"
      ? Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./S3FileStore.js")), (m) => m.S3FileStoreLive))
      : LocalFileStoreLive)
)
