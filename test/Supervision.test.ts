/**
 * Supervision with real processes: each strategy, each restart type, the intensity limit, calls
 * through portals while their child restarts, monitors, stopping a child for good, and policies
 * refused field by field. Children crash every way a process can: an uncaught exception, an
 * unhandled defect, `process.exit` and SIGKILL.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Supervision from "../src/Supervision.ts"
import { DialogService } from "./fixtures/dialogService.ts"
import { Restartable } from "./fixtures/restartable.ts"
import { StreamService } from "./fixtures/streamService.ts"
import { Team } from "./fixtures/team.ts"
import { Echo } from "./fixtures/protocols.ts"
import { checkOrphansAfterEach, echoModule, fixture, isAlive, tempDir } from "./utils/index.ts"
import { expectLogs, tolerateLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

const modules = [fixture("restartable.ts")]
const policy = (strategy: Supervision.Strategy, options?: Supervision.Policy.Options) =>
  Effect.runSync(Supervision.make(strategy, options))

const pidOf = (portal: Portal.Portal) => Effect.map(Portal.call(portal, Restartable.whoami, undefined), (me) => me.pid)
const crash = (portal: Portal.Portal, how: typeof import("./fixtures/restartable.ts").How.Type, afterMs?: number) =>
  Portal.call(portal, Restartable.crash, { how, ...(afterMs !== undefined ? { afterMs } : {}) })

/** Takes events until one matches (failing the test after 10 s), returning everything taken. */
const until = (
  events: Queue.Dequeue<Supervision.Event>,
  match: (event: Supervision.Event) => boolean
): Effect.Effect<Array<Supervision.Event>> =>
  Effect.gen(function*() {
    const seen: Array<Supervision.Event> = []
    while (true) {
      const event = yield* Queue.take(events)
      seen.push(event)
      if (match(event)) return seen
    }
  }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("no such supervision event") }), Effect.orDie)

const started = (name: string, incarnation: number) => (event: Supervision.Event) =>
  event._tag === "Started" && event.name === name && event.incarnation === incarnation

const spawnAll = (nursery: Nursery.Nursery, names: ReadonlyArray<string>, options: Partial<Nursery.Nursery.SpawnOptions> = {}) =>
  Effect.forEach(names, (name) => Nursery.spawn(nursery, name, { modules, ...options }))

const failuresOf = <A, E>(exit: Exit.Exit<A, E>): Array<E> =>
  Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)).slice() : []

