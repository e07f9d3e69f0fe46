/**
 * Nurseries: scopes that own child actors (real OS processes) and background tasks, with
 * one-cancels-all supervision and a graceful-then-hard teardown.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Actor from "./Actor.js"
import type * as ActorError from "./ActorError.js"
import * as internal from "./internal/nursery.js"
import type * as Portal from "./Portal.js"
import type * as Supervision from "./Supervision.js"

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
 * A nursery: owns the actors spawned in it and the tasks forked into it. `E` is what its forked
 * tasks may fail with (annotate the nursery parameter of `open` to widen it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Nursery<in out E = never> {
  readonly [TypeId]: TypeId
  /** The actor that owns this nursery (the root in a plain process). */
  readonly actor: Actor.ActorId
  /** The nursery's scope: it closes when the nursery does, after every child has exited. */
  readonly scope: Scope.Scope
  /** @internal */
  readonly _E?: (_: E) => E
}

/**
 * @since 0.1.0
 */
export declare namespace Nursery {
  /**
   * Timing and limits, for a nursery (defaults for its children) or for one spawn.
   *
   * @since 0.1.0
   */
  export interface Options {
    /** Wait after the cancel request before SIGTERM (default 0.5 seconds). */
    readonly gracePeriod?: Duration.DurationInput | undefined
    /** Wait after SIGTERM before SIGKILL (default 1.6 seconds). */
    readonly termPeriod?: Duration.DurationInput | undefined
    /** How long a child may take to report ready (default 30 seconds). */
    readonly readyTimeout?: Duration.DurationInput | undefined
    /** How long an interrupted call or `cancelActor` waits for the acknowledgement (default 0.5 seconds). */
    readonly cancelAckTimeout?: Duration.DurationInput | undefined
    /** The largest frame sent or accepted, in bytes (default 64 MiB). */
    readonly maxMessageBytes?: number | undefined
    /**
     * The most actors alive at once in the nursery (default 256): a spawn beyond it fails with
     * `SpawnError` instead of exhausting the machine. Only the nursery's own option counts.
     */
    readonly maxActors?: number | undefined
    /**
     * How the nursery supervises its children (a `Supervision` policy): with one, children are
     * restarted by their restart type and the nursery fails with `RestartIntensityExceeded` only
     * when they restart too often; portals then name the child's slot and survive restarts.
     * Without one: one-cancels-all. Only the nursery's own option counts.
     */
    readonly supervision?: Supervision.Policy | undefined
  }

