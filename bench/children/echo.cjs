"use strict"
// Raw fork IPC child (baseline): echoes every message. {stop: true} exits at once (the graceful
// teardown baseline); the parent's disconnect also ends it.
process.on("message", (m) => {
  if (m !== null && typeof m === "object" && m.stop === true) process.exit(0)
  else process.send(m)
})
process.on("disconnect", () => process.exit(0))
