// workerpool task (baseline): returns its payload.
const workerpool = require("workerpool")
workerpool.worker({ echo: (m) => m })
