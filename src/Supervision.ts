/**
 * Supervision as data (OTP's supervisor, in Effect's idiom): a strategy, a restart intensity and a
 * restart delay for a nursery, and per child a restart type and a shutdown. A nursery made with a
 * policy restarts its children instead of failing at the first crash; without one it keeps
 * one-cancels-all.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Ids from "./internal/actorId.js"
import type * as internal from "./internal/supervision.js"

/**
 * Which children restart when one exits and must be restarted: `oneForOne` that child alone,
 * `oneForAll` every child, `restForOne` that child and every child started after it.
 *
 * @since 0.1.0
 * @category models
 */
export type Strategy = internal.Strategy

/**
 * When a child is restarted: `permanent` always, `transient` only when it crashed (an exit that
 * was not asked for and not code 0), `temporary` never (its exit never affects its siblings).
 *
 * @since 0.1.0
 * @category models
 */
export type Restart = internal.Restart

/**
 * How a child is stopped: `brutal` is SIGKILL at once; a duration is how long it has after the
 * cancel request before the signals (the nursery's `gracePeriod`); `infinity` waits for it
 * however long its finalizers take.
 *
 * @since 0.1.0
 * @category models
 */
export type Shutdown = "brutal" | "infinity" | Duration.DurationInput

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-tractor/Supervision")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A supervision policy, validated: give it to `Nursery.make` or `Nursery.open` as `supervision`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy extends internal.Rules {
  readonly [TypeId]: TypeId
  /** what runs between a child's exit and its restart (none by default) */
  readonly restartDelay: Schedule.Schedule<unknown, unknown> | undefined
  /** how long a call through a restarting child's portal waits for the new incarnation */
  readonly restartTimeoutMillis: number
}

/**
 * @since 0.1.0
 */
export declare namespace Policy {
  /**
   * What a policy is made from; every field has a default.
   *
   * @since 0.1.0
   */
  export interface Options {
    /** At most this many restarts... (default 3) */
    readonly maxRestarts?: number | undefined
    /** ...within this period, or the nursery gives up (default 5 seconds). */
    readonly period?: Duration.DurationInput | undefined
    /** Waits before each restart of a child, e.g. `Schedule.exponential("10 millis")` (default none). */
    readonly restartDelay?: Schedule.Schedule<unknown, unknown> | undefined
    /** How long calls through the portal of a restarting child wait for it (default 5 seconds). */
    readonly restartTimeout?: Duration.DurationInput | undefined
  }
}

/**
 * A policy field that is not what it must be: the error names the field and says why.
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * const which = (e: Supervision.InvalidSupervision) => e.field
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidSupervision extends Schema.TaggedError<InvalidSupervision>("effect-tractor/InvalidSupervision")(
  "InvalidSupervision",
  { field: Schema.String, message: Schema.String }
) {}

/**
 * The nursery restarted its children more than `maxRestarts` times within `period`: it stopped
 * every child (in reverse start order) and failed with this. `exits` are the exits that caused
 * the restarts still inside the window, oldest first, the last one included.
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * const last = (e: Supervision.RestartIntensityExceeded) => e.exits.at(-1)?.exit.reason
 * ```
 * @since 0.1.0
 * @category errors
 */
export class RestartIntensityExceeded
  extends Schema.TaggedError<RestartIntensityExceeded>("effect-tractor/RestartIntensityExceeded")(
    "RestartIntensityExceeded",
    {
      maxRestarts: Schema.Number,
      periodMillis: Schema.Number,
      exits: Schema.Array(Schema.Struct({ name: Schema.String, exit: Ids.ActorExit })),
      message: Schema.String
    }
  )
{}

const strategies: ReadonlyArray<Strategy> = ["oneForOne", "oneForAll", "restForOne"]
const restarts: ReadonlyArray<Restart> = ["permanent", "transient", "temporary"]

const durationMillis = (
  field: string,
  input: Duration.DurationInput | undefined,
  fallback: number,
  positive: boolean
): Effect.Effect<number, InvalidSupervision> =>
  Effect.suspend(() => {
    if (input === undefined) return Effect.succeed(fallback)
    const decoded = Duration.decodeUnknown(input)
    // Duration clamps a negative number to zero: refuse it before it does
    if (decoded._tag === "None" || (typeof input === "number" && !(input >= 0))) {
      return new InvalidSupervision({
        field,
        message: `${field} is ${JSON.stringify(input)}, not a duration: give a number of milliseconds or a ` +
          `string such as "5 seconds"`
      })
    }
    const ms = Duration.toMillis(decoded.value)
    if (Number.isNaN(ms) || ms < 0 || (positive && ms === 0) || !Number.isFinite(ms)) {
      return new InvalidSupervision({
        field,
        message: `${field} is ${Duration.format(decoded.value)}: it must be finite and ${positive ? "above zero" : "not negative"}`
      })
    }
    return Effect.succeed(ms)
  })

