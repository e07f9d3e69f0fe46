import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import { describe, expect, test } from "tstyche"
import * as Actor from "../src/Actor.ts"
import type * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import type * as Supervision from "../src/Supervision.ts"

class NotPrime extends Schema.TaggedError<NotPrime>()("NotPrime", { n: Schema.Number }) {}
class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

const Primes = Actor.protocol("Primes", {
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }),
  factor: Actor.fn({ payload: Schema.Number, success: Schema.Array(Schema.Number), error: NotPrime })
})

declare const nursery: Nursery.Nursery
declare const portal: Portal.Portal
declare const policy: Supervision.Policy
declare const maybePolicy: Supervision.Policy | undefined
const modules = ["./primes.ts"]

describe("Nursery", () => {
  test("spawn gives a portal or a SpawnError, with no requirement", () => {
    expect(Nursery.spawn(nursery, "worker_0", { modules })).type.toBe<
      Effect.Effect<Portal.Portal, ActorError.SpawnError, never>
    >()
    expect(Nursery.spawn("worker_0", { modules })(nursery)).type.toBe<
      Effect.Effect<Portal.Portal, ActorError.SpawnError, never>
    >()
  })

  test("spawn needs the enabled modules", () => {
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "worker_0", {})
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "worker_0", { modules: [new URL("file:///m.ts")] })
  })

  test("runInActor: the success, the declared error, an ActorError or a SpawnError", () => {
    expect(Nursery.runInActor(nursery, Primes.isPrime, 7, { modules })).type.toBe<
      Effect.Effect<boolean, ActorError.ActorError | ActorError.SpawnError, never>
    >()
    expect(Nursery.runInActor(nursery, Primes.factor, 7, { modules })).type.toBe<
      Effect.Effect<ReadonlyArray<number>, NotPrime | ActorError.ActorError | ActorError.SpawnError, never>
    >()
  })

  test("runInActor checks the payload", () => {
    expect(Nursery.runInActor).type.not.toBeCallableWith(nursery, Primes.isPrime, "7", { modules })
  })

  test("open: fails with the body's errors (and TransportClosed); Scope is provided", () => {
    expect(Nursery.open(() => Effect.fail(new Boom()))).type.toBe<
      Effect.Effect<never, Boom | ActorError.TransportClosed, never>
    >()
    expect(Nursery.open((n) => Nursery.spawn(n, "worker_0", { modules }))).type.toBe<
      Effect.Effect<Portal.Portal, ActorError.SpawnError | ActorError.TransportClosed, never>
    >()
    expect(Nursery.open(() => Effect.scope)).type.toBe<Effect.Effect<Scope.Scope, ActorError.TransportClosed, never>>()
  })

  test("open: keeps the body's other requirements", () => {
    expect(Nursery.open(() => Effect.asVoid(Actor.CurrentActor))).type.toBe<
      Effect.Effect<void, ActorError.TransportClosed, Actor.CurrentActor>
    >()
  })

  test("open: an annotated nursery widens the error with what its tasks may fail with", () => {
    const opened = Nursery.open((n: Nursery.Nursery<Boom>) => Nursery.fork(n, Effect.fail(new Boom())))
    expect(opened).type.toBe<
      Effect.Effect<Fiber.RuntimeFiber<never, Boom>, Boom | ActorError.TransportClosed, never>
    >()
  })

  test("open with supervision: the nursery may also give up", () => {
    expect(Nursery.open(() => Effect.void, { supervision: policy })).type.toBe<
      Effect.Effect<void, ActorError.TransportClosed | Supervision.RestartIntensityExceeded, never>
    >()
    // a policy that may be there or not: the nursery may give up
    expect(Nursery.open(() => Effect.void, { supervision: maybePolicy })).type.toBe<
      Effect.Effect<void, ActorError.TransportClosed | Supervision.RestartIntensityExceeded, never>
    >()
    expect(Nursery.open(() => Effect.void, { gracePeriod: "1 second" })).type.toBe<
      Effect.Effect<void, ActorError.TransportClosed, never>
    >()
    expect(Nursery.join(nursery)).type.toBe<
      Effect.Effect<void, ActorError.TransportClosed | Supervision.RestartIntensityExceeded, never>
    >()
  })

  test("spawn options: restart types and shutdowns are checked", () => {
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "w", { modules, restart: "transient", shutdown: "brutal" })
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "w", { modules, shutdown: "2 seconds" })
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "w", { modules, restart: "sometimes" })
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "w", { modules, spawnMethod: "thread", resourceLimits: { maxOldGenerationSizeMb: 64 } })
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "w", { modules, spawnMethod: "fiber" })
  })

  test("spawn options for debugging: inspect (true, or a port, pauseOnStart, keepOnCrash) and output", () => {
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "w", { modules, inspect: true, output: "prefixed" })
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "w", {
      modules,
      inspect: { port: 9229, pauseOnStart: true, keepOnCrash: "30 seconds" }
    })
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "w", { modules, inspect: "yes" })
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "w", { modules, inspect: { port: "9229" } })
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "w", { modules, inspect: { keepOnCrash: "a while" } })
    expect(Nursery.spawn).type.toBeCallableWith(nursery, "w", { modules, output: "log" })
    expect(Nursery.spawn).type.not.toBeCallableWith(nursery, "w", { modules, output: "pipe" })
  })

  test("events and stopChild", () => {
    expect(Nursery.events(nursery)).type.toBe<Effect.Effect<Queue.Dequeue<Supervision.Event>, never, Scope.Scope>>()
    expect(Nursery.stopChild(nursery, portal)).type.toBe<Effect.Effect<void, never, never>>()
    expect(Portal.awaitExit(portal)).type.toBe<Effect.Effect<Actor.ActorExit, never, never>>()
  })

  test("fork: a task may only fail with the nursery's error type", () => {
    expect(Nursery.fork).type.not.toBeCallableWith(nursery, Effect.fail(new Boom()))
    expect(Nursery.fork).type.toBeCallableWith(nursery, Effect.void)
  })

  test("make is scoped; cancel cannot fail", () => {
    expect(Nursery.make()).type.toBe<Effect.Effect<Nursery.Nursery<never>, never, Scope.Scope>>()
    expect(Nursery.cancel(nursery)).type.toBe<Effect.Effect<void, never, never>>()
  })
})
