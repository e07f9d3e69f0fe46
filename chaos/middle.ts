/**
 * Chaos actor module: a supervisor inside an actor. `middle` keeps a one-for-one nursery of its
 * own, open for as long as it runs, holding `leaf` (a Chaos service found by name like the others):
 * a killed leaf is restarted by `middle`, and a killed `middle` takes its leaf along and comes back
 * with a new one.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Actor from "../src/Actor.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Supervision from "../src/Supervision.ts"

export const MIDDLE = "middle"
export const LEAF = "leaf"

export const Middle = Actor.protocol("Middle", {
  /** the pid of the leaf's current process, and how often `middle` restarted it */
  leaf: Actor.fn({ success: Schema.Struct({ pid: Schema.Number, restarts: Schema.Number }) })
})

class Leaf extends Effect.Tag("chaos/Leaf")<Leaf, { readonly now: Effect.Effect<{ pid: number; restarts: number }> }>() {}

const LeafLive = Layer.scoped(
  Leaf,
  Effect.gen(function*() {
    const supervision = yield* Supervision.oneForOne({ maxRestarts: 10_000, period: "1 minute" })
    const nursery = yield* Nursery.make({ supervision, maxMessageBytes: 1024 * 1024 })
    let restarts = 0
    const events = yield* Nursery.events(nursery)
    yield* Effect.forkScoped(Effect.forever(Effect.map(Queue.take(events), (event) => {
      if (event._tag === "Started" && event.incarnation > 1) restarts++
    })))
    const portal = yield* Nursery.spawn(nursery, LEAF, { modules: [new URL("./service.ts", import.meta.url)] })
    return { now: Effect.sync(() => ({ pid: portal.actor.pid, restarts })) }
  })
)

export const MiddleLive = Actor.serve(Middle, { leaf: () => Leaf.now }).pipe(Actor.provide(LeafLive))
