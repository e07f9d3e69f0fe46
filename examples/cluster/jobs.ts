/**
 * The entity of the cluster example: a job queue per entity id whose handler does CPU work (it
 * counts the primes below a bound) in the entity's own actor process, and keeps a tally there.
 * This module declares the protocol, its implementation (run by the actors), the entity derived
 * from it and the sharding settings every runner and client shares.
 */
import * as Entity from "@effect/cluster/Entity"
import * as Actor from "effect-tractor/Actor"
import * as Cluster from "effect-tractor/Cluster"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const Jobs = Actor.protocol("Jobs", {
  /** the primes below `below`, counted here; with how many jobs this entity's actor has run */
  primesBelow: Actor.fn({
    payload: Schema.Number,
    success: Schema.Struct({ primes: Schema.Number, jobs: Schema.Number, pid: Schema.Number })
  })
})

let jobs = 0

export const JobsLive = Actor.serve(Jobs, {
  primesBelow: (below) =>
    Effect.sync(() => {
      let primes = 0
      for (let n = 2; n < below; n++) {
        let prime = true
        for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false
        if (prime) primes++
      }
      return { primes, jobs: ++jobs, pid: process.pid }
    })
})

export const JobsEntity: Entity.Entity<"Jobs", Cluster.Rpcs<typeof Jobs>> = Cluster.entity(Jobs)

/** short leases, for a quick demo; the defaults (35 s leases) suit production */
export const sharding = {
  shardsPerGroup: 30,
  shardLockExpiration: "3 seconds",
  shardLockRefreshInterval: "1 second",
  refreshAssignmentsInterval: "500 millis",
  runnerHealthCheckInterval: "1 second"
} as const
