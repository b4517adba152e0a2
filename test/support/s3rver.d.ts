// The part of s3rver (an S3-compatible server for tests, without types of its own) the tests use.
declare module "s3rver" {
  import type { AddressInfo } from "node:net"

  interface S3rverOptions {
    address?: string
    port?: number
    silent?: boolean
    directory?: string
    configureBuckets?: ReadonlyArray<{ name: string }>
  }

  export default class S3rver {
    constructor(options: S3rverOptions)
    run(): Promise<AddressInfo>
    close(): Promise<void>
    /** S3 event notifications: `ObjectCreated:Put` for a PUT, `ObjectCreated:Post` for a completed multipart upload. */
    on(event: "event", listener: (event: { Records: ReadonlyArray<{ eventName: string; s3: { object: { key: string } } }> }) => void): this
  }
}
