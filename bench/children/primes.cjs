"use strict"
// Raw fork pool member (baseline): {id, n} -> {id, result}.
const { isPrime } = require("../lib/primes.cjs")
process.on("message", (m) => process.send({ id: m.id, result: isPrime(m.n) }))
process.on("disconnect", () => process.exit(0))
