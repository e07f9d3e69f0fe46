/**
 * An actor module of `pipeline.ts`: an aggregator that spawns two streamers of its own, merges
 * their streams and passes every value on once.
 *
 * Kept apart from the script: the aggregator imports this module (and only this one), so it
 * declares things and runs nothing. It enables `streamer.ts` in its children by path, received in
 * the payload: inside an actor, modules are bundled, so `import.meta.url` no longer names the file.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "effect-tractor/Actor"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import { Streamer } from "./streamer.ts"

export const Aggregator = Actor.protocol("Aggregator", {
  /** The values of two streamers counting to `count`, merged, each passed on once. */
  aggregate: Actor.stream({
    payload: Schema.Struct({ streamerModule: Schema.String, count: Schema.Number }),
    element: Schema.Number
  })
})

export const AggregatorLive = Actor.serve(Aggregator, {
  aggregate: ({ count, streamerModule }) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      // the streamers live as long as this stream: its end (or the consumer's) closes the nursery
      const nursery = yield* Nursery.make()
      const [a, b] = yield* Effect.all([
        Nursery.spawn(nursery, "streamer_a", { modules: [streamerModule] }),
        Nursery.spawn(nursery, "streamer_b", { modules: [streamerModule] })
      ], { concurrency: "unbounded" })
      const seen = new Set<number>()
      return Stream.merge(Portal.stream(a, Streamer.numbers, count), Portal.stream(b, Streamer.numbers, count)).pipe(
        // both count up, so the first copy of each value also arrives in order
        Stream.filter((n) => {
          if (seen.has(n)) return false
          seen.add(n)
          return true
        })
      )
    }))
})
