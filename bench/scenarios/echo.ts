/**
 * Message round trip with the tiny `{ id, n }` payload through ONE worker, one transport per
 * process (the peers' echo benchmark):
 *   - sequential RTT: `warmup` calls, then `seq` calls one at a time, each timed (p50, p99);
 *   - pipelined throughput: `pipeWarmup` unmeasured calls, then `pipe` calls, issued by 100
 *     concurrent callers (100 in flight).
 *
 * Usage: node --import tsx bench/scenarios/echo.ts <ours|traced|otel|uds|tcp|raw|piscina> [warmup] [seq] [pipe] [pipeWarmup]
 *   ours     Portal.call on a warm actor (Nursery.spawn of bench/actors/echo.ts), over the parent's link
 *   traced   the same, every call made inside a span (Effect's own tracer): a client span per call
 *            here and a server span in the actor
 *   otel     the same with OpenTelemetry's tracer here (@effect/opentelemetry over the SDK's
 *            BasicTracerProvider, a batch span processor, an exporter that drops what it gets)
 *   uds      the same actor through a portal from Registry.findActor: a peer connection over a Unix
 *            socket; also times findActor (registry lookup + connect + handshake): the first one,
 *            the p50 over new connections, and one that shares the open connection
 *   tcp      the same through a portal found by a second root with another host identity that
 *            joined the registry: TCP on loopback under TLS 1.3 with the tree's key
 *   raw      child_process.fork + process.send, serialization "json" (bench/children/echo.cjs)
 *   piscina  piscina 5 (worker_threads), one thread, default concurrentTasksPerWorker
 * Env BENCH_CHILD_EXECARGV (JSON array): node flags for the child, ours or raw (bench/profile.ts).
 * Prints one `BENCH {...}` line.
 */
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"
import { once } from "node:events"
import * as Url from "node:url"
import { Piscina } from "piscina"
import { bench } from "../lib/paths.ts"
import { cpuUsOf, emit, intArg, nowMs, quantile } from "../lib/util.ts"

const variant = process.argv[2] ?? "ours"
const WARMUP = intArg(1, 2000)
const SEQ = intArg(2, 5000)
const PIPE = intArg(3, 20000)
/** unmeasured pipelined calls first (100 in flight too): the JIT warms the pipelined path as well */
const PIPE_WARMUP = intArg(4, 20000)
const INFLIGHT = 100

interface Msg {
  readonly id: number
  readonly n: number
}

const ns = () => process.hrtime.bigint()

/** node flags for the child (ours and raw), from BENCH_CHILD_EXECARGV (bench/profile.ts) */
const childExecArgv: ReadonlyArray<string> | undefined = process.env["BENCH_CHILD_EXECARGV"]
  ? JSON.parse(process.env["BENCH_CHILD_EXECARGV"])
  : undefined

/** CPU time per call (µs) of the caller's process and of the child's, over one phase */
interface Cpu {
  readonly parent: number
  /** NaN for piscina: its worker is a thread of the caller's process */
  readonly child: number
}

/** Starts counting CPU time of this process and of `childPid`; the result divides by `calls`. */
const cpuMeter = (childPid: number | undefined) => {
  const p0 = cpuUsOf(process.pid)
  const c0 = childPid === undefined ? NaN : cpuUsOf(childPid)
  return (calls: number): Cpu => ({
    parent: (cpuUsOf(process.pid) - p0) / calls,
    child: childPid === undefined ? NaN : (cpuUsOf(childPid) - c0) / calls
  })
}

interface Result {
  readonly p50us: number
  readonly p99us: number
  readonly seqPerS: number
  readonly pipelinedPerS: number
  readonly errors: number
  readonly cpu: { readonly seq: Cpu; readonly pipe: Cpu }
  /** monotonic ms at the start and end of the measured phases (to cut CPU profiles) */
  readonly windows: { readonly seq: readonly [number, number]; readonly pipe: readonly [number, number] }
}

// ---------------------------------------------------------------------------
// promise transports (raw fork IPC, piscina): the peers' measuring loop
// ---------------------------------------------------------------------------

interface Transport {
  readonly childPid: number | undefined
  readonly call: (m: Msg) => Promise<Msg>
  readonly close: () => Promise<void>
}

const forkJson = (): Transport => {
  const child = ChildProcess.fork(bench("children", "echo.cjs"), {
    serialization: "json",
    execArgv: [...(childExecArgv ?? [])]
  })
  const pending = new Map<number, (m: Msg) => void>()
  child.on("message", (m: Msg) => {
    const resolve = pending.get(m.id)
    pending.delete(m.id)
    resolve?.(m)
  })
  return {
    childPid: child.pid,
    call: (m) =>
      new Promise<Msg>((resolve) => {
        pending.set(m.id, resolve)
        child.send(m)
      }),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, "exit")
      child.disconnect()
      await exited
    }
  }
}

const piscina = (): Transport => {
  const pool = new Piscina<Msg, Msg>({
    filename: Url.pathToFileURL(bench("children", "piscina-echo.mjs")).href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: 60_000,
    execArgv: []
  })
  return { childPid: undefined, call: (m) => pool.run(m), close: () => pool.destroy() }
}

