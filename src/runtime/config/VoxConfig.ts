// The server's settings: defaults < vox.config.ts (typed default export) < VOX_* environment < CLI flags.
// An invalid value anywhere is a startup error that names the setting; it never falls back silently.
import { Config, ConfigError, ConfigProvider, Context, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { DEFAULT_ALLOWED_TYPES, MEDIA_TYPE_PATTERN } from "../files/detect.js"
import { rateLimitsConfig, type RateLimitsFile } from "../ratelimit/quotas.js"

/**
 * The snowflake worker id of the `vox admin` tools. They may run beside a live server on the same
 * database; a worker id of their own keeps the ids they issue from ever colliding with the server's.
 */
export const ADMIN_TOOL_WORKER_ID = 1023

/** The values of `auth.registration`. */
export const REGISTRATION_MODES = ["open", "invite", "closed"] as const
export type RegistrationMode = (typeof REGISTRATION_MODES)[number]

/** The values of `files.storage`. */
export const FILE_STORAGES = ["local", "s3"] as const
export type FileStorage = (typeof FILE_STORAGES)[number]

/** The bucket is required with `s3`, and the two keys go together. */
const checkFileStorage = <
  F extends { storage: FileStorage; s3: { bucket: Option.Option<string>; accessKeyId: Option.Option<string>; secretAccessKey: Option.Option<unknown> } }
>(files: F): Either.Either<F, ConfigError.ConfigError> => {
  if (files.storage !== "s3") return Either.right(files)
  if (Option.isNone(files.s3.bucket)) {
    return Either.left(ConfigError.MissingData(["s3", "bucket"], "Expected the bucket's name, as files.storage is s3"))
  }
  if (Option.isSome(files.s3.accessKeyId) !== Option.isSome(files.s3.secretAccessKey)) {
    const missing = Option.isNone(files.s3.accessKeyId) ? "accessKeyId" : "secretAccessKey"
    return Either.left(ConfigError.MissingData(["s3", missing], "Expected both files.s3.accessKeyId and files.s3.secretAccessKey, or neither"))
  }
  return Either.right(files)
}

const isSecretKey = (text: string) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(text.trim()) && Buffer.from(text.trim(), "base64").length === 32

/** The origin must be the RP id's host or one of its subdomains (WebAuthn's rule), and only an origin. */
const checkWebAuthn = <W extends { rpId: Option.Option<string>; origin: Option.Option<string> }>(
  webauthn: W
): Either.Either<W, ConfigError.ConfigError> => {
  if (Option.isNone(webauthn.rpId)) {
    return Option.isSome(webauthn.origin)
      ? Either.left(ConfigError.MissingData(["rpId"], "Expected auth.webauthn.rpId, as auth.webauthn.origin is set"))
      : Either.right(webauthn)
  }
  const rpId = webauthn.rpId.value
  if (!/^[a-z0-9.-]+$/i.test(rpId)) return Either.left(ConfigError.InvalidData(["rpId"], "Expected a domain name"))
  if (Option.isNone(webauthn.origin)) return Either.right(webauthn)
  let url: URL
  try {
    url = new URL(webauthn.origin.value)
  } catch {
    return Either.left(ConfigError.InvalidData(["origin"], "Expected an origin such as https://chat.example.com"))
  }
  const host = url.hostname.toLowerCase()
  const domain = rpId.toLowerCase()
  if (url.origin !== webauthn.origin.value.replace(/\/+$/, "") || (host !== domain && !host.endsWith("." + domain))) {
    return Either.left(ConfigError.InvalidData(["origin"], `Expected an origin on ${rpId} or a subdomain of it`))
  }
  return Either.right(webauthn)
}

const positiveInt = (name: string) =>
  Config.integer(name).pipe(Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }))