/**
 * Makes a policy, validating every field: a bad one fails with `InvalidSupervision` naming it.
 *
 * @example
 * ```ts
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Supervision from "effect-tractor/Supervision"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const supervision = yield* Supervision.make("restForOne", { maxRestarts: 5, period: "10 seconds" })
 *   return yield* Nursery.open(() => Effect.void, { supervision })
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (strategy: Strategy, options: Policy.Options = {}): Effect.Effect<Policy, InvalidSupervision> =>
  Effect.gen(function*() {
    if (!strategies.includes(strategy)) {
      return yield* new InvalidSupervision({
        field: "strategy",
        message: `strategy is ${JSON.stringify(strategy)}: it must be one of ${strategies.join(", ")}`
      })
    }
    const maxRestarts = options.maxRestarts ?? 3
    if (!Number.isSafeInteger(maxRestarts) || maxRestarts < 0) {
      return yield* new InvalidSupervision({
        field: "maxRestarts",
        message: `maxRestarts is ${maxRestarts}: it must be a whole number, 0 or more (0: give up at the first restart)`
      })
    }
    const periodMillis = yield* durationMillis("period", options.period, 5000, true)
    const restartTimeoutMillis = yield* durationMillis("restartTimeout", options.restartTimeout, 5000, false)
    if (options.restartDelay !== undefined && !Schedule.isSchedule(options.restartDelay)) {
      return yield* new InvalidSupervision({
        field: "restartDelay",
        message: `restartDelay must be a Schedule (for example Schedule.exponential("10 millis"))`
      })
    }
    return {
      [TypeId]: TypeId,
      kind: "supervise" as const,
      strategy,
      maxRestarts,
      periodMillis,
      restartDelay: options.restartDelay,
      restartTimeoutMillis
    }
  })

/**
 * One-for-one: only the child that must be restarted is (OTP's `one_for_one`).
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * const policy = Supervision.oneForOne({ maxRestarts: 3, period: "5 seconds" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const oneForOne = (options?: Policy.Options): Effect.Effect<Policy, InvalidSupervision> =>
  make("oneForOne", options)

/**
 * One-for-all: when one child must be restarted, every child is stopped and started again.
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * const policy = Supervision.oneForAll()
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const oneForAll = (options?: Policy.Options): Effect.Effect<Policy, InvalidSupervision> =>
  make("oneForAll", options)

/**
 * Rest-for-one: the child and every child started after it are restarted (those that depend on it).
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * const policy = Supervision.restForOne({ maxRestarts: 10, period: "1 minute" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const restForOne = (options?: Policy.Options): Effect.Effect<Policy, InvalidSupervision> =>
  make("restForOne", options)

/**
 * The default of every nursery (tractor's): nothing restarts; the first crash of a child fails the
 * nursery with that crash and cancels everything else.
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * Supervision.oneCancelsAll.maxRestarts // 0
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const oneCancelsAll: Policy = {
  [TypeId]: TypeId,
  kind: "oneCancelsAll",
  strategy: "oneForAll",
  maxRestarts: 0,
  periodMillis: 5000,
  restartDelay: undefined,
  restartTimeoutMillis: 0
}

/**
 * Whether a value is a policy.
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * Supervision.isPolicy(Supervision.oneCancelsAll) // true
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isPolicy = (u: unknown): u is Policy => Predicate.hasProperty(u, TypeId)

/**
 * Checks a child's restart type and shutdown, naming the field that is wrong.
 *
 * @example
 * ```ts
 * import * as Supervision from "effect-tractor/Supervision"
 *
 * const checked = Supervision.validateChild({ restart: "transient", shutdown: "2 seconds" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const validateChild = (
  child: { readonly restart?: Restart | undefined; readonly shutdown?: Shutdown | undefined }
): Effect.Effect<{ readonly restart: Restart; readonly shutdown: Shutdown | undefined }, InvalidSupervision> =>
  Effect.gen(function*() {
    const restart = child.restart ?? "permanent"
    if (!restarts.includes(restart)) {
      return yield* new InvalidSupervision({
        field: "restart",
        message: `restart is ${JSON.stringify(restart)}: it must be one of ${restarts.join(", ")}`
      })
    }
    const shutdown = child.shutdown
    if (shutdown !== undefined && shutdown !== "brutal" && shutdown !== "infinity") {
      yield* durationMillis("shutdown", shutdown, 0, false).pipe(
        Effect.mapError((e) =>
          new InvalidSupervision({ field: "shutdown", message: `${e.message}, or "brutal", or "infinity"` })
        )
      )
    }
    return { restart, shutdown }
  })

/**
 * What a supervised nursery did, in order (see `Nursery.events`): a child started (its first
 * incarnation, or a restart), exited (with its structured exit and whether it will be restarted),
 * or the nursery gave up.
 *
 * @since 0.1.0
 * @category models
 */
export type Event =
  | { readonly _tag: "Started"; readonly name: string; readonly actor: Ids.ActorId; readonly incarnation: number }
  | { readonly _tag: "Exited"; readonly name: string; readonly exit: Ids.ActorExit; readonly restart: boolean }
  | { readonly _tag: "Restarting"; readonly names: ReadonlyArray<string>; readonly delayed: boolean }
  | { readonly _tag: "GaveUp"; readonly error: RestartIntensityExceeded }
