/**
 * The worker of `concurrent_futures_primes.ts`, the baseline without effect-tractor: it answers
 * `{ id, n }` messages with `{ id, prime }` over the IPC channel of `child_process.fork`. Plain
 * CommonJS, so that Node runs it without a TypeScript loader.
 */
"use strict"

function isPrime(n) {
  if (n < 2) return false
  if (n === 2) return true
  if (n % 2 === 0) return false
  const sqrtN = Math.floor(Math.sqrt(n))
  for (let i = 3; i <= sqrtN; i += 2) {
    if (n % i === 0) return false
  }
  return true
}

process.on("message", ({ id, n }) => {
  process.send({ id, prime: isPrime(n) })
})
// the process exits by itself once the parent disconnects: nothing else keeps it alive
