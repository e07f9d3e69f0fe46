/**
 * The same behaviours over every transport a portal can use: the parent's link to its child (fd 3),
 * a peer connection over a Unix socket (a portal from the registry), and TCP under TLS 1.3 with the
 * tree's key (a portal from the registry, found by a root of another host that joined it). Calls, declared and
 * undeclared failures, refusals, interruption, streams with early ends, dialogs, cancelActor and a
 * peer that dies mid-call must look the same through both.
 */
import * as Crypto from "node:crypto"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import { DialogService } from "./fixtures/dialogService.ts"
import { Boom, Echo, Unserved } from "./fixtures/protocols.ts"
import { StreamService } from "./fixtures/streamService.ts"
import { checkOrphansAfterEach, echoModule, fixture, freePort, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

const modules = [echoModule, fixture("streamService.ts"), fixture("dialogService.ts")]

/**
 * Two roots as two hosts: "here" serves the registry over TCP and its actors accept peers over TCP
 * too; "there" (another host identity) joins that registry with the same key. Made once per file.
 */
const twoHosts = Effect.runSync(Effect.cached(Effect.map(freePort, (port) => {
  const key = Crypto.randomBytes(32).toString("base64")
  const registry = `tcp:127.0.0.1:${port}`
  const here = TreeRuntime.makeRoot({ name: "here", registry, key, tcpHost: "127.0.0.1" })
  const there = TreeRuntime.makeRoot({ name: "there", registry, key, host: "another-host" })
  roots.push(here, there)
  return { here, there }
})))
const roots: Array<TreeRuntime.TreeRuntime> = []
afterAll(() => {
  for (const root of roots) root.close()
})

interface Transport {
  readonly name: string
  /** the name of the actor that cancels through the portal */
  readonly canceller: string
  /** runs the test in the runtime its tree needs */
  readonly around?: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** a portal to a new actor serving Echo, StreamService and DialogService, and that actor's own portal */
  readonly open: (
    nursery: Nursery.Nursery,
    name: string
  ) => Effect.Effect<{ readonly portal: Portal.Portal; readonly child: Portal.Portal }, unknown, Scope.Scope>
}

const transports: ReadonlyArray<Transport> = [
  {
    name: "the parent's link",
    canceller: "root",
    open: (nursery, name) => Effect.map(Nursery.spawn(nursery, name, { modules }), (child) => ({ portal: child, child }))
  },
  {
    name: "a Unix socket (from the registry)",
    canceller: "root",
    open: (nursery, name) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, name, { modules })
        const portal = Option.getOrThrow(yield* Registry.findActor(name))
        const runtime = yield* TreeRuntime.current
        assert.strictEqual(runtime.connectionTo(child.actor.uid)?.address.kind, "unix")
        return { portal, child }
      })
  },
  {
    name: "TCP + TLS (from a root of another host)",
    canceller: "there",
    around: (effect) =>
      Effect.flatMap(twoHosts, ({ here }) => Effect.provideService(effect, TreeRuntime.ActorRuntimeTag, here)),
    open: (nursery, name) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, name, { modules })
        const { there } = yield* twoHosts
        const portal = Option.getOrThrow(
          yield* Effect.provideService(Registry.findActor(name), TreeRuntime.ActorRuntimeTag, there)
        )
        assert.strictEqual(there.connectionTo(child.actor.uid)?.address.kind, "tcp")
        return { portal, child }
      })
  }
]

