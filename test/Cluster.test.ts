/**
 * The cluster bridge on one runner (SQLite through libsql, embedded): a protocol as an entity,
 * one actor process per active entity holding its state, passivation through the ladder, a crash
 * under a call as a typed error, persisted messages deduplicated by primary key.
 */
import * as Path from "node:path"
import type * as Sharding from "@effect/cluster/Sharding"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as Cluster from "../src/Cluster.ts"
import { Counter, CounterEntity } from "./fixtures/cluster/counter.ts"
import { checkOrphansAfterEach, descendants, fixture, tempDir, titleOf } from "./utils/index.ts"

checkOrphansAfterEach()


/** one runner in this process hosting `entities`, its store a fresh SQLite file */
const singleRunner = <E>(entities: Layer.Layer<never, E, Sharding.Sharding>) =>
  entities.pipe(
    Layer.provideMerge(SingleRunner.layer({ runnerStorage: "sql", shardingConfig: { entityMessagePollInterval: "200 millis" } })),
    // the cluster keeps 64-bit ids: read as bigints (as numbers, libsql refuses them)
    Layer.provide(LibsqlClient.layer({ url: `file:${Path.join(tempDir("effect-tractor-cluster-"), "cluster.db")}`, intMode: "bigint" })),
    Layer.orDie
  )

/** the Counter entity, an actor per active entity, on one runner */
const runner = (options: { readonly maxIdleTime?: Duration.DurationInput } = {}) =>
  singleRunner(Cluster.toLayer(CounterEntity, {
    modules: [fixture("cluster/counter.ts")],
    maxIdleTime: options.maxIdleTime ?? "1 minute"
  }))

/** the actor processes of this test process named for the entity `id` */
const actorsOf = (id: string) => descendants().filter((pid) => titleOf(pid)?.startsWith(`Counter-${id}@`))

describe("Cluster on one runner", () => {
  it.live("an entity's state lives in its own actor between calls; one actor per active entity; streams work", () =>
    Effect.gen(function*() {
      const client = yield* CounterEntity.client
      const a1 = yield* client("a").add(1)
      const a2 = yield* client("a").add(2)
      const b1 = yield* client("b").add(10)
      assert.deepStrictEqual([a1.total, a2.total, b1.total], [1, 3, 10])
      assert.strictEqual(a1.pid, a2.pid, "the same actor between calls")
      assert.notStrictEqual(a1.pid, b1.pid, "each entity its own actor")
      assert.deepStrictEqual(actorsOf("a"), [a1.pid])
      assert.deepStrictEqual(actorsOf("b"), [b1.pid])
      const counted = yield* Stream.runCollect(client("a").count(4))
      assert.deepStrictEqual(Chunk.toReadonlyArray(counted), [1, 2, 3, 4])
    }).pipe(Effect.provide(runner())))

  it.live("an idle entity is passivated: its actor is torn down, and the next call starts a fresh one", () =>
    Effect.gen(function*() {
      const client = yield* CounterEntity.client
      const first = yield* client("idle").add(5)
      assert.deepStrictEqual(actorsOf("idle"), [first.pid])
      // the reaper looks every 5 s at the most
      yield* Effect.suspend(() => actorsOf("idle").length === 0 ? Effect.void : Effect.fail("still there")).pipe(
        Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 60 })
      )
      const again = yield* client("idle").add(5)
      assert.notStrictEqual(again.pid, first.pid)
      assert.strictEqual(again.total, 5, "a passivated entity's state went with its actor")
    }).pipe(Effect.provide(runner({ maxIdleTime: "1 second" }))))

  it.live("an actor that crashes under a call: the caller gets the typed ActorError, the next call reaches a new actor", () =>
    Effect.gen(function*() {
      const client = yield* CounterEntity.client
      const before = yield* client("fragile").add(1)
      const error = yield* Effect.flip(client("fragile").crash())
      assert.instanceOf(error, ActorError.TransportClosed, String(error))
      const after = yield* client("fragile").add(1)
      assert.notStrictEqual(after.pid, before.pid)
      assert.strictEqual(after.total, 1)
      assert.deepStrictEqual(actorsOf("fragile"), [after.pid])
    }).pipe(Effect.provide(runner())))

  it.live("a persisted message sent twice with one primary key runs its handler once", () =>
    Effect.gen(function*() {
      const client = yield* CounterEntity.client
      const first = yield* client("bank").deposit({ id: "d-1", n: 5 })
      const again = yield* client("bank").deposit({ id: "d-1", n: 5 })
      const other = yield* client("bank").deposit({ id: "d-2", n: 5 })
      assert.deepStrictEqual([first, again, other], [1, 1, 2])
      assert.strictEqual((yield* client("bank").add(0)).total, 10, "the duplicate added nothing")
    }).pipe(Effect.provide(runner())))
})

describe("Cluster on one runner, pool mode", () => {
  it.live("the runner's entities share one worker pool: no actor per entity, every call on one of the pool's workers", () =>
    Effect.gen(function*() {
      const client = yield* CounterEntity.client
      const pids = yield* Effect.forEach(["p", "q", "r", "s"], (id) => Effect.map(client(id).add(1), (a) => a.pid), { concurrency: 4 })
      const workers = descendants().filter((pid) => titleOf(pid)?.startsWith("worker_"))
      assert.strictEqual(workers.length, 2, "the pool's two workers")
      assert.isTrue(pids.every((pid) => workers.includes(pid)), `${pids} ran on ${workers}`)
      assert.deepStrictEqual(["p", "q", "r", "s"].flatMap(actorsOf), [], "no actor of its own per entity")
    }).pipe(Effect.provide(
      singleRunner(Cluster.toLayer(CounterEntity, { mode: "pool", size: 2, modules: [fixture("cluster/counter.ts")] }))
    )))
})

describe("Cluster.entity refuses what has no cluster counterpart, saying what to do", () => {
  const Chat = Actor.protocol("Chat", {
    hello: Actor.fn({ success: Schema.String }),
    talk: Actor.dialog({ payload: Schema.String, started: Schema.String, parentSends: Schema.String, childSends: Schema.String })
  })
  it("a dialog", () => {
    assert.throws(() => Cluster.entity(Chat as any), /Chat\.talk is a dialog, and a cluster entity has calls and server streams only/)
  })
  it("a primary key on a payload that is not a struct, or on a message that is not persisted", () => {
    assert.throws(() => Cluster.entity(Counter, { add: { persisted: true, primaryKey: String } } as any), /Counter\.add has a primary key, which needs a Schema\.Struct payload/)
    assert.throws(() => Cluster.entity(Counter, { deposit: { primaryKey: (p) => p.id } }), /Counter\.deposit has a primary key but is not persisted/)
  })
  it("options for a function the protocol does not declare", () => {
    assert.throws(() => Cluster.entity(Counter, { refund: { persisted: true } } as any), /options for "refund", which Counter does not declare/)
  })
})