  /**
   * What to start: the enabled modules (the capability allowlist), plus process options.
   *
   * @since 0.1.0
   */
  export interface SpawnOptions extends Options {
    /**
     * Modules the actor imports; it serves exactly the protocol implementations they export.
     * `file:` URLs (`new URL("./m.js", import.meta.url)`: a `.js` name is served from its `.ts`
     * source where only that exists, so the same code works under tsx and compiled), absolute
     * paths, paths relative to the working directory, or package specifiers.
     */
    readonly modules: ReadonlyArray<string | URL>
    /**
     * Packages to leave out of the actor's bundle and load from where they are installed: those
     * that find their own files through `__dirname` or `import.meta.url`, or ship native addons.
     * A name covers its subpaths (`"typescript"` also covers `"typescript/lib/tsserverlibrary"`).
     */
    readonly external?: ReadonlyArray<string> | undefined
    /** Extra environment variables for the child. */
    readonly env?: Record<string, string | undefined> | undefined
    /** Node flags for the child; none by default (loaders are never inherited). */
    readonly execArgv?: ReadonlyArray<string> | undefined
    /**
     * What becomes of the actor's plain output (what `console` methods and `process.stdout` or
     * `stderr` write; its `Effect.log*` always reach this process's logger):
     * - `"inherit"` (the default): written to the inherited stdout and stderr as it is;
     * - `"prefixed"`: each line led by `[name@pid] `, on this process's stdout and stderr;
     * - `"log"`: logged through this process's logger, stdout at Info and stderr at Error, the lines
     *   of one burst (a stack trace) in one entry, annotated with `actor` (`name@pid`) and `stream`.
     *
     * The environment variable `EFFECT_TRACTOR_OUTPUT` (`prefixed` or `log`) sets it for every
     * spawn that does not say. An actor's last lines before it exits or crashes are not lost.
     */
    readonly output?: "inherit" | "prefixed" | "log" | undefined
    /** Working directory of the child (a process only: a thread shares its process's). */
    readonly cwd?: string | undefined
    /**
     * How the actor runs (default `"process"`): an OS process of its own, or `"thread"`, a worker
     * thread of this process. A thread starts faster and costs less memory, with the same
     * protocols, portals, errors and teardown (cancel request, grace, then `worker.terminate()`,
     * reported as SIGKILL); it shares the process, so a crash of the process takes it along and it
     * needs no orphan guard. `resourceLimits` bounds its memory.
     */
    readonly spawnMethod?: "process" | "thread" | undefined
    /** A thread actor's memory limits (`worker_threads` `resourceLimits`). */
    readonly resourceLimits?: import("node:worker_threads").ResourceLimits | undefined
    /**
     * Starts the actor's Node inspector (a process actor) on `port` (default: a free one) of
     * 127.0.0.1 and logs its URL with the actor's name: attach Chrome DevTools or VS Code, and
     * breakpoints land in your TypeScript (the bundle's source map). `pauseOnStart` waits for the
     * debugger before the actor loads its modules (the ready timeout does not run meanwhile);
     * `keepOnCrash` keeps a crashed actor, inspector open, that long before it exits. The
     * environment variable `EFFECT_TRACTOR_INSPECT` (names, comma-separated, or `*`) does the same
     * for code you cannot change.
     */
    readonly inspect?: boolean | {
      readonly port?: number | undefined
      readonly pauseOnStart?: boolean | undefined
      readonly keepOnCrash?: Duration.DurationInput | undefined
    } | undefined
    /**
     * When a supervising nursery restarts this child (default `permanent`): `permanent` always,
     * `transient` after a crash only, `temporary` never. In a nursery without supervision, a
     * `temporary` child's crash does not fail the nursery.
     */
    readonly restart?: Supervision.Restart | undefined
    /**
     * How this child is stopped: `brutal` (SIGKILL at once), a duration (its grace period after the
     * cancel request) or `infinity` (no signals: wait for its finalizers).
     */
    readonly shutdown?: Supervision.Shutdown | undefined
  }
}

const impl = (nursery: Nursery<any>) => nursery as unknown as internal.NurseryImpl

/**
 * Whether a value is a nursery.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 *
 * Nursery.isNursery({}) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isNursery = (u: unknown): u is Nursery<unknown> => Predicate.hasProperty(u, TypeId)

/**
 * Opens a nursery in the current scope. Closing the scope interrupts its tasks and tears its
 * children down concurrently: cancel request, grace period, SIGTERM, second period, SIGKILL, reap.
 * The scope never finishes closing before every child has exited.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const nursery = yield* Nursery.make({ gracePeriod: "200 millis" })
 *   const worker = yield* Nursery.spawn(nursery, "worker", { modules: [new URL("./worker.js", import.meta.url)] })
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: <E = never>(options?: Nursery.Options) => Effect.Effect<Nursery<E>, never, Scope.Scope> =
  internal.make as any

/**
 * Runs `body` with a fresh nursery (tractor's `open_nursery`). When the body and every forked task
 * are done, remaining actors are torn down. If the body or a task fails, or a child crashes,
 * everything else is cancelled (one-cancels-all) and the nursery fails with every failure, combined
 * in parallel in one `Cause`, none lost and none twice.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const program = Nursery.open((nursery) =>
 *   Effect.gen(function*() {
 *     yield* Nursery.spawn(nursery, "a", { modules: [new URL("./a.js", import.meta.url)] })
 *     yield* Nursery.spawn(nursery, "b", { modules: [new URL("./b.js", import.meta.url)] })
 *   })
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const open: {
  <A, E, R, TE = never>(
    body: (nursery: Nursery<TE>) => Effect.Effect<A, E, R>,
    options?: Nursery.Options & { readonly supervision?: undefined }
  ): Effect.Effect<A, E | TE | ActorError.TransportClosed, Exclude<R, Scope.Scope>>
  <A, E, R, TE = never>(
    body: (nursery: Nursery<TE>) => Effect.Effect<A, E, R>,
    options: Nursery.Options
  ): Effect.Effect<A, E | TE | ActorError.TransportClosed | Supervision.RestartIntensityExceeded, Exclude<R, Scope.Scope>>
} = internal.open as any

/**
 * Starts an actor process serving the protocols of `options.modules` and waits for its ready
 * handshake (tractor's `start_actor`). The actor lives until it is cancelled or the nursery closes.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const program = Nursery.open((nursery) =>
 *   Nursery.spawn(nursery, "worker_0", { modules: [new URL("./primes.js", import.meta.url)] })
 * )
 * ```
 * @since 0.1.0
 * @category spawning
 */
