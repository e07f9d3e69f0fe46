/**
 * Streams through ONE worker, one transport per process (like echo.ts: one process measures every
 * phase of its transport, in this order, on the same worker):
 *   1. server stream, cold: the first stream of `n` small numbers (0 .. n - 1, generated in the
 *      child) on the fresh worker, counted and summed (to check them) in the parent;
 *   2. server stream, warm: the same twice more, the second one measured: the figure. (V8 keeps
 *      optimizing ours' per-batch code for about the first 1.5 million items; the raw baseline is
 *      warm after a few thousand batches of node's own IPC code.)
 *   3. raw only: `unbatched` numbers, one per process.send, no flow control (after a warm-up of
 *      10,000), for reference;
 *   4. dialog echo: the parent sends `echoes` small numbers while it receives the child's echoes,
 *      after a warm-up dialog of `echoWarmup`; timed from the dialog's opening to the last echo.
 *
 * Usage: node --import tsx bench/scenarios/stream.ts <ours|raw> [n] [echoes] [echoWarmup] [unbatched]
 *   ours  Nursery.spawn of bench/actors/stream.ts;
 *         stream: Portal.stream(portal, BenchStream.range, n) (`Stream.range(0, n - 1)` in the
 *         actor) consumed with Stream.runForEachChunk, default window (512 elements);
 *         dialog: Portal.openDialog(portal, BenchStream.echo): `stream.send(i)` one number at a
 *         time while a forked fiber receives (the actor: `Stream.runForEach(stream.receive,
 *         stream.send)`), default window
 *   raw   child_process.fork + process.send, serialization "json" (bench/children/stream.cjs);
 *         stream: arrays of 512 numbers per process.send, every array acknowledged by the parent,
 *         never more than 512 numbers unacknowledged: the flow control of ours (its default window
 *         is 512 elements, credit granted back as each batch is consumed; both run one batch in
 *         flight);
 *         dialog: the child echoes each number, 100 numbers in flight (echo.ts' pipelined design)
 * Env BENCH_CHILD_EXECARGV (JSON array): node flags for the child (for --cpu-prof).
 * Prints one `BENCH {...}` line; each phase has its CPU time per item (µs) on both sides and its
 * monotonic [start, end] in ms (to cut CPU profiles).
 */
import * as ChildProcess from "node:child_process"
import { once } from "node:events"
import { bench } from "../lib/paths.ts"
import { cpuUsOf, emit, intArg, nowMs } from "../lib/util.ts"

const variant = process.argv[2] ?? "ours"
const N = intArg(1, 1_000_000)
const ECHOES = intArg(2, 50_000)
const ECHO_WARMUP = intArg(3, 10_000)
const UNBATCHED = intArg(4, 100_000)
const UNBATCHED_WARMUP = Math.min(10_000, UNBATCHED)
/** the raw stream's batch and window, in numbers: effect-tractor's default window (src/internal/flow.ts) */
const RAW_BATCH = 512
const RAW_WINDOW = 512
/** numbers in flight in the raw dialog echo */
const RAW_INFLIGHT = 100

const childExecArgv: ReadonlyArray<string> = process.env["BENCH_CHILD_EXECARGV"]
  ? JSON.parse(process.env["BENCH_CHILD_EXECARGV"])
  : []

/** What one pass saw. */
interface Pass {
  readonly count: number
  readonly sum: number
  /** messages (or chunks) the parent received */
  readonly batches: number
  readonly maxBatch: number
  /** first item asked for (the call, the dialog's opening) -> last item received */
  readonly ms: number
  /** dialogs: opening -> result (incl. the close handshake) */
  readonly totalMs?: number
  /** dialogs: the child's count */
  readonly result?: number
}

/** CPU time per item (µs) of this process and of the child's */
interface Cpu {
  readonly parent: number
  readonly child: number
}

