/**
 * The prime number detector of the `concurrent.futures` docs, on a pool of actors: every worker
 * is an OS process, each result is printed as soon as a worker has it, and the pool is torn down
 * when the work is done. No threads, futures or executors: a nursery of workers and their portals.
 * The baseline twin, without effect-tractor, is `concurrent_futures_primes.ts`.
 *
 * Run it with an optional number of workers (default 4):
 *
 *     npx tsx examples/parallelism/concurrent_actors_primes.ts [workers]
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as WorkerPool from "../../src/WorkerPool.ts"
import { PRIMES, Primes } from "./primes.ts"

const workers = Number(process.argv[2] ?? 4)
if (!Number.isInteger(workers) || workers < 1) {
  console.error("usage: npx tsx examples/parallelism/concurrent_actors_primes.ts [workers >= 1]")
  process.exit(2)
}

const secondsSince = (start: number) => (performance.now() - start) / 1000

// Python's spelling, so that the output reads like the docs'
const py = (b: boolean) => (b ? "True" : "False")

// The workers live as long as `use` runs: they start (concurrently) before it and are all gone,
// process and all, when it ends, whether it succeeds, fails or is interrupted.
const main = WorkerPool.workerPool(
  // every worker imports primes.ts, and so serves its Primes protocol
  { size: workers, modules: [new URL("./primes.ts", import.meta.url)] },
  (pool) =>
    Effect.gen(function*() {
      const start = performance.now()

      // calling a function in a worker is just a call; [number, isPrime] pairs come back as
      // the workers finish them, not in input order
      yield* WorkerPool.map(pool, Primes.isPrime, PRIMES).pipe(
        Stream.runForEach(([number, prime]) => Console.log(`${number} is prime: ${py(prime)}`))
      )

      yield* Console.log(`processing took ${secondsSince(start)} seconds`)
    })
)

const start = performance.now()
await Effect.runPromise(main)
console.log(`script took ${secondsSince(start)} seconds`)
