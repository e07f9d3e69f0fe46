/**
 * The registry: every actor that serves protocols is registered under its name once ready and gone
 * soon after its exit (however it ends); any actor of the tree, and the root, finds it by name and
 * talks to it over a connection of its own (tractor's find_actor / wait_for_actor, cases 41-42).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Readline from "node:readline"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import { Peers } from "./fixtures/peers.ts"
import { Echo } from "./fixtures/protocols.ts"
import { DialogService } from "./fixtures/dialogService.ts"
import { StreamService } from "./fixtures/streamService.ts"
import { EchoLive } from "./fixtures/echo.ts"
import { checkOrphansAfterEach, closesWithoutAnswer, echoModule, fixture, isAlive, tempDir } from "./utils/index.ts"
import { expectLogs, tolerateLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

const peersModule = fixture("peers.ts")
const streamModule = fixture("streamService.ts")

const names = Effect.map(Effect.orDie(Registry.list), (entries) => entries.map((e) => e.name))

/** Polls until `check` holds, up to `ms`; returns how long it took, or fails the test. */
const within = (ms: number, what: string, check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (!(yield* check)) {
      if (Date.now() - start > ms) return assert.fail(`${what}: not within ${ms} ms`)
      yield* Effect.sleep("2 millis")
    }
    return Date.now() - start
  })

const registered = (name: string) => Effect.map(names, (all) => all.includes(name))