describe("Supervision", () => {
  it.live.each([
    { how: "throw", code: 1, signal: null },
    { how: "defect", code: 1, signal: null },
    { how: "exit", code: 3, signal: null },
    { how: "kill", code: null, signal: "SIGKILL" }
  ] as const)("oneForOne restarts only the child that crashed ($how), and its portal reaches the new one", ({ how, ...expected }) =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const events = yield* Nursery.events(nursery)
        // the crash report on b's stderr is checked, not printed
        const [a, b, c] = yield* spawnAll(nursery, ["a", "b", "c"], { output: "log" })
        const before = yield* Effect.all([pidOf(a!), pidOf(b!), pidOf(c!)])
        yield* crash(b!, how)
        const seen = yield* until(events, started("b", 2))
        const exited = seen.find((e) => e._tag === "Exited")
        assert.deepStrictEqual(
          exited?._tag === "Exited" ? { name: exited.name, code: exited.exit.code, signal: exited.exit.signal } : undefined,
          { name: "b", ...expected }
        )
        assert.isTrue(exited?._tag === "Exited" && exited.restart && !exited.exit.expected)
        const after = yield* Effect.all([pidOf(a!), pidOf(b!), pidOf(c!)])
        assert.strictEqual(after[0], before[0], "a is the same process")
        assert.strictEqual(after[2], before[2], "c is the same process")
        assert.notStrictEqual(after[1], before[1], "b is a new process")
        assert.strictEqual(b!.actor.pid, after[1], "the portal names the new incarnation")
        assert.isFalse(isAlive(before[1]!), "the crashed b is gone")
      }), { supervision: policy("oneForOne") }).pipe(
        expectLogs(...(how === "throw" ? [/Error: an uncaught exception/] : how === "defect" ? [/Error: an unhandled defect/] : [])),
        // Node's banner after an uncaught exception's trace, when it comes apart from it
        tolerateLogs(/^\s*Node\.js v\d+/)
      ))

  it.live("oneForAll restarts every child: the siblings stop last-started first, then all start in order", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const events = yield* Nursery.events(nursery)
        const portals = yield* spawnAll(nursery, ["a", "b", "c"])
        const before = yield* Effect.forEach(portals, pidOf)
        const stopped: Array<string> = []
        for (const portal of portals) {
          const name = portal.actor.name
          yield* Effect.forkDaemon(Effect.tap(Portal.awaitExit(portal), () => Effect.sync(() => stopped.push(name))))
        }
        yield* crash(portals[1]!, "exit")
        const seen = yield* until(events, started("c", 2))
        assert.deepStrictEqual(stopped, ["b", "c", "a"], "b crashed; then c, then a were stopped")
        assert.deepStrictEqual(
          seen.filter((e) => e._tag === "Started" && e.incarnation === 2).map((e) => e._tag === "Started" ? e.name : ""),
          ["a", "b", "c"]
        )
        const after = yield* Effect.forEach(portals, pidOf)
        for (let i = 0; i < 3; i++) assert.notStrictEqual(after[i], before[i])
      }), { supervision: policy("oneForAll") }))

  it.live("restForOne restarts the child and those started after it", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const events = yield* Nursery.events(nursery)
        const portals = yield* spawnAll(nursery, ["a", "b", "c"])
        const before = yield* Effect.forEach(portals, pidOf)
        yield* crash(portals[1]!, "kill")
        yield* until(events, started("c", 2))
        const after = yield* Effect.forEach(portals, pidOf)
        assert.strictEqual(after[0], before[0])
        assert.notStrictEqual(after[1], before[1])
        assert.notStrictEqual(after[2], before[2])
      }), { supervision: policy("restForOne") }))

  it.live("restart types: permanent comes back from a clean exit, transient only from a crash, temporary never", () =>
    Effect.gen(function*() {
      const result = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const events = yield* Nursery.events(nursery)
          const [permanent] = yield* spawnAll(nursery, ["permanent"])
          const [transient, crashing] = yield* spawnAll(nursery, ["transient", "crashing"], { restart: "transient" })
          const [temporary] = yield* spawnAll(nursery, ["temporary"], { restart: "temporary" })
          const [selfCancel] = yield* spawnAll(nursery, ["selfCancel"], { restart: "transient" })

          yield* crash(permanent!, "normal")
          yield* until(events, started("permanent", 2))

          yield* crash(crashing!, "exit")
          yield* until(events, started("crashing", 2))

          for (const [portal, how] of [[transient!, "normal"], [temporary!, "kill"], [selfCancel!, "cancelSelf"]] as const) {
            const name = portal.actor.name
            yield* crash(portal, how)
            const seen = yield* until(events, (e) => e._tag === "Exited" && e.name === name)
            const exited = seen.at(-1)!
            assert.isTrue(exited._tag === "Exited" && !exited.restart, `${name} is not restarted`)
            const call = yield* Effect.either(pidOf(portal))
            assert.isTrue(
              Either.isLeft(call) && call.left instanceof ActorError.TransportClosed && /will not be back/.test(call.left.message),
              `${name}: ${String(Either.isLeft(call) ? call.left : call.right)}`
            )
          }
          return "the nursery did not fail"
        }), { supervision: policy("oneForOne") })
      assert.strictEqual(result, "the nursery did not fail")
    }))

  it.live("gives up past the intensity: stops every child and fails with RestartIntensityExceeded holding the exits", () =>
    Effect.gen(function*() {
      let pids: Array<number> = []
      const exit = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const events = yield* Nursery.events(nursery)
          const [a, b] = yield* spawnAll(nursery, ["a", "b"])
          pids = [yield* pidOf(a!), yield* pidOf(b!)]
          for (let i = 1; i <= 2; i++) {
            yield* crash(a!, "exit")
            yield* until(events, started("a", i + 1))
            pids.push(yield* pidOf(a!))
          }
          yield* crash(a!, "exit")
          const seen = yield* until(events, (e) => e._tag === "GaveUp")
          assert.strictEqual(seen.at(-1)?._tag, "GaveUp")
          return yield* Effect.never
        }), { supervision: policy("oneForOne", { maxRestarts: 2, period: "30 seconds" }) }).pipe(Effect.exit)
      const failures = failuresOf(exit)
      assert.strictEqual(failures.length, 1, Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "succeeded")
      const error = failures[0]
      assert.isTrue(error instanceof Supervision.RestartIntensityExceeded, String(error))
      if (!(error instanceof Supervision.RestartIntensityExceeded)) return
      assert.strictEqual(error.maxRestarts, 2)
      assert.deepStrictEqual(error.exits.map((e) => [e.name, e.exit.code]), [["a", 3], ["a", 3], ["a", 3]])
      assert.match(error.message, /gave up: 3 restarts within 30000 ms, more than maxRestarts \(2\)/)
      for (const pid of pids) assert.isFalse(isAlive(pid), `${pid} is still alive`)
    }).pipe(expectLogs(/the nursery of root@\d+ gave up: 3 restarts within 30000 ms/)))

  it.live("a call made while its child restarts waits for the new incarnation; one past restartTimeout fails typed", () =>
    Effect.gen(function*() {
      const waited = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const events = yield* Nursery.events(nursery)
          const [a] = yield* spawnAll(nursery, ["a"])
          const old = yield* pidOf(a!)
          yield* crash(a!, "kill")
          yield* until(events, (e) => e._tag === "Restarting")
          // the restart is delayed 300 ms: this call waits for it, and reaches the new process
          const pid = yield* pidOf(a!)
          assert.notStrictEqual(pid, old)
          return pid
        }), { supervision: policy("oneForOne", { restartDelay: Schedule.spaced("300 millis") }) })
      assert.isNumber(waited)

      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const events = yield* Nursery.events(nursery)
          const [a] = yield* spawnAll(nursery, ["a"])
          yield* crash(a!, "kill")
          yield* until(events, (e) => e._tag === "Restarting")
          const call = yield* Effect.either(pidOf(a!))
          assert.isTrue(Either.isLeft(call) && call.left instanceof ActorError.TransportClosed, String(call))
          if (Either.isLeft(call) && call.left instanceof ActorError.TransportClosed) {
            assert.match(call.left.reason, /restarting and was not back within 100 ms/)
          }
        }), {
        supervision: policy("oneForOne", { restartDelay: Schedule.spaced("1 second"), restartTimeout: "100 millis" })
      })
    }))

  it.live("a call in flight when its child dies fails with TransportClosed carrying the signal; the next one works", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const events = yield* Nursery.events(nursery)
        const [a] = yield* spawnAll(nursery, ["a"])
        const inFlight = yield* Effect.fork(Portal.call(a!, Restartable.slow, 5000))
        yield* crash(a!, "kill", 50)
        const result = yield* Effect.either(inFlight.await.pipe(Effect.flatten))
        assert.isTrue(Either.isLeft(result) && result.left instanceof ActorError.TransportClosed, String(result))
        if (Either.isLeft(result) && result.left instanceof ActorError.TransportClosed) {
          assert.strictEqual(result.left.signal, "SIGKILL")
        }
        yield* until(events, started("a", 2))
        assert.strictEqual(yield* Portal.call(a!, Restartable.slow, 1), 1)
      }), { supervision: policy("oneForOne") }))

  it.live("a body that fails while a child restarts ends the nursery with that failure (the supervisor never stalls)", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 3; round++) {
        const exit = yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const [a] = yield* spawnAll(nursery, ["a"])
            process.kill(a!.actor.pid, "SIGKILL")
            // made before the parent saw the exit: it fails as a call in flight does
            return yield* pidOf(a!)
          }), { supervision: policy("oneForOne") }).pipe(Effect.timeout("10 seconds"), Effect.exit)
        const failures = failuresOf(exit)
        assert.isTrue(
          failures.length === 1 && failures[0] instanceof ActorError.TransportClosed,
          Exit.isFailure(exit) ? Cause.pretty(exit.cause) : String(exit)
        )
      }
    }))

  it.live("streams and dialogs through a supervised portal reach the new incarnation too", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const [both] = yield* spawnAll(nursery, ["both"], { modules: [fixture("streamService.ts"), fixture("dialogService.ts")] })
        const first = both!.actor.pid
        process.kill(first, "SIGKILL")
        yield* Portal.awaitExit(both!)
        // both wait for the restart, then run on the new process
        const numbers = yield* Stream.runCollect(Portal.stream(both!, StreamService.range, 3))
        assert.deepStrictEqual(Chunk.toReadonlyArray(numbers), [0, 1, 2])
        const result = yield* Portal.openDialog(both!, DialogService.simple, 41, (dialog) =>
          Effect.map(dialog.result, (r) => `${dialog.started}:${r}`))
        assert.strictEqual(result, "42:yo")
        assert.notStrictEqual(both!.actor.pid, first)
      }), { supervision: policy("oneForOne") }))

  it.live("stopChild stops a permanent child for good", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const [a, b] = yield* spawnAll(nursery, ["a", "b"])
        const pid = yield* pidOf(a!)
        yield* Nursery.stopChild(nursery, a!)
        assert.isFalse(isAlive(pid))
        const call = yield* Effect.either(pidOf(a!))
        assert.isTrue(Either.isLeft(call) && call.left instanceof ActorError.TransportClosed)
        assert.isNumber(yield* pidOf(b!))
      }), { supervision: policy("oneForOne") }))

  it.live("Portal.awaitExit tells a kill from a cancel; without supervision a temporary child's crash is not a failure", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const [killed] = yield* spawnAll(nursery, ["killed"], { restart: "temporary" })
        const [cancelled] = yield* spawnAll(nursery, ["cancelled"])
        const [brutal] = yield* spawnAll(nursery, ["brutal"], { shutdown: "brutal" })
        yield* crash(killed!, "kill")
        const kill = yield* Portal.awaitExit(killed!)
        assert.deepStrictEqual([kill.code, kill.signal, kill.expected], [null, "SIGKILL", false])
        yield* Portal.cancelActor(cancelled!)
        const cancel = yield* Portal.awaitExit(cancelled!)
        assert.deepStrictEqual([cancel.code, cancel.signal, cancel.expected], [0, null, true])
        // a brutal shutdown sends no cancel request: SIGKILL at once
        yield* Nursery.stopChild(nursery, brutal!)
        const hard = yield* Portal.awaitExit(brutal!)
        assert.deepStrictEqual([hard.signal, hard.expected], ["SIGKILL", true])
      })))

  it.live("shutdown: infinity waits for a slow finalizer; a duration is only the grace period, then the ladder", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const dir = tempDir("tractor-shutdown-")
        const [patient] = yield* spawnAll(nursery, ["patient"], { modules: [echoModule], shutdown: "infinity" })
        const [hasty] = yield* spawnAll(nursery, ["hasty"], { modules: [echoModule], shutdown: "200 millis" })
        // each lingers 2.5 s in a finalizer: longer than the grace period and SIGTERM's period together
        for (const portal of [patient!, hasty!]) {
          yield* Portal.call(portal, Echo.lingerOnExit, { file: Path.join(dir, portal.actor.name), ms: 2500 })
        }
        const [kept, cut] = yield* Effect.all(
          [patient!, hasty!].map((portal) => Effect.zipRight(Nursery.stopChild(nursery, portal), Portal.awaitExit(portal))),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual([kept!.code, kept!.signal], [0, null], "infinity: no signal, the finalizer ran")
        assert.isTrue(Fs.existsSync(Path.join(dir, "patient")))
        assert.strictEqual(cut!.signal, "SIGKILL", "a duration: the ladder went on to SIGKILL")
        assert.isFalse(Fs.existsSync(Path.join(dir, "hasty")))
      }), { supervision: policy("oneForOne") }).pipe(expectLogs(/actor hasty@\d+ still alive 1600 ms after SIGTERM: SIGKILL/)))

  it.effect("refuses a policy or a child spec with a typed error naming the field", () =>
    Effect.gen(function*() {
      const refused = (options: Supervision.Policy.Options, strategy: Supervision.Strategy = "oneForOne") =>
        Effect.flip(Supervision.make(strategy, options))
      assert.strictEqual((yield* refused({}, "oneForSome" as never)).field, "strategy")
      assert.strictEqual((yield* refused({ maxRestarts: -1 })).field, "maxRestarts")
      assert.strictEqual((yield* refused({ maxRestarts: 1.5 })).field, "maxRestarts")
      assert.strictEqual((yield* refused({ period: 0 })).field, "period")
      assert.strictEqual((yield* refused({ period: "soon" as never })).field, "period")
      assert.strictEqual((yield* refused({ restartTimeout: -5 })).field, "restartTimeout")
      assert.strictEqual((yield* refused({ restartDelay: 5 as never })).field, "restartDelay")
      const error = yield* refused({ maxRestarts: -1 })
      assert.match(error.message, /maxRestarts is -1: it must be a whole number/)
      assert.strictEqual((yield* Effect.flip(Supervision.validateChild({ restart: "sometimes" as never }))).field, "restart")
      assert.strictEqual((yield* Effect.flip(Supervision.validateChild({ shutdown: "later" as never }))).field, "shutdown")
      const spawn = yield* Effect.flip(
        Nursery.open((nursery) => Nursery.spawn(nursery, "bad", { modules, restart: "sometimes" as never }))
      )
      assert.isTrue(spawn instanceof ActorError.SpawnError)
      assert.match(spawn.message, /restart is "sometimes": it must be one of permanent, transient, temporary/)
    }))
})

