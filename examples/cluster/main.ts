/**
 * A local cluster in one command: this root spawns the runners as actors (two on Postgres, one on
 * SQLite) and is itself a client of the cluster (it hosts no shard). It sends jobs to six entities,
 * then prints where each ran. Every runner, and every entity's actor below it, is reaped when it
 * ends.
 *
 *     npx tsx examples/cluster/main.ts                                        # SQLite, one runner
 *     CLUSTER_PG_URL=postgres://user@127.0.0.1:5432/db npx tsx examples/cluster/main.ts   # two runners
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Cluster from "effect-tractor/Cluster"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { JobsEntity, sharding } from "./jobs.ts"
import { postgresUrl, store } from "./store.ts"

const runners = postgresUrl !== undefined ? ["runner_0", "runner_1"] : ["runner_0"]

const client = NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: sharding }).pipe(
  Layer.provide(store),
  Layer.orDie
)

const program = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const portals = yield* Effect.forEach(runners, (name) =>
      Nursery.spawn(nursery, name, {
        modules: [new URL("./runner.ts", import.meta.url)],
        // native or self-locating packages load from where they are installed
        external: ["@libsql/client", "libsql", "pg"],
        // a runner that dies is the cluster's to fail over: its shards move to the others
        restart: "temporary"
      }))
    const where = new Map<number, string>()
    for (const portal of portals) {
      const address = yield* Portal.call(portal, Cluster.RunnerProtocol.address, undefined)
      yield* Console.log(`${portal.actor.name} listens on ${address}`)
    }
    // with several runners, the first one held every shard until the others joined: a few refresh
    // intervals let the shards settle before the jobs go out (an entity that moves starts afresh)
    if (portals.length > 1) yield* Effect.sleep("3 seconds")
    const jobs = yield* JobsEntity.client
    const ids = ["a", "b", "c", "d", "e", "f"]
    const results = yield* Effect.forEach(ids, (id) => jobs(id).primesBelow(20_000), { concurrency: "unbounded" })
    const again = yield* jobs("a").primesBelow(1_000)
    const tree = yield* ActorRuntime.tree
    for (const runner of tree.children) for (const actor of runner.children) where.set(actor.pid, runner.name)
    results.forEach((r, i) => console.log(`Jobs ${ids[i]}: ${r.primes} primes below 20000, in ${where.get(r.pid) ?? "?"}`))
    yield* Console.log(`Jobs a again: ${again.primes} primes below 1000, job ${again.jobs} of the same actor: ${again.pid === results[0]!.pid}`)
  })
).pipe(Effect.provide(client))

// the runners and their actors are reaped when the program ends; the cluster client's timers
// (on Postgres) would keep the process waiting, so it exits at once
ActorRuntime.runMain(program, {
  teardown: (exit, onExit) => {
    const code = exit._tag === "Success" ? 0 : 1
    onExit(code)
    process.exit(code)
  }
})
