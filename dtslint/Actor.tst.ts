import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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

class Database extends Context.Tag("Database")<Database, { readonly query: Effect.Effect<void> }>() {}
class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}

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

  test("serve: CurrentActor is always there; any other service a handler uses is the implementation's R", () => {
    expect(Actor.serve(Primes, { ...ok, ping: () => Effect.asVoid(Actor.CurrentActor) })).type.toBe<
      Actor.Implementation<typeof Primes, never>
    >()
    expect(Actor.serve(Primes, { ...ok, ping: () => Effect.asVoid(Database) })).type.toBe<
      Actor.Implementation<typeof Primes, Database>
    >()
    expect(Actor.serve(Primes, { ...ok, ping: () => Effect.asVoid(Primes) })).type.toBe<
      Actor.Implementation<typeof Primes, Actor.Service<"Primes">>
    >()
  })

  test("serve: an Effect may build the handlers; what it uses joins R, its payloads are typed from the protocol", () => {
    const built = Actor.serve(
      Primes,
      Effect.gen(function*() {
        const db = yield* Database
        return Actor.handlers(Primes, {
          isPrime: (n) => Effect.as(db.query, n > 1),
          factor: (n) => Effect.succeed([n]),
          ping: () => Effect.asVoid(Greeting)
        })
      })
    )
    expect(built).type.toBe<Actor.Implementation<typeof Primes, Database | Greeting>>()
    // Actor.handlers checks each handler against its function, as serve does
    expect(Actor.handlers).type.not.toBeCallableWith(Primes, { ...ok, isPrime: (n: number) => Effect.succeed(n) })
  })

  test("provide: a layer removes what it provides and adds what it needs; CurrentActor needs nothing", () => {
    const impl = Actor.serve(Primes, { ...ok, ping: () => Effect.asVoid(Effect.zip(Database, Greeting)) })
    const DatabaseLive = Layer.effect(Database, Effect.map(Greeting, () => ({ query: Effect.void })))
    const GreetingLive = Layer.effect(Greeting, Effect.as(Actor.CurrentActor, "hi"))
    expect(impl.pipe(Actor.provide(DatabaseLive))).type.toBe<Actor.Implementation<typeof Primes, Greeting>>()
    expect(impl.pipe(Actor.provide(DatabaseLive), Actor.provide(GreetingLive))).type.toBe<
      Actor.Implementation<typeof Primes, never>
    >()
    expect(Actor.provide(impl, GreetingLive)).type.toBe<Actor.Implementation<typeof Primes, Database>>()
  })

  test("an implementation that still needs services is not one without requirements", () => {
    const needs = Actor.serve(Primes, { ...ok, ping: () => Effect.asVoid(Database) })
    expect(needs).type.not.toBeAssignableTo<Actor.Implementation<typeof Primes>>()
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
