/**
 * Teardown of a nursery of 4 ready actors: time from the moment the nursery's scope starts to
 * close (its body returns) until every actor process is gone (exited and reaped, checked in /proc).
 *
 * Usage: node --import tsx bench/scenarios/teardown.ts <variant>[,<variant>...]
 *   idle      4 idle actors, default ladder (cancel request, 0.5 s grace, SIGTERM, 1.6 s, SIGKILL)
 *   busy      4 actors each inside a 30 s synchronous loop (deaf to the cancel request and to their
 *             SIGTERM handler), default ladder: expected ~ grace + term period = 2.1 s
 *   raw-idle  baseline: 4 raw fork children, IPC {stop: true} -> process.exit(0), until all exited
 * Several variants run one after the other in this process (each with its own nursery), which
 * saves a process start per round. Prints one `BENCH {...}` line: { <variant>: {...}, ... }.
 */
import * as ChildProcess from "node:child_process"
import { once } from "node:events"
import { bench } from "../lib/paths.ts"
import { emit, isAlive, nowMs, waitGone } from "../lib/util.ts"

const variants = (process.argv[2] ?? "idle").split(",")
const N = 4
const BLOCK_MS = 30_000

const ours = async (busy: boolean) => {
  const [Effect, Nursery, Portal, { echoModule }, { BenchEcho }] = await Promise.all([
    import("effect/Effect"),
    import("../../src/Nursery.ts"),
    import("../../src/Portal.ts"),
    import("../actors/modules.ts"),
    import("../actors/protocols.ts")
  ])
  let t0 = 0
  const pids = await Effect.runPromise(Nursery.open((nursery) =>
    Effect.gen(function*() {
      const portals = yield* Effect.forEach(
        Array.from({ length: N }, (_, i) => `teardown_${i}`),
        (name) => Nursery.spawn(nursery, name, { modules: [echoModule] }),
        { concurrency: "unbounded" }
      )
      yield* Effect.forEach(portals, (p) => Portal.call(p, BenchEcho.echo, { id: 1, n: 1 }), { concurrency: "unbounded" })
      if (busy) {
        // daemon fibers: the calls are still pending when the scope closes, and end with the link
        for (const p of portals) yield* Effect.forkDaemon(Effect.ignore(Portal.call(p, BenchEcho.block, BLOCK_MS)))
        yield* Effect.sleep(100) // every actor is inside its loop by now
      }
      t0 = nowMs()
      return portals.map((p) => p.actor.pid)
    })
  ))
  const tReturned = nowMs()
  const left = await waitGone(pids, 10_000)
  return { ms: nowMs() - t0, openReturnedMs: tReturned - t0, aliveWhenReturned: pids.filter(isAlive).length, left }
}

const rawIdle = async () => {
  const children = Array.from({ length: N }, () => ChildProcess.fork(bench("children", "echo.cjs"), { execArgv: [] }))
  await Promise.all(children.map((c) => {
    const replied = once(c, "message")
    c.send({ id: 1, n: 1 })
    return replied
  }))
  const pids = children.map((c) => c.pid!)
  const t0 = nowMs()
  const exited = children.map((c) => once(c, "exit"))
  for (const c of children) c.send({ stop: true })
  await Promise.all(exited)
  const tReturned = nowMs()
  const left = await waitGone(pids, 10_000)
  return { ms: nowMs() - t0, openReturnedMs: tReturned - t0, aliveWhenReturned: pids.filter(isAlive).length, left }
}

const results: Record<string, unknown> = {}
for (const variant of variants) {
  results[variant] = variant === "idle"
    ? await ours(false)
    : variant === "busy"
    ? await ours(true)
    : variant === "raw-idle"
    ? await rawIdle()
    : (() => {
      throw new Error(`unknown variant ${variant}: idle | busy | raw-idle`)
    })()
}
emit({ n: N, ...results })
