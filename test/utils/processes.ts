/**
 * Process inspection for tests: which actor processes of this test process are still alive.
 * Reads /proc directly: a zombie still answers `kill(pid, 0)`, so liveness is the state letter.
 */
import * as Fs from "node:fs"
import * as Effect from "effect/Effect"

interface Proc {
  readonly pid: number
  readonly ppid: number
  readonly state: string
  readonly specParent: number | undefined
}

const readProc = (pid: number): Proc | undefined => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = stat.lastIndexOf(")")
    const fields = stat.slice(close + 2).split(" ")
    let specParent: number | undefined
    try {
      const environ = Fs.readFileSync(`/proc/${pid}/environ`, "utf8")
      const entry = environ.split("\0").find((e) => e.startsWith("EFFECT_TRACTOR_SPEC="))
      if (entry !== undefined) specParent = JSON.parse(entry.slice("EFFECT_TRACTOR_SPEC=".length)).parent.pid
    } catch {
      // not ours to read
    }
    return { pid, state: fields[0]!, ppid: Number(fields[1]), specParent }
  } catch {
    return undefined
  }
}

const allProcs = (): Array<Proc> =>
  Fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d))).filter((p) => p !== undefined)

/** Whether a process exists and is not a zombie. */
export const isAlive = (pid: number): boolean => {
  const p = readProc(pid)
  return p !== undefined && p.state !== "Z" && p.state !== "X"
}

/**
 * Every live process that descends from `root`, by parent pid or by the actor spec (which still
 * names the original parent after a re-parenting to init).
 */
export const descendants = (root: number = process.pid): Array<number> => {
  const procs = allProcs()
  const found = new Set<number>()
  let grew = true
  while (grew) {
    grew = false
    for (const p of procs) {
      if (found.has(p.pid) || p.pid === root) continue
      if (p.ppid === root || found.has(p.ppid) || p.specParent === root || (p.specParent !== undefined && found.has(p.specParent))) {
        found.add(p.pid)
        grew = true
      }
    }
  }
  return [...found].filter(isAlive)
}

/** Waits (up to `timeoutMs`) until `pids` are all gone; returns the ones still alive. */
export const waitGone = (pids: ReadonlyArray<number>, timeoutMs = 3000): Effect.Effect<Array<number>> =>
  Effect.promise(async () => {
    const end = Date.now() + timeoutMs
    let alive = pids.filter(isAlive)
    while (alive.length > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20))
      alive = alive.filter(isAlive)
    }
    return alive
  })

/**
 * Fails when any process of this test process's tree is still alive after `timeoutMs`.
 */
export const assertNoOrphans = (timeoutMs = 3000): Effect.Effect<void> =>
  Effect.flatMap(Effect.sync(() => descendants()), (pids) =>
    Effect.flatMap(waitGone(pids, timeoutMs), (alive) =>
      alive.length === 0
        ? Effect.void
        : Effect.die(new Error(`processes left alive: ${alive.map((p) => `${p} (${cmdline(p)})`).join(", ")}`))))

const cmdline = (pid: number) => {
  try {
    return Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim()
  } catch {
    return "?"
  }
}

/** The title a process runs under (Node 24 pads a changed title with spaces), if it is still there. */
export const titleOf = (pid: number): string | undefined => {
  try {
    return Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!.trim()
  } catch {
    return undefined
  }
}

/** Whether a title is an actor's (`name@pid`), not a helper's such as esbuild's. */
export const isActorTitle = (title: string | undefined, name = "\\w+"): boolean =>
  title !== undefined && new RegExp(`^${name}@\\d+$`).test(title)