describe.each(transports)("over $name", (transport) => {
  const around = transport.around ?? ((effect) => effect)
  const withActor = <A>(body: (portal: Portal.Portal, child: Portal.Portal) => Effect.Effect<A, unknown>) =>
    around(Effect.scoped(Nursery.open((nursery) =>
      Effect.scoped(Effect.flatMap(transport.open(nursery, "peer"), ({ child, portal }) => body(portal, child)))
    )))

  it.live("calls answer, declared errors arrive as themselves, undeclared ones boxed with their source", () =>
    withActor((portal, child) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* Portal.call(portal, Echo.echo, "é€😀"), "é€😀")
        assert.strictEqual(yield* Portal.call(portal, Echo.add, { a: 1, b: 2 }), 3)
        const pids = yield* Effect.all(Array.from({ length: 100 }, () => Portal.call(portal, Echo.pid, undefined)), {
          concurrency: "unbounded"
        })
        assert.isTrue(pids.every((pid) => pid === child.actor.pid))
        const boom = yield* Effect.flip(Portal.call(portal, Echo.boom, "why"))
        assert.instanceOf(boom, Boom)
        const undeclared = yield* Effect.flip(Portal.call(portal, Echo.undeclared, "plain"))
        assert.instanceOf(undeclared, ActorError.RemoteActorError)
        assert.strictEqual((undeclared as ActorError.RemoteActorError).source.uid, child.actor.uid)
        assert.strictEqual((undeclared as ActorError.RemoteActorError).message, "plain")
        const died = yield* Effect.flip(Portal.call(portal, Echo.die, "defect"))
        assert.strictEqual((died as ActorError.RemoteActorError).errorTag, "TypeError")
      })
    ))

  it.live("refusals and bad values are typed errors, and the connection goes on", () =>
    withActor((portal) =>
      Effect.gen(function*() {
        assert.instanceOf(yield* Effect.flip(Portal.call(portal, Unserved.nothing, undefined)), ActorError.ModuleNotEnabled)
        const bad = yield* Effect.flip(Portal.call(portal, Echo.add, { a: 1 } as never))
        assert.instanceOf(bad, ActorError.MsgTypeError)
        assert.instanceOf(yield* Effect.flip(Portal.call(portal, Echo.badResult, undefined)), ActorError.MsgTypeError)
        assert.strictEqual(yield* Portal.call(portal, Echo.echo, "still here"), "still here")
      })
    ))

  it.live("interrupting a call interrupts its handler and waits for the ack", () =>
    withActor((portal) =>
      Effect.gen(function*() {
        const before = yield* Portal.call(portal, Echo.stats, undefined)
        const result = yield* Portal.call(portal, Echo.sleep, 60_000).pipe(Effect.timeoutOption("100 millis"))
        assert.isTrue(Option.isNone(result))
        const after = yield* Portal.call(portal, Echo.stats, undefined)
        assert.strictEqual(after.interrupted, before.interrupted + 1)
      })
    ))

  it.live("streams deliver every element in order; ending early finalizes the producer", () =>
    withActor((portal) =>
      Effect.gen(function*() {
        const all = yield* Stream.runCollect(Portal.stream(portal, StreamService.range, 20_000))
        assert.strictEqual(Chunk.size(all), 20_000)
        assert.isTrue(Chunk.toReadonlyArray(all).every((n, i) => n === i))
        const five = yield* Stream.runCollect(Stream.take(Portal.stream(portal, StreamService.endless, undefined), 5))
        assert.deepStrictEqual(Chunk.toReadonlyArray(five), [0, 1, 2, 3, 4])
        const counters = yield* Portal.call(portal, StreamService.counters, undefined)
        assert.strictEqual(counters.finalized, counters.started)
        const failing = yield* Effect.flip(Stream.runDrain(Portal.stream(portal, StreamService.failing, 3)))
        assert.strictEqual((failing as { _tag: string })._tag, "StreamFailed")
      })
    ))

  it.live("dialogs: started, a two-way stream, a result", () =>
    withActor((portal) =>
      Effect.gen(function*() {
        const result = yield* Portal.openDialog(portal, DialogService.pingPong, 10, (dialog) =>
          Effect.gen(function*() {
            assert.strictEqual(dialog.started, 11)
            const stream = yield* dialog.openStream()
            const answers: Array<string> = []
            yield* Effect.fork(Stream.runForEach(stream.receive, (msg) => Effect.sync(() => answers.push(msg))))
            for (let i = 0; i < 10; i++) yield* stream.send("ping")
            yield* stream.close
            const count = yield* dialog.result
            return { count, answers }
          }))
        assert.strictEqual(result.count, 10)
      })
    ))

  it.live("cancelActor fails the actor's calls with ContextCancelled naming the canceller, and the actor exits", () =>
    withActor((portal, child) =>
      Effect.gen(function*() {
        const sleeping = yield* Effect.fork(Portal.call(portal, Echo.sleep, 60_000))
        yield* Effect.sleep("50 millis")
        yield* Portal.cancelActor(portal)
        const error = yield* Effect.flip(Fiber.join(sleeping))
        assert.instanceOf(error, ActorError.ContextCancelled)
        // the canceller is whoever holds the portal: the parent, or the root that found the actor
        assert.strictEqual((error as ActorError.ContextCancelled).canceller.name, transport.canceller)
        const start = Date.now()
        while (isAlive(child.actor.pid) && Date.now() - start < 2000) yield* Effect.sleep("5 millis")
        assert.isFalse(isAlive(child.actor.pid))
      })
    ))

  it.live("an actor that dies mid-call fails the call with TransportClosed naming it, not a hang", () =>
    around(Effect.gen(function*() {
      let pid = 0
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        // no nursery body to interrupt: what we observe is the call's own failure
        const nursery = yield* Nursery.make()
        const { child, portal } = yield* transport.open(nursery, "dier")
        pid = child.actor.pid
        const call = yield* Effect.fork(Portal.call(portal, Echo.sleep, 60_000))
        yield* Effect.sleep("50 millis")
        process.kill(pid, "SIGKILL")
        return yield* Fiber.join(call).pipe(Effect.timeout("5 seconds"))
      })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      assert.instanceOf(error, ActorError.TransportClosed, String(exit))
      assert.strictEqual((error as ActorError.TransportClosed).actor.pid, pid)
    })))
})
