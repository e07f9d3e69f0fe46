import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Echo } from "./fixtures/protocols.ts"
import { assertNoOrphans, checkOrphansAfterEach, echoModule, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

describe("Nursery", () => {
  it.live("spawns an actor, calls it, and reaps it when the nursery closes", () =>
    Effect.gen(function*() {
      const pid = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "echo", { modules: [echoModule] })
          const echo = Portal.client(portal, Echo)
          assert.strictEqual(yield* echo.echo("hi"), "hi")
          assert.strictEqual(yield* echo.add({ a: 2, b: 3 }), 5)
          assert.isTrue(isAlive(portal.actor.pid))
          return portal.actor.pid
        })
      )
      assert.isFalse(isAlive(pid))
      yield* assertNoOrphans(0)
    }))

  it.live("reports the actor identity through CurrentActor", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portal = yield* Nursery.spawn(nursery, "ident", { modules: [echoModule] })
        const id = yield* Portal.call(portal, Echo.whoami, undefined)
        assert.deepStrictEqual(id, portal.actor)
        assert.strictEqual(id.name, "ident")
      })
    ))

  it.live("fails with every failure when a child crashes (one-cancels-all)", () =>
    Effect.gen(function*() {
      const exit = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const a = yield* Nursery.spawn(nursery, "a", { modules: [echoModule] })
          const b = yield* Nursery.spawn(nursery, "b", { modules: [echoModule] })
          process.kill(a.actor.pid, "SIGKILL")
          return yield* Portal.call(b, Echo.sleep, 60_000)
        })
      ).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const failures = [...Cause.failures(exit.cause)]
        assert.isTrue(failures.some((e) => e instanceof ActorError.TransportClosed && e.actor.name === "a"), String(exit.cause))
      }
    }))

  it.live("refuses a spawn beyond maxActors with a SpawnError that names the limit, and spawns again once there is room", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const first = yield* Nursery.spawn(nursery, "one", { modules: [echoModule] })
        const second = yield* Nursery.spawn(nursery, "two", { modules: [echoModule] })
        const refused = yield* Effect.flip(Nursery.spawn(nursery, "three", { modules: [echoModule] }))
        assert.instanceOf(refused, ActorError.SpawnError)
        assert.strictEqual(refused.actorName, "three")
        assert.include(refused.message, "already has 2 actors, its limit (maxActors 2)")
        assert.include(refused.message, "raise maxActors on the nursery")
        yield* Portal.cancelActor(first)
        assert.strictEqual(yield* Portal.call(second, Echo.echo, "still here"), "still here")
        // room again once the first has exited (its exit reaches the nursery on the event loop)
        const third = yield* Nursery.spawn(nursery, "three", { modules: [echoModule] }).pipe(
          Effect.retry(Schedule.intersect(Schedule.spaced("25 millis"), Schedule.recurs(40)))
        )
        assert.strictEqual(yield* Portal.call(third, Echo.echo, "room"), "room")
      }), { maxActors: 2 }))

  it.live("the teardown of a failing nursery logs with the application's logger, not the default one", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const capture = Logger.make(({ message }) => {
        logged.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const exit = yield* Effect.exit(Nursery.open((nursery) =>
        Effect.gen(function*() {
          const stuck = yield* Nursery.spawn(nursery, "stuck", { modules: [echoModule] })
          // deaf to the cancel request and to SIGTERM: the ladder ends with SIGKILL, and says so
          yield* Effect.fork(Portal.call(stuck, Echo.blockSync, 10_000))
          yield* Effect.sleep("100 millis")
          return yield* Effect.fail("the body fails")
        }), { gracePeriod: "50 millis", termPeriod: "100 millis" }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      ))
      assert.isTrue(Exit.isFailure(exit))
      assert.isTrue(logged.some((line) => /did not acknowledge the cancel request within 50 ms .*: SIGKILL/.test(line)), logged.join("\n"))
    }))
})
