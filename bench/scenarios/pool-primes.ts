/**
 * The primes demo (the ProcessPoolExecutor example of the Python docs): six trial-division
 * primality checks on a pool of `size` processes. Timed inside the script, from just before the
 * pool is created until it is closed (pool start + 6 tasks + results printed + close); the driver
 * also times the whole process.
 *
 * Usage: node --import tsx bench/scenarios/pool-primes.ts <ours|raw> [size=2]
 *   ours  WorkerPool.use({ size, modules: [bench/actors/primes.ts] }) + WorkerPool.map
 *         (results streamed as they complete)
 *   raw   a hand-written pool of `size` child_process.fork children (json IPC), each taking the
 *         next task when it answers
 * Prints the six result lines, then one `BENCH {...}` line.
 */
import * as ChildProcess from "node:child_process"
import { once } from "node:events"
import { bench } from "../lib/paths.ts"
import { formatLine, PRIMES } from "../lib/primes.cjs"
import { emit, intArg, nowMs } from "../lib/util.ts"

const bootMs = performance.now()
const variant = process.argv[2] ?? "ours"
const SIZE = intArg(1, 2)

interface Phases {
  /** pool creation until every worker is ready (ours) or until the pool object exists (raw) */
  readonly startMs: number
  /** until the last result is printed */
  readonly tasksMs: number
  /** closing the pool until every worker has exited */
  readonly closeMs: number
}

const ours = async (): Promise<Phases> => {
  // imported here so that the raw variant's process does not load effect (whole-script wall)
  const [Effect, Stream, WorkerPool, { primesModule }, { BenchPrimes }] = await Promise.all([
    import("effect/Effect"),
    import("effect/Stream"),
    import("../../src/WorkerPool.ts"),
    import("../actors/modules.ts"),
    import("../actors/protocols.ts")
  ])
  const t0 = nowMs()
  let tReady = 0
  let tDone = 0
  await Effect.runPromise(
    WorkerPool.use({ size: SIZE, modules: [primesModule] }, (pool) =>
      Effect.suspend(() => {
        tReady = nowMs()
        return WorkerPool.mapUnordered(pool, BenchPrimes.isPrime, PRIMES).pipe(
          Stream.runForEach(([n, prime]) => Effect.sync(() => console.log(formatLine(n, prime)))),
          Effect.tap(() => Effect.sync(() => (tDone = nowMs())))
        )
      }))
  )
  const t1 = nowMs()
  return { startMs: tReady - t0, tasksMs: tDone - tReady, closeMs: t1 - tDone }
}

class ForkPool {
  private readonly idle: Array<ChildProcess.ChildProcess> = []
  private readonly queue: Array<{ readonly id: number; readonly n: number }> = []
  private readonly pending = new Map<number, (result: boolean) => void>()
  private readonly children: Array<ChildProcess.ChildProcess> = []
  private nextId = 0

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const child = ChildProcess.fork(bench("children", "primes.cjs"), { serialization: "json", execArgv: [] })
      child.on("message", (m: { id: number; result: boolean }) => {
        const resolve = this.pending.get(m.id)!
        this.pending.delete(m.id)
        resolve(m.result)
        const next = this.queue.shift()
        if (next !== undefined) child.send(next)
        else this.idle.push(child)
      })
      this.children.push(child)
      this.idle.push(child)
    }
  }

  run(n: number): Promise<boolean> {
    return new Promise((resolve) => {
      const task = { id: this.nextId++, n }
      this.pending.set(task.id, resolve)
      const child = this.idle.pop()
      if (child !== undefined) child.send(task)
      else this.queue.push(task)
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.children.map((c) => {
      if (c.exitCode !== null || c.signalCode !== null) return undefined
      const exited = once(c, "exit")
      c.disconnect()
      return exited
    }))
  }
}

const raw = async (): Promise<Phases> => {
  const t0 = nowMs()
  const pool = new ForkPool(SIZE)
  const tReady = nowMs()
  const results = await Promise.all(PRIMES.map((n) => pool.run(n)))
  PRIMES.forEach((n, i) => console.log(formatLine(n, results[i]!)))
  const tDone = nowMs()
  await pool.close()
  return { startMs: tReady - t0, tasksMs: tDone - tReady, closeMs: nowMs() - tDone }
}

const phases = variant === "ours"
  ? await ours()
  : variant === "raw"
  ? await raw()
  : (() => {
    throw new Error(`unknown variant ${variant}: ours | raw`)
  })()

emit({ variant, size: SIZE, bootMs, totalMs: phases.startMs + phases.tasksMs + phases.closeMs, ...phases })
