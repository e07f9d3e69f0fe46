/**
 * Worker pools: n actors in a nursery serving the same modules, a function mapped over inputs,
 * results streamed back as they complete.
 *
 * @since 0.1.0
 */
import * as Os from "node:os"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Duration from "effect/Duration"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Actor from "./Actor.js"
import * as ActorError from "./ActorError.js"
import * as internal from "./internal/pool.js"
import type { PortalImpl } from "./internal/portal.js"
import * as Nursery from "./Nursery.js"
import type * as Portal from "./Portal.js"
import * as Supervision from "./Supervision.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId as any

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
  /** The workers, one portal each (a supervised worker's portal reaches its current incarnation). */
  readonly portals: ReadonlyArray<Portal.Portal>
  /** Calls `fn` on the least busy worker, waiting in the pool's queue while every worker is busy. */
  call<F extends Actor.Fn.Any>(
    fn: F,
    payload: Actor.Fn.Payload<F>,
    options?: WorkerPool.CallOptions
  ): Effect.Effect<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError | PoolQueueFull>
}

/**
 * @since 0.1.0
 */
export declare namespace WorkerPool {
  /**
   * @since 0.1.0
   */
  export interface Options extends Omit<Nursery.Nursery.SpawnOptions, "supervision"> {
    /** Number of workers (default: the number of CPUs). */
    readonly size?: number | undefined
    /**
     * The largest `size` accepted (default: 4 × the number of CPUs). A larger pool fails with
     * `SpawnError` before any worker starts, instead of exhausting the machine's memory.
     */
    readonly maxSize?: number | undefined
    /** Worker names are `${name}_${i}` (default `"worker"`). */
    readonly name?: string | undefined
    /**
     * An elastic pool: it starts with `minSize` workers and grows up to `size` while every worker
     * is busy; a worker beyond `minSize` idle for `idleTimeout` is stopped. Without it, the pool
     * keeps `size` workers.
     */
    readonly minSize?: number | undefined
    /** How long a worker beyond `minSize` may stay idle (default 30 seconds). */
    readonly idleTimeout?: Duration.DurationInput | undefined
    /**
     * How crashed workers are handled. Default: each is replaced (one-for-one, at most
     * `max(3, size)` restarts in 5 seconds); the call it was running fails with `TransportClosed`
     * and the pool goes on. `"oneCancelsAll"`: tractor's rule, the first crash cancels the pool.
     */
    readonly supervision?: Supervision.Policy | "oneCancelsAll" | undefined
    /** Calls in flight per worker (default 1: a CPU-bound worker does one thing at a time). */
    readonly concurrencyPerWorker?: number | undefined
    /** Calls waiting for a worker beyond which `call` fails with `PoolQueueFull` (default: no limit). */
    readonly maxQueue?: number | undefined
    /**
     * What an interrupted call does to a worker still running it after the acknowledgement
     * timeout (`cancelAckTimeout`): `"wait"` (default) lets it finish; `"kill"` tears the worker
     * down and a fresh one replaces it, so a CPU-bound task that never yields is really stopped.
     */
    readonly onInterrupt?: "wait" | "kill" | undefined
    /**
     * With `onInterrupt: "kill"`, how long the stuck worker has after the cancel request before
     * SIGKILL, unless it says it is cancelling (default 100 ms: it already missed one acknowledgement).
     */
    readonly killGrace?: Duration.DurationInput | undefined
  }

  /**
   * @since 0.1.0
   */
  export interface CallOptions {
    /**
     * Retries a call whose worker died under it (`TransportClosed`), on the schedule given. Only
     * for idempotent functions: the first attempt may have done its work before the crash.
     */
    readonly retry?: Schedule.Schedule<unknown, ActorError.ActorError> | undefined
  }

  /**
   * What the pool has done so far.
   *
   * @since 0.1.0
   */
  export interface Stats {
    readonly workers: number
    /** calls running on workers now */
    readonly busy: number
    /** calls waiting for a worker now */
    readonly queued: number
    readonly completed: number
    /** calls that ended with an error (the function's own or an ActorError) */
    readonly failed: number
    /** calls interrupted by their caller */
    readonly interrupted: number
    /** workers replaced after a crash (or a kill on interrupt) */
    readonly restarts: number
    /** how long calls ran on their worker, over the latest 1024 calls (ms) */
    readonly runMillis: WorkerPool.Timing
    /** how long calls waited for a worker, over the latest 1024 calls (ms) */
    readonly waitMillis: WorkerPool.Timing
  }

