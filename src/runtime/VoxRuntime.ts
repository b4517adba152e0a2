// The whole server as layers. `VoxCoreLive` is everything but the network edge (what `vox admin` runs);
// `VoxServerLive` adds the HTTP server. Tests build the same layers on a temporary data dir.
import { Effect, Layer, Logger, LogLevel } from "effect"
import { Access } from "../actors/community/access/Access.js"
import { CommunityLive } from "../actors/community/CommunityLive.js"
import { CommunityRepo } from "../actors/community/CommunityRepo.js"
import { MemberRepo } from "../actors/community/members/MemberRepo.js"
import { DmLive } from "../actors/dm/DmLive.js"
import { KeyDirectory } from "../actors/keys/KeyDirectory.js"
import { Pairing } from "../actors/keys/Pairing.js"
import { PairingExpiryLive } from "../actors/keys/PairingExpiry.js"
import { KeyRelaysLive } from "../actors/keys/relays.js"
import { FeedLive } from "../actors/feed/FeedLive.js"
import { LocalFeeds } from "../actors/feed/LocalFeeds.js"
import { Relationships } from "../actors/relationships/Relationships.js"
import { UserLive } from "../actors/user/UserLive.js"
import { UserRepo } from "../actors/user/UserRepo.js"
import { Accounts } from "./auth/Accounts.js"
import { Passwords } from "./auth/Passwords.js"
import { Revocations } from "./auth/Revocations.js"
import { Sessions } from "./auth/Sessions.js"
import { TwoFactor } from "./auth/TwoFactor.js"
import { ClusterLive } from "./cluster/Cluster.js"
import { VoxConfig } from "./config/VoxConfig.js"
import { DatabaseLive } from "./db/Database.js"
import { migrate } from "./db/Migrate.js"
import { SyncReadsLive } from "./db/SyncReads.js"
import { Embeds } from "./embeds/Embeds.js"
import { EventBus } from "./events/EventBus.js"
import { Events } from "./events/Events.js"
import { EventRetentionLive } from "./events/Retention.js"
import { FileCleanupLive } from "./files/Cleanup.js"
import { FileStoreLive } from "./files/FileStoreLive.js"
import { GatewayLive } from "./gateway/GatewayLive.js"
import { HttpAppLive, HttpServerLive } from "./http/HttpLive.js"
import { SendLane } from "./http/SendLane.js"
import { Snowflakes } from "./ids/Snowflakes.js"
import { RateLimiter } from "./ratelimit/RateLimiter.js"

/** The database, migrated before anyone reads it. */
export const MigratedDatabaseLive = Layer.effectDiscard(migrate).pipe(Layer.provideMerge(DatabaseLive))

/** `log.level` applied to everything the server runs. */
const LogLevelLive = Layer.unwrapEffect(
  Effect.map(VoxConfig, (config) => Logger.minimumLogLevel(LogLevel.fromLiteral(levels[config.log.level])))
)

const levels = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warning: "Warning",
  error: "Error",
  none: "None"
} as const

/**
 * Nothing exports spans, and each one costs allocations and a stack capture, for every request and
 * every SQL statement: the server runs with the tracer off. Built first, so every fiber the layers
 * above it start (entities, the HTTP server) inherits the setting.
 */
const TracerOffLive = Layer.setTracerEnabled(false)

/** Entities, services and storage: a Vox server without its network edge. */
export const VoxCoreLive = <E>(config: Layer.Layer<VoxConfig, E>) =>
  Layer.mergeAll(CommunityLive, UserLive, FeedLive, DmLive, Relationships.Default, KeyDirectory.Default, Pairing.Default, Accounts.Default, LogLevelLive).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        Access.Default,
        Sessions.Default,
        Passwords.Default,
        CommunityRepo.Default,
        MemberRepo.Default,
        UserRepo.Default,
        Events.Default,
        Embeds.Default,
        TwoFactor.Default
      )
    ),
    Layer.provideMerge(Layer.mergeAll(Snowflakes.Default, EventBus.Default, Revocations.Default, RateLimiter.Default, ClusterLive, SyncReadsLive, LocalFeeds.Live)),
    Layer.provideMerge(MigratedDatabaseLive),
    Layer.provideMerge(config),
    Layer.provide(TracerOffLive)
  )

/** The server: the core plus the HTTP API on the configured host and port. */
export const VoxServerLive = <E>(config: Layer.Layer<VoxConfig, E>) =>
  Layer.mergeAll(HttpAppLive, EventRetentionLive, FileCleanupLive, PairingExpiryLive).pipe(
    Layer.provideMerge(HttpServerLive),
    Layer.provideMerge(SendLane.Live),
    Layer.provideMerge(GatewayLive),
    // the opcodes of features beyond the gateway core: op 9 and op 10 (E2EE relays)
    Layer.provideMerge(KeyRelaysLive),
    // the server's alone: `vox admin` tools beside it must not touch uploads in progress
    Layer.provideMerge(FileStoreLive),
    Layer.provideMerge(VoxCoreLive(config))
  )
