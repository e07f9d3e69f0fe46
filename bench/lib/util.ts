/**
 * Small helpers shared by the bench scenarios and the driver: clock, statistics, the result line,
 * and /proc inspection (private memory, liveness).
 */
import * as Fs from "node:fs"

/** Monotonic milliseconds (CLOCK_MONOTONIC, comparable across processes and with V8 profiles). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Linear-interpolated quantile of an ascending array. */
export const quantile = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

export interface Summary {
  readonly n: number
  readonly median: number
  readonly min: number
  readonly max: number
}

export const summary = (values: ReadonlyArray<number | null | undefined>): Summary => {
  const s = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b)
  return { n: s.length, median: quantile(s, 0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN }
}

export const median = (values: ReadonlyArray<number | null | undefined>): number => summary(values).median

/** The one result line of a scenario: the driver reads the last line starting with `BENCH `. */
export const emit = (result: Record<string, unknown>): void => {
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`)
}

export interface Memory {
  readonly rssMb: number
  readonly pssMb: number
  /** private memory: Private_Clean + Private_Dirty, what one more such process really costs */
  readonly ussMb: number
}

/** Memory of a live process from /proc/<pid>/smaps_rollup. */
export const memoryOf = (pid: number): Memory => {
  const text = Fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN)
  return {
    rssMb: kb("Rss") / 1024,
    pssMb: kb("Pss") / 1024,
    ussMb: (kb("Private_Clean") + kb("Private_Dirty")) / 1024
  }
}

/** Whether a process exists and is not a zombie (a zombie still answers kill(pid, 0)). */
export const isAlive = (pid: number): boolean => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** Polls until every pid is gone (or `timeoutMs` passed); returns the ones still alive. */
export const waitGone = async (pids: ReadonlyArray<number>, timeoutMs = 3000): Promise<Array<number>> => {
  const end = nowMs() + timeoutMs
  let alive = pids.filter(isAlive)
  while (alive.length > 0 && nowMs() < end) {
    await sleep(2)
    alive = alive.filter(isAlive)
  }
  return alive
}

/** The integer argument `i` of argv (after the script name), or `fallback`. */
export const intArg = (i: number, fallback: number): number => {
  const raw = process.argv[2 + i]
  const n = raw === undefined ? NaN : Number(raw)
  return Number.isFinite(n) ? n : fallback
}

/**
 * CPU time a process has used so far, in microseconds: the sum over its threads of the time spent
 * on a CPU (/proc/<pid>/task/<tid>/schedstat, first field, in ns). Threads that already exited
 * are not counted.
 */
export const cpuUsOf = (pid: number): number => {
  let ns = 0
  try {
    for (const tid of Fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(Fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
      } catch {
        // thread gone
      }
    }
  } catch {
    return NaN
  }
  return ns / 1000
}