  /**
   * @since 0.1.0
   */
  export interface Timing {
    /** every call so far */
    readonly count: number
    readonly p50: number
    readonly p99: number
    readonly max: number
  }
}

/**
 * Every worker is busy and `maxQueue` calls are already waiting.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 *
 * const waiting = (e: WorkerPool.PoolQueueFull) => e.maxQueue
 * ```
 * @since 0.1.0
 * @category errors
 */
export class PoolQueueFull extends Schema.TaggedError<PoolQueueFull>("effect-tractor/PoolQueueFull")(
  "PoolQueueFull",
  { workers: Schema.Number, maxQueue: Schema.Number, message: Schema.String }
) {}

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

const refuse = (name: string, message: string) => new ActorError.SpawnError({ actorName: `${name}_0`, message })

/**
 * Starts `size` workers (concurrently) in a nursery owned by the current scope. A worker that
 * crashes is replaced (see `supervision`); closing the scope tears every worker down.
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
      return yield* refuse(
        name,
        !Number.isInteger(size) || size < 1
          ? `a worker pool needs a whole number of workers of at least 1, not ${size}`
          : `a worker pool of ${size} workers is over the limit of ${maxSize}` +
            `${options.maxSize === undefined ? ` (4 × ${cores} CPUs)` : ""}: ask for fewer, or raise maxSize`
      )
    }
    const perWorker = options.concurrencyPerWorker ?? 1
    if (!Number.isInteger(perWorker) || perWorker < 1) {
      return yield* refuse(name, `concurrencyPerWorker must be a whole number of at least 1, not ${perWorker}`)
    }
    const maxQueue = options.maxQueue ?? Infinity
    if (!(maxQueue === Infinity || (Number.isInteger(maxQueue) && maxQueue >= 0))) {
      return yield* refuse(name, `maxQueue must be a whole number, 0 or more, not ${maxQueue}`)
    }
    const strict = options.supervision === "oneCancelsAll"
    if (strict && options.onInterrupt === "kill") {
      return yield* refuse(
        name,
        `onInterrupt "kill" replaces the worker it kills, which a oneCancelsAll pool cannot do: ` +
          `drop one of the two options`
      )
    }
    const supervision = strict
      ? undefined
      : options.supervision as Supervision.Policy | undefined ??
        (yield* Effect.orDie(Supervision.oneForOne({ maxRestarts: Math.max(3, size) })))
    const minSize = options.minSize ?? size
    if (!Number.isInteger(minSize) || minSize < 0 || minSize > size) {
      return yield* refuse(name, `minSize must be a whole number from 0 to size (${size}), not ${minSize}`)
    }
    const idleMillis = options.idleTimeout === undefined ? 30_000 : Duration.toMillis(Duration.decode(options.idleTimeout))
    const nursery = yield* Nursery.make({ ...options, supervision })
    const spawnOptions = { ...options, supervision: undefined }
    let started = 0
    const spawnOne = Effect.suspend(() => Nursery.spawn(nursery, `${name}_${started++}`, spawnOptions))
    // started at most one per CPU at a time: a large pool does not bring the machine to its knees
    const portals = yield* Effect.all(Array.from({ length: minSize }, () => spawnOne), { concurrency: cores })
    const run = Runtime.runFork(yield* Effect.runtime<never>())
    const pool = internal.makePool(portals as unknown as ReadonlyArray<PortalImpl>, {
      perWorker,
      maxQueue,
      kill: options.onInterrupt === "kill",
      killGraceMillis: options.killGrace === undefined ? 100 : Duration.toMillis(Duration.decode(options.killGrace)),
      elastic: options.minSize === undefined ? undefined : {
        minSize,
        maxWorkers: size,
        idleMillis,
        start: spawnOne as unknown as Effect.Effect<PortalImpl, ActorError.SpawnError>,
        stop: (portal) => Nursery.stopChild(nursery, portal as unknown as Portal.Portal),
        run: (effect) => {
          run(effect)
        }
      },
      events: Nursery.events(nursery),
      queueFull: (workers, maxQueue) =>
        new PoolQueueFull({
          workers,
          maxQueue,
          message: `all ${workers} workers are busy and ${maxQueue} calls already wait (maxQueue): ` +
            `retry later, slow the callers down, or raise maxQueue`
        })
    }, name)
    if (options.minSize !== undefined) {
      yield* Effect.forkScoped(
        Effect.repeat(pool.shrink, Schedule.spaced(Duration.millis(Math.max(50, Math.min(1000, idleMillis / 4)))))
      )
    }
    return pool as unknown as WorkerPool
  })

/**
 * What the pool has done so far: workers, calls running and waiting, calls completed, failed and
 * interrupted, workers replaced.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Effect from "effect/Effect"
 *
 * declare const pool: WorkerPool.WorkerPool
 * const report = Effect.map(WorkerPool.stats(pool), (s) => `${s.completed} done, ${s.queued} waiting`)
 * ```
 * @since 0.1.0
 * @category observability
 */
