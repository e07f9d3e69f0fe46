import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Url from "node:url"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Echo } from "./fixtures/protocols.ts"
import { Tree } from "./fixtures/tree.ts"
import { checkOrphansAfterEach, descendants, echoModule, fixture, isAlive, waitGone } from "./utils/index.ts"

checkOrphansAfterEach()

const treeModule = fixture("tree.ts")
/** the tree fixture as a path: a child re-enables it for its own children (see tree.ts) */
const treePath = Url.fileURLToPath(treeModule)

describe("Portal", () => {
  describe("one-shot actors (runInActor)", () => {
    it.live("returns the value of a one-shot call and reaps the actor before returning", () =>
      Effect.gen(function*() {
        const [word, pid] = yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const word = yield* Nursery.runInActor(nursery, Tree.word, undefined, { modules: [treeModule] })
            const pid = yield* Nursery.runInActor(nursery, Echo.pid, undefined, { modules: [echoModule] })
            // reaped when runInActor returns, not only when the nursery closes
            assert.isFalse(isAlive(pid), `one-shot actor ${pid} still alive after runInActor returned`)
            return [word, pid] as const
          })
        )
        assert.strictEqual(word, "Dang that's beautiful")
        assert.notStrictEqual(pid, process.pid)
        assert.isFalse(isAlive(pid))
      }))

    it.live("returns undefined from a one-shot call whose success is void", () =>
      Effect.gen(function*() {
        const result = yield* Nursery.open((nursery) =>
          Nursery.runInActor(nursery, Tree.nothing, undefined, { modules: [treeModule] })
        )
        assert.strictEqual(result, undefined)
      }))

    it.live("reaps a one-shot actor whose call is interrupted before runInActor returns", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const result = yield* Nursery.runInActor(nursery, Echo.sleep, 60_000, { modules: [echoModule] }).pipe(
            Effect.timeoutOption("1 second")
          )
          assert.isTrue(result._tag === "None")
          // still inside the nursery: the actor went with the call, not with the nursery
          assert.deepStrictEqual(descendants(), [])
        })
      ))

    it.live("runs the one-shot call in a separate, non-root actor whose parent is the caller", () =>
      Effect.gen(function*() {
        const [named, defaulted] = yield* Nursery.open((nursery) =>
          Effect.all([
            Nursery.runInActor(nursery, Tree.lineage, undefined, { modules: [treeModule], name: "oneshot" }),
            Nursery.runInActor(nursery, Tree.lineage, undefined, { modules: [treeModule] })
          ], { concurrency: "unbounded" })
        )
        assert.strictEqual(named.self.name, "oneshot")
        assert.notStrictEqual(named.self.pid, process.pid)
        assert.isDefined(named.parent, "a spawned actor has a parent: it is not a root")
        assert.strictEqual(named.parent!.pid, process.pid)
        assert.strictEqual(named.parent!.name, "root")
        // without a name, the actor is named after the function it runs
        assert.strictEqual(defaulted.self.name, "Tree.lineage")
        assert.notStrictEqual(defaulted.self.pid, named.self.pid)
        assert.notStrictEqual(defaulted.self.uid, named.self.uid)
      }))
  })

  describe("daemon actors", () => {
    it.live("answers repeated calls as independent remote tasks until cancelActor stops the process", () =>
      Effect.gen(function*() {
        const pid = yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "daemon", { modules: [echoModule] })
            const echo = Portal.client(portal, Echo)
            const first = yield* echo.sleep(20)
            const second = yield* Portal.call(portal, Echo.sleep, 20)
            assert.strictEqual(first, "slept 20")
            assert.strictEqual(second, first)
            // two handler runs, each completed (the counters live in the actor process)
            const stats = yield* echo.stats(undefined)
            assert.strictEqual(stats.completed, 2)
            assert.strictEqual(stats.interrupted, 0)
            const pid = yield* echo.pid(undefined)
            assert.strictEqual(yield* echo.pid(undefined), pid, "both calls ran in the same process")
            assert.strictEqual(pid, portal.actor.pid)

            yield* Portal.cancelActor(portal)
            assert.deepStrictEqual(yield* waitGone([pid], 5000), [], "the daemon exits after cancelActor")
            const after = yield* Effect.flip(echo.echo("still there?"))
            assert.instanceOf(after, ActorError.TransportClosed)
            assert.deepStrictEqual((after as ActorError.TransportClosed).actor, portal.actor)
            return pid
          })
        )
        assert.isFalse(isAlive(pid))
      }))

    it.live("cancelActor fails the actor's running calls with ContextCancelled naming the caller", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "busy", { modules: [echoModule] })
          const echo = Portal.client(portal, Echo)
          const running = yield* Effect.fork(echo.sleep(60_000))
          assert.strictEqual(yield* echo.echo("barrier"), "barrier")
          yield* Portal.cancelActor(portal)
          const error = yield* Effect.flip(Fiber.join(running))
          assert.instanceOf(error, ActorError.ContextCancelled, String(error))
          const cancelled = error as ActorError.ContextCancelled
          assert.deepStrictEqual(cancelled.actor, portal.actor)
          assert.strictEqual(cancelled.canceller.pid, process.pid, "the root asked for the cancel")
          assert.deepStrictEqual(yield* waitGone([portal.actor.pid], 5000), [])
        })
      ))

    it.live("multiplexes concurrent calls on one portal and gives each caller its own answer", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "mux", { modules: [echoModule] })
          const echo = Portal.client(portal, Echo)
          const inputs = Array.from({ length: 40 }, (_, i) => i)
          // different sleeps make the answers arrive out of order
          const results = yield* Effect.forEach(
            inputs,
            (i) =>
              i % 2 === 0
                ? Effect.map(echo.sleep((i % 5) * 15), (s) => `${i}:${s}`)
                : Effect.map(echo.add({ a: i, b: 1000 }), (n) => `${i}:${n}`),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            results,
            inputs.map((i) => (i % 2 === 0 ? `${i}:slept ${(i % 5) * 15}` : `${i}:${i + 1000}`))
          )
        })
      ))

    it.live("offers call and client in data-last form", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "dual", { modules: [echoModule] })
          assert.strictEqual(yield* Portal.call(Echo.echo, "piped")(portal), "piped")
          assert.strictEqual(yield* Portal.client(Echo)(portal).add({ a: 20, b: 22 }), 42)
        })
      ))
  })

  describe("nested trees", () => {
    it.live("relays the value of a grandchild running the same function to the root", () =>
      Effect.gen(function*() {
        const result = yield* Nursery.open((nursery) =>
          Nursery.runInActor(nursery, Tree.recurse, { module: treePath, depth: 1 }, {
            modules: [treeModule],
            name: "child"
          })
        )
        assert.strictEqual(result.value, 10)
        assert.deepStrictEqual(result.path.map((id) => id.name), ["gen0", "child"])
        const [grandchild, child] = result.path
        assert.notStrictEqual(grandchild!.pid, child!.pid)
        assert.notStrictEqual(grandchild!.pid, process.pid)
        assert.notStrictEqual(child!.pid, process.pid)
        assert.deepStrictEqual(yield* waitGone(result.path.map((id) => id.pid), 1000), [])
      }))
  })

  describe("interruption", () => {
    it.live("interrupting a call interrupts the remote handler, which never completes", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "sleeper", { modules: [echoModule] })
          const echo = Portal.client(portal, Echo)
          const before = yield* echo.stats(undefined)
          const call = yield* Effect.fork(echo.sleep(60_000))
          // frames are handled in order: once this answers, the sleep handler is running
          assert.strictEqual(yield* echo.echo("barrier"), "barrier")
          const exit = yield* Fiber.interrupt(call)
          assert.isTrue(Exit.isInterrupted(exit), `expected an interruption, got ${String(exit)}`)
          const after = yield* echo.stats(undefined)
          assert.strictEqual(after.interrupted, before.interrupted + 1)
          assert.strictEqual(after.completed, before.completed)
          // the actor itself is unharmed
          assert.strictEqual(yield* echo.sleep(1), "slept 1")
          assert.isTrue(isAlive(portal.actor.pid))
        })
      ))

    it.live("a timeout around a call interrupts the remote handler", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "timed", { modules: [echoModule] })
          const echo = Portal.client(portal, Echo)
          const result = yield* echo.sleep(60_000).pipe(Effect.timeoutOption("500 millis"))
          assert.isTrue(result._tag === "None")
          const stats = yield* echo.stats(undefined)
          assert.strictEqual(stats.completed, 0)
          assert.strictEqual(stats.interrupted, 1)
        })
      ))
  })

  describe("layer", () => {
    it.live("provides a protocol as a service backed by an actor that lives as long as the layer", () =>
      Effect.gen(function*() {
        const [text, sum, id] = yield* Effect.gen(function*() {
          const echo = yield* Echo
          return [yield* echo.echo("via layer"), yield* echo.add({ a: 1, b: 2 }), yield* echo.whoami(undefined)] as const
        }).pipe(Effect.provide(Portal.layer(Echo, { modules: [echoModule] })))
        assert.strictEqual(text, "via layer")
        assert.strictEqual(sum, 3)
        assert.strictEqual(id.name, "Echo", "the actor is named after the protocol by default")
        assert.notStrictEqual(id.pid, process.pid)
        assert.deepStrictEqual(yield* waitGone([id.pid], 5000), [], "the actor is gone once the layer is released")
      }))

    it.live("names the layer's actor after the name option", () =>
      Effect.gen(function*() {
        const id = yield* Effect.flatMap(Echo, (echo) => echo.whoami(undefined)).pipe(
          Effect.provide(Portal.layer(Echo, { modules: [echoModule], name: "echo-service" }))
        )
        assert.strictEqual(id.name, "echo-service")
      }))
  })
})
