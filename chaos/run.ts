/**
 * The chaos harness: a supervised tree (process and thread actors, a pool, a supervisor inside an
 * actor) under a steady mix of calls, streams and dialogs over every transport, while a numbered,
 * repeatable schedule kills, stops, blocks and crashes its actors, breaks its links, restarts its registry and
 * feeds it bad frames and bad peers. It checks that every operation settles typed
 * and in bounds, that no stream element is lost, doubled or reordered, that supervision restores the
 * tree (and gives up as specified), that nothing is left behind, and that memory stays flat.
 *
 *   npm run soak                        10 minutes (the soak run before a release; also npm run chaos)
 *   npm run chaos -- --quick            about a minute (part of `npm test`)
 *   npm run chaos -- --schedule 42      the schedule of a failing run again
 *   npm run chaos -- --seconds 120      another length; --clients N, --verbose (the tree's warnings)
 *
 * Exits 1 when a check is violated, printing each violation and the schedule's number.
 */
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ActorError from "../src/ActorError.ts"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import * as Supervision from "../src/Supervision.ts"
import * as WorkerPool from "../src/WorkerPool.ts"
import type { PortalImpl } from "../src/internal/portal.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import * as Transport from "../src/internal/transport.ts"
import { freePort } from "../test/utils/net.ts"
import { descendants, titleOf, waitGone } from "../test/utils/processes.ts"
import { collect, filesUnder, random, type Random, rssOf, type Sample, slope, table, Tally } from "./lib.ts"
import { LEAF, MIDDLE, Middle } from "./middle.ts"
import { Chaos, Refused } from "./service.ts"

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i === -1 ? argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) : argv[i + 1]
}
const QUICK = flag("--quick")
const SEED = Number(option("--schedule") ?? Crypto.randomInt(1, 2 ** 31))
const SECONDS = Number(option("--seconds") ?? (QUICK ? 40 : 600))
const CLIENTS = Number(option("--clients") ?? 6)
const VERBOSE = flag("--verbose")
/** an operation that has not settled after this long hangs */
const SETTLE_BOUND_MS = 20_000
/** after the last fault, every service answers again within this */
const RESTORE_BOUND_MS = 15_000
/** frames over this are refused: the junk peer's oversized frame is 1.5 times it */
const MAX_MESSAGE_BYTES = 1024 * 1024
/** memory growth bounds after warm-up, checked on runs of 5 minutes or more (MB per minute) */
const HEAP_SLOPE_BOUND = 1
const RSS_SLOPE_BOUND = 4

if (!Number.isInteger(SEED) || !(SECONDS > 0) || !(CLIENTS > 0)) {
  process.stderr.write("usage: npm run chaos -- [--quick] [--schedule N] [--seconds S] [--clients N] [--verbose]\n")
  process.exit(2)
}

// processes this one had before the tree (the TypeScript loader's esbuild): not the tree's to end
const before = new Set(descendants())

// every socket file of the run goes into a folder of its own, checked empty at the end
const runDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "et-chaos-"))
process.env["EFFECT_TRACTOR_RUNTIME_DIR"] = runDir

const modules = [new URL("./service.ts", import.meta.url)]
/** a service in a worker thread of the root's process: no signals reach it, the other faults do */
const THREAD = "svc-t"
/** the services the root's nursery supervises: processes, and one thread */
const services = ["svc-0", "svc-1", "svc-2", THREAD] as const
/** serves traffic, takes the bad frames and bad peers, and is never killed: it must never restart */
const STEADY = "steady"
/** every service clients call; the leaf is a child of `middle`, found by name only */
const names = [...services, STEADY, LEAF]
const POOL = "chaos-pool"
const faultable = new RegExp(`^(svc-\\d|${MIDDLE}|${LEAF}|${POOL}_\\d+)@\\d+$`)

/** a client that gave up on its operation (its own timeout) */
class GaveUp extends Data.TaggedError("GaveUp")<{}> {}

const tally = new Tally()
const started = Date.now()
const elapsed = () => Date.now() - started

// ---------------------------------------------------------------------------
// the registry: a process of its own, restarted by the fault schedule
// ---------------------------------------------------------------------------

const key = Crypto.randomBytes(32).toString("base64")
const registryAddress = `tcp:127.0.0.1:${await Effect.runPromise(freePort)}`
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => Fs.existsSync(p))
let registry: ChildProcess.ChildProcess | undefined