const measurePromise = async (t: Transport): Promise<Result> => {
  let nextId = 0
  let errors = 0
  for (let i = 0; i < WARMUP; i++) {
    const id = nextId++
    const r = await t.call({ id, n: id * 7 })
    if (r.id !== id || r.n !== id * 7) errors++
  }
  const lat = new Float64Array(SEQ)
  const seqStart = nowMs()
  const seqCpu = cpuMeter(t.childPid)
  const s0 = ns()
  for (let i = 0; i < SEQ; i++) {
    const id = nextId++
    const a = ns()
    const r = await t.call({ id, n: i })
    lat[i] = Number(ns() - a) / 1e3
    if (r.id !== id) errors++
  }
  const seqSec = Number(ns() - s0) / 1e9
  const seqEnd = nowMs()
  const seqCpuPerCall = seqCpu(SEQ)
  lat.sort()
  let sent = 0
  let done = 0
  let limit = PIPE_WARMUP
  const lane = async () => {
    while (sent < limit) {
      sent++
      const id = nextId++
      const r = await t.call({ id, n: sent })
      if (r.id !== id) errors++
      done++
    }
  }
  await Promise.all(Array.from({ length: INFLIGHT }, lane))
  sent = 0
  done = 0
  limit = PIPE
  const pipeStart = nowMs()
  const pipeCpu = cpuMeter(t.childPid)
  const p0 = ns()
  await Promise.all(Array.from({ length: INFLIGHT }, lane))
  const pipeSec = Number(ns() - p0) / 1e9
  const pipeEnd = nowMs()
  const pipeCpuPerCall = pipeCpu(done)
  await t.close()
  return {
    p50us: quantile(lat, 0.5),
    p99us: quantile(lat, 0.99),
    seqPerS: SEQ / seqSec,
    pipelinedPerS: done / pipeSec,
    errors,
    cpu: { seq: seqCpuPerCall, pipe: pipeCpuPerCall },
    windows: { seq: [seqStart, seqEnd], pipe: [pipeStart, pipeEnd] }
  }
}

// ---------------------------------------------------------------------------
// ours: the same loop, written the way an application calls a portal
// ---------------------------------------------------------------------------

