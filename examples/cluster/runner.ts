/**
 * A runner of the example, as an actor module: an actor that enables it hosts the Jobs entity, one
 * actor process per active entity, on the shared store.
 */
import * as Cluster from "effect-tractor/Cluster"
import { JobsEntity, sharding } from "./jobs.ts"
import { store } from "./store.ts"

export const Runner = Cluster.runner({
  entities: Cluster.toLayer(JobsEntity, { modules: [new URL("./jobs.ts", import.meta.url)], maxIdleTime: "30 seconds" }),
  sql: store,
  shardingConfig: sharding
})
