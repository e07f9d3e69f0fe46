/**
 * What the chaos harness (chaos/run.ts) found, each pinned by a focused test: a registry that
 * restarts is filled again by the roots that had registered in it; a caller that gives up while a
 * root starts listening leaves the root usable; a root ended by a signal or killed outright, and
 * the children of a killed child, leave no socket file behind for good; an actor that crashes from
 * an uncaught exception reports it as a log line with its stack in the sources (not a line of its
 * bundle).
 */
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Url from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import * as Supervision from "../src/Supervision.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import * as Transport from "../src/internal/transport.ts"
import { Keeper } from "./fixtures/keeper.ts"
import { Echo } from "./fixtures/protocols.ts"
import { Restartable } from "./fixtures/restartable.ts"
import { tolerateLogs } from "./utils/assertions.ts"
import { checkOrphansAfterEach, descendants, echoModule, fixture, freePort, isAlive, tempDir, titleOf } from "./utils/index.ts"

checkOrphansAfterEach()

const roots: Array<TreeRuntime.TreeRuntime> = []
afterAll(() => {
  for (const root of roots) root.close()
})
const root = (options: TreeRuntime.RootOptions) => {
  const runtime = TreeRuntime.makeRoot(options)
  roots.push(runtime)
  return runtime
}

/** a root whose runtime folder (and its children's) is `dir`, of this test alone */
const rootIn = (dir: string, options: TreeRuntime.RootOptions) => {
  const previous = process.env["EFFECT_TRACTOR_RUNTIME_DIR"]
  process.env["EFFECT_TRACTOR_RUNTIME_DIR"] = dir
  try {
    return root(options)
  } finally {
    if (previous === undefined) delete process.env["EFFECT_TRACTOR_RUNTIME_DIR"]
    else process.env["EFFECT_TRACTOR_RUNTIME_DIR"] = previous
  }
}

const namesIn = (runtime: TreeRuntime.TreeRuntime) =>
  Effect.map(Effect.orDie(runtime.list), (entries) => entries.map((e) => e.name).sort())

/** polls `check` every 50 ms until it holds or `ms` passed; returns whether it held */
const eventually = (check: Effect.Effect<boolean>, ms: number) =>
  Effect.gen(function*() {
    const until = Date.now() + ms
    while (Date.now() < until) {
      if (yield* check) return true
      yield* Effect.sleep("50 millis")
    }
    return yield* check
  })

/** the registry root program in a process of its own, in `dir`; the scope SIGKILLs it if it still runs */
const registryProcess = (dir: string, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess.ChildProcess>((resume) => {
      const proc = ChildProcess.spawn(process.execPath, ["--import", "tsx", Url.fileURLToPath(fixture("registry_root.ts"))], {
        env: { ...process.env, EFFECT_TRACTOR_RUNTIME_DIR: dir, ...env },
        stdio: ["ignore", "pipe", "inherit"]
      })
      proc.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resume(Effect.succeed(proc))
      })
    }),
    (proc) => Effect.sync(() => proc.exitCode === null && proc.signalCode === null && proc.kill("SIGKILL"))
  )

const exited = (proc: ChildProcess.ChildProcess) =>
  Effect.async<void>((resume) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.void)
    proc.once("exit", () => resume(Effect.void))
  })

const sockets = (dir: string) => Fs.readdirSync(dir).filter((f) => f.endsWith(".sock"))

describe("a registry that restarts", () => {
  it.live("is filled again by the roots registered in it: the live actors come back, an actor that ended meanwhile does not", () =>
    Effect.gen(function*() {
      const key = Crypto.randomBytes(32).toString("base64")
      const registry = `tcp:127.0.0.1:${yield* freePort}`
      const first = root({ name: "registry", registry, key })
      yield* Effect.orDie(first.listen)
      const app = root({ name: "app", registry, key, tcpHost: "127.0.0.1" })
      yield* Effect.gen(function*() {
        const nursery = yield* Nursery.make()
        yield* Nursery.spawn(nursery, "kept", { modules: [echoModule] })
        const ended = yield* Nursery.spawn(nursery, "ended", { modules: [echoModule] })
        assert.deepStrictEqual(yield* namesIn(first), ["app", "ended", "kept", "registry"])

        // the registry goes, and while it is gone an actor ends (its removal cannot reach it)
        first.close()
        yield* Nursery.stopChild(nursery, ended)
        assert.isTrue(Option.isNone(yield* Effect.option(app.list)), "no registry to ask meanwhile")

        const again = root({ name: "registry", registry, key })
        yield* Effect.orDie(again.listen)
        // the app root reconnects by itself (no call of its own needed) and registers again what lives
        const back = yield* eventually(
          Effect.map(namesIn(again), (names) => names.includes("app") && names.includes("kept")),
          3000
        )
        assert.isTrue(back, `after the restart the registry holds ${(yield* namesIn(again)).join(", ")}`)
        assert.deepStrictEqual(yield* namesIn(again), ["app", "kept", "registry"])
        // and what it holds is usable: a portal from it reaches the actor
        const kept = Option.getOrThrow(
          yield* Effect.provideService(Registry.findActor("kept"), TreeRuntime.ActorRuntimeTag, again)
        )
        assert.strictEqual(yield* Portal.call(kept, Echo.echo, "still here"), "still here")
      }).pipe(Effect.scoped, Effect.provideService(TreeRuntime.ActorRuntimeTag, app))
    }))
})