const measureOurs = async (
  via: "parent" | "uds" | "tcp",
  /** every call made inside a span (Effect's own tracer, or OpenTelemetry's): a client span here, a server span there */
  traced: false | "effect" | "otel" = false
): Promise<Result & { readonly findFirstMs?: number | undefined; readonly findMs?: number; readonly findAgainMs?: number | undefined }> => {
  // imported here so that the baselines' processes do not load effect
  const [Effect, Option, Nursery, Portal, Registry, TreeRuntime, { echoModule }, { BenchEcho }] = await Promise.all([
    import("effect/Effect"),
    import("effect/Option"),
    import("../../src/Nursery.ts"),
    import("../../src/Portal.ts"),
    import("../../src/Registry.ts"),
    import("../../src/internal/runtime.ts"),
    import("../actors/modules.ts"),
    import("../actors/protocols.ts")
  ])
  // tcp: this root serves the registry on loopback TCP and its actors accept TLS peers there; the
  // portal comes from a second root that says it is another host, so it cannot use Unix sockets
  const key = (await import("node:crypto")).randomBytes(32).toString("base64")
  const port = via === "tcp" ? await freePort() : 0
  const here = via === "tcp"
    ? TreeRuntime.makeRoot({ registry: `tcp:127.0.0.1:${port}`, key, tcpHost: "127.0.0.1" })
    : undefined
  const there = via === "tcp"
    ? TreeRuntime.makeRoot({ name: "there", registry: `tcp:127.0.0.1:${port}`, key, host: "bench-other-host" })
    : undefined
  const inTree = <A, E>(effect: import("effect/Effect").Effect<A, E>) =>
    here === undefined ? effect : Effect.provideService(effect, TreeRuntime.ActorRuntimeTag, here)
  const fromThere = <A, E, R>(effect: import("effect/Effect").Effect<A, E, R>) =>
    there === undefined ? effect : Effect.provideService(effect, TreeRuntime.ActorRuntimeTag, there)
  const otel = traced === "otel" ? await otelTracer() : undefined
  const inSpan = <A, E, R>(effect: import("effect/Effect").Effect<A, E, R>): import("effect/Effect").Effect<A, E, R> =>
    traced === false
      ? effect
      : otel === undefined
      ? Effect.withSpan(effect, "bench")
      : Effect.provide(Effect.withSpan(effect, "bench"), otel)
  return Effect.runPromise(inTree(Effect.scoped(Nursery.open((nursery) =>
  inSpan(Effect.gen(function*() {
    const child = yield* Nursery.spawn(nursery, "bench_echo", {
      modules: [echoModule],
      ...(childExecArgv !== undefined ? { execArgv: childExecArgv } : {})
    })
    let portal = child
    let findFirstMs: number | undefined
    let findMs: number | undefined
    let findAgainMs: number | undefined
    if (via === "tcp") {
      portal = Option.getOrThrow(yield* fromThere(Registry.findActor("bench_echo")))
    }
    if (via === "uds") {
      // the first findActor of this actor: lookup, connect and handshake, with both sides' code cold
      const f0 = ns()
      yield* Effect.scoped(Registry.findActor("bench_echo"))
      findFirstMs = Number(ns() - f0) / 1e6
      // then 50 more, each over a new connection (the previous one closed): the p50
      const runtime = yield* TreeRuntime.current
      const finds = new Float64Array(50)
      for (let i = 0; i < finds.length; i++) {
        runtime.disconnect(runtime.connectionTo(child.actor.uid)!)
        const t = ns()
        yield* Effect.scoped(Registry.findActor("bench_echo"))
        finds[i] = Number(ns() - t) / 1e6
      }
      findMs = quantile(finds.sort(), 0.5)
      portal = Option.getOrThrow(yield* Registry.findActor("bench_echo"))
      // the connection is held by `portal` now: a second find shares it
      const f1 = ns()
      yield* Registry.findActor("bench_echo")
      findAgainMs = Number(ns() - f1) / 1e6
    }
    let nextId = 0
    let errors = 0
    for (let i = 0; i < WARMUP; i++) {
      const id = nextId++
      const r = yield* Portal.call(portal, BenchEcho.echo, { id, n: id * 7 })
      if (r.id !== id || r.n !== id * 7) errors++
    }
    const lat = new Float64Array(SEQ)
    const seqStart = nowMs()
    const seqCpu = cpuMeter(portal.actor.pid)
    const s0 = ns()
    for (let i = 0; i < SEQ; i++) {
      const id = nextId++
      const a = ns()
      const r = yield* Portal.call(portal, BenchEcho.echo, { id, n: i })
      lat[i] = Number(ns() - a) / 1e3
      if (r.id !== id) errors++
    }
    const seqSec = Number(ns() - s0) / 1e9
    const seqEnd = nowMs()
    const seqCpuPerCall = seqCpu(SEQ)
    lat.sort()
    let sent = 0
    let done = 0
    let limit = PIPE_WARMUP
    const lane = Effect.gen(function*() {
      while (sent < limit) {
        sent++
        const id = nextId++
        const r = yield* Portal.call(portal, BenchEcho.echo, { id, n: sent })
        if (r.id !== id) errors++
        done++
      }
    })
    yield* Effect.all(Array.from({ length: INFLIGHT }, () => lane), { concurrency: "unbounded", discard: true })
    sent = 0
    done = 0
    limit = PIPE
    const pipeStart = nowMs()
    const pipeCpu = cpuMeter(portal.actor.pid)
    const p0 = ns()
    yield* Effect.all(Array.from({ length: INFLIGHT }, () => lane), { concurrency: "unbounded", discard: true })
    const pipeSec = Number(ns() - p0) / 1e9
    const pipeEnd = nowMs()
    const pipeCpuPerCall = pipeCpu(done)
    return {
      p50us: quantile(lat, 0.5),
      p99us: quantile(lat, 0.99),
      seqPerS: SEQ / seqSec,
      pipelinedPerS: done / pipeSec,
      errors,
      cpu: { seq: seqCpuPerCall, pipe: pipeCpuPerCall },
      windows: { seq: [seqStart, seqEnd] as const, pipe: [pipeStart, pipeEnd] as const },
      ...(findMs !== undefined ? { findFirstMs, findMs, findAgainMs } : {})
    }
  }))
)))).finally(() => {
    here?.close()
    there?.close()
  })
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

/** OpenTelemetry's tracer as an Effect layer: spans batched, then dropped (the cost of recording, not of a network) */
const otelTracer = async () => {
  const [Layer, OtelTracer, OtelResource, { BasicTracerProvider, BatchSpanProcessor }] = await Promise.all([
    import("effect/Layer"),
    import("@effect/opentelemetry/Tracer"),
    import("@effect/opentelemetry/Resource"),
    import("@opentelemetry/sdk-trace-base")
  ])
  const drop = { export: (_spans: unknown, done: (result: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} }
  return OtelTracer.layer.pipe(
    Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] }))),
    Layer.provide(OtelResource.layer({ serviceName: "bench" }))
  )
}

const result: Result = variant === "ours"
  ? await measureOurs("parent")
  : variant === "traced"
  ? await measureOurs("parent", "effect")
  : variant === "otel"
  ? await measureOurs("parent", "otel")
  : variant === "uds"
  ? await measureOurs("uds")
  : variant === "tcp"
  ? await measureOurs("tcp")
  : variant === "raw"
  ? await measurePromise(forkJson())
  : variant === "piscina"
  ? await measurePromise(piscina())
  : (() => {
    throw new Error(`unknown variant ${variant}: ours | traced | otel | uds | tcp | raw | piscina`)
  })()

emit({ variant, warmup: WARMUP, seq: SEQ, pipe: PIPE, pipeWarmup: PIPE_WARMUP, inflight: INFLIGHT, ...result })
