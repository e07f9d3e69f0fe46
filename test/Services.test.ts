/**
 * Handlers that use services: a layer per implementation, built in the actor before it is ready
 * and closed when it ends; handlers built once by an Effect; and a layer or a builder that fails,
 * which fails the spawn with SpawnError and leaves no process.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import * as Registry from "../src/Registry.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Counter, Greeter } from "./fixtures/services.ts"
import { checkOrphansAfterEach, fixture, tempDir } from "./utils/index.ts"

checkOrphansAfterEach()

const lines = (file: string) => Fs.existsSync(file) ? Fs.readFileSync(file, "utf8").trimEnd().split("\n") : []

describe("services in actors", () => {
  it.live("handlers use the services of their layers (Config from the actor's environment); builders run once", () =>
    Effect.gen(function*() {
      const journal = Path.join(tempDir("tractor-services-"), "journal")
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "services", {
            modules: [fixture("services.ts")],
            env: { GREETING: "Bonjour", SERVICES_JOURNAL: journal }
          })
          assert.strictEqual(yield* Portal.call(portal, Greeter.greet, "Ada"), "Bonjour, Ada")
          assert.deepStrictEqual(
            [
              yield* Portal.call(portal, Counter.next, undefined),
              yield* Portal.call(portal, Counter.next, undefined),
              yield* Portal.call(portal, Counter.next, undefined)
            ],
            [1, 2, 3]
          )
          assert.strictEqual(yield* Portal.call(portal, Counter.builds, undefined), 1)
        })
      )
      // one journal layer for both implementations (the same layer value is built once), acquired
      // before the actor was ready, released when it ended
      assert.deepStrictEqual(lines(journal), ["acquired", "counter built", "greeted Ada", "released"])
    }))

  it.live.each([
    { how: "fail", expected: /implementation of "Store": its layer failed: .*DatabaseDown/ },
    { how: "die", expected: /implementation of "Store": its layer failed: .*the driver is missing/ },
    { how: "build", expected: /implementation of "Store": the effect building its handlers failed: .*DatabaseDown/ }
  ])("a failing service ($how) fails the spawn with SpawnError naming the module, and leaves nothing", ({ expected, how }) =>
    Effect.gen(function*() {
      const error = yield* Nursery.open((nursery) =>
        Nursery.spawn(nursery, "store", { modules: [fixture("services_failing.ts")], env: { FAIL_HOW: how } })
      ).pipe(Effect.flip)
      assert.isTrue(error instanceof ActorError.SpawnError, String(error))
      if (!(error instanceof ActorError.SpawnError)) return
      assert.match(error.message, /^actor "store" could not start the services of /)
      assert.match(error.message, expected)
      assert.match(error.module ?? "", /services_failing/)
    }))

  it.live("a layer that succeeds serves: the same module with a working database", () =>
    Effect.gen(function*() {
      const { Store } = yield* Effect.promise(() => import("./fixtures/services_failing.ts"))
      const count = yield* Nursery.open((nursery) =>
        Effect.flatMap(
          Nursery.spawn(nursery, "store", { modules: [fixture("services_failing.ts")], env: { FAIL_HOW: "none" } }),
          (portal) => Portal.call(portal, Store.count, undefined)
        )
      )
      assert.strictEqual(count, 7)
    }))
})

describe("services in the root", () => {
  class Prefix extends Context.Tag("test/Prefix")<Prefix, string>() {}
  const RootHello = Actor.protocol("RootHello", { greet: Actor.fn({ payload: Schema.String, success: Schema.String }) })
  // the handlers are built with a service of the application, which the root's layer requires
  const RootHelloLive = Actor.serve(
    RootHello,
    Effect.map(Prefix, (prefix) => Actor.handlers(RootHello, { greet: (name) => Effect.succeed(`${prefix}${name}`) }))
  )

  it.live("a root's handlers use the application's services: they are the requirements of its layer", () =>
    Effect.gen(function*() {
      yield* Effect.orDie((yield* TreeRuntime.current).listen)
      const self = yield* Registry.waitForActor("services-root", { timeout: "2 seconds" })
      assert.strictEqual(yield* Portal.call(self, RootHello.greet, "Ada"), "from the app: Ada")
    }).pipe(
      Effect.scoped,
      Effect.provide(ActorRuntime.layer({ name: "services-root", serve: [RootHelloLive] })),
      Effect.provide(Layer.succeed(Prefix, "from the app: "))
    ))
})