export const spawn: {
  (name: string, options: Nursery.SpawnOptions): <E>(self: Nursery<E>) => Effect.Effect<Portal.Portal, ActorError.SpawnError>
  <E>(self: Nursery<E>, name: string, options: Nursery.SpawnOptions): Effect.Effect<Portal.Portal, ActorError.SpawnError>
} = dual(3, (self: Nursery<any>, name: string, options: Nursery.SpawnOptions) =>
  internal.spawn(impl(self), name, options)) as any

/**
 * Spawns an actor, runs one call in it and reaps it (tractor's `to_actor.run`): the result or the
 * typed error comes back in the caller, whose to handle it is. Like `startInActor`, the call runs
 * to its end when the nursery cancels its siblings (one-cancels-all), and its failure is then the
 * nursery's; interrupting the caller any other way (a timeout) interrupts the call and reaps the
 * actor.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * const program = Nursery.open((nursery) =>
 *   Nursery.runInActor(nursery, Primes.isPrime, 7, { modules: [new URL("./primes.js", import.meta.url)] })
 * )
 * ```
 * @since 0.1.0
 * @category spawning
 */
export const runInActor: <E, F extends Actor.Fn.Any>(
  self: Nursery<E>,
  fn: F,
  payload: Actor.Fn.Payload<F>,
  options: Nursery.SpawnOptions & { readonly name?: string | undefined }
) => Effect.Effect<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError | ActorError.SpawnError> =
  ((self: Nursery<any>, fn: Actor.Fn.Any, payload: unknown, options: Nursery.SpawnOptions) =>
    internal.runInActor(impl(self), fn, payload, options)) as any

/**
 * A one-shot actor started by `startInActor`: its portal, and the outcome of its one call
 * (tractor's `wait_for_result`), which can be awaited any number of times, even after the nursery
 * has closed.
 *
 * @since 0.1.0
 * @category models
 */
export interface OneShot<A, E> {
  readonly portal: Portal.Portal
  readonly result: Effect.Effect<A, E>
}

/**
 * Spawns an actor and starts one call in it without waiting (tractor's `run_in_actor`). The call
 * belongs to the nursery: it runs to its end whatever its siblings do (a failing one-shot never
 * interrupts another), the actor is reaped as soon as it is done, and the nursery waits for it and
 * fails with every one-shot's failure. Daemons are cancelled at the first failure, as always; a
 * one-shot still starting then is cancelled too (only calls already running run to their end).
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * const program = Nursery.open((nursery) =>
 *   Effect.gen(function*() {
 *     const shots = yield* Effect.forEach([7, 8, 9], (n) =>
 *       Nursery.startInActor(nursery, Primes.isPrime, n, { modules: [new URL("./primes.js", import.meta.url)] }))
 *     return yield* Effect.forEach(shots, (shot) => shot.result)
 *   })
 * )
 * ```
 * @since 0.1.0
 * @category spawning
 */
