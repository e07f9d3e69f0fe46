/**
 * Tiny tasks through a pool of 2, and what a supervised pool does when a worker dies or is stuck.
 *
 * Usage: node --import tsx bench/scenarios/pool-tasks.ts <ours|piscina|tinypool|workerpool> [tasks=100000] [perWorker=1] [process|thread]
 *   ours      WorkerPool.use({ size: 2 }) of bench/actors/echo.ts (process workers; one call per
 *             worker at a time by default, [perWorker] for more), `tasks` calls of
 *             BenchEcho.echo by Effect.forEach, 100 in flight, and the same by
 *             WorkerPool.mapUnordered (its default window); then, in the same process:
 *             - restart: SIGKILL of one worker -> the pool serving at full size again (a call
 *               answered by the new worker);
 *             - cancel: a call stuck in 10 s of synchronous code, interrupted after 50 ms, with
 *               onInterrupt "kill" -> the pool answering two calls again (cancelFreeMs), and
 *               the stuck worker killed and replaced (cancelReplacedMs)
 *   piscina   piscina 5, 2 threads, defaults, the same tasks and window
 *   tinypool  tinypool, 2 threads, defaults, the same tasks and window
 *   workerpool workerpool, 2 worker threads, the same tasks and window
 * Prints one `BENCH {...}` line: tasksPerS, and for ours mapTasksPerS, restartMs, cancelFreeMs, cancelReplacedMs.
 */
import * as Url from "node:url"
import { bench } from "../lib/paths.ts"
import { emit, intArg, nowMs } from "../lib/util.ts"

const variant = process.argv[2] ?? "ours"
const TASKS = intArg(1, 100_000)
const WINDOW = 100

/** `tasks` calls of `run`, `WINDOW` in flight (the promise pools' way); tasks per second */
const throughput = async (run: (i: number) => PromiseLike<unknown>, tasks: number): Promise<number> => {
  let next = 0
  const t0 = nowMs()
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    while (next < tasks) await run(next++)
  }))
  return tasks / ((nowMs() - t0) / 1000)
}

const ours = async () => {
  const [Effect, Queue, Stream, WorkerPool, { echoModule }, { BenchEcho }] = await Promise.all([
    import("effect/Effect"),
    import("effect/Queue"),
    import("effect/Stream"),
    import("../../src/WorkerPool.ts"),
    import("../actors/modules.ts"),
    import("../actors/protocols.ts")
  ])
  return Effect.runPromise(
    WorkerPool.use({
      size: 2,
      modules: [echoModule],
      onInterrupt: "kill",
      concurrencyPerWorker: intArg(2, 1),
      spawnMethod: process.argv[5] === "thread" ? "thread" : "process"
    }, (pool) =>
      Effect.scoped(Effect.gen(function*() {
        // as an Effect program does it: Effect.forEach, WINDOW calls in flight
        const run = (tasks: number) =>
          Effect.gen(function*() {
            const t0 = nowMs()
            yield* Effect.forEach(
              Array.from({ length: tasks }, (_, i) => i),
              (i) => pool.call(BenchEcho.echo, { id: i, n: 2 }),
              { concurrency: WINDOW, discard: true }
            )
            return tasks / ((nowMs() - t0) / 1000)
          })
        yield* run(Math.min(5000, TASKS))
        const tasksPerS = yield* run(TASKS)
        // the same tasks through WorkerPool.mapUnordered, with its default window
        const inputs = Array.from({ length: TASKS }, (_, i) => ({ id: i, n: 2 }))
        const m0 = nowMs()
        yield* Stream.runDrain(WorkerPool.mapUnordered(pool, BenchEcho.echo, inputs))
        const mapTasksPerS = TASKS / ((nowMs() - m0) / 1000)
        // a thread worker's pid is this process's: the kill below is for process workers only
        if (process.argv[5] === "thread") return { tasksPerS, mapTasksPerS }

        // restart: a worker killed -> the pool at full size again
        const events = yield* WorkerPool.events(pool)
        const restarted = Effect.gen(function*() {
          while (true) {
            const event = yield* Queue.take(events)
            if (event._tag === "Started" && event.incarnation > 1) return
          }
        })
        const victim = pool.portals[0]!
        const t0 = nowMs()
        process.kill(victim.actor.pid, "SIGKILL")
        yield* restarted
        yield* Effect.all([0, 1].map((i) => pool.call(BenchEcho.echo, { id: i, n: 2 })), { concurrency: 2 })
        const restartMs = nowMs() - t0

        // cancel: a stuck call interrupted, the worker killed and replaced, the next call answered
        const t1 = nowMs()
        yield* pool.call(BenchEcho.block, 10_000).pipe(Effect.timeout("50 millis"), Effect.option)
        yield* Effect.all([0, 1].map((i) => pool.call(BenchEcho.echo, { id: i, n: 2 })), { concurrency: 2 })
        const cancelFreeMs = nowMs() - t1
        // ...and the stuck worker replaced: the ack timeout, the kill's short grace (it never says
        // Cancelling, so SIGKILL when the grace ends), then a spawn
        yield* restarted
        const cancelReplacedMs = nowMs() - t1
        return { tasksPerS, mapTasksPerS, restartMs, cancelFreeMs, cancelReplacedMs }
      })))
  )
}

/** a baseline pool: a warm-up, then `TASKS` tiny tasks through `call`, then `close` */
const measured = async (call: (i: number) => PromiseLike<unknown>, close: () => PromiseLike<unknown>) => {
  await throughput(call, Math.min(5000, TASKS))
  const tasksPerS = await throughput(call, TASKS)
  await close()
  return { tasksPerS }
}

const threadPoolOptions = {
  filename: Url.pathToFileURL(bench("children", "piscina-echo.mjs")).href,
  minThreads: 2,
  maxThreads: 2
}

const piscina = async () => {
  const pool = new (await import("piscina")).Piscina(threadPoolOptions)
  return measured((i) => pool.run({ id: i, n: 2 }), () => pool.destroy())
}

const tinypool = async () => {
  const pool = new (await import("tinypool")).Tinypool(threadPoolOptions)
  return measured((i) => pool.run({ id: i, n: 2 }), () => pool.destroy())
}

const workerpoolPool = async () => {
  const workerpool = await import("workerpool")
  const pool = workerpool.pool(bench("children", "workerpool-echo.cjs"), { minWorkers: 2, maxWorkers: 2, workerType: "thread" })
  // workerpool types its promises as its own class: terminate is awaited as any promise
  return measured((i) => pool.exec("echo", [{ id: i, n: 2 }]), async () => {
    await pool.terminate()
  })
}

const result = variant === "ours"
  ? await ours()
  : variant === "piscina"
  ? await piscina()
  : variant === "tinypool"
  ? await tinypool()
  : variant === "workerpool"
  ? await workerpoolPool()
  : (() => {
    throw new Error(`unknown variant ${variant}: ours | piscina | tinypool | workerpool`)
  })()
emit({ variant, tasks: TASKS, ...result })