interface Phase {
  readonly n: number
  readonly itemsPerS: number
  readonly ms: number
  readonly totalMs?: number
  readonly batches: number
  readonly maxBatch: number
  readonly cpu: Cpu
  /** monotonic ms at the start and end of the pass */
  readonly window: readonly [number, number]
  readonly ok: boolean
}

/** A transport under test: one worker, promise-shaped passes. */
interface Transport {
  readonly childPid: number | undefined
  readonly stream: (n: number) => Promise<Pass>
  readonly echo: (n: number) => Promise<Pass>
  readonly unbatched?: (n: number) => Promise<Pass>
}

const expectedSum = (n: number) => (n * (n - 1)) / 2

const phase = async (childPid: number | undefined, n: number, pass: (n: number) => Promise<Pass>): Promise<Phase> => {
  const p0 = cpuUsOf(process.pid)
  const c0 = childPid === undefined ? NaN : cpuUsOf(childPid)
  const start = nowMs()
  const p = await pass(n)
  const end = nowMs()
  return {
    n,
    itemsPerS: n / (p.ms / 1000),
    ms: p.ms,
    ...(p.totalMs !== undefined ? { totalMs: p.totalMs } : {}),
    batches: p.batches,
    maxBatch: p.maxBatch,
    cpu: {
      parent: (cpuUsOf(process.pid) - p0) / n,
      child: childPid === undefined ? NaN : (cpuUsOf(childPid) - c0) / n
    },
    window: [start, end],
    ok: p.count === n && p.sum === expectedSum(n) && (p.result === undefined || p.result === n)
  }
}

const measure = async (t: Transport) => {
  const streamCold = await phase(t.childPid, N, t.stream)
  const streamWarmup = await t.stream(N)
  const stream = await phase(t.childPid, N, t.stream)
  let unbatched: Phase | undefined
  if (t.unbatched !== undefined) {
    await t.unbatched(UNBATCHED_WARMUP)
    unbatched = await phase(t.childPid, UNBATCHED, t.unbatched)
  }
  const echoWarm = await t.echo(ECHO_WARMUP)
  const dialog = await phase(t.childPid, ECHOES, t.echo)
  const checks = [streamCold.ok, streamWarmup.count === N, stream.ok, unbatched?.ok ?? true, echoWarm.count === ECHO_WARMUP, dialog.ok]
  return {
    streamCold,
    stream,
    ...(unbatched !== undefined ? { unbatched } : {}),
    dialog,
    errors: checks.filter((ok) => !ok).length
  }
}

// ---------------------------------------------------------------------------
// raw fork IPC
// ---------------------------------------------------------------------------

const measureRaw = async () => {
  const child = ChildProcess.fork(bench("children", "stream.cjs"), {
    serialization: "json",
    execArgv: [...childExecArgv]
  })
  /** batched (acknowledged) when batch > 0, else one number per message without flow control */
  const stream = (batch: number) => (n: number) =>
    new Promise<Pass>((resolve) => {
      let count = 0
      let sum = 0
      let batches = 0
      let maxBatch = 0
      const t0 = nowMs()
      const onMessage = (m: number | Array<number>) => {
        batches++
        if (typeof m === "number") {
          sum += m
          count++
        } else {
          for (let i = 0; i < m.length; i++) sum += m[i]!
          count += m.length
          if (m.length > maxBatch) maxBatch = m.length
          child.send({ ack: m.length })
        }
        if (count >= n) {
          child.off("message", onMessage)
          resolve({ count, sum, batches, maxBatch: batch === 0 ? 1 : maxBatch, ms: nowMs() - t0 })
        }
      }
      child.on("message", onMessage)
      child.send({ start: { n, batch, window: batch === 0 ? 0 : RAW_WINDOW } })
    })
  const echo = (n: number) =>
    new Promise<Pass>((resolve) => {
      let sent = 0
      let count = 0
      let sum = 0
      const t0 = nowMs()
      const onMessage = (m: number) => {
        count++
        sum += m
        if (sent < n) child.send(sent++)
        if (count === n) {
          child.off("message", onMessage)
          const ms = nowMs() - t0
          resolve({ count, sum, batches: count, maxBatch: 1, ms, totalMs: ms })
        }
      }
      child.on("message", onMessage)
      while (sent < Math.min(RAW_INFLIGHT, n)) child.send(sent++)
    })
  const result = await measure({ childPid: child.pid, stream: stream(RAW_BATCH), unbatched: stream(0), echo })
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit")
    child.disconnect()
    await exited
  }
  return result
}