const voxConfig = Config.all({
  http: Config.all({
    host: Config.string("host").pipe(Config.withDefault("127.0.0.1")),
    // 0 asks the system for a free port (tests, `vox serve --port 0`)
    port: Config.integer("port").pipe(
      Config.validate({ message: "Expected a port number between 0 and 65535", validation: (n) => n >= 0 && n <= 65535 }),
      Config.withDefault(8080)
    ),
    /** The URL clients reach this server on (behind a proxy); derived from the request when unset. */
    publicUrl: Config.option(Config.url("publicUrl")),
    /** JSON request bodies above this many bytes get 413 PAYLOAD_TOO_LARGE before being read further. */
    maxBodyBytes: positiveInt("maxBodyBytes").pipe(Config.withDefault(1024 * 1024)),
    /** Log every request at INFO. */
    accessLog: Config.boolean("accessLog").pipe(Config.withDefault(false))
  }).pipe(Config.nested("http")),
  dataDir: Config.string("dataDir").pipe(Config.withDefault("./data")),
  database: Config.all({
    /** postgres://... switches from the embedded SQLite (file `vox.db` in dataDir) to PostgreSQL. */
    url: Config.option(
      Config.string("url").pipe(
        Config.validate({
          message: "Expected a postgres:// or postgresql:// URL",
          validation: (u) => /^postgres(ql)?:\/\//.test(u)
        }),
        Config.map(Redacted.make)
      )
    ),
    /** SQLite only: how long a writer waits for a lock held by another process (e.g. `vox admin`). */
    busyTimeout: Config.duration("busyTimeout").pipe(Config.withDefault(Duration.seconds(10)))
  }).pipe(Config.nested("database")),
  server: Config.all({
    /** The community's name until an administrator changes it (PATCH /api/v1/server). */
    name: Config.string("name").pipe(Config.withDefault("Vox")),
    /** Snowflake worker id (10 bits): unique per node of a cluster; 1023 belongs to `vox admin`. */
    workerId: Config.integer("workerId").pipe(
      Config.validate({
        message: `Expected an integer between 0 and ${ADMIN_TOOL_WORKER_ID - 1}`,
        validation: (n) => n >= 0 && n < ADMIN_TOOL_WORKER_ID
      }),
      Config.withDefault(0)
    )
  }).pipe(Config.nested("server")),
  auth: Config.all({
    sessionTtl: Config.duration("sessionTtl").pipe(Config.withDefault(Duration.days(30))),
    /**
     * The argon2id cost of password hashes: memory in KiB, passes and lanes. The defaults (64 MiB, 3, 4)
     * are what a server should use; nothing below OWASP's minimum (19 MiB, 2 passes) is accepted. Stored
     * hashes carry their own cost, so a change applies to new passwords and the old ones keep working.
     */
    passwordHash: Config.all({
      memory: Config.integer("memory").pipe(
        Config.validate({ message: "Expected KiB between 19456 and 4194304", validation: (n) => n >= 19456 && n <= 4194304 }),
        Config.withDefault(65536)
      ),
      passes: Config.integer("passes").pipe(
        Config.validate({ message: "Expected an integer between 2 and 20", validation: (n) => n >= 2 && n <= 20 }),
        Config.withDefault(3)
      ),
      lanes: Config.integer("lanes").pipe(
        Config.validate({ message: "Expected an integer between 1 and 16", validation: (n) => n >= 1 && n <= 16 }),
        Config.withDefault(4)
      )
    }).pipe(Config.nested("passwordHash")),
    /**
     * Who may create an account through the API: anyone (`open`), only someone holding an invite
     * (`invite`), or nobody (`closed`). The first account of a fresh server (its owner) and
     * `vox admin create-user` are always allowed.
     */
    registration: Config.literal(...REGISTRATION_MODES)("registration").pipe(Config.withDefault("open" as const)),
    /**
     * 32 bytes, base64: the key that seals TOTP secrets (AES-256-GCM) and keys the recovery-code hashes.
     * Unset: the key in `<dataDir>/secret.key`, created (mode 0600) on first start. Every node of a
     * cluster needs the same key.
     */
    secretKey: Config.option(
      Config.string("secretKey").pipe(
        Config.validate({ message: "Expected 32 bytes in base64", validation: isSecretKey }),
        Config.map(Redacted.make)
      )
    ),
    /** WebAuthn (security keys, passkeys); off until `rpId` is set. */
    webauthn: Config.all({
      /** The relying party id: the site's domain (`chat.example.com`), without scheme or port. */
      rpId: Config.option(Config.string("rpId")),
      rpName: Config.string("rpName").pipe(Config.withDefault("Vox")),
      /** The web client's origin (`https://chat.example.com`); default `https://<rpId>`. */
      origin: Config.option(Config.string("origin"))
    }).pipe(Config.mapOrFail(checkWebAuthn), Config.nested("webauthn"))
  }).pipe(Config.nested("auth")),
  events: Config.all({
    /**
     * How long the event log keeps events for POST /api/v1/sync; a client asking from further back is
     * told to refetch its state.
     */
    retention: Config.duration("retention").pipe(Config.withDefault(Duration.days(7)))
  }).pipe(Config.nested("events")),
  gateway: Config.all({
    /** Announced in HELLO; a connection silent for 1.5 times this is closed with 4007. */
    heartbeatInterval: Config.duration("heartbeatInterval").pipe(Config.withDefault(Duration.seconds(45))),
    /** Bytes queued for a client that does not read; beyond, its connection is closed (it may resume). */
    maxBufferedBytes: positiveInt("maxBufferedBytes").pipe(Config.withDefault(4 * 1024 * 1024)),
    /** Largest frame a client may send. */
    maxFrameBytes: positiveInt("maxFrameBytes").pipe(Config.withDefault(1024 * 1024))
  }).pipe(Config.nested("gateway")),
  files: Config.all({
    /** A cap in bytes on uploads, below the server limit `max_attachment_size_mb` (the smaller wins). */
    maxBytes: Config.option(positiveInt("maxBytes")),
    /** Types, as detected from a file's bytes, that may be uploaded: `image/png`, or `image/*` for a family. */
    allowedTypes: Config.array(
      Config.string().pipe(Config.validate({
        message: "Expected a media type such as image/png or image/*",
        validation: (t) => MEDIA_TYPE_PATTERN.test(t)
      })),
      "allowedTypes"
    ).pipe(Config.withDefault(DEFAULT_ALLOWED_TYPES)),
    /** Where stored files are kept: on the local disk under `<dataDir>/files`, or in an S3-compatible bucket (`files.s3`). */
    storage: Config.literal(...FILE_STORAGES)("storage").pipe(Config.withDefault("local" as const)),
    s3: Config.all({
      /** The server's URL (MinIO, Ceph, R2, ...); unset means AWS S3 itself. */
      endpoint: Config.option(Config.url("endpoint")),
      region: Config.string("region").pipe(Config.withDefault("us-east-1")),
      bucket: Config.option(Config.string("bucket")),
      /** Unset (both keys): the SDK's own credential chain (AWS_* environment, shared files, instance roles). */
      accessKeyId: Config.option(Config.string("accessKeyId")),
      secretAccessKey: Config.option(Config.redacted("secretAccessKey")),
      /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`: what most self-hosted servers want. */
      forcePathStyle: Config.boolean("forcePathStyle").pipe(Config.withDefault(false))
    }).pipe(Config.nested("s3")),
    /** An upload that no message carries is removed after this long. */
    unattachedTtl: Config.duration("unattachedTtl").pipe(Config.withDefault(Duration.hours(24))),
    /** How often unattached files, and those of deleted messages and feeds, are removed. */
    sweepInterval: Config.duration("sweepInterval").pipe(Config.withDefault(Duration.hours(1)))
  }).pipe(Config.mapOrFail(checkFileStorage), Config.nested("files")),
  emoji: Config.all({
    /** Largest custom emoji image in bytes; bigger uploads get 413 before the rest is read. */
    maxBytes: positiveInt("maxBytes").pipe(Config.withDefault(256 * 1024)),
    /** Largest sticker image in bytes. */
    stickerMaxBytes: positiveInt("stickerMaxBytes").pipe(Config.withDefault(512 * 1024))
  }).pipe(Config.nested("emoji")),
  keys: Config.all({
    /** How long a device pairing may take, from its request to the key transfer (seed 002 §8: 5 minutes). */
    pairTtl: Config.duration("pairTtl").pipe(Config.withDefault(Duration.minutes(5)))
  }).pipe(Config.nested("keys")),
  embeds: Config.all({
    /**
     * Let link previews (POST /api/v1/embeds/resolve) fetch loopback, private, link-local and other
     * non-public addresses, on any port. Off: the server cannot be used to probe its own network.
     */
    allowPrivateAddresses: Config.boolean("allowPrivateAddresses").pipe(Config.withDefault(false)),
    /** Exact `host:port` pairs exempt from the address and port checks (a trusted internal site, tests). */
    allowHosts: Config.array(
      Config.string().pipe(
        Config.validate({
          message: "Expected host:port entries, such as wiki.internal:8080 or [fd00::1]:443",
          validation: (entry) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(entry)
        }),
        Config.map((entry) => entry.toLowerCase())
      ),
      "allowHosts"
    ).pipe(Config.withDefault([] as ReadonlyArray<string>)),
    /** The whole resolution, redirects included. */
    timeout: Config.duration("timeout").pipe(Config.withDefault(Duration.seconds(5))),
    /** Bytes of a page read for its metadata; the rest is never downloaded. */
    maxBytes: positiveInt("maxBytes").pipe(Config.withDefault(1024 * 1024))
  }).pipe(Config.nested("embeds")),
  /** Requests per period of each rate-limit category (seed 002 §11): `rateLimits.auth.requests`, `.per`. */
  rateLimits: rateLimitsConfig.pipe(Config.nested("rateLimits")),
  cluster: Config.all({
    entityMaxIdleTime: Config.duration("entityMaxIdleTime").pipe(Config.withDefault(Duration.minutes(5))),
    entityTerminationTimeout: Config.duration("entityTerminationTimeout").pipe(
      Config.withDefault(Duration.seconds(3))
    )
  }).pipe(Config.nested("cluster")),
  log: Config.all({
    level: Config.literal("trace", "debug", "info", "warning", "error", "none")("level").pipe(
      Config.withDefault("info" as const)
    )
  }).pipe(Config.nested("log"))
})

export type VoxConfigShape = Config.Config.Success<typeof voxConfig>

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] }

/** The type of `vox.config.ts`'s default export: every key optional, durations as "30 days" strings. */
export type VoxConfigFile = DeepPartial<{
  http: { host: string; port: number; publicUrl: string; maxBodyBytes: number; accessLog: boolean }
  dataDir: string
  database: { url: string; busyTimeout: string }
  server: { name: string; workerId: number }
  auth: {
    sessionTtl: string
    passwordHash: { memory: number; passes: number; lanes: number }
    registration: RegistrationMode
    secretKey: string
    webauthn: { rpId: string; rpName: string; origin: string }
  }
  events: { retention: string }
  gateway: { heartbeatInterval: string; maxBufferedBytes: number; maxFrameBytes: number }
  files: {
    maxBytes: number
    allowedTypes: ReadonlyArray<string>
    storage: FileStorage
    s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean }
    unattachedTtl: string
    sweepInterval: string
  }
  emoji: { maxBytes: number; stickerMaxBytes: number }
  keys: { pairTtl: string }
  embeds: { allowPrivateAddresses: boolean; allowHosts: ReadonlyArray<string>; timeout: string; maxBytes: number }
  rateLimits: RateLimitsFile
  cluster: { entityMaxIdleTime: string; entityTerminationTimeout: string }
  log: { level: "trace" | "debug" | "info" | "warning" | "error" | "none" }
}>

/** A setting that could not be read: `setting` is the dotted key, `source` where the bad value came from. */
export class VoxConfigError extends Schema.TaggedError<VoxConfigError>()("VoxConfigError", {
  setting: Schema.String,
  source: Schema.String,
  message: Schema.String
}) {}

/** `http.maxBodyBytes` -> `VOX_HTTP_MAX_BODY_BYTES` */
export const envNameOf = (setting: string) =>
  "VOX_" + setting.split(".").map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_")

const envProvider = (env: ConfigProvider.ConfigProvider) =>
  env.pipe(ConfigProvider.constantCase, ConfigProvider.nested("VOX"))

/** The first failure of a ConfigError, as a setting name and a sentence. */
const describe = (error: ConfigError.ConfigError, source: string): VoxConfigError => {
  const first = ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, l: { path: ReadonlyArray<string>; message: string } | undefined, r) => l ?? r,
    orCase: (_, l, r) => l ?? r,
    invalidDataCase: (_, path, message) => ({ path, message }),
    missingDataCase: (_, path, message) => ({ path, message }),
    sourceUnavailableCase: (_, path, message) => ({ path, message }),
    unsupportedCase: (_, path, message) => ({ path, message })
  })
  // env paths arrive as VOX.HTTP.PORT; file and flag paths as http.port
  const path = (first?.path ?? []).filter((p, i) => !(i === 0 && p === "VOX"))
  const setting = source === "environment"
    ? path.map((p) => /[a-z]/.test(p) ? p : p.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())).join(".")
    : path.join(".")
  const where = source === "environment" ? `${envNameOf(setting)} (${setting})` : setting
  return new VoxConfigError({
    setting,
    source,
    message: `Invalid setting ${where} from ${source}: ${first?.message ?? "invalid value"}`
  })
}

const read = (provider: ConfigProvider.ConfigProvider, source: string) =>
  Effect.withConfigProvider(voxConfig, provider).pipe(Effect.mapError((e) => describe(e, source)))

// Node 20 cannot import() a .ts file, and a .ts file outside an ESM package would load as CommonJS:
// tsx's tsImport loads it as an ES module wherever it lives.
const importTs = (url: string): Promise<{ default?: unknown }> =>
  import("tsx/esm/api").then(({ tsImport }) => tsImport(url, import.meta.url) as Promise<{ default?: unknown }>)

/**
 * Loads the config file. An explicitly named file must exist; the implicit `./vox.config.ts` may be absent.
 */
export const loadConfigFile = (path: Option.Option<string>) =>
  Effect.gen(function* () {
    const abs = Path.resolve(Option.getOrElse(path, () => "vox.config.ts"))
    if (!Fs.existsSync(abs)) {
      if (Option.isSome(path)) {
        return yield* new VoxConfigError({ setting: "config", source: "command line", message: `Config file not found: ${abs}` })
      }
      return {}
    }
    const mod = yield* Effect.tryPromise({
      try: () => importTs(pathToFileURL(abs).href),
      catch: (e) => new VoxConfigError({ setting: "config", source: abs, message: `Cannot load ${abs}: ${String(e)}` })
    })
    // A file outside an ESM package arrives through CommonJS interop as { default: { default: ... } }.
    const outer = mod.default ?? {}
    const value = typeof outer === "object" && outer !== null && "default" in outer ? outer.default : outer
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return yield* new VoxConfigError({ setting: "config", source: abs, message: `${abs} must export an object by default` })
    }
    return value as VoxConfigFile
  })

export interface ConfigSources {
  /** Path of the config file (`--config`, else VOX_CONFIG, else ./vox.config.ts when present). */
  readonly file?: string | undefined
  /** Values from command-line flags: they win over everything. */
  readonly flags?: VoxConfigFile | undefined
  /** The environment (tests pass their own). */
  readonly env?: Record<string, string | undefined> | undefined
}

const fromEnvRecord = (env: Record<string, string | undefined>) =>
  ConfigProvider.fromMap(
    new Map(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    { pathDelim: "_" }
  )

/** Reads every source, each validated on its own first so a bad value is reported, not skipped. */
export const loadVoxConfig = (sources: ConfigSources = {}) =>
  Effect.gen(function* () {
    const envMap = sources.env ?? process.env
    const env = envProvider(fromEnvRecord(envMap))
    const file = yield* loadConfigFile(Option.fromNullable(sources.file ?? envMap.VOX_CONFIG))
    const flags = sources.flags ?? {}
    yield* read(ConfigProvider.fromJson(file), "the config file")
    yield* read(env, "environment")
    yield* read(ConfigProvider.fromJson(flags), "command line")
    return yield* read(
      ConfigProvider.fromJson(flags).pipe(
        ConfigProvider.orElse(() => env),
        ConfigProvider.orElse(() => ConfigProvider.fromJson(file))
      ),
      "configuration"
    )
  })

export class VoxConfig extends Context.Tag("vox/VoxConfig")<VoxConfig, VoxConfigShape>() {
  static readonly layer = (sources?: ConfigSources) => Layer.effect(VoxConfig, loadVoxConfig(sources))

  /** The settings of the `vox admin` tools: the server's, with the admin tools' own worker id. */
  static readonly layerAdminTool = (sources?: ConfigSources) =>
    Layer.effect(
      VoxConfig,
      Effect.map(loadVoxConfig(sources), (c) => ({ ...c, server: { ...c.server, workerId: ADMIN_TOOL_WORKER_ID } }))
    )

  /** Settings from an object only (no file, no environment): what tests use. */
  static readonly layerTest = (file: VoxConfigFile) => Layer.effect(VoxConfig, readOnly(file))
}

const readOnly = (file: VoxConfigFile) => read(ConfigProvider.fromJson(file), "test settings").pipe(Effect.orDie)

/** The SQLite file, or the PostgreSQL URL when one is configured. */
export type DatabaseTarget =
  | { readonly _tag: "sqlite"; readonly filename: string }
  | { readonly _tag: "pg"; readonly url: Redacted.Redacted<string> }

export const databaseTarget = (config: VoxConfigShape): DatabaseTarget =>
  Option.match(config.database.url, {
    onNone: () => ({ _tag: "sqlite", filename: Path.join(config.dataDir, "vox.db") }),
    onSome: (url) => ({ _tag: "pg", url })
  })
