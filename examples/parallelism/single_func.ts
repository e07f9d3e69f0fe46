/**
 * Runs one function in a child process with `Nursery.runInActor` while the parent burns a core
 * too: two processes, real parallelism. The child is spawned, runs the function, hands back the
 * result (its pid) and is reaped, all before the nursery block ends.
 *
 *     npx tsx examples/parallelism/single_func.ts
 *
 * Run it under a process monitor to watch the child appear and go away:
 *
 *     $TERM -e watch -n 0.1 "pstree -a $$" & npx tsx examples/parallelism/single_func.ts && kill $!
 */
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Effect from "effect/Effect"
import * as Nursery from "effect-tractor/Nursery"
import { Burner, burnCpu } from "./burn_cpu.ts"

const main = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const [pid] = yield* Effect.all([
      // spawn an actor, run burnCpu in it and wait for the result
      Nursery.runInActor(nursery, Burner.burnCpu, undefined, {
        modules: [new URL("./burn_cpu.ts", import.meta.url)]
      }),
      // burn rubber in the parent too
      burnCpu
    ], { concurrency: "unbounded" })
    return pid
  })
)

// at the end of the nursery block the child is gone
ActorRuntime.runMain(Effect.flatMap(main, (pid) => Effect.sync(() => console.log(`Collected subproc ${pid}`))))
