/**
 * The chaos tree's registry, as a process of its own (the harness kills and restarts it): it serves
 * the registry at EFFECT_TRACTOR_REGISTRY (its settings come from the environment), says `ready` on its stdout and runs until it is stopped.
 */
import * as Effect from "effect/Effect"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import * as Registry from "../src/Registry.ts"

ActorRuntime.runMain(
  Effect.gen(function*() {
    yield* Registry.list
    process.stdout.write("ready\n")
    yield* Effect.never
  })
)