const startRegistry = () =>
  new Promise<ChildProcess.ChildProcess>((resolve, reject) => {
    const node = [process.execPath, "--import", import.meta.resolve("tsx"), new URL("../test/fixtures/registry_root.ts", import.meta.url).pathname]
    const [command, ...args] = setpriv === undefined ? node : [setpriv, "--pdeathsig", "KILL", "--", ...node]
    const child = ChildProcess.spawn(command!, args, {
      env: {
        ...process.env,
        EFFECT_TRACTOR_REGISTRY: registryAddress,
        EFFECT_TRACTOR_TREE_KEY: key,
        EFFECT_TRACTOR_TCP_HOST: "127.0.0.1"
      },
      stdio: ["ignore", "pipe", "inherit"]
    })
    const timer = setTimeout(() => reject(new Error("the registry did not start within 20 s")), 20_000)
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) {
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the registry exited at start (${code ?? signal})`))
    })
  })

const stopProcess = (child: ChildProcess.ChildProcess, signal: NodeJS.Signals) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill(signal)
    setTimeout(() => child.kill("SIGKILL"), 3000).unref()
  })

// ---------------------------------------------------------------------------
// portals by transport
// ---------------------------------------------------------------------------

type Via = "link" | "uds" | "tcp" | "pool"

/** portals found by name in one root, kept until a call through one says its actor is gone */
class Finder {
  private readonly cache = new Map<string, { readonly portal: Portal.Portal; readonly scope: Scope.CloseableScope }>()
  constructor(readonly runtime: TreeRuntime.TreeRuntime) {}

  get(name: string): Effect.Effect<Portal.Portal, ActorError.RegistryUnavailable | ActorError.ActorNotFound> {
    return Effect.suspend(() => {
      const cached = this.cache.get(name)
      if (cached !== undefined) return Effect.succeed(cached.portal)
      return Effect.gen(this, function*() {
        const scope = yield* Scope.make()
        const found = yield* Registry.findActor(name).pipe(
          Scope.extend(scope),
          Effect.provideService(TreeRuntime.ActorRuntimeTag, this.runtime),
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        if (Option.isNone(found)) {
          yield* Scope.close(scope, Exit.void)
          return yield* new ActorError.ActorNotFound({ name, waitedMillis: 0, message: `no actor named ${name} is registered` })
        }
        const previous = this.cache.get(name)
        if (previous !== undefined) yield* Scope.close(previous.scope, Exit.void)
        this.cache.set(name, { portal: found.value, scope })
        return found.value
      })
    })
  }

  /** forgets `portal` (its actor is gone): the next operation finds the name again */
  drop(name: string, portal: Portal.Portal): Effect.Effect<void> {
    return Effect.suspend(() => {
      const cached = this.cache.get(name)
      if (cached === undefined || cached.portal !== portal) return Effect.void
      this.cache.delete(name)
      return Scope.close(cached.scope, Exit.void)
    })
  }

  readonly closeAll = Effect.suspend(() =>
    Effect.forEach([...this.cache.values()], ({ scope }) => Scope.close(scope, Exit.void), { discard: true }).pipe(
      Effect.zipRight(Effect.sync(() => this.cache.clear()))
    )
  )
}

// ---------------------------------------------------------------------------
// the program
// ---------------------------------------------------------------------------

const payload = (rng: Random, seq: number) => {
  const size = [16, 1024, 32 * 1024, 512 * 1024][["tiny", "small", "medium", "large"].indexOf(
    rng.weighted({ tiny: 60, small: 25, medium: 12, large: 3 })
  )]!
  return { seq, data: `${seq}:${"é€😀ab".repeat(Math.ceil(size / 10))}`.slice(0, size) }
}

const program = Effect.gen(function*() {
  const deadline = started + SECONDS * 1000
  registry = yield* Effect.promise(startRegistry)
  const main = yield* TreeRuntime.current
  const far = TreeRuntime.makeRoot({ name: "far", registry: registryAddress, key, host: "chaos-far", tickMillis: 3000 })
  far.giveLogRuntime(yield* Effect.runtime<never>())
  yield* Effect.addFinalizer(() => Effect.sync(() => far.close()))
  const finders = { uds: new Finder(main), tcp: new Finder(far) }
  yield* Effect.addFinalizer(() => Effect.zipRight(finders.uds.closeAll, finders.tcp.closeAll))

  // the tree, one-for-one: three process services, a thread one, a steady one, and `middle`, which
  // supervises `leaf` one-for-one inside its own process; and a pool
  const supervision = yield* Supervision.oneForOne({ maxRestarts: 10_000, period: "1 minute" })
  const nursery = yield* Nursery.make({ supervision, maxMessageBytes: MAX_MESSAGE_BYTES })
  const events = yield* Nursery.events(nursery)
  const link = new Map<string, Portal.Portal>()
  for (const name of [...services, STEADY]) {
    link.set(name, yield* Nursery.spawn(nursery, name, { modules, spawnMethod: name === THREAD ? "thread" : "process" }))
  }
  const middle = yield* Nursery.spawn(nursery, MIDDLE, { modules: [new URL("./middle.ts", import.meta.url)] })
  const pool = yield* WorkerPool.make({
    modules,
    size: 2,
    name: POOL,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    supervision: yield* Supervision.oneForOne({ maxRestarts: 10_000, period: "1 minute" })
  })
  const poolClient = WorkerPool.client(pool, Chaos)
  const steady = link.get(STEADY)!
  const steadyPid = steady.actor.pid
  const steadyEntry = (yield* Registry.list).find((e) => e.name === STEADY)
  if (steadyEntry === undefined) return yield* Effect.dieMessage("the steady service is not registered")
  const steadyUnix = steadyEntry.addresses.map(Transport.parseAddress).find((a) => a?.kind === "unix") as
    | { kind: "unix"; path: string }
    | undefined
  const steadyTcp = steadyEntry.addresses.map(Transport.parseAddress).find((a) => a?.kind === "tcp") as
    | { kind: "tcp"; host: string; port: number }
    | undefined
  if (steadyUnix === undefined || steadyTcp === undefined) {
    return yield* Effect.dieMessage(`the steady service listens at ${steadyEntry.addresses.join(", ")}: a Unix socket and TCP expected`)
  }

  // ---------------------------------------------------------------------------
  // one operation: run, bounded, classified, its results checked
  // ---------------------------------------------------------------------------

  const portalFor = (via: Exclude<Via, "pool">, name: string) =>
    via === "link" ? Effect.succeed(link.get(name)!) : finders[via].get(name)
  /** the leaf has no portal of the root's own: the parent's link to it is its supervisor's */
  const viaFor = (via: Via, name: string): Via => via === "link" && name === LEAF ? "uds" : via

  const inRoot = <A, E>(via: Via, effect: Effect.Effect<A, E>) =>
    via === "tcp" ? Effect.provideService(effect, TreeRuntime.ActorRuntimeTag, far) : effect

  const operation = (rng: Random, seq: number, via: Via, kind: string, name: string): Effect.Effect<void, unknown> => {
    const what = `${kind} #${seq} to ${name} over ${via}`
    const bad = (message: string) => Effect.sync(() => tally.violation(`${what}: ${message}`))
    if (via === "pool") {
      if (kind === "declared") {
        const fail = rng.chance(0.5)
        return poolClient.flaky({ seq, fail }).pipe(
          Effect.flatMap((n) => fail ? bad(`succeeded (${n}) though it was to fail`) : n === seq ? Effect.void : bad(`answered ${n}`))
        )
      }
      const sent = payload(rng, seq)
      return Effect.flatMap(poolClient.echo(sent), (got) => got.seq === sent.seq && got.data === sent.data ? Effect.void : bad("echoed something else"))
    }
    const body = (portal: Portal.Portal): Effect.Effect<void, unknown> => {
      switch (kind) {
        case "call": {
          const sent = payload(rng, seq)
          return Effect.flatMap(
            Portal.call(portal, Chaos.echo, sent),
            (got) => got.seq === sent.seq && got.data === sent.data ? Effect.void : bad("echoed something else")
          )
        }
        case "declared": {
          const fail = rng.chance(0.5)
          return Portal.call(portal, Chaos.flaky, { seq, fail }).pipe(
            Effect.flatMap((n) => fail ? bad(`succeeded (${n}) though it was to fail`) : n === seq ? Effect.void : bad(`answered ${n}`)),
            Effect.catchTag("Refused", (e) => fail && e.seq === seq ? Effect.fail(e) : bad(`failed with Refused(${e.seq}) unasked`))
          )
        }
        case "stream": {
          const n = rng.int(1, 4000)
          const from = rng.int(0, 1_000_000)
          const take = rng.chance(0.15) ? rng.int(1, n) : undefined
          let count = 0
          let wrong = false
          const elements = Portal.stream(portal, Chaos.range, { from, n })
          return Stream.runForEach(take === undefined ? elements : Stream.take(elements, take), (x) =>
            Effect.suspend(() => {
              if (!wrong && (x !== from + count || count >= n)) {
                wrong = true
                return bad(`element ${count} is ${x}, not ${from + count} (of ${n})`)
              }
              count++
              return Effect.void
            })).pipe(
              Effect.zipRight(Effect.suspend(() => count === (take ?? n) ? Effect.void : bad(`ended after ${count} of ${take ?? n} elements`)))
            )
        }
        default: {
          const k = rng.int(1, 60)
          const first = rng.int(0, 1000)
          return Portal.openDialog(portal, Chaos.chat, first, (dialog) =>
            Effect.gen(function*() {
              if (dialog.started !== first) yield* bad(`started with ${dialog.started}, not ${first}`)
              const stream = yield* dialog.openStream()
              let received = 0
              let wrong = false
              const send = Effect.zipRight(
                Effect.forEach(Array.from({ length: k }, (_, i) => i), (i) => stream.send(i), { discard: true }),
                stream.close
              )
              const receive = Stream.runForEach(stream.receive, (x) =>
                Effect.suspend(() => {
                  if (!wrong && (x !== received || received >= k)) {
                    wrong = true
                    return bad(`reply ${received} is ${x} (of ${k})`)
                  }
                  received++
                  return Effect.void
                }))
              yield* Effect.all([send, receive], { concurrency: 2, discard: true })
              const result = yield* dialog.result
              if (result !== k || received !== k) yield* bad(`returned ${result}, ${received} replies, for ${k} sent`)
            }))
        }
      }
    }
    return Effect.flatMap(portalFor(via, name), (portal) =>
      body(portal).pipe(
        Effect.tapError((e) =>
          via !== "link" && ActorError.isActorError(e) && e._tag === "TransportClosed" ? finders[via].drop(name, portal) : Effect.void
        )
      ))
  }

  const settle = (rng: Random, seq: number, via: Via, kind: string, name: string) =>
    Effect.gen(function*() {
      const stats = tally.op(kind, via)
      stats.started++
      const what = `${kind} #${seq} to ${name} over ${via}`
      const giveUpAfter = rng.chance(0.12) ? rng.int(1, 300) : undefined
      let op = inRoot(via, operation(rng, seq, via, kind, name))
      if (giveUpAfter !== undefined) op = Effect.timeoutFail(op, { duration: giveUpAfter, onTimeout: () => new GaveUp() })
      const t0 = performance.now()
      const exit = yield* Effect.exit(Effect.timeout(Effect.disconnect(op), SETTLE_BOUND_MS))
      const ms = performance.now() - t0
      stats.maxSettleMs = Math.max(stats.maxSettleMs, ms)
      if (Exit.isSuccess(exit)) return void stats.ok++
      const cause = exit.cause
      const defect = Cause.dieOption(cause)
      if (Option.isSome(defect)) return tally.violation(`${what}: a defect: ${Cause.pretty(cause)}`)
      const failure = Cause.failureOption(cause)
      if (Option.isNone(failure)) return tally.violation(`${what}: interrupted, unasked: ${Cause.pretty(cause)}`)
      const e = failure.value
      if (e instanceof GaveUp) return void stats.interrupted++
      if (e instanceof Refused) return void stats.declared++
      if (Cause.isTimeoutException(e)) return tally.violation(`${what}: not settled after ${SETTLE_BOUND_MS} ms`)
      if (ActorError.isActorError(e)) return void (stats.errors[e._tag] = (stats.errors[e._tag] ?? 0) + 1)
      tally.violation(`${what}: an untyped failure: ${Cause.pretty(cause)}`)
    })

  let seqs = 0
  const client = (i: number) =>
    Effect.gen(function*() {
      const rng = random(SEED * 7919 + i + 1)
      while (Date.now() < deadline) {
        const via = rng.weighted<Via>({ link: 3, uds: 3, tcp: 2, pool: 2 })
        const kind = via === "pool"
          ? rng.weighted({ call: 3, declared: 1 })
          : rng.weighted({ call: 4, declared: 1, stream: 2, dialog: 2 })
        const name = rng.pick(names)
        yield* settle(rng, ++seqs, viaFor(via, name), kind, name)
      }
    })

  // ---------------------------------------------------------------------------
  // faults
  // ---------------------------------------------------------------------------

  const memory = { root: [] as Array<Sample>, steady: [] as Array<Sample>, registry: [] as Array<Sample> }
  const stopped = new Set<number>()
  // faults that run on beside the schedule; a fiber leaves the set when it ends (a done fiber kept
  // in a list would read as the root's heap growing)
  const background = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  const later = (effect: Effect.Effect<unknown, unknown>) =>
    Effect.map(Effect.forkDaemon(Effect.ignore(effect)), (fiber) => {
      background.add(fiber)
      fiber.addObserver(() => background.delete(fiber))
    })

  /** pids of the actors faults may hit: the services and the pool's workers, never the steady one or a root */
  const victims = () => descendants().filter((pid) => faultable.test(titleOf(pid) ?? ""))

  const signal = (rng: Random, sig: NodeJS.Signals) =>
    Effect.sync(() => {
      const pids = victims()
      if (pids.length === 0) return false
      const pid = rng.pick(pids)
      try {
        process.kill(pid, sig)
      } catch {
        return false
      }
      return pid
    })

  /** a raw peer on the steady service's socket: valid calls around junk, oversized and truncated frames */
  const junk = (rng: Random) =>
    Effect.gen(function*() {
      const peer = yield* Transport.connect(steadyUnix, { name: "junk", uid: `junk${rng.int(0, 1e9)}`, pid: process.pid }, Transport.makeTreeKey())
      const answers = new Map<number, { readonly _tag: string; readonly value?: unknown }>()
      let buffered = ""
      peer.socket.on("data", (chunk: Buffer) => {
        buffered += chunk.toString()
        let nl: number
        while ((nl = buffered.indexOf("\n")) !== -1) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          try {
            const m = JSON.parse(line)
            if (typeof m.id === "number") answers.set(m.id, m)
          } catch {
            tally.violation(`junk frames: the actor sent a line that is not JSON: ${line.slice(0, 80)}`)
          }
        }
      })
      // the socket is paused after the handshake until it has a reader
      peer.socket.resume()
      const call = (id: number, fn: string, body: unknown) =>
        JSON.stringify({ _tag: "Call", id, protocol: "Chaos", fn, payload: body })
      const noise = Array.from({ length: rng.int(1, 4) }, () =>
        Buffer.from(Array.from({ length: rng.int(1, 300) }, () => rng.int(0, 255)).filter((b) => b !== 10)))
      const truncated = call(9, "echo", { seq: 9, data: "cut" })
      const lines: Array<string | Buffer> = [
        call(1, "echo", { seq: 1, data: "before" }),
        ...noise,
        call(3, "echo", { seq: "three", data: 3 }),
        truncated.slice(0, rng.int(1, truncated.length - 1)),
        `{"_tag":"Call","id":11,"protocol":"Chaos","fn":"echo","payload":{"seq":11,"data":"${"x".repeat(MAX_MESSAGE_BYTES * 1.5)}"}}`,
        call(5, "nothing", {}),
        `{"_tag":"Yield","id":13,"values":[1,2]}`,
        call(7, "echo", { seq: 7, data: "after" })
      ]
      // written in pieces cut at random, as a socket delivers them
      const bytes = Buffer.concat(lines.flatMap((l) => [typeof l === "string" ? Buffer.from(l) : l, Buffer.from("\n")]))
      let at = 0
      while (at < bytes.length) {
        const n = Math.min(bytes.length - at, rng.int(1, 200_000))
        peer.socket.write(bytes.subarray(at, at + n))
        at += n
      }
      const answered = () => answers.has(1) && answers.has(3) && answers.has(5) && answers.has(7)
      const until = Date.now() + 5000
      while (!answered() && Date.now() < until) yield* Effect.sleep("20 millis")
      peer.socket.destroy()
      const ok = (id: number, data: string) => {
        const a = answers.get(id)
        return a?._tag === "Success" && (a.value as { data?: unknown } | undefined)?.data === data
      }
      if (!ok(1, "before")) tally.violation(`junk frames: the valid call before the junk got ${JSON.stringify(answers.get(1))?.slice(0, 200)}`)
      if (!ok(7, "after")) tally.violation(`junk frames: the valid call after the junk got ${JSON.stringify(answers.get(7))?.slice(0, 200)}`)
      for (const id of [3, 5]) {
        if (answers.get(id)?._tag !== "Failure") {
          tally.violation(`junk frames: call ${id} (${id === 3 ? "a schema-invalid payload" : "an unknown function"}) got ${JSON.stringify(answers.get(id))?.slice(0, 200)}`)
        }
      }
      // the truncated call (9) and the oversized one (11) may be answered, with a failure
      for (const [id, answer] of answers) {
        if ((id === 9 || id === 11) && answer._tag !== "Failure") {
          tally.violation(`junk frames: the ${id === 9 ? "truncated" : "oversized"} call ${id} got ${JSON.stringify(answer).slice(0, 200)}`)
        } else if (![1, 3, 5, 7, 9, 11].includes(id)) tally.violation(`junk frames: an answer to call ${id}, which was never started`)
      }
    })

  const wrongKey = Effect.gen(function*() {
    const outcome = yield* Effect.exit(Transport.connect(steadyTcp, { name: "intruder", uid: "intruder", pid: process.pid }, Transport.makeTreeKey(), 3000))
    if (Exit.isSuccess(outcome)) {
      outcome.value.socket.destroy()
      tally.violation("wrong key: a TCP peer without the tree's key completed the handshake")
    }
  })

  const stall = (rng: Random) =>
    Effect.async<void>((resume) => {
      const socket = Net.connect(steadyTcp.port, steadyTcp.host)
      const opened = Date.now()
      socket.on("error", () => {})
      socket.on("connect", () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, rng.int(0, 255)])))
      const timer = setTimeout(() => {
        tally.violation(`stalled handshake: still open after ${Date.now() - opened} ms (the limit is 5000)`)
        socket.destroy()
      }, 9000)
      socket.on("close", () => {
        clearTimeout(timer)
        resume(Effect.void)
      })
    })

  /** a fault an actor brings on itself, asked by a call: a service, the thread one or the leaf */
  const fromInside = (rng: Random, kind: string, ask: (portal: Portal.Portal) => Effect.Effect<unknown, unknown>) => {
    const name = rng.pick([...services, LEAF])
    return Effect.flatMap(Effect.option(name === LEAF ? finders.uds.get(LEAF) : Effect.succeed(link.get(name)!)), (portal) => {
      if (Option.isNone(portal)) return Effect.void
      tally.fault(name === THREAD ? `${kind}: thread` : name === LEAF ? `${kind}: leaf` : kind)
      return later(Effect.timeout(ask(portal.value), 10_000))
    })
  }

  const inject = (rng: Random, kind: string): Effect.Effect<void, unknown> => {
    switch (kind) {
      case "SIGKILL":
      case "SIGTERM":
        return Effect.map(signal(rng, kind), (pid) => void (pid !== false && tally.fault(kind)))
      case "SIGSTOP/CONT":
        return Effect.flatMap(signal(rng, "SIGSTOP"), (pid) => {
          if (pid === false) return Effect.void
          tally.fault(kind)
          stopped.add(pid)
          return later(Effect.zipRight(
            Effect.sleep(rng.int(100, 1500)),
            Effect.sync(() => {
              stopped.delete(pid)
              try {
                process.kill(pid, "SIGCONT")
              } catch {
                // gone meanwhile
              }
            })
          ))
        })
      case "blocking code": {
        const ms = rng.int(200, 1500)
        return fromInside(rng, kind, (portal) => Portal.call(portal, Chaos.block, ms))
      }
      case "crash (uncaught exception)":
        return fromInside(rng, kind, (portal) => Portal.call(portal, Chaos.crash, undefined))
      case "link destroyed (root side)": {
        const name = rng.pick(services)
        const child = link.get(name)!
        const side = rng.pick(["parent", "uds", "tcp"] as const)
        const peer = side === "parent"
          ? (child as unknown as PortalImpl).usableNow()
          : (side === "uds" ? main : far).connectionTo(child.actor.uid)
        if (peer === undefined) return Effect.void
        tally.fault(`${kind}: ${side}`)
        return Effect.sync(() => peer.link.connection.destroy())
      }
      case "link destroyed (actor side)":
        return fromInside(rng, kind, (portal) => Portal.call(portal, Chaos.dropPeers, undefined))
      case "junk frames":
        tally.fault(kind)
        return later(junk(rng).pipe(Effect.catchAll((e) => Effect.sync(() => tally.violation(`junk frames: cannot connect: ${e.message}`)))))
      case "wrong key":
        tally.fault(kind)
        return later(wrongKey)
      default:
        tally.fault(kind)
        return later(stall(rng))
    }
  }

  const registryRestarts = Math.max(1, Math.floor(SECONDS / 60))
  const faults = Effect.gen(function*() {
    const rng = random(SEED)
    // the registry restarts at fixed points of the run; the other faults come at random
    const restartAt = Array.from({ length: registryRestarts }, (_, i) => started + (SECONDS * 1000 * (i + 1)) / (registryRestarts + 1))
    while (Date.now() < deadline) {
      yield* Effect.sleep(rng.int(150, QUICK ? 1200 : 2000))
      if (Date.now() >= deadline) break
      if (restartAt.length > 0 && Date.now() >= restartAt[0]!) {
        restartAt.shift()
        tally.fault("registry restart")
        yield* Effect.promise(() => stopProcess(registry!, "SIGKILL"))
        registry = yield* Effect.promise(startRegistry)
        // its memory is followed from its new start
        memory.registry.length = 0
        continue
      }
      yield* inject(rng, rng.weighted({
        SIGKILL: 3,
        SIGTERM: 2,
        "SIGSTOP/CONT": 2,
        "blocking code": 2,
        "crash (uncaught exception)": 2,
        "link destroyed (root side)": 3,
        "link destroyed (actor side)": 2,
        "junk frames": 2,
        "wrong key": 1,
        "stalled handshake": 1
      }))
    }
  })

  // ---------------------------------------------------------------------------
  // memory
  // ---------------------------------------------------------------------------

  const sampler = Effect.gen(function*() {
    while (Date.now() < deadline) {
      const atMs = elapsed()
      collect()
      const own = process.memoryUsage()
      memory.root.push({ atMs, rssMb: own.rss / 2 ** 20, heapMb: own.heapUsed / 2 ** 20 })
      const theirs = yield* Effect.option(Effect.timeout(Portal.call(steady, Chaos.memory, undefined), 2000))
      if (Option.isSome(theirs)) memory.steady.push({ atMs, rssMb: theirs.value.rss / 2 ** 20, heapMb: theirs.value.heapUsed / 2 ** 20 })
      const rss = registry?.pid === undefined ? undefined : rssOf(registry.pid)
      if (rss !== undefined) memory.registry.push({ atMs, rssMb: rss, heapMb: Number.NaN })
      yield* Effect.sleep(QUICK ? 500 : 5000)
    }
  })

  // ---------------------------------------------------------------------------
  // the run
  // ---------------------------------------------------------------------------

  process.stderr.write(`chaos: schedule ${SEED}, ${SECONDS} s, ${CLIENTS} clients\n`)
  const work = yield* Effect.fork(Effect.all([...Array.from({ length: CLIENTS }, (_, i) => client(i)), faults, sampler], {
    concurrency: "unbounded",
    discard: true
  }))
  yield* Fiber.join(work)
  const faultsEnded = Date.now()
  for (const pid of stopped) {
    try {
      process.kill(pid, "SIGCONT")
    } catch {
      // gone
    }
  }
  yield* Fiber.joinAll([...background])

  // restored: every service answers over every transport again
  let restoreMs = 0
  for (const name of names) {
    for (const via of name === LEAF ? ["uds", "tcp"] as const : ["link", "uds", "tcp"] as const) {
      const until = Date.now() + RESTORE_BOUND_MS
      let done = false
      while (!done && Date.now() < until) {
        const exit = yield* Effect.exit(inRoot(via, Effect.timeout(
          Effect.flatMap(portalFor(via, name), (portal) =>
            Effect.tapError(Portal.call(portal, Chaos.echo, { seq: 0, data: "back" }), () =>
              via === "link" ? Effect.void : finders[via].drop(name, portal))),
          5000
        )))
        done = Exit.isSuccess(exit)
        if (!done) yield* Effect.sleep("100 millis")
      }
      if (!done) tally.violation(`restore: ${name} does not answer over ${via} ${RESTORE_BOUND_MS} ms after the faults ended`)
      restoreMs = Math.max(restoreMs, Date.now() - faultsEnded)
    }
  }
  const poolBack = yield* Effect.exit(Effect.timeout(poolClient.echo({ seq: 0, data: "back" }), RESTORE_BOUND_MS))
  if (Exit.isFailure(poolBack)) tally.violation(`restore: the pool does not answer: ${Cause.pretty(poolBack.cause)}`)
  // the supervisor inside `middle` restored its leaf too
  const leaf = yield* Effect.exit(Effect.timeout(Portal.call(middle, Middle.leaf, undefined), RESTORE_BOUND_MS))
  if (Exit.isFailure(leaf)) tally.violation(`restore: middle does not answer: ${Cause.pretty(leaf.cause)}`)
  const leafRestarts = Exit.isSuccess(leaf) ? leaf.value.restarts : 0
  if (steady.actor.pid !== steadyPid) tally.violation(`the steady service restarted (pid ${steadyPid} -> ${steady.actor.pid}): bad frames or bad peers took it down`)

  const log = yield* Queue.takeAll(events)
  let exited = 0
  let restarted = 0
  for (const event of log) {
    if (event._tag === "Exited") exited++
    else if (event._tag === "Started" && event.incarnation > 1) restarted++
    else if (event._tag === "GaveUp") tally.violation(`the supervisor gave up: ${event.error.message}`)
  }
  const poolStats = yield* WorkerPool.stats(pool)

  // past the intensity, supervision gives up as specified
  const intensityStart = Date.now()
  const intensity = yield* Effect.exit(Effect.timeout(
    Nursery.open(
      (fragileNursery) =>
        Effect.gen(function*() {
          const fragile = yield* Nursery.spawn(fragileNursery, "fragile", { modules })
          for (let i = 0; i < 3; i++) {
            const pid = fragile.actor.pid
            process.kill(pid, "SIGKILL")
            // a call that reaches the killed process fails with TransportClosed; the next waits for the new one
            while (i < 2 && fragile.actor.pid === pid) {
              yield* Effect.ignore(Portal.call(fragile, Chaos.echo, { seq: i, data: "again" }))
            }
          }
          return yield* Effect.never
        }),
      { supervision: yield* Supervision.oneForOne({ maxRestarts: 2, period: "1 minute" }) }
    ),
    10_000
  ))
  const intensityMs = Date.now() - intensityStart
  const gaveUp = Exit.isFailure(intensity)
    ? Cause.failures(intensity.cause).pipe((c) => [...c]).find((e) => (e as { _tag?: string })._tag === "RestartIntensityExceeded")
    : undefined
  let intensityNote = ""
  if (gaveUp === undefined) {
    tally.violation(`intensity: 3 kills past maxRestarts 2 ended with ${Exit.isFailure(intensity) ? Cause.pretty(intensity.cause) : "success"}`)
  } else {
    const exits = (gaveUp as Supervision.RestartIntensityExceeded).exits.length
    if (exits !== 3) tally.violation(`intensity: RestartIntensityExceeded lists ${exits} exits, not 3`)
    intensityNote = `RestartIntensityExceeded after 3 kills (maxRestarts 2) in ${(intensityMs / 1000).toFixed(1)} s, listing ${exits} exits`
  }
  const fragileLeft = descendants().filter((pid) => /^fragile@/.test(titleOf(pid) ?? ""))
  if (fragileLeft.length > 0) tally.violation(`intensity: fragile processes left after the nursery gave up: ${fragileLeft.join(", ")}`)

  return { restoreMs, exited, restarted, leafRestarts, poolStats, intensityNote, memory }
})

