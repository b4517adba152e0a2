// Settings of this Vox server. Every key is optional; environment variables (VOX_HTTP_PORT, ...) and
// command-line flags override what is written here. See README.md "Configuration" for every setting.
import type { VoxConfigFile } from "./src/runtime/config/VoxConfig.js"

export default {
  // http: { host: "0.0.0.0", port: 8080, publicUrl: "https://chat.example.com" },
  // dataDir: "./data",
  // database: { url: "postgres://vox:secret@127.0.0.1:5432/vox" },
  // server: { name: "My Community", workerId: 0 },
  // auth: { sessionTtl: "30 days", registration: "open" }, // registration: "open" | "invite" | "closed"
  // auth: { secretKey: "<32 bytes, base64>" }, // seals TOTP secrets; unset: <dataDir>/secret.key, created on first start
  // auth: { webauthn: { rpId: "chat.example.com", rpName: "My Community", origin: "https://chat.example.com" } }, // security keys and passkeys
  // events: { retention: "7 days" }, // how far back POST /api/v1/sync can answer, and gateway sessions can resume
  // gateway: { heartbeatInterval: "45 seconds", maxBufferedBytes: 4194304 }, // a client that stops reading is closed past maxBufferedBytes
  // embeds: { timeout: "5 seconds", maxBytes: 1048576, allowHosts: ["wiki.internal:8080"] }, // link previews; allowPrivateAddresses: true only for development
  // files: { maxBytes: 26214400, allowedTypes: ["image/*", "application/pdf"] }, // uploads; stored in <dataDir>/files
  // files: { unattachedTtl: "24 hours", sweepInterval: "1 hour" }, // uploads no message took up are deleted after unattachedTtl
  // files: { storage: "s3", s3: { endpoint: "http://127.0.0.1:9000", bucket: "vox", accessKeyId: "...", secretAccessKey: "...", forcePathStyle: true } }, // or in an S3-compatible bucket
  // emoji: { maxBytes: 262144, stickerMaxBytes: 524288 }, // custom emoji and sticker images (PNG, GIF, WebP)
  // rateLimits: { auth: { requests: 5, per: "1 minute" }, messageSend: { requests: 5, per: "5 seconds" } }, // any category; see README
  // log: { level: "info" }
} satisfies VoxConfigFile
