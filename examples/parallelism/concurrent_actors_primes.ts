/**
 * The prime number detector of the `concurrent.futures` docs, on a pool of actors: every worker
 * is an OS process, each result is printed as soon as a worker has it, with the worker that found
 * it, and the pool is torn down when the work is done. The baseline twin, without effect-tractor,
 * is `concurrent_futures_primes.ts`.
 *
 * One file holds the protocol, its implementation and the main program: the workers import this
 * very module (`modules: [import.meta.url]`) to serve `Sieve`, and `ActorRuntime.runMain` runs the
 * main program only in the root, never in a worker.
 *
 * Run it with an optional number of workers (default 4):
 *
 *     npx tsx examples/parallelism/concurrent_actors_primes.ts [workers]
 */
import * as Actor from "effect-tractor/Actor"
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as WorkerPool from "effect-tractor/WorkerPool"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { isPrime, PRIMES } from "./primes.ts"

// the protocol: one function, its payload and result declared once
export const Sieve = Actor.protocol("Sieve", {
  check: Actor.fn({
    payload: Schema.Number,
    success: Schema.Struct({ prime: Schema.Boolean, by: Schema.String })
  })
})

// its implementation, served by every worker; a handler is an Effect and knows its actor
export const SieveLive = Actor.serve(Sieve, {
  check: (n) =>
    Effect.map(Actor.CurrentActor, (self) => ({ prime: isPrime(n), by: `${self.id.name}@${self.id.pid}` }))
})

// Python's spelling, so that the output reads like the docs'
const py = (b: boolean) => (b ? "True" : "False")
const secondsSince = (start: number) => ((performance.now() - start) / 1000).toFixed(3)

const main = (workers: number) =>
  // the workers live as long as the function below runs: they start (concurrently) before it, and
  // are all gone, process and all, when it ends, whether it succeeds, fails or is interrupted
  WorkerPool.use({ size: workers, modules: [import.meta.url] }, (pool) =>
    Effect.gen(function*() {
      const names = pool.portals.map((portal) => `${portal.actor.name}@${portal.actor.pid}`)
      yield* Console.log(`root@${process.pid} started ${workers} workers: ${names.join(", ")}`)
      const start = performance.now()
      // [number, result] pairs come back as the workers finish them, not in input order
      yield* WorkerPool.mapUnordered(pool, Sieve.check, PRIMES).pipe(
        // a progress bar on a terminal (standard error); nothing when it is not one
        WorkerPool.progress(PRIMES.length, { label: "primes" }),
        Stream.runForEach(([n, { by, prime }]) => Console.log(`${n} is prime: ${py(prime)} (${by})`))
      )
      yield* Console.log(`processing took ${secondsSince(start)} seconds`)
    }))

const workers = Number(process.argv[2] ?? 4)
if (!ActorRuntime.isActorProcess() && (!Number.isInteger(workers) || workers < 1)) {
  console.error("usage: npx tsx examples/parallelism/concurrent_actors_primes.ts [workers >= 1]")
  process.exit(2)
}
const start = performance.now()
ActorRuntime.runMain(
  main(workers).pipe(Effect.zipRight(Effect.suspend(() => Console.log(`script took ${secondsSince(start)} seconds`))))
)
