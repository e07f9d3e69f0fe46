/**
 * The registry of a tree that spans hosts, as a program of its own: it serves the registry at
 * EFFECT_TRACTOR_REGISTRY (this host's address) and runs until it is stopped. See README.md here.
 *
 *     EFFECT_TRACTOR_TREE_KEY=<key> EFFECT_TRACTOR_REGISTRY=tcp:10.0.0.1:47001 \
 *       EFFECT_TRACTOR_TCP_HOST=10.0.0.1 npx tsx examples/multi_host/registry.ts
 */
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Registry from "effect-tractor/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

ActorRuntime.runMain(
  Effect.gen(function*() {
    // the first use of the registry starts it: served here, or joined if another host serves it
    const entries = yield* Registry.list
    yield* Console.log(`ready: the registry holds ${entries.map((e) => e.name).join(", ")}`)
    yield* Effect.never
  })
)
