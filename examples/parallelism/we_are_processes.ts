/**
 * One actor per core, each a process of its own, and a root that fails on purpose after a second:
 * the whole tree is torn down with it, and no process is left behind, not even a zombie.
 *
 *     npx tsx examples/parallelism/we_are_processes.ts
 *
 * Run it under a process monitor to watch the tree come and go:
 *
 *     $TERM -e watch -n 0.1 "pstree -a $$" & npx tsx examples/parallelism/we_are_processes.ts && kill $!
 */
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Os from "node:os"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import { Identify } from "./identify.ts"

class SelfDestructed extends Data.TaggedError("SelfDestructed")<{
  /** the processes of the tree that went down */
  readonly pids: ReadonlyArray<number>
}> {}

const names = Array.from({ length: Math.max(2, Os.availableParallelism()) }, (_, i) => `worker_${i}`)

const selfDestruct = Nursery.open((nursery) =>
  Effect.gen(function*() {
    // spawned concurrently, so that their start-ups overlap
    const workers = yield* Effect.forEach(
      names,
      (name) => Nursery.spawn(nursery, name, { modules: [new URL("./identify.ts", import.meta.url)] }),
      { concurrency: "unbounded" }
    )

    const pids = yield* Effect.forEach(workers, (worker) =>
      Effect.gen(function*() {
        const [name, pid] = yield* Portal.call(worker, Identify.whoami, undefined)
        yield* Console.log(`Yo, i'm '${name}' running in pid ${pid}`)
        return pid
      }))

    yield* Console.log("This process tree will self-destruct in 1 sec...")
    yield* Effect.sleep("1 second")

    // you could have done this yourself
    return yield* new SelfDestructed({ pids })
  })
)

// a zombie would still answer signal 0: only a process that was reaped fails it
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const main = selfDestruct.pipe(
  // by the time the failure gets out of the nursery, every worker has exited and been reaped
  Effect.catchTag("SelfDestructed", ({ pids }) => {
    const survivors = pids.filter(isAlive)
    return survivors.length === 0
      ? Console.log("Zombies Contained")
      : Effect.dieMessage(`processes survived the nursery: ${survivors.join(", ")}`)
  })
)

ActorRuntime.runMain(main)
