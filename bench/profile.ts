/**
 * Profiles the call path once: the echo scenario (`ours`) runs with `--cpu-prof` in the parent,
 * and the actor gets `--cpu-prof` through its spawn options (`execArgv`). Each profile is cut to
 * the measured phases (sequential calls, then 100 in flight) using the monotonic timestamps the
 * scenario prints, and summarised as self time per function, per source module and per area,
 * in microseconds per call.
 *
 *   node --import tsx bench/profile.ts [seq=20000] [pipelined=100000] [intervalUs=200]
 *   npm run bench -- --profile
 *
 * Writes .bench-out/profile/<time>/{parent,child}/*.cpuprofile (open them in Chrome DevTools or
 * speedscope) and summary.md, and prints the summary.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { bench, outDir, repoRoot } from "./lib/paths.ts"
import { markedEnv, sweep } from "./lib/sweep.ts"

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const SEQ = Number(args[0] ?? 20000)
const PIPE = Number(args[1] ?? 100000)
const INTERVAL_US = Number(args[2] ?? 200)
const TOP = 18

const dir = Path.join(outDir, "profile", new Date().toISOString().replace(/[:.]/g, "-"))
const cpuProf = (d: string) => ["--cpu-prof", `--cpu-prof-dir=${d}`, `--cpu-prof-interval=${INTERVAL_US}`]

interface EchoResult {
  readonly cpu: {
    readonly seq: { readonly parent: number; readonly child: number }
    readonly pipe: { readonly parent: number; readonly child: number }
  }
  readonly p50us: number
  readonly seqPerS: number
  readonly pipelinedPerS: number
  readonly windows: { readonly seq: readonly [number, number]; readonly pipe: readonly [number, number] }
}

/** Runs the echo scenario with both sides profiled; returns its result and the profile folders. */
const profiled = async (variant: "ours" | "raw") => {
  const parentDir = Path.join(dir, variant, "parent")
  const childDir = Path.join(dir, variant, "child")
  Fs.mkdirSync(parentDir, { recursive: true })
  Fs.mkdirSync(childDir, { recursive: true })
  process.stderr.write(`profiling ${variant}: ${SEQ} sequential + ${PIPE} pipelined calls (sampling every ${INTERVAL_US} µs)\n`)
  const run = ChildProcess.spawnSync(
    process.execPath,
    [...cpuProf(parentDir), "--import", "tsx", bench("scenarios", "echo.ts"), variant, "2000", String(SEQ), String(PIPE)],
    {
      cwd: repoRoot,
      encoding: "utf8",
      env: markedEnv({ BENCH_CHILD_EXECARGV: JSON.stringify(cpuProf(childDir)) }),
      timeout: 300_000
    }
  )
  for (const leak of await sweep(`profile ${variant}`)) {
    process.stderr.write(`  !! left process ${leak.pid} alive (${leak.cmd}): killed it\n`)
  }
  const benchLine = run.stdout.split("\n").find((l) => l.startsWith("BENCH "))
  if (run.status !== 0 || benchLine === undefined) {
    process.stderr.write(`the profiled run failed:\n${run.stderr}\n`)
    process.exit(1)
  }
  return { result: JSON.parse(benchLine.slice(6)) as EchoResult, parentDir, childDir }
}

// ---------------------------------------------------------------------------
// reading .cpuprofile files
// ---------------------------------------------------------------------------

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const load = (file: string): CpuProfile => JSON.parse(Fs.readFileSync(file, "utf8"))

/**
 * The profile of the main thread. Worker threads (the actor's orphan watchdog) write their own;
 * files are named CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, the main thread being 0.
 */
const mainProfile = (d: string): { file: string; profile: CpuProfile } => {
  const files = Fs.readdirSync(d).filter((f) => f.endsWith(".cpuprofile"))
  if (files.length === 0) throw new Error(`no .cpuprofile in ${d}`)
  const main = files.find((f) => f.split(".")[4] === "0") ?? files[0]!
  const file = Path.join(d, main)
  return { file, profile: load(file) }
}