describe("Registry", () => {
  it.live("an actor is registered once ready: name, id, pid, address and protocols; the root too", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portal = yield* Nursery.spawn(nursery, "alpha", { modules: [echoModule] })
        const entries = yield* Effect.orDie(Registry.list)
        const alpha = entries.find((e) => e.name === "alpha")
        assert.isDefined(alpha)
        assert.deepStrictEqual(alpha!.id, portal.actor)
        assert.deepStrictEqual(alpha!.protocols, ["Echo"])
        assert.strictEqual(alpha!.addresses.length, 1)
        assert.match(alpha!.addresses[0]!, /^unix:/)
        assert.isTrue(Fs.statSync(alpha!.addresses[0]!.slice(5)).isSocket())
        const root = entries.find((e) => e.name === "root")
        assert.strictEqual(root?.id.pid, process.pid)
        assert.deepStrictEqual(root?.protocols, ["effect-tractor/Registry"])
      })
    ))

  it.live("the root finds an actor by name and calls it over a connection of its own", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "alpha", { modules: [echoModule] })
        const found = yield* Effect.scoped(Effect.gen(function*() {
          const portal = Option.getOrThrow(yield* Registry.findActor("alpha"))
          assert.deepStrictEqual(portal.actor, child.actor)
          return yield* Portal.call(portal, Echo.add, { a: 2, b: 3 })
        }))
        assert.strictEqual(found, 5)
        assert.isTrue(Option.isNone(yield* Effect.scoped(Registry.findActor("nobody"))))
      })
    ))

  it.live("a child finds its sibling by name, calls it and streams from it", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        yield* Nursery.spawn(nursery, "target", { modules: [echoModule, streamModule] })
        const asker = yield* Nursery.spawn(nursery, "asker", { modules: [peersModule] })
        assert.strictEqual(yield* Portal.call(asker, Peers.callEcho, "target"), "hello from asker")
        assert.strictEqual(yield* Portal.call(asker, Peers.sumRange, { name: "target", n: 1000 }), 499500)
        assert.includeMembers([...(yield* Portal.call(asker, Peers.names, undefined))], ["root", "target", "asker"])
        assert.strictEqual(yield* Effect.flip(Portal.call(asker, Peers.callEcho, "nobody")), "NotFound")
      })
    ))

  it.live("an error relayed across peers keeps its source and grows its relay path", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const target = yield* Nursery.spawn(nursery, "target", { modules: [echoModule] })
        const asker = yield* Nursery.spawn(nursery, "asker", { modules: [peersModule] })
        const error = yield* Effect.flip(Portal.call(asker, Peers.relayFailure, "target"))
        assert.instanceOf(error, ActorError.RemoteActorError)
        const remote = error as ActorError.RemoteActorError
        assert.strictEqual(remote.source.uid, target.actor.uid)
        assert.deepStrictEqual(remote.relayPath.map((id) => id.name), ["target", "asker"])
        assert.strictEqual(remote.message, "deep")
      })
    ))

  it.live("waitForActor waits for an actor spawned later; with a timeout and none, ActorNotFound", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const waiting = yield* Effect.fork(Effect.scoped(Effect.flatMap(
          Registry.waitForActor("late", { timeout: "20 seconds" }),
          (portal) => Portal.call(portal, Echo.echo, "finally")
        )))
        yield* Effect.sleep("200 millis")
        assert.isNull(waiting.unsafePoll())
        yield* Nursery.spawn(nursery, "late", { modules: [echoModule] })
        assert.strictEqual(yield* Fiber.join(waiting), "finally")
        const start = Date.now()
        const error = yield* Effect.flip(Effect.scoped(Registry.waitForActor("never", { timeout: "150 millis" })))
        assert.instanceOf(error, ActorError.ActorNotFound)
        assert.include(error.message, `no actor named "never" registered within 150 ms`)
        assert.isAtLeast(Date.now() - start, 140)
        // from inside an actor too
        const asker = yield* Nursery.spawn(nursery, "asker", { modules: [peersModule] })
        assert.isFalse(yield* Portal.call(asker, Peers.waitFor, { name: "never", ms: 100 }))
        assert.isTrue(yield* Portal.call(asker, Peers.waitFor, { name: "late", ms: 100 }))
      })
    ))

  it.live("an actor is gone from the registry within 100 ms of its exit: cancelled, SIGKILLed, or mid-stream", () =>
    Effect.gen(function*() {
      const addressOf = (name: string) =>
        Effect.map(Effect.orDie(Registry.list), (all) => all.find((e) => e.name === name)!.addresses[0]!.slice("unix:".length))
      const files: Array<string> = []
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const a = yield* Nursery.spawn(nursery, "cancelled", { modules: [echoModule] })
          files.push(yield* addressOf("cancelled"))
          yield* Portal.cancelActor(a)
          yield* within(100, "cancelled actor unregistered", Effect.map(registered("cancelled"), (r) => !r))
        })
      )
      // a crash fails the nursery (one-cancels-all): each one in a nursery of its own
      const killed = yield* Effect.exit(Nursery.open((nursery) =>
        Effect.gen(function*() {
          const b = yield* Nursery.spawn(nursery, "killed", { modules: [echoModule] })
          files.push(yield* addressOf("killed"))
          process.kill(b.actor.pid, "SIGKILL")
          yield* Effect.never
        })
      ))
      assert.isTrue(Exit.isFailure(killed) && Exit.causeOption(killed).pipe(Option.map(String), Option.getOrThrow).includes("SIGKILL"))
      yield* within(100, "killed actor unregistered", Effect.map(registered("killed"), (r) => !r))
      const crashed = yield* Effect.exit(Nursery.open((nursery) =>
        Effect.gen(function*() {
          const c = yield* Nursery.spawn(nursery, "streaming", { modules: [streamModule] })
          files.push(yield* addressOf("streaming"))
          // the elements arrive, then the actor SIGKILLs itself
          return yield* Stream.runCollect(Portal.stream(c, StreamService.crash, 3))
        })
      ))
      assert.isTrue(Exit.isFailure(crashed))
      yield* within(100, "crashed actor unregistered", Effect.map(registered("streaming"), (r) => !r))
      // no socket file is left behind, SIGKILL included
      assert.strictEqual(files.length, 3)
      yield* within(200, "socket files removed", Effect.sync(() => files.every((f) => !Fs.existsSync(f))))
    }))

  it.live("a peer cancels an actor it found: the canceller is the asker, and the parent sees no crash", () =>
    Effect.gen(function*() {
      const result = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const victim = yield* Nursery.spawn(nursery, "victim", { modules: [echoModule] })
          const asker = yield* Nursery.spawn(nursery, "asker", { modules: [peersModule] })
          const sleeping = yield* Effect.fork(Portal.call(victim, Echo.sleep, 60_000))
          yield* Effect.sleep("100 millis")
          yield* Portal.call(asker, Peers.cancelPeer, "victim")
          const error = yield* Effect.flip(Fiber.join(sleeping))
          assert.instanceOf(error, ActorError.ContextCancelled)
          assert.strictEqual((error as ActorError.ContextCancelled).canceller.uid, asker.actor.uid)
          yield* within(2000, "victim gone", Effect.sync(() => !isAlive(victim.actor.pid)))
          yield* Effect.sleep("100 millis")
          return "nursery still fine"
        })
      )
      assert.strictEqual(result, "nursery still fine")
    }))

  it.live("names need not be unique; ids are", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const one = yield* Nursery.spawn(nursery, "twin", { modules: [echoModule] })
        const two = yield* Nursery.spawn(nursery, "twin", { modules: [echoModule] })
        const twins = (yield* Effect.orDie(Registry.list)).filter((e) => e.name === "twin")
        assert.sameMembers(twins.map((e) => e.id.uid), [one.actor.uid, two.actor.uid])
        const found = yield* Effect.scoped(Effect.map(Registry.findActor("twin"), Option.getOrThrow))
        assert.include([one.actor.uid, two.actor.uid], found.actor.uid)
      })
    ))

  it.live("a lookup that finds a dead address removes the stale entry", () =>
    Effect.gen(function*() {
      const runtime = yield* TreeRuntime.current
      yield* Effect.orDie(runtime.listen)
      const ghost = {
        name: "ghost",
        id: { name: "ghost", uid: "ghost-uid", pid: 999999 },
        host: runtime.settings.host,
        addresses: [`unix:${runtime.directory}/ghost.sock`],
        protocols: ["Echo"]
      }
      yield* Effect.orDie(runtime.register(ghost))
      assert.isTrue(yield* registered("ghost"))
      assert.isTrue(Option.isNone(yield* Effect.scoped(Registry.findActor("ghost"))))
      assert.isFalse(yield* registered("ghost"))
    }))

  it.live("the registry's listener drops a connection that does not start with a Hello, and logs it", () =>
    Effect.gen(function*() {
      const runtime = yield* TreeRuntime.current
      const address = (yield* Effect.orDie(runtime.listen))[0]!.slice("unix:".length)
      const closed = yield* closesWithoutAnswer(address, `{"_tag":"Call","id":1,"protocol":"effect-tractor/Registry","fn":"list"}\n`)
      assert.isTrue(closed, "the listener answered a peer that never said Hello")
    }).pipe(expectLogs(/was dropped: the first frame is not a Hello/)))
})

