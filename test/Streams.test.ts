/**
 * Server streams over real processes (tractor's one-way `open_stream_from`, §4.2 cases 28 and 30):
 * ordering, early close, credit-based backpressure, volume, consumer restarts, typed errors and a
 * producer whose process dies.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as MsgStream from "../src/MsgStream.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { StreamFailed, StreamService } from "./fixtures/streamService.ts"
import { checkOrphansAfterEach, fixture, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

const streamModule = fixture("streamService.ts")

const withStreamer = <A, E>(body: (portal: Portal.Portal) => Effect.Effect<A, E>) =>
  Nursery.open((nursery) => Effect.flatMap(Nursery.spawn(nursery, "streamer", { modules: [streamModule] }), body))

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const assertIncreasing = (values: ReadonlyArray<number>) => {
  for (let i = 1; i < values.length; i++) assert.isAbove(values[i]!, values[i - 1]!, `not increasing at ${i}`)
}

describe("Streams", () => {
  it.live("delivers a server stream's values in order, then ends; an empty stream just ends", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const values = yield* Stream.runCollect(Portal.stream(portal, StreamService.range, 10))
        assert.deepStrictEqual(Chunk.toReadonlyArray(values), range(10))
        const none = yield* Stream.runCollect(Portal.stream(portal, StreamService.range, 0))
        assert.strictEqual(Chunk.size(none), 0)
      })
    ))

  it.live("decodes elements through their schema: dates arrive as Date instances", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const dates = Chunk.toReadonlyArray(yield* Stream.runCollect(Portal.stream(portal, StreamService.dates, 3)))
        assert.deepStrictEqual(dates.map((d) => d instanceof Date), [true, true, true])
        const days = dates.map((d) => d.toISOString().slice(0, 10))
        assert.deepStrictEqual(days, ["2020-01-01", "2020-01-02", "2020-01-03"])
      })
    ))

  it.live("multiplexes two streams from one portal concurrently", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const [a, b] = yield* Effect.all([
          Stream.runCollect(Portal.stream(portal, StreamService.range, 5_000)),
          Stream.runCollect(Portal.stream(portal, StreamService.range, 3_000))
        ], { concurrency: 2 })
        assert.deepStrictEqual(Chunk.toReadonlyArray(a), range(5_000))
        assert.deepStrictEqual(Chunk.toReadonlyArray(b), range(3_000))
      })
    ))

  it.live("closing early (take) interrupts the remote producer and runs its finalizers; the actor answers on", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const first = yield* Stream.runCollect(Stream.take(Portal.stream(portal, StreamService.endless, undefined), 5))
        assert.deepStrictEqual(Chunk.toReadonlyArray(first), range(5))
        // the stream's end waited for the producer's acknowledgement: its finalizer has run
        const after = yield* Portal.call(portal, StreamService.counters, undefined)
        assert.strictEqual(after.started, 1)
        assert.strictEqual(after.finalized, 1, "the remote producer's finalizer did not run")
        // the producer is stopped, not running on in the background
        yield* Effect.sleep("300 millis")
        const later = yield* Portal.call(portal, StreamService.counters, undefined)
        assert.strictEqual(later.pulled, after.pulled, "the remote producer kept producing after the stream closed")
        assert.strictEqual(yield* Portal.call(portal, StreamService.ping, "still there"), "pong still there")
        // and it can stream again
        const again = yield* Stream.runCollect(Stream.take(Portal.stream(portal, StreamService.endless, undefined), 3))
        assert.deepStrictEqual(Chunk.toReadonlyArray(again), range(3))
        const counters = yield* Portal.call(portal, StreamService.counters, undefined)
        assert.deepStrictEqual([counters.started, counters.finalized], [2, 2])
      })
    ))

  it.live("stops the remote producer when the scope of a broadcast of its stream closes", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const first = yield* Effect.scoped(Effect.gen(function*() {
          const source = Portal.stream(portal, StreamService.endless, undefined)
          const hub = yield* MsgStream.broadcast(source, { capacity: 64, lag: "skip" })
          const subscriber = yield* hub.subscribe
          yield* hub.start
          return Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(subscriber, 10)))
        }))
        assert.strictEqual(first.length, 10)
        assertIncreasing(first)
        const counters = yield* Portal.call(portal, StreamService.counters, undefined)
        assert.deepStrictEqual([counters.started, counters.finalized], [1, 1])
      })
    ))

  it.live("never signals Lagged to broadcast subscribers that keep up, with the default capacity", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const counts = yield* Effect.scoped(Effect.gen(function*() {
          const hub = yield* MsgStream.broadcast(Portal.stream(portal, StreamService.range, 100_000))
          const subscribers = yield* Effect.all([hub.subscribe, hub.subscribe])
          yield* hub.start
          const count = <E>(s: Stream.Stream<number, E | MsgStream.Lagged>) =>
            Stream.runCount(s).pipe(
              Effect.catchIf(
                (e): e is MsgStream.Lagged => e instanceof MsgStream.Lagged,
                (e) => Effect.dieMessage(`a subscriber that keeps up lagged by ${e.skipped}`)
              )
            )
          return yield* Effect.forEach(subscribers, count, { concurrency: "unbounded" })
        }))
        assert.deepStrictEqual(counts, [100_000, 100_000])
      })
    ))

  it.live("ends the subscribers of a broadcast whose scope closed, running or late", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const hub = yield* MsgStream.broadcast(Portal.stream(portal, StreamService.slow, { n: 1_000, delayMs: 10 })).pipe(
          Scope.extend(scope)
        )
        const running = yield* hub.subscribe
        yield* hub.start
        const consumer = yield* Effect.fork(Stream.runDrain(running))
        yield* Effect.sleep("100 millis")
        yield* Scope.close(scope, Exit.void)
        // tractor: receivers end, and subscribing after the close raises ClosedResourceError
        const ended = yield* Fiber.await(consumer).pipe(Effect.timeoutOption("5 seconds"))
        assert.isTrue(Option.isSome(ended), "a running subscriber hung after the close")
        const late = yield* hub.subscribe
        const lateEnded = yield* Effect.exit(Stream.runDrain(late)).pipe(Effect.timeoutOption("5 seconds"))
        assert.isTrue(Option.isSome(lateEnded), "a late subscriber hung")
      })
    ))

  it.live("never lets the producer run ahead of the consumer by more than the window", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const window = 16
        let taken = 0
        const pulledWhileStalled = yield* Effect.scoped(Effect.gen(function*() {
          const pull = yield* Stream.toPull(Portal.stream(portal, StreamService.endless, undefined, { window }))
          const chunk = yield* pull
          assert.strictEqual(Chunk.unsafeHead(chunk), 0)
          // the consumer has taken this chunk (a tick's batch, at most the window): its credit is back
          taken = chunk.length
          assert.isAtMost(taken, window)
          // the consumer stalls: the producer fills the window (give it up to 5 s)...
          const pulled = Effect.map(Portal.call(portal, StreamService.counters, undefined), (c) => c.pulled)
          const deadline = Date.now() + 5_000
          while ((yield* pulled) < window && Date.now() < deadline) yield* Effect.sleep("20 millis")
          // ...and must stop there
          yield* Effect.sleep("300 millis")
          return yield* pulled
        }))
        // what the consumer took, plus the window, plus the element in the producer's hand when its
        // credit ran out
        assert.isAtMost(pulledWhileStalled, taken + window + 2, `the producer ran ${pulledWhileStalled - taken} elements ahead`)
        assert.isAtLeast(pulledWhileStalled, window, "the producer did not use its window")
      })
    ))

  it.live("never hangs on a window below 1: it is refused or raised to 1", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const exit = yield* Stream.runCollect(Portal.stream(portal, StreamService.range, 3, { window: 0 })).pipe(
          Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "hung" as const }),
          Effect.exit
        )
        assert.isFalse(Exit.isFailure(exit) && Option.contains(Cause.failureOption(exit.cause), "hung"), "the stream hung")
        if (Exit.isSuccess(exit)) assert.deepStrictEqual(Chunk.toReadonlyArray(exit.value), [0, 1, 2])
      })
    ))

  it.live("delivers 1,000,000 small numbers complete, in order, in batches", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const n = 1_000_000
        let expected = 0
        let chunks = 0
        let outOfOrder = 0
        const start = Date.now()
        yield* Portal.stream(portal, StreamService.range, n).pipe(
          Stream.runForEachChunk((chunk) =>
            Effect.sync(() => {
              chunks++
              for (const value of chunk) {
                if (value !== expected) outOfOrder++
                expected++
              }
            })
          )
        )
        const elapsed = Date.now() - start
        assert.strictEqual(expected, n)
        assert.strictEqual(outOfOrder, 0)
        // one chunk per Yield batch: a round trip per element would make a million of them
        assert.isBelow(chunks, n / 10, `${chunks} batches for ${n} elements`)
        assert.isBelow(elapsed, 30_000)
      })
    ), 60_000)

  it.live("keeps an open stream across consumer restarts: every value is received exactly once (case 30)", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const n = 11
        const received: Array<number> = []
        let consumers = 0
        let evenChunks = 0
        yield* Effect.scoped(Effect.gen(function*() {
          const pull = yield* Stream.toPull(Portal.stream(portal, StreamService.slow, { n, delayMs: 30 }))
          let done = false
          while (!done) {
            // a new consumer task, cancelled by us as soon as it has seen an even value
            consumers++
            const sawEven = yield* Deferred.make<void>()
            const consumer = yield* Effect.fork(Effect.forever(
              Effect.flatMap(pull, (chunk) =>
                Effect.sync(() => {
                  for (const value of chunk) received.push(value)
                  const even = Chunk.some(chunk, (value) => value % 2 === 0)
                  if (even) evenChunks++
                  return even
                })).pipe(Effect.flatMap((even) => even ? Deferred.succeed(sawEven, undefined) : Effect.void))
            ))
            const ended = yield* Effect.raceFirst(
              Effect.as(Deferred.await(sawEven), false),
              Effect.as(Fiber.await(consumer), true)
            )
            // the consumer is blocked in (or about to enter) the next pull: cancel it there
            const exit = yield* Fiber.interrupt(consumer)
            // it had already met the end of the stream
            if (ended || (Exit.isFailure(exit) && !Exit.isInterrupted(exit))) done = true
          }
        }))
        assert.deepStrictEqual(received, range(n))
        // a restart after each (batch holding an) even value: 0, 2, 4, 6, 8, 10 when they come one by one
        assert.isAtLeast(evenChunks, 2)
        assert.isAtLeast(consumers, 2)
        assert.isAtMost(consumers, evenChunks + 1)
      })
    ))

  it.live("fails with the declared error, typed, after the elements sent before it", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const seen: Array<number> = []
        const error = yield* Portal.stream(portal, StreamService.failing, 3).pipe(
          Stream.runForEach((n) => Effect.sync(() => seen.push(n))),
          Effect.flip
        )
        assert.deepStrictEqual(seen, [0, 1, 2])
        assert.instanceOf(error, StreamFailed)
        assert.strictEqual(error._tag, "StreamFailed")
        if (error instanceof StreamFailed) assert.strictEqual(error.after, 3)
        // a failed stream is that stream's business: the actor is fine
        assert.strictEqual(yield* Portal.call(portal, StreamService.ping, "after"), "pong after")
      })
    ))

  describe("maxMessageBytes", () => {
    const withSmallFrames = <A, E>(body: (portal: Portal.Portal) => Effect.Effect<A, E>) =>
      Nursery.open((nursery) =>
        Effect.flatMap(
          Nursery.spawn(nursery, "streamer", { modules: [streamModule], maxMessageBytes: 10_000 }),
          body
        )
      )

    it.live("fails with MessageTooLarge when one element is over the limit; the actor keeps answering", () =>
      withSmallFrames((portal) =>
        Effect.gen(function*() {
          const huge = Portal.stream(portal, StreamService.strings, { count: 3, size: 20_000 })
          const error = yield* Effect.flip(Stream.runDrain(huge))
          const tag = ActorError.RemoteActorError.is(error) ? error.errorTag : (error as { _tag?: string })._tag
          assert.strictEqual(tag, "MessageTooLarge", String(error))
          assert.strictEqual(yield* Portal.call(portal, StreamService.ping, "after"), "pong after")
        })
      ))

    it.live("delivers a stream of elements that each fit the limit, however many there are per batch", () =>
      withSmallFrames((portal) =>
        Effect.gen(function*() {
          const small = Portal.stream(portal, StreamService.strings, { count: 1_000, size: 100 })
          const values = yield* Stream.runCollect(small)
          assert.strictEqual(Chunk.size(values), 1_000)
          assert.strictEqual(Chunk.unsafeGet(values, 999), "999".padEnd(100, "."))
        })
      ))
  })

  it.live("fails with ContextCancelled naming us when we cancel the producing actor mid-stream", () =>
    withStreamer((portal) =>
      Effect.gen(function*() {
        const seen: Array<number> = []
        const consumer = yield* Effect.fork(
          Portal.stream(portal, StreamService.slow, { n: 1_000, delayMs: 10 }).pipe(
            Stream.runForEach((n) => Effect.sync(() => seen.push(n))),
            Effect.flip
          )
        )
        while (seen.length < 3) yield* Effect.sleep("10 millis")
        yield* Portal.cancelActor(portal, { timeout: "5 seconds" })
        const error = yield* Fiber.join(consumer).pipe(Effect.timeout("5 seconds"))
        assert.instanceOf(error, ActorError.ContextCancelled, String(error))
        const self = (error as ActorError.ContextCancelled).canceller
        assert.strictEqual(self.pid, process.pid)
        assert.isBelow(seen.length, 1_000)
      })
    ))

  it.live("fails with TransportClosed when the producing actor's process dies mid-stream", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const [error, pid, joined] = yield* Effect.scoped(Effect.gen(function*() {
        // a nursery without a body to interrupt: the stream's own failure is what we observe
        const nursery = yield* Nursery.make<ActorError.TransportClosed>()
        const portal = yield* Nursery.spawn(nursery, "crasher", { modules: [streamModule] })
        const start = Date.now()
        const error = yield* Portal.stream(portal, StreamService.crash, 3).pipe(
          Stream.runForEach((n) => Effect.sync(() => seen.push(n))),
          Effect.flip,
          Effect.timeout("10 seconds")
        )
        assert.isBelow(Date.now() - start, 5_000)
        // the nursery saw the crash too (one-cancels-all)
        const joined = yield* Effect.either(Nursery.join(nursery))
        return [error, portal.actor.pid, joined] as const
      }))
      assert.deepStrictEqual(seen, [0, 1, 2])
      assert.instanceOf(error, ActorError.TransportClosed, String(error))
      if (error instanceof ActorError.TransportClosed) {
        assert.strictEqual(error.actor.pid, pid)
        assert.match(error.reason, /SIGKILL/)
      }
      assert.isTrue(Either.isLeft(joined) && joined.left instanceof ActorError.TransportClosed)
      assert.isFalse(isAlive(pid))
    }))
})