// ---------------------------------------------------------------------------
// running it, and the report
// ---------------------------------------------------------------------------

const logger = Logger.make(({ cause, logLevel, message }) => {
  if (logLevel._tag !== "Warning" && logLevel._tag !== "Error" && logLevel._tag !== "Fatal") return
  const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
  tally.warning(`${logLevel.label} ${text}`)
  if (VERBOSE) process.stderr.write(`[${logLevel.label}] ${text}${Cause.isEmpty(cause) ? "" : `\n${Cause.pretty(cause)}`}\n`)
})

const teardownFrom = { at: 0 }
const outcome = await Effect.runPromiseExit(
  program.pipe(
    Effect.tap(() => Effect.sync(() => (teardownFrom.at = Date.now()))),
    Effect.scoped,
    Effect.provide(ActorRuntime.layer({ name: "chaos", registry: registryAddress, key: Redacted.make(key), tcpHost: "127.0.0.1", tickPeriod: "3 seconds" })),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger))
  )
)
const teardownMs = Date.now() - teardownFrom.at
if (registry !== undefined) await stopProcess(registry, "SIGTERM")

// nothing left: no process of this tree (zombies count as dead), no socket file
const left = await Effect.runPromise(
  Effect.flatMap(Effect.sync(() => descendants().filter((pid) => !before.has(pid))), (pids) => waitGone(pids, 5000))
)
for (const pid of left) tally.violation(`a process was left: ${pid} (${titleOf(pid)})`)
// the files of a killed child's children are swept a second after its exit: a kill just before
// the end may leave one for that long
let files = filesUnder(runDir)
for (const until = Date.now() + 3000; files.length > 0 && Date.now() < until; files = filesUnder(runDir)) {
  await new Promise((resolve) => setTimeout(resolve, 100))
}
for (const file of files) tally.violation(`a file was left in the runtime folder: ${file}`)
Fs.rmSync(runDir, { recursive: true, force: true })

