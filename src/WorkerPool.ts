/**
 * Worker pools: n actors in a nursery serving the same modules, a function mapped over inputs,
 * results streamed back as they complete.
 *
 * @since 0.1.0
 */
import * as Os from "node:os"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Actor from "./Actor.js"
import * as ActorError from "./ActorError.js"
import * as Nursery from "./Nursery.js"
import * as Portal from "./Portal.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-tractor/WorkerPool")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A pool of actors serving the same modules.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerPool {
  readonly [TypeId]: TypeId
  /** The workers, one portal each. */
  readonly portals: ReadonlyArray<Portal.Portal>
  /** Calls `fn` on the least busy worker. */
  call<F extends Actor.Fn.Any>(
    fn: F,
    payload: Actor.Fn.Payload<F>
  ): Effect.Effect<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError>
}

/**
 * @since 0.1.0
 */
export declare namespace WorkerPool {
  /**
   * @since 0.1.0
   */
  export interface Options extends Nursery.Nursery.SpawnOptions {
    /** Number of workers (default: the number of CPUs). */
    readonly size?: number | undefined
    /**
     * The largest `size` accepted (default: 4 × the number of CPUs). A larger pool fails with
     * `SpawnError` before any worker starts, instead of exhausting the machine's memory.
     */
    readonly maxSize?: number | undefined
    /** Worker names are `${name}_${i}` (default `"worker"`). */
    readonly name?: string | undefined
  }
}

/**
 * Whether a value is a worker pool.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 *
 * WorkerPool.isWorkerPool({}) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isWorkerPool = (u: unknown): u is WorkerPool => Predicate.hasProperty(u, TypeId)

/**
 * Starts `size` workers (concurrently) in a nursery owned by the current scope. A worker that
 * crashes cancels the pool (one-cancels-all): calls in flight fail with a typed error, nothing is
 * left waiting. Closing the scope tears every worker down.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* WorkerPool.make({ size: 4, modules: [new URL("./primes.js", import.meta.url)] })
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: WorkerPool.Options): Effect.Effect<WorkerPool, ActorError.SpawnError, Scope.Scope> =>
  Effect.gen(function*() {
    const name = options.name ?? "worker"
    const cores = Os.availableParallelism()
    const size = options.size ?? cores
    const maxSize = options.maxSize ?? 4 * cores
    if (!Number.isInteger(size) || size < 1 || size > maxSize) {
      return yield* new ActorError.SpawnError({
        actorName: `${name}_0`,
        message: !Number.isInteger(size) || size < 1
          ? `a worker pool needs a whole number of workers of at least 1, not ${size}`
          : `a worker pool of ${size} workers is over the limit of ${maxSize}` +
            `${options.maxSize === undefined ? ` (4 × ${cores} CPUs)` : ""}: ask for fewer, or raise maxSize`
      })
    }
    const nursery = yield* Nursery.make(options)
    const portals = yield* Effect.forEach(
      Array.from({ length: size }, (_, i) => `${name}_${i}`),
      (name) => Nursery.spawn(nursery, name, options),
      { concurrency: "unbounded" }
    )
    const busy = portals.map(() => 0)
    const call = (fn: Actor.Fn.Any, payload: unknown) =>
      Effect.suspend(() => {
        let best = 0
        for (let i = 1; i < busy.length; i++) if (busy[i]! < busy[best]!) best = i
        busy[best]!++
        return Effect.ensuring(
          Portal.call(portals[best]!, fn, payload),
          Effect.sync(() => busy[best]!--)
        )
      })
    return { [TypeId]: TypeId, portals, call } as WorkerPool
  })

/**
 * Maps `fn` over `inputs` on the pool and streams `[input, output]` pairs as they complete
 * (tractor's `actor_map`). `concurrency` is the number of calls in flight (default: one per worker).
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Actor from "effect-tractor/Actor"
 * import * as Stream from "effect/Stream"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * declare const pool: WorkerPool.WorkerPool
 * const results = WorkerPool.map(pool, Primes.isPrime, [2, 3, 4]).pipe(Stream.runCollect)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const map = <F extends Actor.Fn.Any>(
  pool: WorkerPool,
  fn: F,
  inputs: Iterable<Actor.Fn.Payload<F>>,
  options?: { readonly concurrency?: number | undefined }
): Stream.Stream<readonly [Actor.Fn.Payload<F>, Actor.Fn.Success<F>], Actor.Fn.Error<F> | ActorError.ActorError> =>
  Stream.fromIterable(inputs).pipe(
    Stream.mapEffect((input) => Effect.map(pool.call(fn, input), (output) => [input, output] as const), {
      concurrency: options?.concurrency ?? pool.portals.length,
      unordered: true
    })
  )

/**
 * Like `map`, but the outputs come in input order.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Actor from "effect-tractor/Actor"
 * import * as Stream from "effect/Stream"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * declare const pool: WorkerPool.WorkerPool
 * const inOrder = WorkerPool.mapOrdered(pool, Primes.isPrime, [2, 3, 4]).pipe(Stream.runCollect)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const mapOrdered = <F extends Actor.Fn.Any>(
  pool: WorkerPool,
  fn: F,
  inputs: Iterable<Actor.Fn.Payload<F>>,
  options?: { readonly concurrency?: number | undefined }
): Stream.Stream<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError> =>
  Stream.fromIterable(inputs).pipe(
    Stream.mapEffect((input) => pool.call(fn, input), { concurrency: options?.concurrency ?? pool.portals.length })
  )

/**
 * Runs `use` with a fresh pool and tears the pool down afterwards. Its requirements are those of
 * `use` only, so a script can hand it straight to `Effect.runPromise`.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Actor from "effect-tractor/Actor"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * const main = WorkerPool.workerPool({ size: 4, modules: [new URL("./primes.js", import.meta.url)] }, (pool) =>
 *   WorkerPool.map(pool, Primes.isPrime, [2, 3, 4]).pipe(Stream.runForEach(([n, p]) => Effect.log(n, p)))
 * )
 * // Effect.runPromise(main)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const workerPool = <A, E, R>(
  options: WorkerPool.Options,
  use: (pool: WorkerPool) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ActorError.SpawnError, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.flatMap(make(options), use))