describe("Registry, more of tractor's cases (41, 42)", () => {
  it.live("the root finds itself by name at once (waitForActor('root') from the root)", () =>
    Effect.gen(function*() {
      yield* Effect.orDie((yield* TreeRuntime.current).listen)
      const start = Date.now()
      const self = yield* Effect.scoped(Effect.map(Registry.waitForActor("root", { timeout: "1 second" }), (p) => p.actor))
      assert.isBelow(Date.now() - start, 200)
      assert.strictEqual(self.pid, process.pid)
    }))

  it.live("a root serves the implementations it is given: its actors find it by name and call it", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const asker = yield* Nursery.spawn(nursery, "asker", { modules: [peersModule] })
        assert.strictEqual(yield* Portal.call(asker, Peers.callEcho, "server-root"), "hello from asker")
      })
    ).pipe(Effect.provide(ActorRuntime.layer({ name: "server-root", serve: [EchoLive] }))))

  it.live("a cancel from the parent interrupts the actor's calls on every connection, peers' included", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "busy", { modules: [echoModule] })
        const found = yield* Effect.scoped(Effect.gen(function*() {
          const peer = Option.getOrThrow(yield* Registry.findActor("busy"))
          const call = yield* Effect.fork(Portal.call(peer, Echo.sleep, 60_000))
          yield* Effect.sleep("50 millis")
          yield* Portal.cancelActor(child)
          return yield* Effect.flip(Fiber.join(call))
        }))
        assert.instanceOf(found, ActorError.ContextCancelled)
        assert.strictEqual((found as ActorError.ContextCancelled).canceller.name, "root")
      })
    ))

  it.live("a tree in another process joins this registry; SIGINT to its root: its actor is gone within 100 ms of exiting", () =>
    Effect.gen(function*() {
      const registry = `unix:${Path.join(tempDir("effect-tractor-joined-"), "registry.sock")}`
      yield* Effect.scoped(Effect.gen(function*() {
        const here = yield* TreeRuntime.scopedRoot({ name: "registrar", registry })
        yield* Effect.orDie(here.listen)
        const joiner = ChildProcess.spawn(process.execPath, ["--import", "tsx", Url.fileURLToPath(fixture("joiner.ts")), "joined"], {
          env: { ...process.env, EFFECT_TRACTOR_REGISTRY: registry },
          stdio: ["ignore", "pipe", "inherit"]
        })
        const pid = yield* Effect.promise(() =>
          new Promise<number>((resolve) => {
            Readline.createInterface({ input: joiner.stdout! }).on("line", (line) => {
              if (line.startsWith("ready ")) resolve(Number(line.slice(6)))
            })
          })
        )
        const inHere = Effect.map(Effect.orDie(here.list), (all) => all.some((e) => e.name === "joined"))
        assert.isTrue(yield* inHere)
        joiner.kill("SIGINT")
        yield* within(5000, "the joined tree exits on SIGINT", Effect.sync(() => joiner.exitCode !== null || joiner.signalCode !== null))
        assert.isFalse(isAlive(pid))
        yield* within(100, "its actor unregistered", Effect.map(inHere, (r) => !r))
      }))
    }).pipe(tolerateLogs(/was dropped: the connection closed during the handshake/)))

  it.live("a connection that breaks mid-dialog fails the handler's own receive with TransportClosed, so it can react", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "dialogs", { modules: [fixture("dialogService.ts")] })
        const file = Path.join(tempDir("effect-tractor-break-"), "outcome")
        const runtime = yield* TreeRuntime.current
        yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
          const peer = Option.getOrThrow(yield* Registry.findActor("dialogs"))
          yield* Portal.openDialog(peer, DialogService.noticeBreak, file, (dialog) =>
            Effect.zipRight(dialog.openStream(), Effect.never))
        })))
        yield* within(2000, "the dialog is open", Effect.sync(() => runtime.connectionTo(child.actor.uid) !== undefined))
        yield* Effect.sleep("100 millis")
        // the connection breaks under the dialog, from this side
        runtime.disconnect(runtime.connectionTo(child.actor.uid)!)
        yield* within(2000, "the handler wrote its outcome", Effect.sync(() => Fs.existsSync(file)))
        assert.strictEqual(Fs.readFileSync(file, "utf8"), "TransportClosed")
      })
    ))

  it.live("with no runtime (its layer's scope has ended), registry functions fail with a typed error", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.scoped(TreeRuntime.scopedRoot({ name: "gone" }))
      const error = yield* Effect.flip(Effect.scoped(Effect.provideService(Registry.findActor("x"), TreeRuntime.ActorRuntimeTag, runtime)))
      assert.instanceOf(error, ActorError.RegistryUnavailable)
      assert.include(error.message, "is closed")
    }))

  it.live("a stale socket file (a killed listener's) does not block a new listener", () =>
    Effect.gen(function*() {
      const path = Path.join(tempDir("effect-tractor-stale-"), "registry.sock")
      const killed = ChildProcess.spawnSync(process.execPath, [
        "-e",
        `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
      ])
      assert.strictEqual(killed.signal, "SIGKILL")
      assert.isTrue(Fs.existsSync(path), "the killed listener left its file")
      yield* Effect.scoped(Effect.gen(function*() {
        const runtime = yield* TreeRuntime.scopedRoot({ name: "fresh", registry: `unix:${path}` })
        yield* Effect.orDie(runtime.listen)
        assert.isDefined(runtime.registry, "the new root serves the registry")
        assert.include((yield* Effect.orDie(runtime.list)).map((e) => e.name), "fresh")
      }))
    }))

  it.live("a first line over the Hello limit is dropped unbuffered, and the listener goes on", () =>
    Effect.gen(function*() {
      const runtime = yield* TreeRuntime.current
      const address = (yield* Effect.orDie(runtime.listen))[0]!.slice("unix:".length)
      const closed = yield* closesWithoutAnswer(address, "x".repeat(64 * 1024))
      assert.isTrue(closed)
      assert.isTrue(Option.isSome(yield* Effect.scoped(Registry.findActor("root"))))
    }).pipe(expectLogs(/was dropped: a first line of over 4096 bytes is not a Hello/)))
})