export const stats = (pool: WorkerPool): Effect.Effect<WorkerPool.Stats> =>
  Effect.sync(() => (pool as unknown as internal.Pool).stats())

const asPool = (pool: WorkerPool): internal.Pool => pool as unknown as internal.Pool

/**
 * Calls a map submits at once by default: every worker busy (at the pool's largest: workers ×
 * calls per worker), and as many more waiting in the pool's queue as `maxQueue` allows, up to
 * the same number again, so a worker that answers starts its next call in the same turn.
 */
const lanes = (pool: WorkerPool, options: MapOptions | undefined): number => {
  if (options?.concurrency !== undefined) return options.concurrency
  const impl = asPool(pool)
  return impl.fullCapacity + Math.min(impl.fullCapacity, impl.options.maxQueue)
}

type MapOptions = WorkerPool.CallOptions & {
  /**
   * Calls submitted at once (default: every worker busy, workers × `concurrencyPerWorker`, and
   * as many again waiting in the pool's queue, within `maxQueue`)
   */
  readonly concurrency?: number | undefined
}

/**
 * Maps `fn` over `inputs` on the pool; the outputs come in input order (as `Stream.mapEffect` and
 * Python's `executor.map` give them). Data first or data last.
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
 * const inOrder = WorkerPool.map(pool, Primes.isPrime, [2, 3, 4]).pipe(Stream.runCollect)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const map: {
  <F extends Actor.Fn.Any>(
    fn: F,
    inputs: Iterable<Actor.Fn.Payload<F>>,
    options?: MapOptions
  ): (pool: WorkerPool) => Stream.Stream<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError | PoolQueueFull>
  <F extends Actor.Fn.Any>(
    pool: WorkerPool,
    fn: F,
    inputs: Iterable<Actor.Fn.Payload<F>>,
    options?: MapOptions
  ): Stream.Stream<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError | PoolQueueFull>
} = dual(
  (args) => isWorkerPool(args[0]),
  (pool: WorkerPool, fn: Actor.Fn.Any, inputs: Iterable<unknown>, options?: MapOptions) =>
    internal.mapStream(asPool(pool), fn, inputs, lanes(pool, options), true, options) as Stream.Stream<any, any>
)

/**
 * Maps `fn` over `inputs` on the pool and streams `[input, output]` pairs as they complete
 * (tractor's `actor_map`, Ray's `map_unordered`). Data first or data last.
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
 * const asCompleted = WorkerPool.mapUnordered(pool, Primes.isPrime, [2, 3, 4]).pipe(Stream.runCollect)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const mapUnordered: {
  <F extends Actor.Fn.Any>(
    fn: F,
    inputs: Iterable<Actor.Fn.Payload<F>>,
    options?: MapOptions
  ): (pool: WorkerPool) => Stream.Stream<
    readonly [Actor.Fn.Payload<F>, Actor.Fn.Success<F>],
    Actor.Fn.Error<F> | ActorError.ActorError | PoolQueueFull
  >
  <F extends Actor.Fn.Any>(
    pool: WorkerPool,
    fn: F,
    inputs: Iterable<Actor.Fn.Payload<F>>,
    options?: MapOptions
  ): Stream.Stream<
    readonly [Actor.Fn.Payload<F>, Actor.Fn.Success<F>],
    Actor.Fn.Error<F> | ActorError.ActorError | PoolQueueFull
  >
} = dual(
  (args) => isWorkerPool(args[0]),
  (pool: WorkerPool, fn: Actor.Fn.Any, inputs: Iterable<unknown>, options?: MapOptions) =>
    internal.mapStream(asPool(pool), fn, inputs, lanes(pool, options), false, options) as Stream.Stream<any, any>
)

/**
 * The typed client of a protocol the workers serve, with the same type as a portal's: every call
 * goes to the least busy worker (through the pool's queue).
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Actor from "effect-tractor/Actor"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * declare const pool: WorkerPool.WorkerPool
 * const seven = WorkerPool.client(pool, Primes).isPrime(7)
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const client: {
  <P extends Actor.Protocol.Any>(protocol: P): (pool: WorkerPool) => Actor.Client<Actor.Protocol.Fns<P>>
  <P extends Actor.Protocol.Any>(pool: WorkerPool, protocol: P): Actor.Client<Actor.Protocol.Fns<P>>
} = dual(2, (pool: WorkerPool, protocol: Actor.Protocol.Any) => (pool as unknown as internal.Pool).client(protocol)) as any

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
 * const main = WorkerPool.use({ size: 4, modules: [new URL("./primes.js", import.meta.url)] }, (pool) =>
 *   WorkerPool.mapUnordered(pool, Primes.isPrime, [2, 3, 4]).pipe(Stream.runForEach(([n, p]) => Effect.log(n, p)))
 * )
 * // Effect.runPromise(main)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const use = <A, E, R>(
  options: WorkerPool.Options,
  use: (pool: WorkerPool) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ActorError.SpawnError, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.flatMap(make(options), use))

/**
 * The former name of `use`.
 *
 * @deprecated use `WorkerPool.use`
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Effect from "effect/Effect"
 *
 * const main = WorkerPool.workerPool({ size: 2, modules: ["./primes.js"] }, () => Effect.void)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const workerPool: typeof use = use

/**
 * Subscribes to what the pool's supervisor does with its workers: started (a first start, a
 * restart, a worker added by an elastic pool), exited, restarting, gave up. Events published after
 * the subscription are kept until read.
 *
 * @example
 * ```ts
 * import * as WorkerPool from "effect-tractor/WorkerPool"
 * import * as Effect from "effect/Effect"
 * import * as Queue from "effect/Queue"
 *
 * declare const pool: WorkerPool.WorkerPool
 * const next = Effect.scoped(Effect.flatMap(WorkerPool.events(pool), Queue.take))
 * ```
 * @since 0.1.0
 * @category observability
 */
