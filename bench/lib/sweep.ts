/**
 * Nothing left behind: every process a bench run starts carries a marker in its environment
 * (children inherit it, re-parented orphans keep it), so whatever is still alive after a scenario
 * can be found in /proc, reported and killed.
 */
import * as Fs from "node:fs"
import { isAlive, nowMs, sleep } from "./util.ts"

export const MARKER = "EFFECT_TRACTOR_BENCH_OWNER"

/** The environment for a process started by this bench run. */
export const markedEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  ...extra,
  [MARKER]: String(process.pid)
})

/** Live processes (other than this one) whose environment carries this run's marker. */
export const markedProcesses = (): Array<number> => {
  const entry = `${MARKER}=${process.pid}`
  const found: Array<number> = []
  for (const name of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    if (pid === process.pid) continue
    try {
      const environ = Fs.readFileSync(`/proc/${pid}/environ`, "latin1")
      if (environ.split("\0").includes(entry) && isAlive(pid)) found.push(pid)
    } catch {
      // gone, or not ours to read
    }
  }
  return found
}

export const cmdline = (pid: number): string => {
  try {
    return Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim()
  } catch {
    return "?"
  }
}

export interface Leak {
  readonly job: string
  readonly pid: number
  readonly cmd: string
}

/**
 * Waits up to `graceMs` for marked processes to exit on their own, then SIGKILLs the rest and
 * returns them.
 */
export const sweep = async (job: string, graceMs = 1000): Promise<Array<Leak>> => {
  let left = markedProcesses()
  const end = nowMs() + graceMs
  while (left.length > 0 && nowMs() < end) {
    await sleep(20)
    left = left.filter(isAlive)
  }
  const leaks = left.map((pid) => ({ job, pid, cmd: cmdline(pid) }))
  for (const { pid } of leaks) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  return leaks
}
