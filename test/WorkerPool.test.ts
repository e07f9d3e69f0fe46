import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { PassThrough } from "node:stream"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import { renderProgress } from "../src/internal/pool.ts"
import * as WorkerPool from "../src/WorkerPool.ts"
import { Crashy } from "./fixtures/crashy.ts"
import { checkOrphansAfterEach, descendants, fixture, isAlive, tempDir } from "./utils/index.ts"
import { expectLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

const modules = [fixture("crashy.ts")]
const jobs = (count: number, delayMs: number, crashAt = -1) =>
  Array.from({ length: count }, (_, n) => ({ n, delayMs, crash: n === crashAt }))

describe("WorkerPool", () => {
  it.live("mapUnordered maps over every input on several workers and streams the results as they complete", () =>
    Effect.gen(function*() {
      const { pids, results } = yield* WorkerPool.use({ size: 2, modules }, (pool) =>
        Effect.gen(function*() {
          // the slow first job finishes last: results come as completed, not in input order
          const inputs = [{ n: 0, delayMs: 400, crash: false }, ...jobs(6, 20).slice(1)]
          const results = Chunk.toReadonlyArray(yield* Stream.runCollect(WorkerPool.mapUnordered(pool, Crashy.work, inputs)))
          return { pids: pool.portals.map((p) => p.actor.pid), results }
        }))
      assert.deepStrictEqual(results.map(([input]) => input.n).sort(), [0, 1, 2, 3, 4, 5])
      assert.strictEqual(results[results.length - 1]![0].n, 0, "the slow job came last")
      for (const [input, output] of results) assert.strictEqual(output.n, input.n)
      assert.deepStrictEqual(new Set(results.map(([, output]) => output.pid)), new Set(pids), "both workers worked")
      for (const pid of pids) assert.isFalse(isAlive(pid))
    }))

  it.live("map gives the outputs in input order", () =>
    Effect.gen(function*() {
      const outputs = yield* WorkerPool.use({ size: 2, modules }, (pool) =>
        Stream.runCollect(WorkerPool.map(pool, Crashy.work, [
          { n: 0, delayMs: 300, crash: false },
          ...jobs(5, 10).slice(1)
        ])))
      assert.deepStrictEqual(Chunk.toReadonlyArray(outputs).map((o) => o.n), [0, 1, 2, 3, 4])
    }))

  it.live("a map takes its inputs lazily, is held back by its consumer, and stops with it: the calls in flight are interrupted", () =>
    WorkerPool.use({ size: 2, modules }, (pool) =>
      Effect.gen(function*() {
        let taken = 0
        function* inputs(delayMs: number) {
          for (let n = 0; n < 1000; n++) {
            taken++
            yield { n, delayMs, crash: false }
          }
        }
        // a consumer that takes two outputs: 4 lanes (2 workers busy + 2 waiting in the queue), so
        // at most 2 outputs pulled + a window of 8
        const first = yield* Stream.runCollect(Stream.take(WorkerPool.map(pool, Crashy.work, inputs(200)), 2))
        assert.deepStrictEqual(Chunk.toReadonlyArray(first).map((o) => o.n), [0, 1])
        assert.isAtMost(taken, 2 + 8, `inputs taken: ${taken}`)
        // the calls still running when the consumer stopped were interrupted, not left to finish
        const stats = yield* WorkerPool.stats(pool)
        assert.deepStrictEqual([stats.busy, stats.queued], [0, 0])
        assert.isAtLeast(stats.interrupted, 1)
        // a consumer slower than the workers holds the map back: never more than the window ahead of it
        taken = 0
        let pulled = 0
        let ahead = 0
        yield* WorkerPool.mapUnordered(pool, Crashy.work, inputs(5), { concurrency: 3 }).pipe(
          Stream.take(5),
          Stream.tap(() =>
            Effect.sync(() => {
              pulled++
              ahead = Math.max(ahead, taken - pulled)
            }).pipe(Effect.zipRight(Effect.sleep("150 millis")))
          ),
          Stream.runDrain
        )
        // (the window is twice the concurrency, 6; the outputs come in chunks of what is ready, and
        // a chunk handed over counts as pulled, so add the rest of the chunk being consumed)
        assert.isAtMost(ahead, 2 * 6, `taken ahead of the consumer: ${ahead}`)
      })))

  it.live("fails the map with TransportClosed when a worker crashes, and strands nothing", () =>
    Effect.gen(function*() {
      let pids: ReadonlyArray<number> = []
      const start = Date.now()
      const exit = yield* WorkerPool.use({ size: 2, modules }, (pool) => {
        pids = pool.portals.map((p) => p.actor.pid)
        return Stream.runDrain(WorkerPool.mapUnordered(pool, Crashy.work, jobs(8, 50, 3)))
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
      const huge = yield* Effect.flip(WorkerPool.use({ size: 100_000, modules }, () => Effect.void))
      assert.instanceOf(huge, ActorError.SpawnError)
      assert.strictEqual(
        huge.message,
        `a worker pool of 100000 workers is over the limit of ${4 * cores} (4 × ${cores} CPUs): ask for fewer, or raise maxSize`
      )
      for (const size of [0, -1, 1.5, NaN]) {
        const bad = yield* Effect.flip(WorkerPool.use({ size, modules }, () => Effect.void))
        assert.include(bad.message, "a whole number of workers of at least 1")
      }
      assert.deepStrictEqual(descendants(), [], "no worker was started")
      // the limit is the user's to raise
      const n = yield* WorkerPool.use({ size: 4 * cores + 1, maxSize: 4 * cores + 1, modules }, (pool) =>
        Effect.succeed(pool.portals.length))
      assert.strictEqual(n, 4 * cores + 1)
    }))
})

describe("WorkerPool, supervised", () => {
  it.live("replaces a crashed worker: the call on it fails typed, naming it and its exit; the pool serves at full size", () =>
    WorkerPool.use({ size: 2, modules }, (pool) =>
      Effect.gen(function*() {
        const before = pool.portals.map((p) => p.actor.pid)
        const exit = yield* Effect.exit(Stream.runDrain(WorkerPool.mapUnordered(pool, Crashy.work, jobs(6, 30, 2))))
        const failures = Exit.isFailure(exit) ? [...Cause.failures(exit.cause)] : []
        assert.strictEqual(failures.length, 1, Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "succeeded")
        const error = failures[0]
        assert.isTrue(error instanceof ActorError.TransportClosed, String(error))
        if (error instanceof ActorError.TransportClosed) {
          assert.strictEqual(error.exitCode, 3)
          assert.match(error.actor.name, /^worker_[01]$/)
        }
        // the next map runs on two workers again, one of them new
        const outputs = Chunk.toReadonlyArray(yield* Stream.runCollect(WorkerPool.map(pool, Crashy.work, jobs(6, 30))))
        assert.deepStrictEqual(outputs.map((o) => o.n), [0, 1, 2, 3, 4, 5])
        const after = new Set(outputs.map((o) => o.pid))
        assert.strictEqual(after.size, 2)
        assert.strictEqual([...after].filter((pid) => before.includes(pid)).length, 1, "one worker is new")
        const stats = yield* WorkerPool.stats(pool)
        assert.strictEqual(stats.restarts, 1)
        assert.strictEqual(stats.workers, 2)
      })))

  it.live("retries a call whose worker died when asked: the map goes on through the crash", () =>
    Effect.gen(function*() {
      const file = Path.join(tempDir("tractor-pool-"), "crashed")
      const outputs = yield* WorkerPool.use({ size: 2, modules }, (pool) =>
        Stream.runCollect(
          WorkerPool.map(pool, Crashy.workOnce, [0, 1, 2, 3].map((n) => ({ n, file })), {
            retry: Schedule.recurs(2)
          })
        ))
      assert.deepStrictEqual(Chunk.toReadonlyArray(outputs).map((o) => o.n), [0, 1, 2, 3])
      assert.isTrue(Fs.existsSync(file), "a worker did crash")
    }))

  it.live("supervision: 'oneCancelsAll' keeps tractor's rule: the first crash cancels the pool", () =>
    Effect.gen(function*() {
      let pids: ReadonlyArray<number> = []
      const exit = yield* WorkerPool.use({ size: 2, modules, supervision: "oneCancelsAll" }, (pool) =>
        Effect.gen(function*() {
          pids = pool.portals.map((p) => p.actor.pid)
          yield* Effect.exit(pool.call(Crashy.work, { n: 0, delayMs: 10, crash: true }))
          // the other worker is torn down with it
          return yield* pool.call(Crashy.work, { n: 1, delayMs: 10, crash: false })
        })).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      for (const pid of pids) assert.isFalse(isAlive(pid))
    }))

  it.live("bounded: calls beyond the workers wait in the queue, and beyond maxQueue fail with PoolQueueFull", () =>
    WorkerPool.use({ size: 1, modules, maxQueue: 1 }, (pool) =>
      Effect.gen(function*() {
        const slow = yield* Effect.fork(pool.call(Crashy.work, { n: 0, delayMs: 400, crash: false }))
        const queued = yield* Effect.fork(pool.call(Crashy.work, { n: 1, delayMs: 10, crash: false }))
        yield* Effect.sleep("100 millis")
        const stats = yield* WorkerPool.stats(pool)
        assert.deepStrictEqual([stats.busy, stats.queued], [1, 1])
        const refused = yield* Effect.flip(pool.call(Crashy.work, { n: 2, delayMs: 10, crash: false }))
        assert.isTrue(refused instanceof WorkerPool.PoolQueueFull, String(refused))
        if (refused instanceof WorkerPool.PoolQueueFull) {
          assert.match(refused.message, /all 1 workers are busy and 1 calls already wait \(maxQueue\)/)
        }
        assert.deepStrictEqual([(yield* slow.await)._tag, (yield* queued.await)._tag], ["Success", "Success"])
        const end = yield* WorkerPool.stats(pool)
        assert.deepStrictEqual([end.completed, end.failed, end.busy, end.queued], [2, 0, 0, 0])
      })))

  it.live("concurrencyPerWorker runs that many calls at once on one worker", () =>
    WorkerPool.use({ size: 1, modules, concurrencyPerWorker: 3 }, (pool) =>
      Effect.gen(function*() {
        const start = Date.now()
        const outputs = yield* Effect.all(
          [0, 1, 2].map((n) => pool.call(Crashy.work, { n, delayMs: 400, crash: false })),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(new Set(outputs.map((o) => o.pid)).size, 1)
        // together, not one after the other (1200 ms)
        assert.isBelow(Date.now() - start, 1100)
      })))

  it.live("onInterrupt 'kill': a worker stuck in an interrupted CPU-bound call is killed and replaced", () =>
    WorkerPool.use({ size: 1, modules, onInterrupt: "kill", cancelAckTimeout: "200 millis" }, (pool) =>
      Effect.gen(function*() {
        const stuck = pool.portals[0]!.actor.pid
        const result = yield* pool.call(Crashy.spin, 20_000).pipe(Effect.timeout("300 millis"), Effect.option)
        assert.isTrue(result._tag === "None")
        const interruptedAt = Date.now()
        // the next call reaches a fresh worker instead of waiting out the 20 s loop
        const next = yield* pool.call(Crashy.work, { n: 1, delayMs: 0, crash: false })
        const freeMs = Date.now() - interruptedAt
        assert.notStrictEqual(next.pid, stuck)
        assert.isBelow(freeMs, 10_000)
        assert.isFalse(isAlive(stuck))
        const stats = yield* WorkerPool.stats(pool)
        assert.deepStrictEqual([stats.interrupted, stats.restarts, stats.completed], [1, 1, 1])
      })).pipe(expectLogs(/actor worker_0@\d+ did not acknowledge the cancel request within 100 ms/)))

  it.live("refuses bad pool options, naming them", () =>
    Effect.gen(function*() {
      const bad = (options: Partial<WorkerPool.WorkerPool.Options>) =>
        Effect.flip(WorkerPool.use({ size: 1, modules, ...options }, () => Effect.void))
      assert.match((yield* bad({ concurrencyPerWorker: 0 })).message, /concurrencyPerWorker must be a whole number of at least 1/)
      assert.match((yield* bad({ maxQueue: -1 })).message, /maxQueue must be a whole number, 0 or more/)
      assert.match((yield* bad({ supervision: "oneCancelsAll", onInterrupt: "kill" })).message, /onInterrupt "kill"/)
      assert.deepStrictEqual(descendants(), [], "no worker was started")
    }))
})

describe("WorkerPool, elastic", () => {
  it.live("grows from minSize up to size while every worker is busy, and shrinks back after idleTimeout", () =>
    // the idle timeout is longer than the spread of the three workers' start (each starts when the
    // calls before it keep every worker busy): on a loaded machine that spread passed 300 ms
    WorkerPool.use({ size: 3, minSize: 1, idleTimeout: "1500 millis", modules }, (pool) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* WorkerPool.stats(pool)).workers, 1, "it starts with minSize workers")
        const outputs = yield* Effect.all(
          [0, 1, 2].map((n) => pool.call(Crashy.work, { n, delayMs: 600, crash: false })),
          { concurrency: "unbounded" }
        )
        const pids = [...new Set(outputs.map((o) => o.pid))]
        assert.strictEqual(pids.length, 3, "three calls at once ran on three workers")
        assert.strictEqual((yield* WorkerPool.stats(pool)).workers, 3)
        // idle: back to one worker, the others stopped for good
        yield* Effect.sleep("2500 millis")
        assert.strictEqual((yield* WorkerPool.stats(pool)).workers, 1)
        assert.strictEqual(pids.filter(isAlive).length, 1)
        // and it still serves
        assert.strictEqual((yield* pool.call(Crashy.work, { n: 9, delayMs: 0, crash: false })).n, 9)
      })))

  it.live("minSize must be within 0..size", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(WorkerPool.use({ size: 2, minSize: 3, modules }, () => Effect.void))
      assert.match(error.message, /minSize must be a whole number from 0 to size \(2\), not 3/)
    }))
})