/** esbuild writes `// path/to/module.ts` before each module of a bundle, unless it minifies whitespace. */
const bundleInfo = (() => {
  const cache = new Map<string, { readonly lines: Array<string>; readonly marks: Array<readonly [number, string]> }>()
  return (file: string) => {
    let info = cache.get(file)
    if (info === undefined) {
      const lines = Fs.existsSync(file) ? Fs.readFileSync(file, "utf8").split("\n") : []
      const marks: Array<readonly [number, string]> = []
      for (let i = 0; i < lines.length; i++) {
        const m = /^\/\/ ((?:node_modules|src|bench|test)\/\S+|\.\.\/\S+)$/.exec(lines[i]!)
        if (m !== null) marks.push([i, m[1]!])
      }
      info = { lines, marks }
      cache.set(file, info)
    }
    return info
  }
})()

const isBundled = (frame: CallFrame) => frame.url.includes("/.cache/effect-tractor/")
const fileOf = (url: string) => (url.startsWith("file:") ? Url.fileURLToPath(url) : url)

/**
 * Names of the functions and methods effect-tractor declares (src/): in a minified actor bundle,
 * where no module comments are left, a frame is attributed to effect-tractor by its name.
 */
const ourNames: Set<string> = (() => {
  const names = new Set<string>()
  const skip = new Set(["if", "for", "while", "switch", "catch", "return", "constructor", "function", "super"])
  const walk = (dir: string) => {
    for (const entry of Fs.readdirSync(dir, { withFileTypes: true })) {
      const path = Path.join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".ts")) {
        const text = Fs.readFileSync(path, "utf8")
        for (const re of [/^\s+(?:(?:private|public|protected|static|async|readonly|override)\s+)*(\w+)\s*(?:<[^>]*>)?\(/gm, /(?:const|let|readonly|private|public)\s+(\w+)\s*(?::[^=\n]+)?=\s*(?:async\s*)?(?:\(|\w+\s*=>)/g, /function\*?\s+(\w+)/g]) {
          for (const m of text.matchAll(re)) if (!skip.has(m[1]!)) names.add(m[1]!)
        }
      }
    }
  }
  walk(Path.join(repoRoot, "src"))
  return names
})()

/** The first characters of a bundled function's code, to tell anonymous functions apart. */
const snippetOf = (frame: CallFrame): string => {
  const line = bundleInfo(fileOf(frame.url)).lines[frame.lineNumber] ?? ""
  return line.slice(frame.columnNumber, frame.columnNumber + 56).replace(/\s+/g, " ")
}

/** Which source module a frame belongs to (for the actor, through its bundle's module comments). */
const moduleOf = (frame: CallFrame): string => {
  const url = frame.url
  if (url === "") return "(native / V8 builtins)"
  if (url.startsWith("node:")) return url
  const path = fileOf(url)
  if (isBundled(frame)) {
    const { marks } = bundleInfo(path)
    if (marks.length === 0) {
      const fn = frame.functionName
      return fn !== "" && ourNames.has(fn) ? "src/ (actor bundle, by name)" : "effect etc. (actor bundle)"
    }
    let found = "(bundle prelude)"
    for (const [line, mod] of marks) {
      if (line > frame.lineNumber) break
      found = mod
    }
    const nm = found.lastIndexOf("node_modules/")
    return nm !== -1 ? found.slice(nm) : found.replace(/^(\.\.\/)+/, "")
  }
  const nm = path.lastIndexOf(`${Path.sep}node_modules${Path.sep}`)
  return nm !== -1 ? path.slice(nm + 1) : Path.relative(repoRoot, path)
}

const areaOf = (mod: string, fn: string): string => {
  if (fn === "(garbage collector)") return "GC"
  if (fn === "(idle)") return "idle"
  if (fn === "(program)") return "V8/libuv (program)"
  if (mod.startsWith("node:")) {
    if (/net|stream|pipe|socket|child_process|serialization|events/.test(mod)) return "node: sockets, streams, events"
    if (/timers/.test(mod)) return "node: timers"
    return "node: other internals"
  }
  if (mod === "(native / V8 builtins)") {
    if (/JSON|parse|stringify/.test(fn)) return "JSON parse/stringify"
    return "V8 builtins / native"
  }
  if (mod.includes("effect/") && /Schema|ParseResult|SchemaAST/.test(mod)) return "effect Schema (encode/decode)"
  if (mod.includes("effect/") && /fiberRuntime|core|runtime|Scheduler|scheduler|fiber|effectable|context/.test(mod)) {
    return "effect fiber runtime"
  }
  if (mod.includes("effect/")) return "effect other"
  if (mod === "effect etc. (actor bundle)") return "effect runtime + Schema (actor bundle, minified)"
  if (mod === "src/ (actor bundle, by name)") return "effect-tractor (actor bundle, by name)"
  if (/src\/internal\/(link|framing|frames|caller|server)\./.test(mod)) return "effect-tractor link (framing, caller, server)"
  if (mod.includes("src/")) return "effect-tractor other"
  if (mod.includes("tsx") || mod.includes("esbuild")) return "tsx loader"
  if (mod.includes("bench/")) return "bench harness"
  return "other"
}