describe("a caller that gives up", () => {
  it.live("while a root starts listening does not leave the root unusable: the next caller is served", () =>
    Effect.gen(function*() {
      const runtime = root({ name: "patient" })
      // the first use starts the root listening; it is interrupted while the listen is under way
      const first = yield* Effect.fork(Effect.provideService(Registry.list, TreeRuntime.ActorRuntimeTag, runtime))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      const names = yield* Effect.provideService(Registry.list, TreeRuntime.ActorRuntimeTag, runtime).pipe(
        Effect.map((entries) => entries.map((e) => e.name)),
        Effect.timeout("5 seconds")
      )
      assert.deepStrictEqual(names, ["patient"])
    }))
})

describe("socket files", () => {
  const run = <A, E>(body: (dir: string) => Effect.Effect<A, E, Scope.Scope>) =>
    Effect.scoped(Effect.suspend(() => body(tempDir("et-sock-"))))

  it.live("a root program ended by SIGTERM or SIGINT under runMain removes its socket file", () =>
    run((dir) =>
      Effect.gen(function*() {
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          const proc = yield* registryProcess(dir)
          assert.strictEqual(sockets(dir).length, 1, "it listens on its socket file")
          proc.kill(signal)
          yield* exited(proc)
          assert.deepStrictEqual(sockets(dir), [], `after ${signal}`)
        }
      })
    ))

  it.live("a root removes, when it starts, the socket file a killed root left; a live socket stays", () =>
    run((dir) =>
      Effect.gen(function*() {
        const proc = yield* registryProcess(dir)
        const [left] = sockets(dir)
        proc.kill("SIGKILL")
        yield* exited(proc)
        assert.deepStrictEqual(sockets(dir), [left], "SIGKILL gives it no time to remove it")
        // a listener named as if made by that process, but alive: it answers, so it is not stale
        const live = Path.join(dir, `${proc.pid!.toString(36)}-live.sock`)
        const server = Net.createServer((socket) => socket.destroy())
        yield* Effect.acquireRelease(
          Effect.promise(() => new Promise<void>((resolve) => server.listen(live, resolve))),
          () => Effect.sync(() => server.close())
        )
        rootIn(dir, { name: "next" })
        const swept = yield* eventually(Effect.sync(() => !sockets(dir).includes(left!)), 2000)
        assert.isTrue(swept, `still there: ${sockets(dir).join(", ")}`)
        assert.include(sockets(dir), Path.basename(live))
      })
    ))
})

describe("socket files of children", () => {
  it.live("a child killed before it said it was ready has its socket file removed by its parent", () =>
    Effect.gen(function*() {
      // a runtime folder of its own: the files other tests' actors make elsewhere
      const runtime = rootIn(tempDir("et-unready-"), { name: "unready-root" })
      // the root's own socket file is there before the spawn
      yield* Effect.orDie(runtime.listen)
      const before = new Set(sockets(runtime.directory))
      const spawning = yield* Effect.fork(Nursery.open((nursery) =>
        Nursery.spawn(nursery, "unready", { modules: [fixture("never_ready.ts")] })
      ).pipe(Effect.provideService(TreeRuntime.ActorRuntimeTag, runtime)))
      const fresh = () => sockets(runtime.directory).filter((f) => !before.has(f))
      assert.isTrue(yield* eventually(Effect.sync(() => fresh().length === 1), 10_000), "it listens, and waits")
      const [file] = fresh()
      const pidOf = () => descendants().find((p) => /^unready@/.test(titleOf(p) ?? ""))
      assert.isTrue(yield* eventually(Effect.sync(() => pidOf() !== undefined), 2000), "its process runs")
      const pid = pidOf()
      process.kill(pid!, "SIGKILL")
      const exit = yield* Fiber.await(spawning)
      assert.isTrue(exit._tag === "Failure", "the spawn fails")
      assert.isTrue(
        yield* eventually(Effect.sync(() => !sockets(runtime.directory).includes(file!)), 2000),
        `its socket file is still there: ${file}`
      )
    }).pipe(tolerateLogs(/unready@\d+/)))
})