export const startInActor: <E, F extends Actor.Fn.Any>(
  self: Nursery<E>,
  fn: F,
  payload: Actor.Fn.Payload<F>,
  options: Nursery.SpawnOptions & { readonly name?: string | undefined }
) => Effect.Effect<OneShot<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError>, ActorError.SpawnError> =
  ((self: Nursery<any>, fn: Actor.Fn.Any, payload: unknown, options: Nursery.SpawnOptions) =>
    internal.startInActor(impl(self), fn, payload, options)) as any

/**
 * Forks a task into the nursery (trio's `start_soon`). The task belongs to the nursery, not to the
 * caller; if it fails, the nursery cancels everything else and fails with that failure.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const program = Nursery.open((nursery: Nursery.Nursery<string>) =>
 *   Nursery.fork(nursery, Effect.fail("boom"))
 * )
 * ```
 * @since 0.1.0
 * @category tasks
 */
export const fork: {
  <A, E, R>(effect: Effect.Effect<A, E, R>): (self: Nursery<E>) => Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R>
  <A, E, R>(self: Nursery<E>, effect: Effect.Effect<A, E, R>): Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R>
} = dual(2, (self: Nursery<any>, effect: Effect.Effect<any, any, any>) => internal.fork(impl(self), effect)) as any

/**
 * Waits for every forked task, then fails with the nursery's failures, if any (for nurseries made
 * with `make`; `open` does this itself).
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const nursery = yield* Nursery.make<string>()
 *   yield* Nursery.fork(nursery, Effect.fail("boom"))
 *   yield* Nursery.join(nursery)
 * }))
 * ```
 * @since 0.1.0
 * @category tasks
 */
export const join: <E>(
  self: Nursery<E>
) => Effect.Effect<void, E | ActorError.TransportClosed | Supervision.RestartIntensityExceeded> = ((
  self: Nursery<any>
) => internal.join(impl(self))) as any

/**
 * Tears down every actor of the nursery now (concurrently, with the full ladder) and waits until
 * they have exited (tractor's `ActorNursery.cancel`). The nursery stays open.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 *
 * declare const nursery: Nursery.Nursery
 * const stopAll = Nursery.cancel(nursery)
 * ```
 * @since 0.1.0
 * @category lifecycle
 */
export const cancel = <E>(self: Nursery<E>): Effect.Effect<void> => internal.cancel(impl(self))

/**
 * Stops one child for good (OTP's `terminate_child`): it is torn down with its ladder and never
 * restarted, whatever its restart type. Its portal then fails with `TransportClosed`.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Portal from "effect-tractor/Portal"
 *
 * declare const nursery: Nursery.Nursery
 * declare const worker: Portal.Portal
 * const retire = Nursery.stopChild(nursery, worker)
 * ```
 * @since 0.1.0
 * @category lifecycle
 */
export const stopChild: {
  (portal: Portal.Portal): <E>(self: Nursery<E>) => Effect.Effect<void>
  <E>(self: Nursery<E>, portal: Portal.Portal): Effect.Effect<void>
} = dual(2, (self: Nursery<any>, portal: Portal.Portal) => internal.stopChild(impl(self), portal as any)) as any

/**
 * Subscribes to what the nursery's supervisor does: children started, exited (with their
 * structured exit and whether they restart), restarts, and giving up. Events published after the
 * subscription are kept until read; the queue ends with the nursery.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 * import * as Queue from "effect/Queue"
 *
 * const program = Nursery.open((nursery) =>
 *   Effect.gen(function*() {
 *     const events = yield* Nursery.events(nursery)
 *     const first = yield* Queue.take(events)
 *   })
 * )
 * ```
 * @since 0.1.0
 * @category supervision
 */
export const events = <E>(self: Nursery<E>): Effect.Effect<Queue.Dequeue<Supervision.Event>, never, Scope.Scope> =>
  internal.events(impl(self))
