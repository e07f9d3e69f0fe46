/**
 * What the chaos harness counts and how it reports: a seeded random source, the outcome of every
 * operation by kind and transport, the faults injected, memory samples and their trend, and the
 * summary table.
 */
import * as Fs from "node:fs"
import * as V8 from "node:v8"
import * as Vm from "node:vm"

V8.setFlagsFromString("--expose-gc")
const gc = Vm.runInNewContext("gc") as () => void

/**
 * A full collection, so that a heap sample is what is alive and not what the collector has not
 * reached yet (without it, a busy process's heap floor rises for minutes with nothing leaking).
 */
export const collect = (): void => gc()

/** A seeded source of numbers in [0, 1) (mulberry32): one seed, one schedule. */
export const random = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    /** an integer in [min, max] */
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
    /** one key of `weights`, with probability proportional to its weight */
    weighted: <K extends string>(weights: Readonly<Record<K, number>>): K => {
      const entries = Object.entries(weights) as Array<[K, number]>
      let r = next() * entries.reduce((n, [, w]) => n + w, 0)
      for (const [k, w] of entries) {
        if ((r -= w) < 0) return k
      }
      return entries[entries.length - 1]![0]
    }
  }
}
export type Random = ReturnType<typeof random>

/** How the operations of one kind over one transport ended. */
export interface OpStats {
  started: number
  ok: number
  /** failed with the declared error they asked for */
  declared: number
  /** given up by the client (its timeout or an early end) */
  interrupted: number
  /** typed ActorErrors, by tag */
  errors: Record<string, number>
  maxSettleMs: number
}

export class Tally {
  readonly ops = new Map<string, OpStats>()
  readonly faults = new Map<string, number>()
  readonly violations: Array<string> = []
  readonly warnings = new Map<string, number>()

  op(kind: string, transport: string): OpStats {
    const key = `${kind} ${transport}`
    let stats = this.ops.get(key)
    if (stats === undefined) {
      stats = { started: 0, ok: 0, declared: 0, interrupted: 0, errors: {}, maxSettleMs: 0 }
      this.ops.set(key, stats)
    }
    return stats
  }

  fault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1)
  }

  /** a violated check: the run fails; the first few are printed in full */
  violation(what: string): void {
    this.violations.push(what)
  }

  /** a warning logged by the tree, counted by its first words */
  warning(message: string): void {
    const key = message
      .split("\n")[0]!
      .replace(/[0-9a-z-]+@\d+/g, "<actor>")
      .replace(/tcp:[0-9.]+:\d+/g, "<address>")
      .replace(/from [0-9.]+/g, "from <ip>")
      .replace(/"[^"]*"(\.\.\.)?/g, "\"…\"")
      .replace(/\d+/g, "N")
      .slice(0, 110)
    this.warnings.set(key, (this.warnings.get(key) ?? 0) + 1)
  }

  get settled(): number {
    let n = 0
    for (const s of this.ops.values()) n += s.ok + s.declared + s.interrupted + Object.values(s.errors).reduce((a, b) => a + b, 0)
    return n
  }

  get started(): number {
    let n = 0
    for (const s of this.ops.values()) n += s.started
    return n
  }
}

/** One memory sample of one process. */
export interface Sample {
  readonly atMs: number
  readonly rssMb: number
  readonly heapMb: number
}

/**
 * The growth of a series in MB per minute after warm-up: a least-squares line through the lowest
 * value of each window of samples (the floor after collections, not the sawtooth between them).
 */
export const slope = (samples: ReadonlyArray<Sample>, value: (s: Sample) => number, warmupFraction = 0.25): number | undefined => {
  const kept = samples.slice(Math.floor(samples.length * warmupFraction))
  const window = Math.max(1, Math.floor(kept.length / 12))
  const points: Array<[number, number]> = []
  for (let i = 0; i + window <= kept.length; i += window) {
    const part = kept.slice(i, i + window)
    const low = part.reduce((a, b) => value(a) <= value(b) ? a : b)
    points.push([low.atMs / 60_000, value(low)])
  }
  if (points.length < 3) return undefined
  const n = points.length
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0)
  return sxx === 0 ? undefined : sxy / sxx
}

/** The resident memory of a process in MB, from /proc (undefined once it is gone). */
export const rssOf = (pid: number): number | undefined => {
  try {
    const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const m = /VmRSS:\s+(\d+) kB/.exec(status)
    return m === null ? undefined : Number(m[1]) / 1024
  } catch {
    return undefined
  }
}

/** Every file under `dir`, relative to it. */
export const filesUnder = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string, prefix: string) => {
    for (const entry of Fs.readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(`${d}/${entry.name}`, `${prefix}${entry.name}/`)
      else out.push(`${prefix}${entry.name}`)
    }
  }
  if (Fs.existsSync(dir)) walk(dir, "")
  return out
}

const pad = (s: string, n: number) => s.length >= n ? s : s + " ".repeat(n - s.length)
const padLeft = (s: string, n: number) => s.length >= n ? s : " ".repeat(n - s.length) + s

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (r: ReadonlyArray<string>) => r.map((c, i) => i === 0 ? pad(c, widths[i]!) : padLeft(c, widths[i]!)).join("  ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}
