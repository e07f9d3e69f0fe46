/**
 * Two-way streams between two actors (tractor's `MsgStream`), and local fan-out of a stream to
 * many consumers with a lag model (tractor's `subscribe`/`BroadcastReceiver`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Actor from "./Actor.js"
import { Signal } from "./internal/signal.js"

/**
 * One side of a two-way stream: `send`, `sendAll`, `receive` (a `Stream`), `close`.
 *
 * @since 0.1.0
 * @category models
 */
export type MsgStream<Out, In, E = never> = Actor.MsgStream<Out, In, E>

/**
 * The receive window and overrun policy of a stream.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = Actor.MsgStreamOptions

/**
 * A broadcast subscriber fell more than the buffer's capacity behind: `skipped` elements were
 * lost to it. Its subscription continues from the oldest element still held when pulled again
 * (for example with `Stream.catchTag("Lagged", ...)` back onto the same subscription).
 *
 * @example
 * ```ts
 * import * as MsgStream from "effect-tractor/MsgStream"
 *
 * const lost = (e: MsgStream.Lagged) => e.skipped
 * ```
 * @since 0.1.0
 * @category errors
 */
export class Lagged extends Data.TaggedError("Lagged")<{ readonly skipped: number }> {}

/**
 * A stream fanned out to any number of local subscribers, each seeing every element from the
 * moment it subscribed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Broadcast<A, E> {
  /** A new subscriber: a `Stream` of every element from now on. */
  readonly subscribe: Effect.Effect<Stream.Stream<A, E | Lagged>>
}

/**
 * Fans a stream out to many local consumers (tractor's `MsgStream.subscribe`). Subscribers drive
 * the source: whoever has read everything pulls the next chunk for all, so the source goes as fast
 * as the fastest subscriber. The last `capacity` elements (default 1024) are held; a subscriber that
 * falls further behind gets a `Lagged` error (or, with `lag: "skip"`, silently skips) and then
 * continues from the oldest element held. Slow subscribers never stall fast ones. Subscribers made
 * before `start` see every element.
 *
 * @example
 * ```ts
 * import * as MsgStream from "effect-tractor/MsgStream"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const hub = yield* MsgStream.broadcast(Stream.range(1, 1000), { capacity: 2000 })
 *   const a = yield* hub.subscribe
 *   const b = yield* hub.subscribe
 *   yield* hub.start
 *   return yield* Effect.all([Stream.runCount(a), Stream.runCount(b)], { concurrency: 2 })
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const broadcast = <A, E>(
  source: Stream.Stream<A, E>,
  options?: { readonly capacity?: number | undefined; readonly lag?: "signal" | "skip" | undefined }
): Effect.Effect<Broadcast<A, E> & { readonly start: Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const capacity = Math.max(1, Math.floor(options?.capacity ?? 1024))
    const signal = (options?.lag ?? "signal") === "signal"
    const ring: Array<A> = new Array(capacity)
    let head = 0 // index of the next element to be written
    let end: Exit.Exit<void, E> | undefined
    let leading = false
    // a pulled chunk enters the ring at most `capacity` elements at a time, so a subscriber that
    // keeps up never lags however large the source's chunks are
    let pending: ReadonlyArray<A> = []
    let pendingIndex = 0
    const news = new Signal()
    const wake = () => news.wake()
    const started = yield* Effect.makeLatch(false)
    let isStarted = false
    const closed = yield* Effect.makeLatch(false)
    const pullSource = yield* Stream.toPull(source)
    // the broadcast's scope closing ends every subscription, running or late
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Effect.sync(() => {
          end ??= Exit.void
          wake()
        }),
        closed.open
      )
    )
    const admit = () => {
      const n = Math.min(capacity, pending.length - pendingIndex)
      for (let i = 0; i < n; i++) ring[head++ % capacity] = pending[pendingIndex++]!
      wake()
    }
    const lead: Effect.Effect<void> = Effect.suspend(() => {
      if (pendingIndex < pending.length) return Effect.sync(admit)
      leading = true
      return Effect.raceFirst(Effect.exit(pullSource), Effect.as(closed.await, Exit.fail(Option.none()))).pipe(
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) {
            pending = Chunk.toReadonlyArray(exit.value)
            pendingIndex = 0
            admit()
            return Effect.void
          }
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure)) {
            end = Option.isNone(failure.value) ? Exit.void : Exit.fail(failure.value.value)
            return Effect.void
          }
          if (Cause.isInterruptedOnly(exit.cause)) return Effect.failCause(exit.cause) as Effect.Effect<never>
          end = Exit.failCause(exit.cause as Cause.Cause<never>)
          return Effect.void
        }),
        Effect.ensuring(Effect.sync(() => {
          leading = false
          wake()
        }))
      )
    })
    const wait = news.wait
    const subscribe = Effect.sync(() => {
      let cursor = head
      const pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E | Lagged>> = Effect.suspend(() => {
        const oldest = Math.max(0, head - capacity)
        if (cursor < oldest) {
          const skipped = oldest - cursor
          cursor = oldest
          if (signal) return Effect.fail(Option.some(new Lagged({ skipped })))
        }
        if (cursor < head) {
          const out: Array<A> = []
          while (cursor < head) out.push(ring[cursor++ % capacity]!)
          return Effect.succeed(Chunk.unsafeFromArray(out))
        }
        if (end !== undefined) {
          return Exit.isSuccess(end)
            ? Effect.fail(Option.none())
            : Effect.failCause(end.cause).pipe(Effect.mapError(Option.some))
        }
        // one leader at a time pulls the source; the others wait for what it brings
        if (!isStarted) return Effect.zipRight(Effect.raceFirst(started.await, closed.await), pull)
        return Effect.zipRight(leading ? wait : lead, pull)
      })
      return Stream.repeatEffectChunkOption(pull)
    })
    const start = Effect.zipRight(
      Effect.sync(() => {
        isStarted = true
      }),
      started.open
    )
    return { subscribe, start }
  })
