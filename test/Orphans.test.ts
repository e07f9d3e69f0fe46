/**
 * Whole-process scenarios: a root program run as a subprocess is interrupted (SIGINT) or killed
 * (SIGKILL), and no process of its tree may outlive it. Liveness is read from /proc (a zombie is
 * dead). Also: actor processes carry `name@pid` as their title.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Actor from "../src/Actor.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Echo } from "./fixtures/protocols.ts"
import { Subprocess } from "./fixtures/subprocess.ts"
import { checkOrphansAfterEach, echoModule, fixture, isAlive, tempDir, waitGone } from "./utils/index.ts"

checkOrphansAfterEach()

/** whether this machine has the kernel guard (util-linux's setpriv with --pdeathsig) */
const kernelGuard = process.platform === "linux" &&
  ChildProcess.spawnSync("setpriv", ["--pdeathsig", "KILL", "--", "true"], { stdio: "ignore" }).status === 0

/** the orphan guard an actor process was started with (its spec, from its initial environment) */
const guardOf = (pid: number): string => {
  const environ = Fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")
  const spec = environ.find((v) => v.startsWith("EFFECT_TRACTOR_SPEC="))
  return spec === undefined ? "none" : JSON.parse(spec.slice("EFFECT_TRACTOR_SPEC=".length)).guard
}

interface Tree {
  readonly root: number
  readonly actors: ReadonlyArray<Actor.ActorId>
  readonly grandchild?: number | undefined
  /** an actor still importing its module (never ready) */
  readonly importer?: number | undefined
}

interface Root {
  readonly proc: ChildProcess.ChildProcess
  readonly output: () => string
  /** the next stdout line, within `timeoutMs` */
  readonly line: (timeoutMs: number) => Effect.Effect<string>
  /** the exit, within `timeoutMs` (undefined on timeout) */
  readonly exit: (
    timeoutMs: number
  ) => Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined>
}

/** Starts `node --import tsx <script> ...args`; the scope's release SIGKILLs it if still running. */
const startRoot = (
  script: string,
  args: ReadonlyArray<string>,
  options: { readonly detached: boolean; readonly env?: Record<string, string> }
) =>
  Effect.acquireRelease(
    Effect.sync((): Root => {
      const proc = ChildProcess.spawn(
        process.execPath,
        ["--import", "tsx", Url.fileURLToPath(fixture(script)), ...args],
        { stdio: ["ignore", "pipe", "pipe"], detached: options.detached, env: { ...process.env, ...options.env } }
      )
      let stdout = ""
      let stderr = ""
      let consumed = 0
      const listeners = new Set<() => void>()
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        proc.on("exit", (code, signal) => resolve({ code, signal }))
      )
      proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk
        for (const listener of listeners) listener()
      })
      proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk
      })
      const nextLine = () => {
        const nl = stdout.indexOf("\n", consumed)
        if (nl === -1) return undefined
        const line = stdout.slice(consumed, nl)
        consumed = nl + 1
        return line
      }
      const timeoutPromise = <A>(ms: number, promise: Promise<A>) =>
        Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())])
      return {
        proc,
        output: () => `stdout:\n${stdout}\nstderr:\n${stderr}`,
        line: (timeoutMs) =>
          Effect.promise(() =>
            timeoutPromise(
              timeoutMs,
              new Promise<string>((resolve) => {
                const check = () => {
                  const line = nextLine()
                  if (line !== undefined) {
                    listeners.delete(check)
                    resolve(line)
                  }
                }
                listeners.add(check)
                check()
              })
            )
          ).pipe(
            Effect.flatMap((line) =>
              line === undefined
                ? Effect.dieMessage(`no line from ${script} within ${timeoutMs} ms\n${stdout}\n${stderr}`)
                : Effect.succeed(line)
            )
          ),
        exit: (timeoutMs) => Effect.promise(() => timeoutPromise(timeoutMs, exited))
      }
    }),
    (root) =>
      Effect.sync(() => {
        if (root.proc.exitCode === null && root.proc.signalCode === null) root.proc.kill("SIGKILL")
      })
  )

const readTree = (root: Root) =>
  Effect.flatMap(root.line(30_000), (line) =>
    Effect.try({
      try: () => JSON.parse(line) as Tree,
      catch: () => new Error(`not a tree: ${line}\n${root.output()}`)
    }).pipe(Effect.orDie))

/** The title of a running process, as ps shows it. */
const title = (pid: number) => Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replace(/\0/g, " ")

/** The scheduler state of a process's main thread (R: running, S: sleeping, ...). */
const state = (pid: number) => {
  const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
}

