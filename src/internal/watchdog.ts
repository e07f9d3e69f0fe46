/**
 * The orphan guard of a child: a worker thread that polls the parent pid and kills its own process
 * when the parent is gone, even when the main thread is blocked in synchronous code.
 */
import { Worker } from "node:worker_threads"

const source = `
const { workerData } = require("node:worker_threads")
const timer = setInterval(() => {
  if (process.ppid !== workerData.ppid) {
    clearInterval(timer)
    try { process.kill(workerData.pid, "SIGKILL") } catch {}
  }
}, workerData.intervalMs)
`

/** @internal */
export const startWatchdog = (intervalMs = 50): Worker => {
  const worker = new Worker(source, {
    eval: true,
    workerData: { ppid: process.ppid, pid: process.pid, intervalMs },
    stdout: false,
    stderr: false
  })
  // the guard must never take the actor down by itself
  worker.on("error", () => {})
  worker.unref()
  return worker
}
