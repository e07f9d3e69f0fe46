/**
 * The baseline twin of `concurrent_actors_primes.ts`: the same job with no effect-tractor, on a
 * pool made by hand from `child_process.fork`, the way `ProcessPoolExecutor` does it in the
 * Python docs. Results come back in input order (like `executor.map`); a worker that dies takes
 * its jobs down with it (like `BrokenProcessPool`); the pool must be closed by hand.
 *
 * Run it with an optional number of workers (default: one per CPU, as `ProcessPoolExecutor()`):
 *
 *     npx tsx examples/parallelism/concurrent_futures_primes.ts [workers]
 */
import * as ChildProcess from "node:child_process"
import * as Os from "node:os"

const PRIMES = [
  112272535095293,
  112582705942171,
  112272535095293,
  115280095190773,
  115797848077099,
  1099726899285419
]

const workerFile = new URL("./primes_worker.cjs", import.meta.url)

interface Job {
  readonly resolve: (prime: boolean) => void
  readonly reject: (error: Error) => void
}

/** Forks `size` workers. Jobs go round-robin; results are matched to their job by id. */
const processPool = (size: number) => {
  let nextId = 0
  const workers = Array.from({ length: size }, () => {
    // execArgv: [] so that the worker does not inherit this script's loader (tsx)
    const child = ChildProcess.fork(workerFile, { execArgv: [] })
    const jobs = new Map<number, Job>()
    child.on("message", ({ id, prime }: { id: number; prime: boolean }) => {
      jobs.get(id)?.resolve(prime)
      jobs.delete(id)
    })
    child.on("exit", (code, signal) => {
      for (const job of jobs.values()) {
        job.reject(new Error(`worker ${child.pid} exited (${signal ?? code}) with jobs pending: the pool is broken`))
      }
      jobs.clear()
    })
    return { child, jobs }
  })

  const submit = (n: number) =>
    new Promise<boolean>((resolve, reject) => {
      const id = nextId++
      const worker = workers[id % size]!
      worker.jobs.set(id, { resolve, reject })
      worker.child.send({ id, n })
    })

  /** Submits every number at once and yields `[n, isPrime(n)]` in input order. */
  async function* map(numbers: ReadonlyArray<number>) {
    const results = numbers.map(submit)
    // each result is awaited below, in order; a failure further on must not crash the process first
    for (const result of results) result.catch(() => {})
    for (const [i, n] of numbers.entries()) yield [n, await results[i]!] as const
  }

  /** Disconnects every worker and waits for it to exit. */
  const close = () =>
    Promise.all(workers.map(({ child }) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.disconnect()
      })
    ))

  return { map, close }
}

const workers = Number(process.argv[2] ?? Os.availableParallelism())
if (!Number.isInteger(workers) || workers < 1) {
  console.error("usage: npx tsx examples/parallelism/concurrent_futures_primes.ts [workers >= 1]")
  process.exit(2)
}

const secondsSince = (start: number) => (performance.now() - start) / 1000

// Python's spelling, so that the output reads like the docs'
const py = (b: boolean) => (b ? "True" : "False")

const checkPrimes = async () => {
  const pool = processPool(workers)
  try {
    const start = performance.now()
    for await (const [number, prime] of pool.map(PRIMES)) {
      console.log(`${number} is prime: ${py(prime)}`)
    }
    console.log(`processing took ${secondsSince(start)} seconds`)
  } finally {
    await pool.close()
  }
}

const start = performance.now()
await checkPrimes()
console.log(`script took ${secondsSince(start)} seconds`)
