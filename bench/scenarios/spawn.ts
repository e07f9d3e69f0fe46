/**
 * Spawn cost and idle memory. One discarded warm-up spawn, then `measured` spawns, each timed from
 * the spawn call to ready; the last child is then left idle for 300 ms and its memory is read
 * from /proc/<pid>/smaps_rollup (USS = Private_Clean + Private_Dirty).
 *
 * Usage: node --import tsx bench/scenarios/spawn.ts <ours|thread|bare|same-imports> [measured=3]
 *   thread        the same with spawnMethod "thread" (a worker thread of this process); memory:
 *                 the growth of this process's USS per idle thread actor (4 started, idle 300 ms)
 *   ours          Nursery.spawn of bench/actors/echo.ts (TypeScript importing effect; bundled by
 *                 effect-tractor, cache warm): until the portal is returned (ready handshake),
 *                 and until the reply to a first call; then, in a supervised nursery (one-for-one),
 *                 `measured` restarts: SIGKILL of the child -> the reply to a call made through
 *                 its portal at once (the call waits for the new incarnation)
 *   bare          child_process.fork of a bare .cjs child: until the reply to a first message
 *   same-imports  child_process.fork of a bare child that loads the same code as the actor
 *                 (esbuild bundle of the actor module, no effect-tractor runtime)
 * Prints one `BENCH {...}` line.
 */
import * as ChildProcess from "node:child_process"
import { once } from "node:events"
import { bareImportsBundle, bench } from "../lib/paths.ts"
import { emit, intArg, type Memory, memoryOf, nowMs, sleep } from "../lib/util.ts"

const variant = process.argv[2] ?? "ours"
const MEASURED = intArg(1, 3)
const IDLE_MS = 300

interface Sample {
  /** spawn call -> ready (ours) or -> first reply (raw) */
  readonly readyMs: number
  /** spawn call -> reply to the first call */
  readonly firstCallMs: number
  /** how long the spawn call itself blocked the event loop (raw only) */
  readonly spawnCallMs?: number
}

// imported only by the `ours` variant, so that the baselines' processes do not load effect
const loadOurs = () =>
  Promise.all([
    import("effect/Effect"),
    import("../../src/Nursery.ts"),
    import("../../src/Portal.ts"),
    import("../actors/modules.ts"),
    import("../actors/protocols.ts")
  ])
let ours: Awaited<ReturnType<typeof loadOurs>> | undefined

const THREADS_FOR_MEMORY = 4

const oursOnce = async (measureMemory: boolean, spawnMethod: "process" | "thread" = "process") => {
  const [Effect, Nursery, Portal, { echoModule }, { BenchEcho }] = ours ??= await loadOurs()
  return Effect.runPromise(Nursery.open((nursery) =>
    Effect.gen(function*() {
      if (measureMemory && spawnMethod === "thread") {
        // a thread's memory is in this process: the growth of its USS for idle thread actors, each
        const before = memoryOf(process.pid)
        for (let i = 0; i < THREADS_FOR_MEMORY; i++) {
          const p = yield* Nursery.spawn(nursery, `bench_thread_${i}`, { modules: [echoModule], spawnMethod })
          yield* Portal.call(p, BenchEcho.echo, { id: 1, n: 2 })
        }
        yield* Effect.sleep(IDLE_MS)
        const after = memoryOf(process.pid)
        return {
          sample: { readyMs: NaN, firstCallMs: NaN } satisfies Sample,
          memory: {
            rssMb: (after.rssMb - before.rssMb) / THREADS_FOR_MEMORY,
            pssMb: (after.pssMb - before.pssMb) / THREADS_FOR_MEMORY,
            ussMb: (after.ussMb - before.ussMb) / THREADS_FOR_MEMORY
          }
        }
      }
      const t0 = nowMs()
      const portal = yield* Nursery.spawn(nursery, "bench_spawn", { modules: [echoModule], spawnMethod })
      const t1 = nowMs()
      yield* Portal.call(portal, BenchEcho.echo, { id: 1, n: 2 })
      const t2 = nowMs()
      let memory: Memory | undefined
      if (measureMemory) {
        yield* Effect.sleep(IDLE_MS)
        memory = memoryOf(portal.actor.pid)
      }
      return { sample: { readyMs: t1 - t0, firstCallMs: t2 - t0 } satisfies Sample, memory }
    })
  ))
}

const rawOnce = async (file: string, measureMemory: boolean) => {
  const t0 = nowMs()
  const child = ChildProcess.fork(file, { serialization: "json", execArgv: [] })
  const tSpawned = nowMs()
  const replied = once(child, "message")
  child.send({ id: 1, n: 2 })
  await replied
  const t1 = nowMs()
  let memory: Memory | undefined
  if (measureMemory) {
    await sleep(IDLE_MS)
    memory = memoryOf(child.pid!)
  }
  const exited = once(child, "exit")
  child.disconnect()
  await exited
  return { sample: { readyMs: t1 - t0, firstCallMs: t1 - t0, spawnCallMs: tSpawned - t0 } satisfies Sample, memory }
}

const once_ = (measureMemory: boolean) =>
  variant === "ours"
    ? oursOnce(measureMemory)
    : variant === "thread"
    ? oursOnce(measureMemory, "thread")
    : variant === "bare"
    ? rawOnce(bench("children", "echo.cjs"), measureMemory)
    : variant === "same-imports"
    ? rawOnce(bareImportsBundle, measureMemory)
    : Promise.reject(new Error(`unknown variant ${variant}: ours | bare | same-imports`))

/** crash -> the new incarnation's answer, `MEASURED` times (after one discarded warm-up restart) */
const restarts = async (): Promise<Array<number>> => {
  const [Effect, Nursery, Portal, { echoModule }, { BenchEcho }] = ours ??= await loadOurs()
  const { oneForOne } = await import("../../src/Supervision.ts")
  return Effect.runPromise(Effect.gen(function*() {
    const supervision = yield* oneForOne({ maxRestarts: MEASURED + 5, period: "1 minute" })
    return yield* Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portal = yield* Nursery.spawn(nursery, "bench_restart", { modules: [echoModule] })
        yield* Portal.call(portal, BenchEcho.echo, { id: 0, n: 2 })
        const times: Array<number> = []
        for (let i = 0; i <= MEASURED; i++) {
          const old = portal.actor.pid
          const t0 = nowMs()
          process.kill(old, "SIGKILL")
          // until the call reaches a new incarnation (a call racing the kill may still reach the old one)
          while (true) {
            const answered = yield* Effect.either(Portal.call(portal, BenchEcho.echo, { id: i, n: 2 }))
            if (answered._tag === "Right" && portal.actor.pid !== old) break
          }
          if (i > 0) times.push(nowMs() - t0)
        }
        return times
      }), { supervision })
  }))
}

const samples: Array<Sample> = []
let memory: Memory | undefined
for (let i = 0; i <= MEASURED; i++) {
  const r = await once_(i === MEASURED)
  if (i > 0 && Number.isFinite(r.sample.readyMs)) samples.push(r.sample)
  if (r.memory !== undefined) memory = r.memory
}
emit({ variant, samples, memory, ...(variant === "ours" ? { restartMs: await restarts() } : {}) })
