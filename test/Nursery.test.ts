import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
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
})
