/**
 * A streaming service and its consumers. One actor serves price ticks; the root consumes them in
 * two ways:
 *
 * 1. several consumers, each with its own stream: one stream per symbol, all multiplexed over the
 *    one connection to the service, each with its own backpressure;
 * 2. one stream, many local consumers: a single stream fanned out with `MsgStream.broadcast`, so
 *    that each consumer sees every tick while the service sends each tick once.
 *
 *     npx tsx examples/streaming/full_fledged_streaming_service.ts
 */
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as MsgStream from "effect-tractor/MsgStream"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import { type Tick, Ticker } from "./ticker.ts"

const symbols = ["ACME", "INITECH", "UMBRELLA"]
const count = 50

const summary = (ticks: ReadonlyArray<Tick>) => {
  const prices = ticks.map((t) => t.price)
  return `${ticks.length} ticks, first ${prices[0]}, last ${prices[prices.length - 1]}, ` +
    `low ${Math.min(...prices)}, high ${Math.max(...prices)}`
}

const main = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const service = yield* Nursery.spawn(nursery, "ticker", { modules: [new URL("./ticker.ts", import.meta.url)] })

    // 1. a consumer per symbol, each with its own stream from the service
    const perSymbol = yield* Effect.forEach(
      symbols,
      (symbol) =>
        Stream.runCollect(Portal.stream(service, Ticker.ticks, { symbol, count, everyMs: 2 })).pipe(
          Effect.map((ticks) => [...ticks])
        ),
      { concurrency: "unbounded" }
    )
    for (const [i, ticks] of perSymbol.entries()) {
      yield* Console.log(`own stream ${symbols[i]}: ${summary(ticks)}`)
    }

    // 2. one stream of ACME, fanned out to three local consumers
    const fannedOut = yield* Effect.scoped(Effect.gen(function*() {
      const acme = Portal.stream(service, Ticker.ticks, { symbol: "ACME", count, everyMs: 2 })
      const hub = yield* MsgStream.broadcast(acme, { capacity: count })
      // subscribed before the start: each one sees every tick
      const consumers = yield* Effect.all([hub.subscribe, hub.subscribe, hub.subscribe])
      yield* hub.start
      return yield* Effect.all([
        Stream.runFold(consumers[0], 0, (n) => n + 1),
        Stream.runFold(consumers[1], -Infinity, (high, tick) => Math.max(high, tick.price)),
        Stream.runCollect(consumers[2]).pipe(Effect.map((ticks) => [...ticks].map((tick) => tick.price)))
      ], { concurrency: "unbounded" })
    }))
    const [seen, high, prices] = fannedOut
    const upticks = prices.slice(1).filter((price, i) => price > prices[i]!).length
    yield* Console.log(`broadcast ACME: the counter saw ${seen} ticks`)
    yield* Console.log(`broadcast ACME: the high-water mark is ${high}`)
    yield* Console.log(`broadcast ACME: the recorder saw ${upticks} upticks`)

    // the service sends the same ticks whichever way they are consumed
    const own = perSymbol[0]!
    const same = seen === own.length && prices.every((price, i) => price === own[i]!.price)
    yield* Console.log(`broadcast ACME matches its own stream: ${same}`)
  })
)

ActorRuntime.runMain(main)