// ---------------------------------------------------------------------------
// ours
// ---------------------------------------------------------------------------

const measureOurs = async () => {
  // imported here so that the baseline's process does not load effect
  const [Chunk, Effect, Fiber, Stream, Nursery, Portal, { streamModule }, { BenchStream }] = await Promise.all([
    import("effect/Chunk"),
    import("effect/Effect"),
    import("effect/Fiber"),
    import("effect/Stream"),
    import("../../src/Nursery.ts"),
    import("../../src/Portal.ts"),
    import("../actors/modules.ts"),
    import("../actors/protocols.ts")
  ])
  return Effect.runPromise(Nursery.open((nursery) =>
    Effect.gen(function*() {
      const portal = yield* Nursery.spawn(nursery, "bench_stream", {
        modules: [streamModule],
        ...(childExecArgv.length > 0 ? { execArgv: childExecArgv } : {})
      })
      const stream = (n: number) =>
        Effect.gen(function*() {
          let count = 0
          let sum = 0
          let batches = 0
          let maxBatch = 0
          const t0 = nowMs()
          yield* Portal.stream(portal, BenchStream.range, n).pipe(
            Stream.runForEachChunk((chunk) =>
              Effect.sync(() => {
                // the chunk's own array (no copy), summed with the raw parent's loop
                const values = Chunk.toReadonlyArray(chunk)
                batches++
                for (let i = 0; i < values.length; i++) sum += values[i]!
                count += values.length
                if (values.length > maxBatch) maxBatch = values.length
              })
            )
          )
          return { count, sum, batches, maxBatch, ms: nowMs() - t0 } satisfies Pass
        })
      const echo = (n: number) =>
        Effect.gen(function*() {
          let count = 0
          let sum = 0
          let batches = 0
          let maxBatch = 0
          let tLast = NaN
          const t0 = nowMs()
          const result = yield* Portal.openDialog(portal, BenchStream.echo, undefined, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              const receiver = yield* Effect.fork(Stream.runForEachChunk(stream.receive, (chunk) =>
                Effect.sync(() => {
                  const values = Chunk.toReadonlyArray(chunk)
                  batches++
                  for (let i = 0; i < values.length; i++) sum += values[i]!
                  count += values.length
                  if (values.length > maxBatch) maxBatch = values.length
                  if (count === n) tLast = nowMs()
                })))
              for (let i = 0; i < n; i++) yield* stream.send(i)
              yield* stream.close
              yield* Fiber.join(receiver)
              return yield* dialog.result
            }))
          return { count, sum, batches, maxBatch, ms: tLast - t0, totalMs: nowMs() - t0, result } satisfies Pass
        })
      return yield* Effect.promise(() =>
        measure({
          childPid: portal.actor.pid,
          stream: (n) => Effect.runPromise(stream(n)),
          echo: (n) => Effect.runPromise(echo(n))
        })
      )
    })
  ))
}

const result = variant === "ours"
  ? await measureOurs()
  : variant === "raw"
  ? await measureRaw()
  : (() => {
    throw new Error(`unknown variant ${variant}: ours | raw`)
  })()

emit({
  variant,
  n: N,
  echoes: ECHOES,
  echoWarmup: ECHO_WARMUP,
  ...(variant === "raw"
    ? { unbatchedN: UNBATCHED, batch: RAW_BATCH, creditWindow: RAW_WINDOW, inflight: RAW_INFLIGHT }
    : {}),
  ...result
})