interface Cut {
  readonly totalUs: number
  readonly busyUs: number
  readonly byFn: Map<string, number>
  readonly byModule: Map<string, number>
  readonly byArea: Map<string, number>
  /** inclusive (total) time of effect-tractor's own functions (src/) */
  readonly inclusiveOurs: Map<string, number>
}

const pseudo = new Set(["(root)", "(program)", "(idle)", "(garbage collector)"])

const frameKey = (frame: CallFrame): string => {
  const mod = moduleOf(frame)
  const fn = frame.functionName === "" ? "(anonymous)" : frame.functionName
  if (isBundled(frame)) {
    // in the actor's bundle: the code itself tells anonymous functions apart
    return fn === "(anonymous)" || bundleInfo(fileOf(frame.url)).marks.length === 0
      ? `${fn}  ${mod}  «${snippetOf(frame)}»`
      : `${fn}  ${mod}`
  }
  // line numbers of tsx-transformed .ts files do not point at the source: leave them out there
  const line = frame.lineNumber >= 0 && !pseudo.has(fn) && !mod.endsWith(".ts") ? `:${frame.lineNumber + 1}` : ""
  return `${fn}  ${mod}${line}`
}

/** Self time inside [fromMs, toMs] (monotonic clock, the same as the scenario's hrtime). */
const cut = (p: CpuProfile, fromMs: number, toMs: number): Cut => {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  const parentOf = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id)
  const inclusiveOurs = new Map<string, number>()
  const byFn = new Map<string, number>()
  const byModule = new Map<string, number>()
  const byArea = new Map<string, number>()
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v)
  let t = p.startTime
  let totalUs = 0
  let busyUs = 0
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!
    const dt = p.timeDeltas[i + 1] ?? 0
    const tMs = t / 1000
    if (tMs < fromMs || tMs > toMs) continue
    const frame = nodes.get(p.samples[i]!)!.callFrame
    const mod = moduleOf(frame)
    const fn = frame.functionName === "" ? "(anonymous)" : frame.functionName
    const area = areaOf(mod, fn)
    totalUs += dt
    if (fn === "(idle)") continue
    busyUs += dt
    add(byFn, frameKey(frame), dt)
    add(byModule, mod, dt)
    add(byArea, area, dt)
    const seen = new Set<string>()
    for (let id: number | undefined = p.samples[i]!; id !== undefined; id = parentOf.get(id)) {
      const f = nodes.get(id)!.callFrame
      if (!moduleOf(f).startsWith("src/")) continue
      const key = frameKey(f)
      if (seen.has(key)) continue
      seen.add(key)
      add(inclusiveOurs, key, dt)
    }
  }
  return { totalUs, busyUs, byFn, byModule, byArea, inclusiveOurs }
}

// ---------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------

const raw = await profiled("raw")
const ours = await profiled("ours")
const sides = (r: Awaited<ReturnType<typeof profiled>>) => ({
  parent: mainProfile(r.parentDir),
  child: mainProfile(r.childDir)
})
const oursP = sides(ours)
const rawP = sides(raw)
const phases = (r: EchoResult) => [
  ["sequential (1 in flight)", r.windows.seq, SEQ] as const,
  ["pipelined (100 in flight)", r.windows.pipe, PIPE] as const
]

const out: Array<string> = []
const p = (s = "") => out.push(s)
const table = (title: string, m: Map<string, number>, calls: number, busyUs: number, n: number, what = "self") => {
  p(`${title}`)
  p("")
  p(`| ${what} µs/call | % of busy | where |`)
  p("|---|---|---|")
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    p(`| ${(v / calls).toFixed(2)} | ${((100 * v) / Math.max(busyUs, 1)).toFixed(1)} | \`${k.replace(/\|/g, "\\|")}\` |`)
  }
  p("")
}

