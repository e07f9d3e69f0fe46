/**
 * The cost of the cluster hop. Sequential calls, each timed, after a warm-up:
 *   direct   Portal.call to an actor (a child of this process)
 *   plain    a plain @effect/cluster entity, its handler in the runner (no actor)
 *   bridge   the entity Cluster.entity derives from an actor protocol, each entity backed by its own
 *            actor (Cluster.toLayer): the cluster hop, then the portal call
 * The runner is this process (SingleRunner, SQLite through libsql), so the cluster hop here is the
 * cheapest there is: no network between client and runner.
 *
 * Usage: node --import tsx bench/scenarios/cluster.ts [warmup=200] [calls=1000]
 * Prints one `BENCH {...}` line.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cluster from "../../src/Cluster.ts"
import * as Nursery from "../../src/Nursery.ts"
import * as Portal from "../../src/Portal.ts"
import { BenchCounter, BridgeEntity, PlainEntity, PlainLive } from "../actors/cluster.ts"
import { emit, intArg, nowMs, quantile, summary } from "../lib/util.ts"

const WARMUP = intArg(0, 200)
const CALLS = intArg(1, 1000)
const modules = [new URL("../actors/cluster.ts", import.meta.url)]

const timed = <E, R>(call: (i: number) => Effect.Effect<unknown, E, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < WARMUP; i++) yield* call(i)
    const us: Array<number> = []
    for (let i = 0; i < CALLS; i++) {
      const start = nowMs()
      yield* call(i)
      us.push((nowMs() - start) * 1000)
    }
    const sorted = [...us].sort((a, b) => a - b)
    return { p50us: summary(us).median, p99us: quantile(sorted, 0.99) }
  })

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-tractor-bench-cluster-"))
const runner = Layer.mergeAll(
  Cluster.toLayer(BridgeEntity, { modules, external: ["@libsql/client", "libsql"] }),
  PlainLive
).pipe(
  Layer.provideMerge(SingleRunner.layer({ runnerStorage: "memory" })),
  Layer.provide(LibsqlClient.layer({ url: `file:${Path.join(dir, "cluster.db")}`, intMode: "bigint" })),
  Layer.orDie
)

const program = Effect.gen(function*() {
  const direct = yield* Nursery.open((nursery) =>
    Effect.flatMap(Nursery.spawn(nursery, "bench_counter", { modules }), (portal) =>
      timed(() => Portal.call(portal, BenchCounter.add, 1)))
  )
  const { bridge, plain } = yield* Effect.gen(function*() {
    const bridgeClient = (yield* BridgeEntity.client)("e1")
    const plainClient = (yield* PlainEntity.client)("e1")
    const plain = yield* timed(() => plainClient.add(1))
    const bridge = yield* timed(() => bridgeClient.add(1))
    return { bridge, plain }
  }).pipe(Effect.provide(runner))
  return { direct, plain, bridge }
})

const result = await Effect.runPromise(program)
Fs.rmSync(dir, { recursive: true, force: true })
emit({ variant: "cluster", warmup: WARMUP, calls: CALLS, ...result })
