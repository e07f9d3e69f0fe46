import * as Os from "node:os"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as WorkerPool from "../src/WorkerPool.ts"
import { Crashy } from "./fixtures/crashy.ts"
import { checkOrphansAfterEach, descendants, fixture, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

const modules = [fixture("crashy.ts")]
const jobs = (count: number, delayMs: number, crashAt = -1) =>
  Array.from({ length: count }, (_, n) => ({ n, delayMs, crash: n === crashAt }))

describe("WorkerPool", () => {
  it.live("maps over every input on several workers and streams the results as they complete", () =>
    Effect.gen(function*() {
      const { pids, results } = yield* WorkerPool.workerPool({ size: 2, modules }, (pool) =>
        Effect.gen(function*() {
          // the slow first job finishes last: results come as completed, not in input order
          const inputs = [{ n: 0, delayMs: 400, crash: false }, ...jobs(6, 20).slice(1)]
          const results = Chunk.toReadonlyArray(yield* Stream.runCollect(WorkerPool.map(pool, Crashy.work, inputs)))
          return { pids: pool.portals.map((p) => p.actor.pid), results }
        }))
      assert.deepStrictEqual(results.map(([input]) => input.n).sort(), [0, 1, 2, 3, 4, 5])
      assert.strictEqual(results[results.length - 1]![0].n, 0, "the slow job came last")
      for (const [input, output] of results) assert.strictEqual(output.n, input.n)
      assert.deepStrictEqual(new Set(results.map(([, output]) => output.pid)), new Set(pids), "both workers worked")
      for (const pid of pids) assert.isFalse(isAlive(pid))
    }))

  it.live("mapOrdered gives the outputs in input order", () =>
    Effect.gen(function*() {
      const outputs = yield* WorkerPool.workerPool({ size: 2, modules }, (pool) =>
        Stream.runCollect(WorkerPool.mapOrdered(pool, Crashy.work, [
          { n: 0, delayMs: 300, crash: false },
          ...jobs(5, 10).slice(1)
        ])))
      assert.deepStrictEqual(Chunk.toReadonlyArray(outputs).map((o) => o.n), [0, 1, 2, 3, 4])
    }))

  it.live("fails the map with TransportClosed when a worker crashes, and strands nothing", () =>
    Effect.gen(function*() {
      let pids: ReadonlyArray<number> = []
      const start = Date.now()
      const exit = yield* WorkerPool.workerPool({ size: 2, modules }, (pool) => {
        pids = pool.portals.map((p) => p.actor.pid)
        return Stream.runDrain(WorkerPool.map(pool, Crashy.work, jobs(8, 50, 3)))
      }).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const failures = [...Cause.failures(exit.cause)]
        assert.isTrue(failures.some((e) => e instanceof ActorError.TransportClosed), Cause.pretty(exit.cause))
      }
      assert.isBelow(Date.now() - start, 15_000, "the pool was stranded")
      for (const pid of pids) assert.isFalse(isAlive(pid))
    }))

  it.live("refuses an absurd pool before starting any worker, naming the limit and how to raise it", () =>
    Effect.gen(function*() {
      const cores = Os.availableParallelism()
      const huge = yield* Effect.flip(WorkerPool.workerPool({ size: 100_000, modules }, () => Effect.void))
      assert.instanceOf(huge, ActorError.SpawnError)
      assert.strictEqual(
        huge.message,
        `a worker pool of 100000 workers is over the limit of ${4 * cores} (4 × ${cores} CPUs): ask for fewer, or raise maxSize`
      )
      for (const size of [0, -1, 1.5, NaN]) {
        const bad = yield* Effect.flip(WorkerPool.workerPool({ size, modules }, () => Effect.void))
        assert.include(bad.message, "a whole number of workers of at least 1")
      }
      assert.deepStrictEqual(descendants(), [], "no worker was started")
      // the limit is the user's to raise
      const n = yield* WorkerPool.workerPool({ size: 4 * cores + 1, maxSize: 4 * cores + 1, modules }, (pool) =>
        Effect.succeed(pool.portals.length))
      assert.strictEqual(n, 4 * cores + 1)
    }))
})