if (Exit.isFailure(outcome)) tally.violation(`the harness failed: ${Cause.pretty(outcome.cause)}`)
const result = Exit.isSuccess(outcome) ? outcome.value : undefined

const rows = [...tally.ops.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, s]) => [
  key,
  String(s.started),
  String(s.ok),
  String(s.declared),
  String(s.interrupted),
  Object.entries(s.errors).map(([tag, n]) => `${tag} ${n}`).join(", ") || "-",
  `${Math.round(s.maxSettleMs)} ms`
])
const lines: Array<string> = []
lines.push(`effect-tractor chaos: schedule ${SEED}, ${SECONDS} s, ${CLIENTS} clients   (again: npm run chaos -- --schedule ${SEED} --seconds ${SECONDS})`)
lines.push("")
lines.push(table(["operation", "started", "ok", "declared", "gave up", "typed errors", "max settle"], rows))
lines.push(`all: ${tally.started} started, ${tally.settled} settled`)
lines.push("")
lines.push(table(["fault", "injected"], [...tally.faults.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, String(n)])))
lines.push("")
if (result !== undefined) {
  const fmt = (x: number | undefined) => x === undefined ? "n/a" : `${x >= 0 ? "+" : ""}${x.toFixed(2)}`
  const memoryRows = (["root", "steady", "registry"] as const).map((who) => {
    const samples = result.memory[who]
    const last = samples.at(-1)
    return [
      who,
      String(samples.length),
      last === undefined ? "-" : last.rssMb.toFixed(0),
      // the registry restarts every minute: its latest process is too young for a trend
      who === "registry" ? "-" : fmt(slope(samples, (s) => s.rssMb)),
      Number.isNaN(last?.heapMb) || last === undefined ? "-" : last.heapMb.toFixed(0),
      who === "registry" ? "-" : fmt(slope(samples, (s) => s.heapMb))
    ]
  })
  lines.push(
    `restarts: by the root's nursery ${result.restarted} (of ${result.exited} exits), of the leaf by its current middle ${result.leafRestarts}, pool workers ${result.poolStats.restarts}`
  )
  lines.push(`restored: every service answered over link, uds and tcp within ${(result.restoreMs / 1000).toFixed(1)} s of the end of the faults`)
  lines.push(`intensity: ${result.intensityNote || "see violations"}`)
  lines.push(`teardown: ${(teardownMs / 1000).toFixed(1)} s; processes left: ${left.length}; socket files left: ${files.length}`)
  lines.push("")
  lines.push(table(["memory (MB)", "samples", "rss", "rss/min", "heap", "heap/min"], memoryRows))
  lines.push(`  heap after a full collection; growth per minute after warm-up, through each window's floor`)
  lines.push(`  checked on runs of 5 minutes or more: heap <= ${HEAP_SLOPE_BOUND}, rss <= ${RSS_SLOPE_BOUND}; the registry, restarted every minute, has no trend`)
  if (SECONDS >= 300) {
    for (const who of ["root", "steady"] as const) {
      const heap = slope(result.memory[who], (s) => s.heapMb)
      const rss = slope(result.memory[who], (s) => s.rssMb)
      if (heap !== undefined && heap > HEAP_SLOPE_BOUND) tally.violation(`memory: the ${who}'s heap grows ${heap.toFixed(2)} MB/min`)
      if (rss !== undefined && rss > RSS_SLOPE_BOUND) tally.violation(`memory: the ${who}'s rss grows ${rss.toFixed(2)} MB/min`)
    }
  }
}
lines.push("")
const warned = [...tally.warnings.values()].reduce((a, b) => a + b, 0)
lines.push(`warnings and errors logged by the tree: ${warned}${warned === 0 ? "" : " (--verbose prints them)"}`)
for (const [k, n] of [...tally.warnings.entries()].sort((a, b) => b[1] - a[1]).slice(0, VERBOSE ? 100 : 8)) lines.push(`  ${n} x ${k}`)
lines.push("")
lines.push(tally.violations.length === 0 ? "no check violated" : `${tally.violations.length} checks violated (schedule ${SEED}):`)
for (const v of tally.violations.slice(0, 30)) lines.push(`  - ${v}`)
process.stdout.write(lines.join("\n") + "\n")
process.exit(tally.violations.length === 0 ? 0 : 1)
