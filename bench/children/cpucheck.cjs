"use strict"
// How much parallel CPU the machine gives right now: the same busy loop alone, then two copies at
// once (threads). parallelism = 2 * alone / slowest of the pair (2.0 = two free cores).
const { Worker, isMainThread, parentPort } = require("node:worker_threads")
function spin() {
  let x = 0
  for (let i = 0; i < 5e7; i++) x += i % 7
  return x
}
if (!isMainThread) {
  const t = performance.now()
  spin()
  parentPort.postMessage(performance.now() - t)
} else {
  const run = (n) =>
    Promise.all(Array.from({ length: n }, () => new Promise((resolve) => new Worker(__filename).once("message", resolve))))
  ;(async () => {
    const one = await run(1)
    const two = await run(2)
    const parallelism = (2 * one[0]) / Math.max(...two)
    process.stdout.write(`BENCH ${JSON.stringify({ aloneMs: one[0], pairMs: two, parallelism })}\n`)
  })()
}
