"use strict"
// The seed workload: the six PRIMES of the ProcessPoolExecutor example in the Python docs and
// is_prime by trial division over odd divisors up to floor(sqrt(n)). All six are safe integers
// (largest 1.1e15 < 2^53), so plain Number arithmetic is exact. Shared by the raw fork child
// (plain node), the bench actor (bundled by esbuild) and the drivers.
const PRIMES = [
  112272535095293,
  112582705942171,
  112272535095293,
  115280095190773,
  115797848077099,
  1099726899285419
]

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

// Same text as the Python example: '%d is prime: %s'
function formatLine(n, prime) {
  return `${n} is prime: ${prime ? "True" : "False"}`
}

// What the Python docs script prints (1099726899285419 = 3306091 x 332636609).
const EXPECTED = PRIMES.map((n, i) => formatLine(n, i !== 5))

module.exports = { PRIMES, isPrime, formatLine, EXPECTED }
