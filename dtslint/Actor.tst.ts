import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { describe, expect, test } from "tstyche"
import * as Actor from "../src/Actor.ts"
import type * as ActorError from "../src/ActorError.ts"
import * as Portal from "../src/Portal.ts"

class NotPrime extends Schema.TaggedError<NotPrime>()("NotPrime", { n: Schema.Number }) {}
class Other extends Schema.TaggedError<Other>()("Other", {}) {}

const Primes = Actor.protocol("Primes", {
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }),
  factor: Actor.fn({ payload: Schema.Number, success: Schema.Array(Schema.Number), error: NotPrime }),
  ping: Actor.fn({})
})

declare const other: Portal.Portal

const ok = {
  isPrime: (n: number) => Effect.succeed(n > 1),
  factor: (n: number) => Effect.succeed([n]),
  ping: () => Effect.void
}

describe("Actor", () => {
  test("fn: Void payload, Void success and Never error by default", () => {
    expect(Actor.fn({})).type.toBe<Actor.FnSpec<typeof Schema.Void, typeof Schema.Void, typeof Schema.Never>>()
  })

  test("protocol: typed function references", () => {
    expect(Primes.isPrime).type.toBe<
      Actor.Fn<"Primes", "isPrime", typeof Schema.Number, typeof Schema.Boolean, typeof Schema.Never>
    >()
    expect<Actor.Fn.Payload<typeof Primes.factor>>().type.toBe<number>()
    expect<Actor.Fn.Success<typeof Primes.factor>>().type.toBe<ReadonlyArray<number>>()
    expect<Actor.Fn.Error<typeof Primes.factor>>().type.toBe<NotPrime>()
    // what a spec leaves out is Void (payload, success) or Never (error), not any
    expect<Actor.Fn.Payload<typeof Primes.ping>>().type.toBe<void>()
    expect<Actor.Fn.Success<typeof Primes.ping>>().type.toBe<void>()
    expect<Actor.Fn.Error<typeof Primes.isPrime>>().type.toBe<never>()
    expect<Actor.Protocol.Name<typeof Primes>>().type.toBe<"Primes">()
  })

  test("serve: accepts handlers that return Effects", () => {
    expect(Actor.serve).type.toBeCallableWith(Primes, ok)
    expect(Actor.serve(Primes, ok)).type.toBe<Actor.Implementation<typeof Primes>>()
  })

  test("serve: rejects a plain (non-Effect) handler", () => {
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { ...ok, isPrime: (n: number) => n > 1 })
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { ...ok, isPrime: (n: number) => Promise.resolve(n > 1) })
  })

  test("serve: infers the payload of each handler", () => {
    type Handlers = Actor.Handlers<typeof Primes>
    expect<Parameters<Handlers["isPrime"]>>().type.toBe<[payload: number]>()
    expect<Parameters<Handlers["factor"]>>().type.toBe<[payload: number]>()
    expect<ReturnType<Handlers["factor"]>>().type.toBe<
      Effect.Effect<ReadonlyArray<number>, NotPrime | Actor.Relayable, Actor.CurrentActor>
    >()
    Actor.serve(Primes, {
      ...ok,
      isPrime: (n) => {
        expect(n).type.toBe<number>()
        return Effect.succeed(n > 1)
      }
    })
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { ...ok, isPrime: (n: string) => Effect.succeed(n === "") })
  })

  test("serve: checks the success type", () => {
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { ...ok, isPrime: () => Effect.succeed("yes") })
  })

  test("serve: a handler may fail with its declared error or a relayable one, nothing else", () => {
    const notPrime = (n: number) => Effect.fail(new NotPrime({ n }))
    expect(Actor.serve).type.toBeCallableWith(Primes, { ...ok, factor: notPrime })
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { ...ok, isPrime: notPrime })
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { ...ok, factor: () => Effect.fail(new Other()) })
    // a handler that calls another actor: that call's ActorErrors are relayed to the caller
    expect(Actor.serve).type.toBeCallableWith(Primes, {
      ...ok,
      isPrime: (n: number) => Portal.call(other, Primes.isPrime, n)
    })
  })

  test("serve: a handler may use CurrentActor, no other service", () => {
    expect(Actor.serve).type.toBeCallableWith(Primes, {
      ...ok,
      ping: () => Effect.asVoid(Actor.CurrentActor)
    })
    expect(Actor.serve).type.not.toBeCallableWith(Primes, {
      ...ok,
      ping: () => Effect.asVoid(Primes)
    })
  })

  test("serve: every function needs a handler", () => {
    expect(Actor.serve).type.not.toBeCallableWith(Primes, { isPrime: ok.isPrime, ping: ok.ping })
  })

  test("yield* a protocol: its client, and the requirement Actor.Service<Name>", () => {
    const program = Effect.gen(function*() {
      const primes = yield* Primes
      return yield* primes.isPrime(7)
    })
    expect(program).type.toBe<Effect.Effect<boolean, ActorError.ActorError, Actor.Service<"Primes">>>()
    const provided = Effect.provide(program, Portal.layer(Primes, { modules: ["./primes.ts"] }))
    expect(provided).type.toBe<Effect.Effect<boolean, ActorError.ActorError | ActorError.SpawnError, never>>()
  })

  test("the CurrentActor helpers require CurrentActor", () => {
    expect(Actor.cancelSelf).type.toBe<Effect.Effect<void, never, Actor.CurrentActor>>()
    expect(Actor.addFinalizer(() => Effect.void)).type.toBe<Effect.Effect<void, never, Actor.CurrentActor>>()
  })
})
