/**
 * The actor module of `full_fledged_streaming_service.ts`: a market-data service that streams
 * made-up price ticks for any symbol.
 *
 * Kept apart from the script: the service actor imports this module (and only this one), so it
 * declares things and runs nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "effect-tractor/Actor"

export const Tick = Schema.Struct({ symbol: Schema.String, seq: Schema.Number, price: Schema.Number })
export type Tick = typeof Tick.Type

/** A made-up but reproducible price: every run of the example prints the same numbers. */
export const priceOf = (symbol: string, seq: number): number => {
  let h = 0
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) % 1000
  return Math.round((100 + 10 * Math.sin(seq / 4 + h) + (h % 7)) * 100) / 100
}

export const Ticker = Actor.protocol("Ticker", {
  /** `count` ticks of `symbol`, one every `everyMs` milliseconds. */
  ticks: Actor.stream({
    payload: Schema.Struct({ symbol: Schema.String, count: Schema.Number, everyMs: Schema.Number }),
    element: Tick
  })
})

export const TickerLive = Actor.serve(Ticker, {
  ticks: ({ count, everyMs, symbol }) =>
    Stream.range(0, count - 1).pipe(
      Stream.tap(() => Effect.sleep(everyMs)),
      Stream.map((seq) => ({ symbol, seq, price: priceOf(symbol, seq) }))
    )
})