p(`# Call-path profile (${new Date().toISOString()})`)
p("")
p(
  `Echo of \`{id, n}\` through one child, both sides under \`--cpu-prof\` (sampling every ${INTERVAL_US} µs; ` +
    `the profiler slows both a little). Profiles in \`${Path.relative(repoRoot, dir)}\` (open in Chrome DevTools ` +
    `or speedscope).`
)
p("")
p("| | p50 RTT µs | calls/s, 1 in flight | calls/s, 100 in flight |")
p("|---|---|---|---|")
for (const [name, r] of [["ours (Portal.call)", ours.result], ["raw fork IPC json", raw.result]] as const) {
  p(`| ${name} | ${r.p50us.toFixed(1)} | ${r.seqPerS.toFixed(0)} | ${r.pipelinedPerS.toFixed(0)} |`)
}
p("")
p("CPU per call, µs: measured = CPU time the kernel accounted to each process over the phase")
p("(/proc/<pid>/task/*/schedstat); sampled = non-idle time in the profile, which also counts time the")
p("thread sat descheduled inside a syscall (e.g. `writeUtf8String` while the woken peer ran on its core).")
p("")
p("| phase | ours parent | ours child | raw parent | raw child |")
p("|---|---|---|---|---|")
for (let i = 0; i < 2; i++) {
  const [name, wOurs, calls] = phases(ours.result)[i]!
  const [, wRaw] = phases(raw.result)[i]!
  const key = i === 0 ? "seq" : "pipe"
  const per = (prof: CpuProfile, w: readonly [number, number], measured: number) =>
    `${measured.toFixed(1)} (sampled ${(cut(prof, w[0], w[1]).busyUs / calls).toFixed(1)})`
  p(
    `| ${name} | ${per(oursP.parent.profile, wOurs, ours.result.cpu[key].parent)} | ${
      per(oursP.child.profile, wOurs, ours.result.cpu[key].child)
    } | ${per(rawP.parent.profile, wRaw, raw.result.cpu[key].parent)} | ${
      per(rawP.child.profile, wRaw, raw.result.cpu[key].child)
    } |`
  )
}
p("")
for (const [name, [from, to], calls] of phases(ours.result)) {
  for (const [side, prof] of [["parent (caller)", oursP.parent.profile], ["child (actor)", oursP.child.profile]] as const) {
    const c = cut(prof, from, to)
    p(`## ours, ${side}, ${name}: ${calls} calls`)
    p("")
    p(
      `window ${(to - from).toFixed(0)} ms; busy (not idle) ${(c.busyUs / 1000).toFixed(0)} ms = **${
        (c.busyUs / calls).toFixed(1)
      } µs CPU per call** (idle ${((c.totalUs - c.busyUs) / calls).toFixed(1)} µs/call)`
    )
    p("")
    if (c.totalUs === 0) {
      p("(no samples in the window: clocks of the profile and the scenario disagree?)")
      p("")
      continue
    }
    table("By area:", c.byArea, calls, c.busyUs, 12)
    table("Top functions by self time:", c.byFn, calls, c.busyUs, TOP)
    table("Top source modules by self time:", c.byModule, calls, c.busyUs, 10)
    table("effect-tractor functions by inclusive time (self + callees):", c.inclusiveOurs, calls, c.busyUs, 12, "total")
  }
}

p("## For comparison: raw fork IPC json, top functions by self time")
p("")
for (const [name, [from, to], calls] of phases(raw.result)) {
  for (const [side, prof] of [["parent", rawP.parent.profile], ["child", rawP.child.profile]] as const) {
    const c = cut(prof, from, to)
    table(`raw ${side}, ${name}: ${(c.busyUs / calls).toFixed(1)} µs sampled per call`, c.byFn, calls, c.busyUs, 8)
  }
}

const summaryFile = Path.join(dir, "summary.md")
Fs.writeFileSync(summaryFile, out.join("\n"))
process.stdout.write(`${out.join("\n")}\n\nwritten to ${Path.relative(repoRoot, summaryFile)}\n`)
