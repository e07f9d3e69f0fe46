/**
 * A local cluster as a tree: a root spawns two runner actors (Cluster.runner) sharing one
 * Postgres (started here, on a throwaway data folder), and calls entities as a client-only member. Entities spread over both runners, each with
 * its actor under its runner; SIGKILL of a runner moves its entities to the survivor within the
 * lease, and leaves none of its actors behind.
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Redacted from "effect/Redacted"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Cluster from "../src/Cluster.ts"
import { CounterEntity, fastSharding } from "./fixtures/cluster/counter.ts"
import { checkOrphansAfterEach, descendants, fixture, isAlive } from "./utils/index.ts"
import { postgres, postgresMissing } from "./utils/postgres.ts"

checkOrphansAfterEach(6000)

const ids = Array.from({ length: 12 }, (_, i) => `e${i}`)

const missing = postgresMissing()

/** a runner actor on the Postgres at `url`: a runner that dies is the cluster's to fail over, not the tree's to restart */
const spawnRunner = (nursery: Nursery.Nursery, name: string, url: string) =>
  Nursery.spawn(nursery, name, {
    modules: [fixture("cluster/runner.ts")],
    external: ["@libsql/client", "libsql", "pg"],
    env: { CLUSTER_PG_URL: url },
    restart: "temporary",
    readyTimeout: "60 seconds"
  })

/** this process as a client of the cluster on the Postgres at `url` (it hosts no shard) */
const clientOf = (url: string) =>
  NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: fastSharding }).pipe(
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(url) })),
    Layer.orDie
  )

describe.skipIf(missing !== undefined)("a local cluster: runners as actors, on Postgres", () => {
  it.live("entities spread over two runners; SIGKILL one: the survivor answers for all within the lease, nothing of the dead runner is left", () => {
    let addresses: ReadonlyArray<string> = []
    return Effect.gen(function*() {
      const url = yield* postgres
      const client = clientOf(url)
      yield* Effect.gen(function*() {
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const runners = yield* Effect.all(
              ["runner_0", "runner_1"].map((name) => spawnRunner(nursery, name, url)),
              { concurrency: "unbounded" }
            )
            const [r0, r1] = runners as [Portal.Portal, Portal.Portal]
            addresses = yield* Effect.forEach(runners, (r) => Portal.call(r, Cluster.RunnerProtocol.address, undefined))
            assert.strictEqual(new Set(addresses).size, 2)
            const make = yield* CounterEntity.client
            const under = (runner: Portal.Portal) => new Set(descendants(runner.actor.pid))
            // every entity answers, from an actor below one of the runners, once the shards have
            // settled (the runner that started first held them all, and hands some over as the
            // other joins): two rounds in a row from the same actors
            const round = Effect.forEach(ids, (id) => make(id).add(1), { concurrency: 4 })
            let placed = yield* round
            for (let i = 0; i < 40; i++) {
              const next = yield* round
              const same = next.every((p, j) => p.pid === placed[j]!.pid && (under(r0).has(p.pid) || under(r1).has(p.pid)))
              placed = next
              if (same) break
              yield* Effect.sleep("250 millis")
            }
            const on0 = placed.filter((p) => under(r0).has(p.pid)).length
            const on1 = placed.filter((p) => under(r1).has(p.pid)).length
            assert.strictEqual(on0 + on1, ids.length, "every entity's actor is a child of a runner")
            assert.isAbove(on0, 0, "runner_0 hosts some")
            assert.isAbove(on1, 0, "runner_1 hosts some")
            // state between calls
            const again = yield* make("e0").add(1)
            assert.strictEqual(again.total, placed[0]!.total + 1)

            const dead = [...under(r1)]
            const killedAt = Date.now()
            process.kill(r1.actor.pid, "SIGKILL")
            // a call that was on its way to the dead runner may fail (cluster's delivery of a message
            // that is not persisted is at most once): the caller tries again, as a client would
            let retried = 0
            const after = yield* Effect.forEach(ids, (id) =>
              make(id).add(1).pipe(
                Effect.sandbox,
                Effect.tapError(() => Effect.sync(() => retried++)),
                Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 }),
                Effect.unsandbox
              ), { concurrency: 4 })
            const failover = Date.now() - killedAt
            assert.isTrue(after.every((p) => under(r0).has(p.pid)), "the survivor answers for every entity")
            // lease (3 s) + refresh (1 s) + 1 s
            assert.isBelow(failover, 5000, `failover took ${failover} ms`)
            yield* Effect.sleep("500 millis")
            assert.deepStrictEqual(dead.filter(isAlive), [], "no actor of the dead runner is left")
          })
        )
        // the survivor unregistered as it ended (a runner killed with SIGKILL cannot: its row stays,
        // marked unhealthy by the others)
        const sqlClient = yield* SqlClient.SqlClient
        const rows = yield* sqlClient<{ address: string }>`select address from cluster_runners`
        assert.notInclude(rows.map((r) => r.address).join(), addresses[0]!.split(":")[1]!, JSON.stringify(rows))
      }).pipe(Effect.provide(client))
    }).pipe(Effect.scoped)
  }, 90_000)
})

describe.skipIf(missing !== undefined)("persisted messages on a local cluster, on Postgres", () => {
  it.live("one sent while no runner is alive is delivered once a runner starts; the runner leaves the runners table as it ends", () =>
    Effect.gen(function*() {
      const url = yield* postgres
      yield* Effect.gen(function*() {
        const make = yield* CounterEntity.client
        // no runner yet: the message waits in the store
        yield* make("late").deposit({ id: "while-nobody-runs", n: 7 }, { discard: true })
        const sql = yield* SqlClient.SqlClient
        const waiting = yield* sql<{ n: number }>`select count(*)::int as n from cluster_messages`
        assert.strictEqual(waiting[0]!.n, 1, "saved before any runner exists")
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            yield* spawnRunner(nursery, "runner_late", url)
            // delivered: the entity's actor ran it (its total holds the 7) within a few polls
            const total = yield* make("late").add(0).pipe(
              Effect.map((a) => a.total),
              Effect.filterOrFail((t) => t === 7),
              Effect.retry({ schedule: Schedule.spaced("250 millis"), times: 40 })
            )
            assert.strictEqual(total, 7)
          })
        )
        const runners = yield* sql<{ n: number }>`select count(*)::int as n from cluster_runners`
        assert.strictEqual(runners[0]!.n, 0, "a runner that ended unregistered")
      }).pipe(Effect.provide(clientOf(url)))
    }).pipe(Effect.scoped), 90_000)
})

describe.skipIf(missing === undefined)("a local cluster on Postgres: skipped here", () => {
  it(`needs a Postgres server: ${missing}`, () => {})
})
