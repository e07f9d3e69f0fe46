/**
 * The library's Effect metrics after a known workload: actors spawned and alive per nursery, spawn
 * time, restarts, ladder escalations, calls by function (in flight, by outcome, latency), bytes and
 * frames per link, and a stream's credit stalls. Metrics are per process: the root's are read here,
 * an actor's through a call that reads its own.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as WorkerPool from "../src/WorkerPool.ts"
import { Crashy } from "./fixtures/crashy.ts"
import { Traced } from "./fixtures/traced.ts"
import { checkOrphansAfterEach, fixture } from "./utils/index.ts"
import { expectLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

/** the state of the metric `name` whose tags include `tags` (summed over the rest), by field */
const read = (name: string, tags: Record<string, string>, field: "count" | "value") =>
  Effect.map(Metric.snapshot, (pairs) => {
    let total = 0
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const has = pair.metricKey.tags.reduce<Record<string, string>>((o, t) => ({ ...o, [t.key]: t.value }), {})
      if (!Object.entries(tags).every(([k, v]) => has[k] === v)) continue
      total += Number((pair.metricState as unknown as Record<string, number>)[field] ?? 0)
    }
    return total
  })

describe("metrics", () => {
  it.live("count a known workload: spawns, calls by outcome and latency, links, credit stalls, alive actors", () =>
    Effect.gen(function*() {
      const fn = { protocol: "Traced", fn: "hop" }
      const calls0 = yield* read("effect_tractor_calls", { ...fn, outcome: "success" }, "count")
      const latency0 = yield* read("effect_tractor_call_ms", fn, "count")
      const spawned0 = yield* read("effect_tractor_actors_spawned", { method: "process" }, "count")
      const spawnMs0 = yield* read("effect_tractor_spawn_ms", {}, "count")
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const [a, b] = yield* Effect.all([
            Nursery.spawn(nursery, "metered_a", { modules: [fixture("traced.ts")] }),
            Nursery.spawn(nursery, "metered_b", { modules: [fixture("traced.ts")] })
          ], { concurrency: 2 })
          assert.strictEqual(yield* read("effect_tractor_actors_alive", {}, "value"), 2)
          for (let i = 0; i < 5; i++) yield* Effect.all([Portal.call(a!, Traced.hop, 0), Portal.call(b!, Traced.hop, 0)])
          // a consumer slower than the stream's window: its sender (the actor) waits for credit, and
          // counts it in its own process's metrics
          yield* Portal.stream(a!, Traced.count, 200, { window: 8 }).pipe(
            Stream.tap(() => Effect.sleep("1 millis")),
            Stream.runDrain
          )
          assert.isAtLeast(yield* Portal.call(a!, Traced.metric, "effect_tractor_stream_credit_stalls"), 1)
          assert.strictEqual(yield* Portal.call(b!, Traced.metric, "effect_tractor_stream_credit_stalls"), 0)
          assert.strictEqual(yield* read("effect_tractor_calls_in_flight", fn, "value"), 0)
          assert.isAtLeast(yield* read("effect_tractor_link_frames", { peer: "metered_a", direction: "out" }, "count"), 6)
          assert.isAtLeast(yield* read("effect_tractor_link_frames", { peer: "metered_a", direction: "in" }, "count"), 6)
          assert.isAtLeast(yield* read("effect_tractor_link_bytes", { peer: "metered_b", direction: "out" }, "count"), 5 * 40)
        })
      )
      assert.strictEqual((yield* read("effect_tractor_calls", { ...fn, outcome: "success" }, "count")) - calls0, 10)
      assert.strictEqual((yield* read("effect_tractor_call_ms", fn, "count")) - latency0, 10)
      assert.strictEqual((yield* read("effect_tractor_actors_spawned", { method: "process" }, "count")) - spawned0, 2)
      assert.strictEqual((yield* read("effect_tractor_spawn_ms", {}, "count")) - spawnMs0, 2)
      assert.strictEqual(yield* read("effect_tractor_actors_alive", {}, "value"), 0, "no actor alive once the nursery closed")
    }))

  it.live("count restarts, failed and interrupted calls, and a teardown that had to SIGKILL", () =>
    Effect.gen(function*() {
      const restarts0 = yield* read("effect_tractor_restarts", {}, "count")
      const failed0 = yield* read("effect_tractor_calls", { protocol: "Crashy", fn: "work", outcome: "failure" }, "count")
      const interrupted0 = yield* read("effect_tractor_calls", { protocol: "Crashy", fn: "work", outcome: "interrupted" }, "count")
      const killed0 = yield* read("effect_tractor_ladder_escalations", { step: "kill_unacknowledged" }, "count")
      yield* WorkerPool.use({ size: 1, modules: [fixture("crashy.ts")] }, (pool) =>
        Effect.gen(function*() {
          // a crash: the call fails, the worker is replaced
          yield* Effect.exit(pool.call(Crashy.work, { n: 0, delayMs: 0, crash: true }))
          yield* pool.call(Crashy.work, { n: 1, delayMs: 0, crash: false })
          // an interrupted call
          yield* pool.call(Crashy.work, { n: 2, delayMs: 5000, crash: false }).pipe(Effect.timeout("100 millis"), Effect.option)
        }))
      assert.strictEqual((yield* read("effect_tractor_restarts", {}, "count")) - restarts0, 1)
      assert.strictEqual((yield* read("effect_tractor_calls", { protocol: "Crashy", fn: "work", outcome: "failure" }, "count")) - failed0, 1)
      assert.strictEqual((yield* read("effect_tractor_calls", { protocol: "Crashy", fn: "work", outcome: "interrupted" }, "count")) - interrupted0, 1)
      // an actor stuck in synchronous code at teardown: no acknowledgement, SIGKILL
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const stuck = yield* Nursery.spawn(nursery, "stuck", { modules: [fixture("crashy.ts")] })
          yield* Effect.fork(Portal.call(stuck, Crashy.spin, 3000))
          yield* Effect.sleep("100 millis")
        }), { gracePeriod: "200 millis" })
      assert.strictEqual((yield* read("effect_tractor_ladder_escalations", { step: "kill_unacknowledged" }, "count")) - killed0, 1)
    }).pipe(expectLogs(/did not acknowledge the cancel request within 200 ms/)))
})
