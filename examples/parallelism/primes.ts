/**
 * The actor module of the primes examples: the `Primes` protocol and its implementation.
 *
 * Kept apart from the scripts that use it: every worker imports this module (and only this one),
 * so it declares things and runs nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "effect-tractor/Actor"

/** The numbers of the `concurrent.futures` docs example: all but the last are prime. */
export const PRIMES: ReadonlyArray<number> = [
  112272535095293,
  112582705942171,
  112272535095293,
  115280095190773,
  115797848077099,
  1099726899285419
]

/** Trial division by odd numbers up to the square root (exact for safe integers). */
export const isPrime = (n: number): boolean => {
  if (n < 2) return false
  if (n === 2) return true
  if (n % 2 === 0) return false
  const sqrtN = Math.floor(Math.sqrt(n))
  for (let i = 3; i <= sqrtN; i += 2) {
    if (n % i === 0) return false
  }
  return true
}

export const Primes = Actor.protocol("Primes", {
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean })
})

export const PrimesLive = Actor.serve(Primes, {
  isPrime: (n) => Effect.sync(() => isPrime(n))
})
