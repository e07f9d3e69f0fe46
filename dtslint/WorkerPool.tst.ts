import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { describe, expect, test } from "tstyche"
import * as Actor from "../src/Actor.ts"
import type * as ActorError from "../src/ActorError.ts"
import * as WorkerPool from "../src/WorkerPool.ts"

class NotPrime extends Schema.TaggedError<NotPrime>()("NotPrime", { n: Schema.Number }) {}

const Primes = Actor.protocol("Primes", {
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }),
  factor: Actor.fn({ payload: Schema.Number, success: Schema.Array(Schema.Number), error: NotPrime })
})

declare const pool: WorkerPool.WorkerPool
const modules = ["./primes.ts"]

describe("WorkerPool", () => {
  test("map streams [input, output] pairs", () => {
    expect(WorkerPool.map(pool, Primes.isPrime, [2, 3, 4])).type.toBe<
      Stream.Stream<readonly [number, boolean], ActorError.ActorError, never>
    >()
    expect(WorkerPool.map(pool, Primes.factor, new Set([6]))).type.toBe<
      Stream.Stream<readonly [number, ReadonlyArray<number>], NotPrime | ActorError.ActorError, never>
    >()
  })

  test("mapOrdered streams the outputs alone", () => {
    expect(WorkerPool.mapOrdered(pool, Primes.isPrime, [2, 3, 4])).type.toBe<
      Stream.Stream<boolean, ActorError.ActorError, never>
    >()
  })

  test("map checks the inputs against the payload schema", () => {
    expect(WorkerPool.map).type.not.toBeCallableWith(pool, Primes.isPrime, ["2"])
    expect(WorkerPool.mapOrdered).type.not.toBeCallableWith(pool, Primes.isPrime, ["2"])
  })

  test("pool.call is typed like a portal call", () => {
    expect(pool.call(Primes.factor, 6)).type.toBe<
      Effect.Effect<ReadonlyArray<number>, NotPrime | ActorError.ActorError, never>
    >()
  })

  test("make is scoped and may fail to spawn", () => {
    expect(WorkerPool.make({ size: 4, modules })).type.toBe<
      Effect.Effect<WorkerPool.WorkerPool, ActorError.SpawnError, Scope.Scope>
    >()
  })

  test("workerPool: no requirement left, so Effect.runPromise runs it", () => {
    const main = WorkerPool.workerPool({ size: 4, modules }, (pool) =>
      Stream.runCollect(WorkerPool.map(pool, Primes.isPrime, [2, 3, 4])))
    expect(main).type.toBe<
      Effect.Effect<
        Chunk.Chunk<readonly [number, boolean]>,
        ActorError.ActorError | ActorError.SpawnError,
        never
      >
    >()
  })
})
