/**
 * Protocols of the bench actors, imported by the parents (scenarios) and the actor modules alike.
 */
import * as Schema from "effect/Schema"
import * as Actor from "../../src/Actor.ts"

/** The tiny payload of the peer echo benchmark: `{ id, n }`. */
export const Tiny = Schema.Struct({ id: Schema.Number, n: Schema.Number })

export const BenchEcho = Actor.protocol("BenchEcho", {
  /** returns its payload */
  echo: Actor.fn({ payload: Tiny, success: Tiny }),
  /** spins in synchronous code for `ms` milliseconds: deaf to cancel requests and SIGTERM handlers */
  block: Actor.fn({ payload: Schema.Number })
})

export const BenchPrimes = Actor.protocol("BenchPrimes", {
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean })
})

export const BenchStream = Actor.protocol("BenchStream", {
  /** a server stream of the numbers 0 .. n - 1 */
  range: Actor.stream({ payload: Schema.Number, element: Schema.Number }),
  /** a dialog that echoes every number the parent sends on its stream; returns how many */
  echo: Actor.dialog({ parentSends: Schema.Number, childSends: Schema.Number, result: Schema.Number })
})
