/**
 * A fan-in pipeline across four processes: the root streams from an aggregator actor, which
 * streams from two streamer actors of its own, each counting 0..999. The aggregator merges the
 * two streams and drops duplicates; the root receives 0..999, each value once, in order.
 *
 *     root <- aggregator <- streamer_a
 *                        <- streamer_b
 *
 *     npx tsx examples/streaming/pipeline.ts
 */
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Url from "node:url"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import { Aggregator } from "./aggregator.ts"

const count = 1000

const main = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const aggregator = yield* Nursery.spawn(nursery, "aggregator", {
      modules: [new URL("./aggregator.ts", import.meta.url)]
    })
    const streamerModule = Url.fileURLToPath(new URL("./streamer.ts", import.meta.url))

    const values = yield* Portal.stream(aggregator, Aggregator.aggregate, { streamerModule, count }).pipe(
      // 20 values a line
      Stream.grouped(20),
      Stream.tap((row) => Console.log([...row].join(" "))),
      Stream.runFold([] as Array<number>, (all, row) => [...all, ...row])
    )

    const inOrderOnce = values.length === count && values.every((n, i) => n === i)
    yield* Console.log(`root received ${values.length} values: 0..${count - 1} each once, in order: ${inOrderOnce}`)
  })
)

ActorRuntime.runMain(main)
