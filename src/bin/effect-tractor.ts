#!/usr/bin/env node
/**
 * The command line: `effect-tractor tree [--watch] [--interval <ms>]` prints the actor processes of
 * this host as trees, each under the process that started it (its root), with uptime and memory,
 * read from /proc (Linux). Thread actors live inside their process and do not show here:
 * `ActorRuntime.tree` in the program lists them, with what each serves.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"

interface Proc {
  readonly pid: number
  readonly ppid: number
  readonly title: string
  readonly startTicks: number
  readonly rssMb: number
}

const usage = `usage: effect-tractor tree [--watch] [--interval <ms>]
  tree      the actor processes of this host (titles name@pid), each under its root
  --watch   print it again every --interval ms (default 1000) until Ctrl-C`

const read = (path: string): string | undefined => {
  try {
    return Fs.readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const pageMb = 4096 / (1024 * 1024)
const ticksPerSecond = 100

const processes = (): Map<number, Proc> => {
  const procs = new Map<number, Proc>()
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const stat = read(`/proc/${entry}/stat`)
    const cmdline = read(`/proc/${entry}/cmdline`)
    if (stat === undefined || cmdline === undefined) continue
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    procs.set(Number(entry), {
      pid: Number(entry),
      ppid: Number(fields[1]),
      title: cmdline.split("\0").filter((s) => s !== "").join(" ").trim(),
      startTicks: Number(fields[19]),
      rssMb: Number(fields[21]) * pageMb
    })
  }
  return procs
}

const isActor = (p: Proc) => /^[\w.-]+@\d+$/.test(p.title)

const uptime = (p: Proc): string => {
  const bootSeconds = Number(read("/proc/uptime")?.split(" ")[0] ?? 0)
  const s = Math.max(0, Math.floor(bootSeconds - p.startTicks / ticksPerSecond))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

const render = (): string => {
  const procs = processes()
  const children = new Map<number, Array<Proc>>()
  for (const p of procs.values()) {
    if (!isActor(p)) continue
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p])
  }
  // a root: the nearest non-actor ancestor of an actor process
  const roots = [...children.keys()].filter((pid) => {
    const p = procs.get(pid)
    return p === undefined || !isActor(p)
  })
  if (roots.length === 0) return "no actor processes on this host"
  const lines: Array<string> = []
  const line = (p: Proc) => `${p.title}  up ${uptime(p)} · ${p.rssMb.toFixed(1)} MB`
  const visit = (p: Proc, prefix: string, last: boolean) => {
    lines.push(`${prefix}${last ? "└─ " : "├─ "}${line(p)}`)
    const kids = children.get(p.pid) ?? []
    kids.forEach((kid, i) => visit(kid, prefix + (last ? "   " : "│  "), i === kids.length - 1))
  }
  for (const pid of roots.sort((a, b) => a - b)) {
    const root = procs.get(pid)
    lines.push(root === undefined ? `${pid} (gone)` : `root ${pid}: ${root.title.slice(0, 80)}  up ${uptime(root)} · ${root.rssMb.toFixed(1)} MB`)
    const kids = children.get(pid)!
    kids.forEach((kid, i) => visit(kid, "", i === kids.length - 1))
  }
  return lines.join("\n")
}

const [command, ...flags] = process.argv.slice(2)
if (command !== "tree" || flags.some((f) => !["--watch", "--interval"].includes(f) && !/^\d+$/.test(f))) {
  process.stderr.write(`${usage}\n`)
  process.exit(command === undefined || command === "--help" || command === "-h" ? 0 : 2)
}
if (!Fs.existsSync("/proc/self/stat")) {
  process.stderr.write("effect-tractor tree reads /proc: it runs on Linux only (use ActorRuntime.tree in the program)\n")
  process.exit(1)
}
if (flags.includes("--watch")) {
  const at = flags.indexOf("--interval")
  const interval = at === -1 ? 1000 : Number(flags[at + 1])
  const draw = () => process.stdout.write(`\x1b[2J\x1b[H${render()}\n`)
  draw()
  setInterval(draw, Number.isFinite(interval) && interval >= 100 ? interval : 1000)
} else {
  process.stdout.write(`${render()}\n`)
}