/** Waits until a process's main thread is busy (a synchronous loop keeps it runnable). */
const waitBusy = (pid: number, timeoutMs: number) =>
  Effect.promise(async () => {
    const end = Date.now() + timeoutMs
    let busy = 0
    while (Date.now() < end) {
      busy = state(pid) === "R" ? busy + 1 : 0
      if (busy >= 3) return true
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return false
  })

describe("Orphans", () => {
  it.live.each([
    { to: "the root", detached: false },
    { to: "the whole process group (a terminal Ctrl-C)", detached: true }
  ])("on SIGINT to $to, the root exits within 3 s after cancelling every actor gracefully", ({ detached }) =>
    Effect.scoped(Effect.gen(function*() {
      const dir = tempDir("tractor-sigint-")
      const root = yield* startRoot("root_sigint.ts", [dir], { detached })
      const tree = yield* readTree(root)
      assert.strictEqual(tree.actors.length, 2)
      for (const actor of tree.actors) assert.isTrue(isAlive(actor.pid))

      const sent = Date.now()
      process.kill(detached ? -tree.root : tree.root, "SIGINT")
      const exit = yield* root.exit(3_000)
      const elapsed = Date.now() - sent

      assert.isDefined(exit, `the root did not exit within 3 s\n${root.output()}`)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, root.output())
      assert.isBelow(elapsed, 3_000)
      assert.strictEqual(yield* root.line(1_000), "closed", "the root's nursery did not close before it exited")
      for (const actor of tree.actors) {
        assert.isFalse(isAlive(actor.pid), `${actor.name} outlived the root`)
        // the graceful path: the running call was interrupted and the lifetime finalizer ran
        const file = Path.join(dir, actor.name)
        assert.isTrue(Fs.existsSync(`${file}.interrupted`), `${actor.name}'s call was not interrupted`)
        assert.strictEqual(Fs.readFileSync(file, "utf8"), `${actor.name}:Failure`, `${actor.name}'s finalizer`)
      }
    })))

  // Linux with util-linux: the kernel kills an actor when its parent dies (setpriv --pdeathsig);
  // elsewhere, or when asked, each actor runs a watchdog thread. Both are checked here.
  for (const guard of ["kernel", "watchdog"] as const) {
    const env = guard === "watchdog" ? { EFFECT_TRACTOR_ORPHAN_GUARD: "watchdog" } : {}

    describe(`guarded by the ${guard}`, () => {
      it.live.skipIf(guard === "kernel" && !kernelGuard)(
        "on SIGKILL of the root, every actor is gone within 1.5 s, including one blocked in synchronous code",
        () =>
          Effect.scoped(Effect.gen(function*() {
            const root = yield* startRoot("root_killed.ts", ["flat"], { detached: false, env })
            const tree = yield* readTree(root)
            const [idle, blocked] = tree.actors
            assert.deepStrictEqual(tree.actors.map((a) => a.name), ["idle", "blocked"])
            assert.deepStrictEqual(tree.actors.map((a) => guardOf(a.pid)), [guard, guard])
            assert.isTrue(yield* waitBusy(blocked!.pid, 3_000), "the blocked actor never got busy")
            assert.isTrue(isAlive(idle!.pid))

            const killed = Date.now()
            process.kill(tree.root, "SIGKILL")
            const alive = yield* waitGone(tree.actors.map((a) => a.pid), 1_500)
            const elapsed = Date.now() - killed
            assert.deepStrictEqual(alive, [], `still alive ${elapsed} ms after the root was killed`)
          }))
      )

      it.live.skipIf(guard === "kernel" && !kernelGuard)(
        "on SIGKILL of the root, a grandchild blocked in synchronous code is gone within 1.5 s",
        () =>
          Effect.scoped(Effect.gen(function*() {
            const root = yield* startRoot("root_killed.ts", ["nested"], { detached: false, env })
            const tree = yield* readTree(root)
            assert.deepStrictEqual(tree.actors.map((a) => a.name), ["idle", "blocked", "middle"])
            const grandchild = tree.grandchild!
            assert.isDefined(grandchild)
            assert.match(title(grandchild), /^grandchild@\d+$/)
            assert.strictEqual(guardOf(grandchild), guard)
            assert.isTrue(yield* waitBusy(grandchild, 3_000), "the grandchild never got busy")

            const killed = Date.now()
            process.kill(tree.root, "SIGKILL")
            const pids = [...tree.actors.map((a) => a.pid), grandchild]
            const alive = yield* waitGone(pids, 1_500)
            const elapsed = Date.now() - killed
            assert.deepStrictEqual(alive, [], `still alive ${elapsed} ms after the root was killed`)
          }))
      )
    })
  }

  // only the kernel guards an actor before its modules are loaded: the watchdog starts after Ready
  it.live.skipIf(!kernelGuard)(
    "on SIGKILL of the root, an actor still blocked importing its module is gone within 1.5 s",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const root = yield* startRoot("root_killed.ts", ["importing"], { detached: false })
        const tree = yield* readTree(root)
        const importer = tree.importer!
        assert.isDefined(importer)
        assert.strictEqual(guardOf(importer), "kernel")
        assert.isTrue(yield* waitBusy(importer, 3_000), "the importing actor never got busy")

        const killed = Date.now()
        process.kill(tree.root, "SIGKILL")
        const alive = yield* waitGone([importer], 1_500)
        const elapsed = Date.now() - killed
        assert.deepStrictEqual(alive, [], `still alive ${elapsed} ms after the root was killed`)
      }))
  )

  it.live("a subprocess an actor starts does not inherit the actor's connection to its parent (fd 3)", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portal = yield* Nursery.spawn(nursery, "starter", { modules: [fixture("subprocess.ts")] })
        const actorLink = Fs.readlinkSync(`/proc/${portal.actor.pid}/fd/3`)
        assert.match(actorLink, /^socket:/)
        const fds = yield* Portal.call(portal, Subprocess.fds, undefined)
        assert.notInclude(Object.values(fds), actorLink, JSON.stringify(fds))
      })
    ))

  it.live("titles every actor process name@pid", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portals = yield* Effect.forEach(
          ["titled_a", "titled_b"],
          (name) => Nursery.spawn(nursery, name, { modules: [echoModule] }),
          { concurrency: "unbounded" }
        )
        for (const portal of portals) {
          const pid = yield* Portal.call(portal, Echo.pid, undefined)
          assert.strictEqual(pid, portal.actor.pid)
          assert.strictEqual(title(pid), `${portal.actor.name}@${pid}`)
        }
      })
    ))
})
