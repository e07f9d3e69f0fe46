/**
 * Actor module for the cluster bench: a counter entity's protocol and its implementation (the
 * state lives in the actor), the entity derived from it, and a plain cluster entity with the same
 * RPC handled in the runner itself.
 */
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "../../src/Actor.ts"
import * as Cluster from "../../src/Cluster.ts"

export const BenchCounter = Actor.protocol("BenchCounter", {
  add: Actor.fn({ payload: Schema.Number, success: Schema.Number })
})

let total = 0
export const BenchCounterLive = Actor.serve(BenchCounter, { add: (n) => Effect.sync(() => (total += n)) })

export const BridgeEntity: Entity.Entity<"BenchCounter", Cluster.Rpcs<typeof BenchCounter>> = Cluster.entity(BenchCounter)

export const PlainEntity = Entity.make("PlainCounter", [Rpc.make("add", { payload: Schema.Number, success: Schema.Number })])

export const PlainLive = PlainEntity.toLayer(Effect.sync(() => {
  let state = 0
  return { add: ({ payload }: { readonly payload: number }) => Effect.sync(() => (state += payload)) }
}))
