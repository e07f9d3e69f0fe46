"use strict"
// Raw fork IPC child of the stream baselines (bench/scenarios/stream.ts raw):
// - {start: {n, batch, window}}: sends the numbers 0 .. n - 1 as arrays of `batch` numbers, one
//   array per process.send, never more than `window` numbers unacknowledged: the parent answers
//   every array with {ack: <its length>} (the credit-based flow control of effect-tractor's
//   streams). `batch: 0` sends one number per process.send, with no flow control at all.
// - a number: echoed back (the dialog echo baseline).
// The parent's disconnect ends it.
let n = 0
let batch = 0
let window = 0
let sent = 0
let inFlight = 0

const pump = () => {
  while (sent < n) {
    const k = Math.min(batch, n - sent)
    if (inFlight + k > window) return
    const values = new Array(k)
    for (let i = 0; i < k; i++) values[i] = sent + i
    process.send(values)
    sent += k
    inFlight += k
  }
}

process.on("message", (m) => {
  if (typeof m === "number") {
    process.send(m)
  } else if (m.ack !== undefined) {
    inFlight -= m.ack
    pump()
  } else if (m.start !== undefined) {
    n = m.start.n
    batch = m.start.batch
    window = m.start.window
    sent = 0
    inFlight = 0
    if (batch > 0) return pump()
    for (let i = 0; i < n; i++) process.send(i)
  }
})
process.on("disconnect", () => process.exit(0))
