// Where the entities run. One node: a SingleRunner in this process, its message storage in the
// server's own database. Entities only see `Sharding`, so a later multi-runner layer on PostgreSQL
// (NodeClusterSocket with SQL runner storage) replaces this one without touching them.
import { RunnerAddress, SingleRunner } from "@effect/cluster"
import { Effect, Layer, Option } from "effect"
import { VoxConfig } from "../config/VoxConfig.js"

export const ClusterLive = Layer.unwrapEffect(
  Effect.map(VoxConfig, (config) =>
    SingleRunner.layer({
      // The runner table would hold shard locks of a killed process until they expire; a single
      // node owns every shard anyway, so its runner bookkeeping stays in memory.
      runnerStorage: "memory",
      shardingConfig: {
        // SingleRunner reads HOST/PORT from the environment unless told: pin it (primer §2.5).
        runnerAddress: Option.some(RunnerAddress.make("localhost", 0)),
        // Every caller of an entity is in this process: a call hands its payload over as it is
        // instead of encoding and decoding it on the way (what a remote runner would need).
        simulateRemoteSerialization: false,
        entityMaxIdleTime: config.cluster.entityMaxIdleTime,
        entityTerminationTimeout: config.cluster.entityTerminationTimeout
      }
    }))
)
