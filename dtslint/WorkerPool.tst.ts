import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { describe, expect, test } from "tstyche"
import * as Actor from "../src/Actor.ts"
import type * as ActorError from "../src/ActorError.ts"
import type * as Supervision from "../src/Supervision.ts"
import * as WorkerPool from "../src/WorkerPool.ts"

class NotPrime extends Schema.TaggedError<NotPrime>()("NotPrime", { n: Schema.Number }) {}

const Primes = Actor.protocol("Primes", {
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }),
  factor: Actor.fn({ payload: Schema.Number, success: Schema.Array(Schema.Number), error: NotPrime })
})

declare const pool: WorkerPool.WorkerPool
const modules = ["./primes.ts"]

describe("WorkerPool", () => {
  test("mapUnordered streams [input, output] pairs", () => {
    expect(WorkerPool.mapUnordered(pool, Primes.isPrime, [2, 3, 4])).type.toBe<
      Stream.Stream<readonly [number, boolean], ActorError.ActorError | WorkerPool.PoolQueueFull, never>
    >()
    expect(WorkerPool.mapUnordered(pool, Primes.factor, new Set([6]))).type.toBe<
      Stream.Stream<readonly [number, ReadonlyArray<number>], NotPrime | ActorError.ActorError | WorkerPool.PoolQueueFull, never>
    >()
  })

  test("map streams the outputs alone, in input order", () => {
    expect(WorkerPool.map(pool, Primes.isPrime, [2, 3, 4])).type.toBe<
      Stream.Stream<boolean, ActorError.ActorError | WorkerPool.PoolQueueFull, never>
    >()
    // data last, for pipe
    expect(WorkerPool.map(Primes.isPrime, [2])(pool))
      .type.toBe<Stream.Stream<boolean, ActorError.ActorError | WorkerPool.PoolQueueFull, never>>()
  })

  test("events and progress", () => {
    expect(WorkerPool.events(pool)).type.toBe<Effect.Effect<Queue.Dequeue<Supervision.Event>, never, Scope.Scope>>()
    expect(WorkerPool.map(pool, Primes.isPrime, [2]).pipe(WorkerPool.progress(1))).type.toBe<
      Stream.Stream<boolean, ActorError.ActorError | WorkerPool.PoolQueueFull, never>
    >()
  })

  test("client: a portal's client type, balanced over the pool", () => {
    expect(WorkerPool.client(pool, Primes).factor(6)).type.toBe<
      Effect.Effect<ReadonlyArray<number>, NotPrime | ActorError.ActorError, never>
    >()
  })

  test("stats, options and the queue's error", () => {
    expect(WorkerPool.stats(pool)).type.toBe<Effect.Effect<WorkerPool.WorkerPool.Stats, never, never>>()
    expect(WorkerPool.make).type.toBeCallableWith({
      modules,
      maxQueue: 100,
      concurrencyPerWorker: 2,
      onInterrupt: "kill",
      killGrace: "50 millis",
      supervision: "oneCancelsAll"
    })
    expect(WorkerPool.make).type.not.toBeCallableWith({ modules, onInterrupt: "abort" })
    expect(WorkerPool.make).type.toBeCallableWith({ modules, size: 8, minSize: 1, idleTimeout: "10 seconds" })
    expect(pool.call(Primes.isPrime, 7, { retry: Schedule.recurs(2) })).type.toBe<
      Effect.Effect<boolean, ActorError.ActorError | WorkerPool.PoolQueueFull, never>
    >()
  })

  test("map checks the inputs against the payload schema", () => {
    expect(WorkerPool.mapUnordered).type.not.toBeCallableWith(pool, Primes.isPrime, ["2"])
    expect(WorkerPool.mapUnordered).type.not.toBeCallableWith(pool, Primes.isPrime, ["2"])
  })

  test("pool.call is typed like a portal call", () => {
    expect(pool.call(Primes.factor, 6)).type.toBe<
      Effect.Effect<ReadonlyArray<number>, NotPrime | ActorError.ActorError | WorkerPool.PoolQueueFull, never>
    >()
  })

  test("make is scoped and may fail to spawn", () => {
    expect(WorkerPool.make({ size: 4, modules })).type.toBe<
      Effect.Effect<WorkerPool.WorkerPool, ActorError.SpawnError, Scope.Scope>
    >()
  })

  test("use: no requirement left, so Effect.runPromise runs it", () => {
    const main = WorkerPool.use({ size: 4, modules }, (pool) =>
      Stream.runCollect(WorkerPool.mapUnordered(pool, Primes.isPrime, [2, 3, 4])))
    expect(main).type.toBe<
      Effect.Effect<
        Chunk.Chunk<readonly [number, boolean]>,
        ActorError.ActorError | ActorError.SpawnError | WorkerPool.PoolQueueFull,
        never
      >
    >()
  })
})
