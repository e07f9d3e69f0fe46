/**
 * The core behaviours over both spawn methods, OS processes and worker threads: calls and typed
 * errors, streams, dialogs, cancellation with finalizers, crashes with their exit, teardown of an
 * actor stuck in synchronous code, supervised restarts and a pool. What differs is tested apart:
 * a thread shares its process (its pid is the parent's) and has no signals (its hard stop is
 * reported as SIGKILL).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Supervision from "../src/Supervision.ts"
import * as WorkerPool from "../src/WorkerPool.ts"
import { Boom, Echo } from "./fixtures/protocols.ts"
import { Restartable } from "./fixtures/restartable.ts"
import { DialogService } from "./fixtures/dialogService.ts"
import { StreamService } from "./fixtures/streamService.ts"
import { checkOrphansAfterEach, echoModule, fixture, isAlive, tempDir } from "./utils/index.ts"
import { expectLogs, tolerateLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

const methods = ["process", "thread"] as const

/** the OS threads of this process (worker threads among them) */
const threads = () => Fs.readdirSync("/proc/self/task").length

describe("thread actors", () => {
  it.live("leave no thread behind: the process's threads come back to their count once the nursery has closed", () =>
    Effect.gen(function*() {
      // one thread actor first: the helper threads that start on first use are then counted in
      yield* Nursery.open((nursery) => Nursery.spawn(nursery, "warm", { modules: [echoModule], spawnMethod: "thread" }))
      const before = threads()
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          for (let i = 0; i < 4; i++) yield* Nursery.spawn(nursery, `t${i}`, { modules: [echoModule], spawnMethod: "thread" })
          assert.isAtLeast(threads(), before + 4)
        })
      )
      const end = Date.now() + 2000
      while (threads() > before && Date.now() < end) yield* Effect.sleep("20 millis")
      assert.strictEqual(threads(), before)
    }))
})

describe.each(methods)("spawn method %s", (spawnMethod) => {
  const spawn = (nursery: Nursery.Nursery, name: string, modules: ReadonlyArray<URL>, options: Partial<Nursery.Nursery.SpawnOptions> = {}) =>
    Nursery.spawn(nursery, name, { modules, spawnMethod, ...options })

  it.live("calls, typed errors and boxed defects", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const echo = yield* spawn(nursery, "echo", [echoModule])
        assert.strictEqual(yield* Portal.call(echo, Echo.echo, "hi"), "hi")
        const boom = yield* Effect.flip(Portal.call(echo, Echo.boom, "bad"))
        assert.isTrue(boom instanceof Boom)
        const die = yield* Effect.flip(Portal.call(echo, Echo.die, "oops"))
        assert.isTrue(die instanceof ActorError.RemoteActorError && die.message === "oops", String(die))
        const me = yield* Portal.call(echo, Echo.whoami, undefined)
        assert.strictEqual(me.uid, echo.actor.uid)
        if (spawnMethod === "thread") assert.strictEqual(me.pid, process.pid, "a thread shares its process")
        else assert.notStrictEqual(me.pid, process.pid)
      })))

  it.live("streams and dialogs", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const both = yield* spawn(nursery, "both", [fixture("streamService.ts"), fixture("dialogService.ts")])
        const numbers = yield* Stream.runCollect(Portal.stream(both, StreamService.range, 1000))
        assert.strictEqual(Chunk.size(numbers), 1000)
        assert.strictEqual(Chunk.unsafeLast(numbers), 999)
        const result = yield* Portal.openDialog(both, DialogService.simple, 1, (dialog) =>
          Effect.map(dialog.result, (r) => `${dialog.started}:${r}`))
        assert.strictEqual(result, "2:yo")
      })))

  it.live("cancelActor runs the actor's finalizers and it exits as asked", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const file = Path.join(tempDir("tractor-methods-"), "finalized")
        const echo = yield* spawn(nursery, "echo", [echoModule])
        yield* Portal.call(echo, Echo.touchOnExit, file)
        yield* Portal.cancelActor(echo)
        const exit = yield* Portal.awaitExit(echo)
        assert.deepStrictEqual([exit.code, exit.signal, exit.expected], [0, null, true])
        assert.isTrue(Fs.existsSync(file))
      })))

  it.live("a crash fails its calls with TransportClosed carrying the exit, and one-cancels-all fails the nursery", () =>
    Effect.gen(function*() {
      const exit = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const r = yield* spawn(nursery, "crashy", [fixture("restartable.ts")])
          yield* Portal.call(r, Restartable.crash, { how: "exit", afterMs: 0 })
          return yield* Portal.call(r, Restartable.slow, 5000)
        })
      ).pipe(Effect.either)
      assert.isTrue(Either.isLeft(exit) && exit.left instanceof ActorError.TransportClosed, String(exit))
      if (Either.isLeft(exit) && exit.left instanceof ActorError.TransportClosed) {
        assert.strictEqual(exit.left.exitCode, 3)
      }
    }))

  it.live("an actor stuck in synchronous code is stopped at the end of the grace period", () =>
    Effect.gen(function*() {
      const start = Date.now()
      let actor = -1
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const echo = yield* spawn(nursery, "stuck", [echoModule], { gracePeriod: "200 millis" })
          actor = echo.actor.pid
          yield* Effect.fork(Portal.call(echo, Echo.blockSync, 30_000))
          yield* Effect.sleep("100 millis")
          yield* Nursery.stopChild(nursery, echo)
          const exit = yield* Portal.awaitExit(echo)
          assert.strictEqual(exit.signal, "SIGKILL")
        })
      )
      assert.isBelow(Date.now() - start, 10_000, "it was not waited out")
      if (spawnMethod === "process") assert.isFalse(isAlive(actor))
    }).pipe(expectLogs(/did not acknowledge the cancel request within 200 ms/)))

  it.live("a supervised child comes back after a crash", () =>
    Effect.gen(function*() {
      const supervision = yield* Supervision.oneForOne()
      yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          // its crash report (a process's stderr, a thread's error) is checked, not printed
          const r = yield* spawn(nursery, "r", [fixture("restartable.ts")], { output: "log" })
          const first = r.actor.uid
          yield* Portal.call(r, Restartable.crash, { how: "throw", afterMs: 0 })
          yield* Portal.awaitExit(r)
          assert.strictEqual((yield* Portal.call(r, Restartable.slow, 1)), 1)
          assert.notStrictEqual(r.actor.uid, first)
        }), { supervision })
    }).pipe(expectLogs(/Error: an uncaught exception/), tolerateLogs(/^\s*Node\.js v\d+/)))

  it.live("a pool of two", () =>
    WorkerPool.use({ size: 2, modules: [echoModule], spawnMethod }, (pool) =>
      Effect.gen(function*() {
        const outputs = yield* Stream.runCollect(WorkerPool.map(pool, Echo.add, [1, 2, 3, 4].map((a) => ({ a, b: 10 }))))
        assert.deepStrictEqual(Chunk.toReadonlyArray(outputs), [11, 12, 13, 14])
      })))
})