describe("nested supervisors", () => {
  it.live("a supervisor actor that gives up ends as a crash, and its parent's supervisor restarts it with fresh children", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const events = yield* Nursery.events(nursery)
        const team = yield* Nursery.spawn(nursery, "team", { modules: [fixture("team.ts")] })
        const firstTeam = team.actor.pid
        const workers = [yield* Portal.call(team, Team.workerPid, undefined)]
        // the first crash of the worker is within the team's intensity: the team restarts it
        yield* Portal.call(team, Team.crashWorker, undefined)
        const again = yield* Effect.retry(
          Effect.filterOrFail(Portal.call(team, Team.workerPid, undefined), (pid) => pid !== workers[0]),
          Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))
        )
        workers.push(again)
        assert.strictEqual(team.actor.pid, firstTeam, "the team itself did not restart")
        // the second is one too many: the team gives up, ends as a crash, and the root restarts it
        yield* Portal.call(team, Team.crashWorker, undefined)
        const seen = yield* until(events, started("team", 2))
        const exited = seen.find((e) => e._tag === "Exited" && e.name === "team")
        assert.isTrue(exited?._tag === "Exited" && exited.exit.code === 1 && !exited.exit.expected, JSON.stringify(exited))
        assert.notStrictEqual(team.actor.pid, firstTeam)
        const fresh = yield* Portal.call(team, Team.workerPid, undefined)
        assert.notInclude(workers, fresh)
        for (const pid of [firstTeam, ...workers]) assert.isFalse(isAlive(pid), `${pid} is still alive`)
      }), { supervision: policy("oneForOne") }).pipe(expectLogs(/^the nursery of team@\d+ gave up: 2 restarts/, /^team@\d+ ends: the nursery of team@\d+ gave up/)))
})