describe("WorkerPool, elastic from nothing", () => {
  it.live("minSize 0: no worker until the first call; a map grows the pool to size", () =>
    WorkerPool.use({ size: 2, minSize: 0, idleTimeout: "10 seconds", modules }, (pool) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* WorkerPool.stats(pool)).workers, 0)
        assert.deepStrictEqual(descendants(), [], "nothing started yet")
        const outputs = Chunk.toReadonlyArray(yield* Stream.runCollect(WorkerPool.map(pool, Crashy.work, jobs(4, 300))))
        assert.deepStrictEqual(outputs.map((o) => o.n), [0, 1, 2, 3])
        assert.strictEqual(new Set(outputs.map((o) => o.pid)).size, 2)
      })))
})

describe("WorkerPool, observable", () => {
  it.live("stats count what ran, with run and wait times; metrics and events say the same", () =>
    WorkerPool.use({ size: 2, modules, name: "observed" }, (pool) =>
      Effect.scoped(Effect.gen(function*() {
        const events = yield* WorkerPool.events(pool)
        yield* Stream.runDrain(WorkerPool.map(pool, Crashy.work, jobs(6, 50)))
        yield* Effect.exit(pool.call(Crashy.work, { n: 6, delayMs: 0, crash: true }))
        const seen: Array<string> = []
        while (!seen.includes("Started 2")) {
          const event = yield* Queue.take(events)
          seen.push(event._tag === "Started" ? `Started ${event.incarnation}` : event._tag)
        }
        assert.includeMembers(seen, ["Exited", "Restarting", "Started 2"])
        const stats = yield* WorkerPool.stats(pool)
        assert.deepStrictEqual([stats.completed, stats.failed, stats.restarts], [6, 1, 1])
        assert.strictEqual(stats.runMillis.count, 7)
        assert.isAtLeast(stats.runMillis.p50, 40, "a job sleeps 50 ms in its worker")
        // 6 jobs of 50 ms on 2 workers through map's window of 2: no call waited for a worker long
        assert.strictEqual(stats.waitMillis.count, 7)
        const snapshot = yield* Metric.snapshot
        const completed = snapshot.find((pair) =>
          pair.metricKey.name === "effect_tractor_pool_calls" &&
          pair.metricKey.tags.some((t) => t.key === "pool" && t.value === "observed") &&
          pair.metricKey.tags.some((t) => t.key === "outcome" && t.value === "completed")
        )
        assert.strictEqual((completed?.metricState as { count?: number } | undefined)?.count, 6)
      }))))

  it.live("the progress bar draws on a terminal and ends complete; elsewhere it writes nothing", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const terminal = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream
      terminal.on("data", (chunk) => written.push(String(chunk)))
      const out = yield* Stream.runCollect(Stream.make(1, 2, 3).pipe(WorkerPool.progress(3, { label: "jobs", output: terminal })))
      assert.deepStrictEqual(Chunk.toReadonlyArray(out), [1, 2, 3])
      yield* Effect.sleep("10 millis")
      const all = written.join("")
      assert.include(all, `jobs [${"#".repeat(30)}] 3/3`)
      assert.isTrue(all.endsWith("\n"))
      const pipe = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream
      let wrote = false
      pipe.on("data", () => (wrote = true))
      yield* Stream.runDrain(Stream.make(1, 2).pipe(WorkerPool.progress(2, { output: pipe })))
      assert.isFalse(wrote)
      assert.strictEqual(renderProgress("", 1, 4, 8), "[##......] 1/4")
      assert.strictEqual(renderProgress("p", 10, 100, 10), "p [#.........]  10/100")
    }))
})
