/**
 * The actor module of the supervision example: two services, each in its own process.
 *
 * - `Quotes` reads its quotes from a `QuoteBook` service that its own layer provides (the layer
 *   reads `Config`, so the actor's environment can change the book). It is flaky on purpose: every
 *   fourth call it answers, then its process crashes (exit code 1).
 * - `Counter` counts the calls it serves. Its handlers are built once, by an Effect, around the
 *   state they share.
 *
 * Kept apart from the scripts: an actor imports this module (and only this one), so it declares
 * things and runs nothing.
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Actor from "effect-tractor/Actor"

export const Quotes = Actor.protocol("Quotes", {
  quote: Actor.fn({ payload: Schema.Number, success: Schema.String })
})

export const Counter = Actor.protocol("Counter", {
  next: Actor.fn({ success: Schema.Number })
})

/** what the quotes come from: a service of the actor, built by its layer before it is ready */
export class QuoteBook extends Context.Tag("examples/QuoteBook")<QuoteBook, ReadonlyArray<string>>() {}

const QuoteBookLive = Layer.effect(
  QuoteBook,
  Effect.map(Config.string("QUOTES_AUTHOR").pipe(Config.withDefault("Erlang")), (author) => [
    `Let it crash. (${author})`,
    `Supervisors restart what fails. (${author})`,
    `Errors are messages too. (${author})`
  ])
)

let answered = 0

export const QuotesLive = Actor.serve(Quotes, {
  quote: (n) =>
    Effect.gen(function*() {
      const book = yield* QuoteBook
      if (++answered % 4 === 0) {
        // the call in flight fails with TransportClosed; the caller's retry waits for the restart
        process.exit(1)
      }
      return book[n % book.length]!
    })
}).pipe(Actor.provide(QuoteBookLive))

export const CounterLive = Actor.serve(
  Counter,
  Effect.gen(function*() {
    const count = yield* Ref.make(0)
    return Actor.handlers(Counter, { next: () => Ref.updateAndGet(count, (n) => n + 1) })
  })
)