export const events = (pool: WorkerPool): Effect.Effect<Queue.Dequeue<Supervision.Event>, never, Scope.Scope> =>
  (pool as unknown as internal.Pool).options.events as Effect.Effect<Queue.Dequeue<Supervision.Event>, never, Scope.Scope>

/**
 * Shows a progress bar on the terminal while a stream of a known number of results runs (one tick
 * per element), on standard error, and nothing at all when standard error is not a terminal (a
 * pipe, a file, CI). The elements pass through unchanged; the bar steps aside for whatever the
 * consumer prints of each (it is cleared as an element passes and drawn again a moment later), and
 * stays, complete, when the stream ends.
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
 * const inputs = [2, 3, 4, 5]
 * const run = WorkerPool.map(pool, Primes.isPrime, inputs).pipe(WorkerPool.progress(inputs.length, { label: "primes" }), Stream.runDrain)
 * ```
 * @since 0.1.0
 * @category observability
 */
export const progress = (
  total: number,
  options?: { readonly label?: string | undefined; readonly output?: NodeJS.WriteStream | undefined }
) =>
<A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const output = options?.output ?? process.stderr
    if (output.isTTY !== true) return self
    const label = options?.label ?? ""
    let done = 0
    let shown = false
    const draw = Effect.sync(() => {
      output.write(`\r\x1b[2K${internal.renderProgress(label, done, total)}`)
      shown = true
    })
    const clear = () => {
      if (shown) output.write("\r\x1b[2K")
      shown = false
    }
    yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced("100 millis")))
    yield* Effect.addFinalizer(() => Effect.zipRight(draw, Effect.sync(() => output.write("\n"))))
    return Stream.tap(self, () =>
      Effect.sync(() => {
        done++
        clear()
      }))
  }))