describe("socket files of grandchildren", () => {
  it.live("a child killed with SIGKILL takes its own child along, and the grandchild's socket file is swept", () =>
    Effect.gen(function*() {
      const runtime = yield* TreeRuntime.current
      let grandchild: { readonly pid: number; readonly file: string } | undefined
      const exit = yield* Effect.exit(Nursery.open((nursery) =>
        Effect.gen(function*() {
          const keeper = yield* Nursery.spawn(nursery, "keeper", { modules: [fixture("keeper.ts")] })
          const id = yield* Portal.call(keeper, Keeper.grandchild, undefined)
          grandchild = { pid: id.pid, file: Transport.socketPath(runtime.directory, id.uid) }
          assert.isTrue(Fs.existsSync(grandchild.file), "the grandchild listens on its socket file")
          process.kill(keeper.actor.pid, "SIGKILL")
          return yield* Effect.never
        })
      ).pipe(Effect.timeout("5 seconds")))
      assert.isTrue(
        exit._tag === "Failure" && Cause.failures(exit.cause).pipe(Chunk.some((e) => e._tag === "TransportClosed")),
        `a killed child fails its nursery: ${exit._tag === "Failure" ? Cause.pretty(exit.cause) : "it succeeded"}`
      )
      const { file, pid } = grandchild!
      assert.isTrue(yield* eventually(Effect.sync(() => !isAlive(pid)), 3000), "the orphan guard ended the grandchild")
      assert.isTrue(yield* eventually(Effect.sync(() => !Fs.existsSync(file)), 3000), `its socket file is still there: ${file}`)
    }).pipe(tolerateLogs(/keeper@\d+/)))
})

describe("an uncaught exception in an actor", () => {
  it.live.each(["process", "thread"] as const)(
    "ends its %s actor with one error line: its stack in the sources, no line of its bundle",
    (spawnMethod) =>
      Effect.gen(function*() {
        const entries: Array<{ level: string; text: string }> = []
        const keep = Logger.make<unknown, void>(({ logLevel, message }) => {
          entries.push({ level: logLevel.label, text: (Array.isArray(message) ? message : [message]).map(String).join(" ") })
        })
        const supervision = yield* Supervision.oneForOne({ maxRestarts: 0, period: "1 minute" })
        const exit = yield* Effect.exit(Nursery.open((nursery) =>
          Effect.gen(function*() {
            const events = yield* Nursery.events(nursery)
            // what it prints on its stderr comes as log lines too
            const portal = yield* Nursery.spawn(nursery, "thrower", { modules: [fixture("restartable.ts")], spawnMethod, output: "log" })
            yield* Portal.call(portal, Restartable.crash, { how: "throw" })
            while (true) {
              const event = yield* Queue.take(events)
              if (event._tag === "Exited") return event.exit.code
            }
          }), { supervision }).pipe(Effect.locally(FiberRef.currentLoggers, HashSet.make(keep))))
        assert.isTrue(exit._tag === "Failure", "past its intensity of 0, the nursery gives up")
        const reports = entries.filter((e) => /crashed.*Error: an uncaught exception/.test(e.text))
        assert.strictEqual(reports.length, 1, entries.map((e) => e.text.slice(0, 200)).join("\n"))
        assert.strictEqual(reports[0]!.level, "ERROR")
        assert.match(reports[0]!.text, /\n\s+at .*test\/fixtures\/restartable\.ts:\d+:\d+/, "the stack names the source")
        for (const { text } of entries) {
          assert.notMatch(text, /\.(cjs|mjs):\d+/, `a bundle position: ${text.slice(0, 300)}`)
          assert.isBelow(text.length, 4000, `a line of ${text.length} characters: ${text.slice(0, 300)}`)
        }
      })
  )
})