describe("actor trees as layers", () => {
  class Front extends Context.Tag("test/Front")<Front, { readonly backendPid: Effect.Effect<number> }>() {}
  class Audit extends Context.Tag("test/Audit")<Audit, { readonly backendPid: Effect.Effect<number> }>() {}

  it.live("a supervised actor behind a layer: its client survives restarts; layers sharing it spawn it once", () =>
    Effect.gen(function*() {
      const BackendLive = Portal.layer(Restartable, { modules, name: "backend", supervision: policy("oneForOne") })
      const pidFrom = Effect.map(Restartable, (client) => Effect.map(Effect.orDie(client.whoami()), (me) => me.pid))
      const FrontLive = Layer.effect(Front, Effect.map(pidFrom, (backendPid) => ({ backendPid })))
      const AuditLive = Layer.effect(Audit, Effect.map(pidFrom, (backendPid) => ({ backendPid })))
      const AppLive = Layer.mergeAll(FrontLive, AuditLive, BackendLive).pipe(Layer.provideMerge(BackendLive))

      const [first, second, third] = yield* Effect.gen(function*() {
        const front = yield* Front
        const audit = yield* Audit
        const backend = yield* Restartable
        const first = yield* front.backendPid
        // one backend for both: the layer was built once
        assert.strictEqual(yield* audit.backendPid, first)
        yield* Effect.orDie(backend.crash({ how: "kill" }))
        // the client waits for the restarted backend
        const second = yield* Effect.retry(
          Effect.filterOrFail(front.backendPid, (pid) => pid !== first),
          Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))
        )
        return [first, second, yield* audit.backendPid] as const
      }).pipe(Effect.provide(AppLive))
      assert.notStrictEqual(second, first)
      assert.strictEqual(third, second)
      assert.isFalse(isAlive(first))
      assert.isFalse(isAlive(second), "the layer's scope closed: its actor is gone")
    }))
})
