/**
 * Bench actor: the primes demo's `is_prime` (trial division), as a protocol function.
 */
import * as Effect from "effect/Effect"
import * as Actor from "../../src/Actor.ts"
import { isPrime } from "../lib/primes.cjs"
import { BenchPrimes } from "./protocols.ts"

export const BenchPrimesLive = Actor.serve(BenchPrimes, {
  isPrime: (n) => Effect.sync(() => isPrime(n))
})
