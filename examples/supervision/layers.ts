/**
 * Supervision with Layers: an app built from layers, one of which owns a supervised actor.
 *
 * `QuotesLive` spawns the `quotes` actor under one-for-one supervision and provides its typed
 * client as the `Quotes` service; `OracleLive` is an ordinary app service built on that client.
 * The actor's handlers use a service of their own layer (`QuoteBook`, configured from the actor's
 * environment). The actor crashes every fourth call; the client reaches whichever incarnation is
 * current, so the app only retries the call that was in flight.
 *
 *     npx tsx examples/supervision/layers.ts
 */
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as ActorError from "effect-tractor/ActorError"
import * as Portal from "effect-tractor/Portal"
import * as Supervision from "effect-tractor/Supervision"
import { Quotes } from "./services.ts"

class Oracle extends Context.Tag("examples/Oracle")<Oracle, {
  readonly ask: (n: number) => Effect.Effect<string, ActorError.ActorError>
}>() {}

const QuotesLive = Layer.unwrapEffect(
  Effect.map(Supervision.oneForOne(), (supervision) =>
    Portal.layer(Quotes, {
      modules: [new URL("./services.ts", import.meta.url)],
      env: { QUOTES_AUTHOR: "Joe Armstrong" },
      supervision
    }))
)

const OracleLive = Layer.effect(
  Oracle,
  Effect.map(Quotes, (quotes) => ({
    ask: (n: number) =>
      quotes.quote(n).pipe(
        Effect.retry({ while: (e) => e._tag === "TransportClosed", schedule: Schedule.spaced("10 millis"), times: 3 })
      )
  }))
).pipe(Layer.provide(QuotesLive))

const program = Effect.gen(function*() {
  const oracle = yield* Oracle
  for (let i = 0; i < 6; i++) yield* Console.log(yield* oracle.ask(i))
})

Effect.runPromise(Effect.provide(program, OracleLive))
