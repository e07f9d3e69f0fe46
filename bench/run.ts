/**
 * The benchmark suite: every scenario of bench/scenarios (and the Python baseline) in a fresh
 * process, interleaved in rounds whose order rotates, so that machine noise hits ours and the
 * baselines alike. Prints a table (figure, ours, baseline, ratio, target) or, with --json, one JSON
 * object. Medians over rounds; every ratio is between figures measured in the same run.
 *
 *   npm run bench                      5 rounds (about 2 minutes on 2 cores)
 *   npm run bench -- --json            the same, one JSON object on stdout (progress on stderr)
 *   npm run bench -- --quick           3 rounds, fewer calls (a smoke run, not for quoting)
 *   npm run bench -- --rounds 9        more rounds
 *   npm run bench -- --only echo,spawn only the scenarios whose key starts with one of these
 *   npm run bench -- --profile         profile the call path instead (see bench/profile.ts)
 *
 * Env: BENCH_ROUNDS, BENCH_POOL_SIZE (default 2), BENCH_PYTHON (a python3 to use; "none" to skip).
 *
 * Benchmarks print, they never assert. Every process a scenario starts carries a marker in its
 * environment; after each scenario the driver looks for marked processes still alive, kills them
 * and reports them (`leaked_processes`), so a run leaves nothing behind.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { bench, outDir, repoRoot } from "./lib/paths.ts"
import { EXPECTED } from "./lib/primes.cjs"
import { type Leak, markedEnv, sweep } from "./lib/sweep.ts"
import { median, nowMs, type Summary, summary } from "./lib/util.ts"

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  if (i !== -1) return argv[i + 1]
  const eq = argv.find((a) => a.startsWith(`${name}=`))
  return eq?.slice(name.length + 1)
}

if (flag("--profile")) {
  await import("./profile.ts")
  process.exit(0)
}

const JSON_OUT = flag("--json")
const QUICK = flag("--quick")
const ROUNDS = Math.max(1, Number(option("--rounds") ?? process.env["BENCH_ROUNDS"] ?? (QUICK ? 3 : 5)))
const ONLY = option("--only")?.split(",").filter((s) => s !== "")
const POOL_SIZE = Number(process.env["BENCH_POOL_SIZE"] ?? 2)
/** echo.ts: [sequential warm-up, sequential, pipelined, pipelined warm-up]; piscina is ~10x slower: fewer */
const ECHO_COUNTS = QUICK ? ["1000", "2000", "10000", "10000"] : ["2000", "5000", "50000", "20000"]
const PISCINA_COUNTS = QUICK ? ["1000", "2000", "5000", "2000"] : ["2000", "5000", "20000", "5000"]
const SPAWNS = QUICK ? "2" : "3"
/** pool-tasks.ts: tiny tasks through a pool of 2 */
const POOL_TASKS = QUICK ? "20000" : "100000"
/** stream.ts: [stream items, dialog echoes, dialog warm-up echoes, raw unbatched items] */
const STREAM_ARGS = QUICK ? ["200000", "10000", "5000", "20000"] : ["1000000", "50000", "10000", "100000"]
const [STREAM_ITEMS, DIALOG_ECHOES, , STREAM_UNBATCHED] = STREAM_ARGS.map(Number) as [number, number, number, number]
const JOB_TIMEOUT_MS = 120_000
/** the default grace period: an actor stuck in synchronous code never acknowledges, and is killed after it */
const GRACE_MS = 500

const log = (line: string) => process.stderr.write(`${line}\n`)

/** BENCH_PYTHON, else /usr/bin/python3 (the system interpreter), else python3 on PATH, else none. */
const findPython = (): string | null => {
  const configured = process.env["BENCH_PYTHON"]
  if (configured === "none" || flag("--no-python")) return null
  if (configured !== undefined && configured !== "") return configured
  if (Fs.existsSync("/usr/bin/python3")) return "/usr/bin/python3"
  const which = ChildProcess.spawnSync("sh", ["-c", "command -v python3"], { encoding: "utf8" })
  const found = which.stdout.trim()
  return which.status === 0 && found !== "" ? found : null
}
const PYTHON = findPython()

// ---------------------------------------------------------------------------
// jobs
// ---------------------------------------------------------------------------

interface Job {
  readonly key: string
  readonly cmd: string
  readonly args: ReadonlyArray<string>
}

const tsx = (key: string, script: string, ...args: Array<string>): Job => ({
  key,
  cmd: process.execPath,
  args: ["--import", "tsx", bench("scenarios", script), ...args]
})

const allJobs: Array<Job> = [
  tsx("echo-ours", "echo.ts", "ours", ...ECHO_COUNTS),
  tsx("echo-traced", "echo.ts", "traced", ...ECHO_COUNTS),
  tsx("echo-otel", "echo.ts", "otel", ...ECHO_COUNTS),
  tsx("cluster", "cluster.ts", ...(QUICK ? ["100", "500"] : ["300", "2000"])),
  tsx("echo-raw", "echo.ts", "raw", ...ECHO_COUNTS),
  tsx("echo-uds", "echo.ts", "uds", ...ECHO_COUNTS),
  tsx("echo-tcp", "echo.ts", "tcp", ...ECHO_COUNTS),
  tsx("echo-piscina", "echo.ts", "piscina", ...PISCINA_COUNTS),
  tsx("spawn-ours", "spawn.ts", "ours", SPAWNS),
  tsx("spawn-thread", "spawn.ts", "thread", SPAWNS),
  tsx("spawn-bare", "spawn.ts", "bare", SPAWNS),
  tsx("spawn-same-imports", "spawn.ts", "same-imports", SPAWNS),
  tsx("pool-ours", "pool-primes.ts", "ours", String(POOL_SIZE)),
  tsx("pool-tasks-ours", "pool-tasks.ts", "ours", POOL_TASKS, "1"),
  tsx("pool-tasks-ours-32", "pool-tasks.ts", "ours", POOL_TASKS, "32"),
  tsx("pool-tasks-thread", "pool-tasks.ts", "ours", POOL_TASKS, "1", "thread"),
  tsx("pool-tasks-thread-32", "pool-tasks.ts", "ours", POOL_TASKS, "32", "thread"),
  tsx("pool-tasks-piscina", "pool-tasks.ts", "piscina", POOL_TASKS),
  tsx("pool-tasks-tinypool", "pool-tasks.ts", "tinypool", POOL_TASKS),
  tsx("pool-tasks-workerpool", "pool-tasks.ts", "workerpool", POOL_TASKS),
  tsx("pool-one-ours", "pool-primes.ts", "ours", "1"),
  tsx("pool-raw", "pool-primes.ts", "raw", String(POOL_SIZE)),
  ...(PYTHON !== null
    ? [{ key: "pool-python", cmd: PYTHON, args: [bench("baselines", "python_pool.py"), String(POOL_SIZE)] }]
    : []),
  tsx("teardown-ours", "teardown.ts", "idle,busy"),
  tsx("teardown-raw", "teardown.ts", "raw-idle"),
  tsx("stream-ours", "stream.ts", "ours", ...STREAM_ARGS),
  tsx("stream-raw", "stream.ts", "raw", ...STREAM_ARGS)
]
const jobs = ONLY === undefined ? allJobs : allJobs.filter((j) => ONLY.some((prefix) => j.key.startsWith(prefix)))

// ---------------------------------------------------------------------------
// running one process, and the leak sweep
// ---------------------------------------------------------------------------

const leaks: Array<Leak> = []

/** After each scenario: report and kill whatever it left alive. */
const sweepAfter = async (job: string): Promise<void> => {
  for (const leak of await sweep(job)) {
    leaks.push(leak)
    log(`  !! ${job} left process ${leak.pid} alive (${leak.cmd}): killed it`)
  }
}

let current: ChildProcess.ChildProcess | undefined

interface RunResult {
  readonly ok: boolean
  readonly wallMs: number
  readonly result: Record<string, any> | undefined
  readonly lines: ReadonlyArray<string>
  readonly stderr: string
}

const runProcess = (cmd: string, args: ReadonlyArray<string>): Promise<RunResult> =>
  new Promise((resolve) => {
    const t0 = nowMs()
    // own process group: on a time-out the whole tree goes at once
    const child = ChildProcess.spawn(cmd, args, {
      cwd: repoRoot,
      env: markedEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    current = child
    let stdout = ""
    let stderr = ""
    let wallMs = 0
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      stderr += `\n(timed out after ${JOB_TIMEOUT_MS} ms: killed)`
      killGroup(child)
    }, JOB_TIMEOUT_MS)
    child.on("exit", () => (wallMs = nowMs() - t0))
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      current = undefined
      const lines = stdout.split("\n").filter((l) => l !== "")
      const benchLine = [...lines].reverse().find((l) => l.startsWith("BENCH "))
      let result: Record<string, any> | undefined
      try {
        result = benchLine === undefined ? undefined : JSON.parse(benchLine.slice(6))
      } catch {
        result = undefined
      }
      resolve({
        ok: code === 0 && signal === null && result !== undefined,
        wallMs,
        result,
        lines: lines.filter((l) => !l.startsWith("BENCH ")),
        stderr
      })
    })
  })

const killGroup = (child: ChildProcess.ChildProcess) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
  } catch {
    // gone
  }
}

const interrupted = async (signal: NodeJS.Signals) => {
  log(`\n${signal}: stopping the current scenario and sweeping`)
  if (current !== undefined) killGroup(current)
  await sweepAfter("interrupted")
  process.exit(130)
}
process.on("SIGINT", () => void interrupted("SIGINT"))
process.on("SIGTERM", () => void interrupted("SIGTERM"))

// ---------------------------------------------------------------------------
// the rounds
// ---------------------------------------------------------------------------

const samples: Record<string, Array<Record<string, any>>> = Object.fromEntries(jobs.map((j) => [j.key, []]))
const failures: Array<{ readonly job: string; readonly round: number; readonly stderr: string }> = []
const parallelism: Array<number> = []
const suiteStart = nowMs()

log(`effect-tractor bench: ${ROUNDS} rounds x ${jobs.length} scenarios, pool size ${POOL_SIZE}, python ${PYTHON ?? "none"}`)
const prep = await runProcess(process.execPath, ["--import", "tsx", bench("scenarios", "prepare.ts")])
await sweepAfter("prepare")
if (!prep.ok) {
  log(`prepare failed (bundles / first spawn):\n${prep.stderr}`)
  process.exit(1)
}
log(`prepared (bundles and caches warm) in ${(prep.wallMs / 1000).toFixed(1)} s`)

for (let round = 0; round < ROUNDS; round++) {
  const cpu = await runProcess(process.execPath, [bench("children", "cpucheck.cjs")])
  if (cpu.result !== undefined) parallelism.push(cpu.result["parallelism"])
  const times: Array<string> = []
  for (let k = 0; k < jobs.length; k++) {
    const job = jobs[(k + round) % jobs.length]!
    const r = await runProcess(job.cmd, job.args)
    await sweepAfter(job.key)
    times.push(`${job.key} ${(r.wallMs / 1000).toFixed(1)}s`)
    if (!r.ok) {
      failures.push({ job: job.key, round, stderr: r.stderr.slice(-4000) })
      log(`  !! ${job.key} failed in round ${round + 1}:\n${r.stderr.slice(-2000)}`)
      continue
    }
    const sample: Record<string, any> = { ...r.result, wallMs: r.wallMs }
    if (job.key.startsWith("pool-")) {
      const got = [...r.lines].sort().join("\n")
      sample["correct"] = got === [...EXPECTED].sort().join("\n")
    }
    samples[job.key]!.push(sample)
  }
  log(
    `round ${round + 1}/${ROUNDS} (parallelism ${parallelism.at(-1)?.toFixed(2) ?? "?"}): ${times.join(", ")}`
  )
}
const suiteSeconds = (nowMs() - suiteStart) / 1000

// ---------------------------------------------------------------------------
// figures
// ---------------------------------------------------------------------------

const col = (key: string, f: (s: Record<string, any>) => number | null | undefined): Summary =>
  summary((samples[key] ?? []).map(f))
const med = (key: string, f: (s: Record<string, any>) => number | null | undefined): number | null => {
  const m = col(key, f).median
  return Number.isFinite(m) ? m : null
}
const ratio = (a: number | null, b: number | null): number | null =>
  a === null || b === null || b === 0 ? null : a / b
/** median over rounds of (ours / baseline) within the same round */
const paired = (a: string, fa: (s: any) => number, b: string, fb: (s: any) => number): number | null => {
  const xs = samples[a] ?? []
  const ys = samples[b] ?? []
  const n = Math.min(xs.length, ys.length)
  const m = median(Array.from({ length: n }, (_, i) => fa(xs[i]) / fb(ys[i]!)))
  return Number.isFinite(m) ? m : null
}
const spawnMedian = (s: Record<string, any>, field: "readyMs" | "firstCallMs") =>
  median((s["samples"] as Array<Record<string, number>>).map((x) => x[field]))

const F = {
  p50: (s: any) => s.p50us,
  p99: (s: any) => s.p99us,
  pipe: (s: any) => s.pipelinedPerS,
  find: (s: any) => s.findMs,
  findFirst: (s: any) => s.findFirstMs,
  findAgain: (s: any) => s.findAgainMs,
  ready: (s: any) => spawnMedian(s, "readyMs"),
  firstCall: (s: any) => spawnMedian(s, "firstCallMs"),
  uss: (s: any) => s.memory?.ussMb,
  tasksPerS: (s: any) => s.tasksPerS,
  poolRestart: (s: any) => s.restartMs,
  mapTasksPerS: (s: any) => s.mapTasksPerS,
  cancelFree: (s: any) => s.cancelFreeMs,
  cancelReplaced: (s: any) => s.cancelReplacedMs,
  restart: (s: any) => (Array.isArray(s.restartMs) && s.restartMs.length > 0 ? median(s.restartMs) : undefined),
  rss: (s: any) => s.memory?.rssMb,
  total: (s: any) => s.totalMs,
  start: (s: any) => s.startMs,
  tasks: (s: any) => s.tasksMs,
  wall: (s: any) => s.wallMs,
  idle: (s: any) => s.idle?.ms,
  busy: (s: any) => s.busy?.ms,
  rawIdle: (s: any) => s["raw-idle"]?.ms,
  cpuParent: (s: any) => s.cpu?.pipe?.parent,
  cpuChild: (s: any) => s.cpu?.pipe?.child,
  stream: (s: any) => s.stream?.itemsPerS,
  streamCold: (s: any) => s.streamCold?.itemsPerS,
  unbatched: (s: any) => s.unbatched?.itemsPerS,
  dialog: (s: any) => s.dialog?.itemsPerS,
  batches: (s: any) => s.stream?.batches,
  /** CPU per streamed item, in ns (the scenario reports µs) */
  streamCpuParentNs: (s: any) => s.stream?.cpu?.parent * 1000,
  streamCpuChildNs: (s: any) => s.stream?.cpu?.child * 1000,
  unbatchedCpuParentNs: (s: any) => s.unbatched?.cpu?.parent * 1000,
  unbatchedCpuChildNs: (s: any) => s.unbatched?.cpu?.child * 1000,
  dialogCpuParent: (s: any) => s.dialog?.cpu?.parent,
  dialogCpuChild: (s: any) => s.dialog?.cpu?.child
}

const round1 = (x: number | null, d = 1) => (x === null ? null : Number(x.toFixed(d)))

const figures = {
  call_rtt_p50_us: med("echo-ours", F.p50),
  raw_rtt_p50_us: med("echo-raw", F.p50),
  call_pipelined_per_s: med("echo-ours", F.pipe),
  traced_call_pipelined_per_s: med("echo-traced", F.pipe),
  traced_call_rtt_p50_us: med("echo-traced", F.p50),
  otel_call_pipelined_per_s: med("echo-otel", F.pipe),
  otel_call_rtt_p50_us: med("echo-otel", F.p50),
  cluster_direct_call_p50_us: med("cluster", (s) => s["direct"]?.p50us),
  cluster_plain_entity_call_p50_us: med("cluster", (s) => s["plain"]?.p50us),
  cluster_bridge_entity_call_p50_us: med("cluster", (s) => s["bridge"]?.p50us),
  raw_pipelined_per_s: med("echo-raw", F.pipe),
  uds_rtt_p50_us: med("echo-uds", F.p50),
  uds_pipelined_per_s: med("echo-uds", F.pipe),
  registry_find_ms: med("echo-uds", F.find),
  tcp_tls_rtt_p50_us: med("echo-tcp", F.p50),
  tcp_tls_pipelined_per_s: med("echo-tcp", F.pipe),
  piscina_pipelined_per_s: med("echo-piscina", F.pipe),
  spawn_ready_ms: med("spawn-ours", F.ready),
  restart_ms: med("spawn-ours", F.restart),
  thread_spawn_ready_ms: med("spawn-thread", F.ready),
  thread_idle_mb: med("spawn-thread", F.uss),
  pool_tiny_tasks_per_s: med("pool-tasks-ours", F.tasksPerS),
  pool_tiny_tasks_per_worker_32_per_s: med("pool-tasks-ours-32", F.tasksPerS),
  pool_map_tiny_tasks_per_s: med("pool-tasks-ours", F.mapTasksPerS),
  thread_pool_map_tiny_tasks_per_s: med("pool-tasks-thread", F.mapTasksPerS),
  piscina_tiny_tasks_per_s: med("pool-tasks-piscina", F.tasksPerS),
  tinypool_tiny_tasks_per_s: med("pool-tasks-tinypool", F.tasksPerS),
  workerpool_tiny_tasks_per_s: med("pool-tasks-workerpool", F.tasksPerS),
  thread_pool_tiny_tasks_per_s: med("pool-tasks-thread", F.tasksPerS),
  thread_pool_tiny_tasks_per_worker_32_per_s: med("pool-tasks-thread-32", F.tasksPerS),
  /** the primes job on 1 worker against 2 (read with the run's measured parallelism) */
  pool_cpu_speedup: ratio(med("pool-one-ours", F.tasks), med("pool-ours", F.tasks)),
  pool_restart_ms: med("pool-tasks-ours", F.poolRestart),
  pool_cancel_free_ms: med("pool-tasks-ours", F.cancelFree),
  pool_cancel_replaced_ms: med("pool-tasks-ours", F.cancelReplaced),
  raw_spawn_ms: med("spawn-bare", F.ready),
  pool_primes_ms: med("pool-ours", F.total),
  raw_pool_primes_ms: med("pool-raw", F.total),
  python_pool_primes_ms: PYTHON === null ? null : med("pool-python", F.total),
  teardown_idle_ms: med("teardown-ours", F.idle),
  teardown_busy_ms: med("teardown-ours", F.busy),
  idle_uss_mb: med("spawn-ours", F.uss),
  raw_idle_uss_mb: med("spawn-same-imports", F.uss),
  stream_items_per_s: med("stream-ours", F.stream),
  raw_stream_items_per_s: med("stream-raw", F.stream),
  raw_stream_unbatched_items_per_s: med("stream-raw", F.unbatched),
  dialog_echo_per_s: med("stream-ours", F.dialog),
  raw_dialog_echo_per_s: med("stream-raw", F.dialog)
}
const ratios = {
  rtt_ratio: ratio(figures.call_rtt_p50_us, figures.raw_rtt_p50_us),
  pipelined_ratio_raw: ratio(figures.call_pipelined_per_s, figures.raw_pipelined_per_s),
  pipelined_ratio_piscina: ratio(figures.call_pipelined_per_s, figures.piscina_pipelined_per_s),
  uds_rtt_ratio_parent: ratio(figures.uds_rtt_p50_us, figures.call_rtt_p50_us),
  uds_pipelined_ratio_parent: ratio(figures.uds_pipelined_per_s, figures.call_pipelined_per_s),
  tcp_tls_rtt_ratio_parent: ratio(figures.tcp_tls_rtt_p50_us, figures.call_rtt_p50_us),
  tcp_tls_pipelined_ratio_parent: ratio(figures.tcp_tls_pipelined_per_s, figures.call_pipelined_per_s),
  spawn_ratio: ratio(figures.spawn_ready_ms, figures.raw_spawn_ms),
  pool_ratio: ratio(figures.pool_primes_ms, figures.raw_pool_primes_ms),
  pool_ratio_python: ratio(figures.pool_primes_ms, figures.python_pool_primes_ms),
  uss_ratio: ratio(figures.idle_uss_mb, figures.raw_idle_uss_mb),
  stream_ratio_raw: ratio(figures.stream_items_per_s, figures.raw_stream_items_per_s),
  dialog_ratio_raw: ratio(figures.dialog_echo_per_s, figures.raw_dialog_echo_per_s)
}
const extra = {
  call_rtt_p99_us: med("echo-ours", F.p99),
  registry_find_first_ms: med("echo-uds", F.findFirst),
  registry_find_again_ms: med("echo-uds", F.findAgain),
  raw_rtt_p99_us: med("echo-raw", F.p99),
  piscina_rtt_p50_us: med("echo-piscina", F.p50),
  call_cpu_parent_us: med("echo-ours", F.cpuParent),
  call_cpu_child_us: med("echo-ours", F.cpuChild),
  raw_cpu_parent_us: med("echo-raw", F.cpuParent),
  raw_cpu_child_us: med("echo-raw", F.cpuChild),
  spawn_first_call_ms: med("spawn-ours", F.firstCall),
  raw_spawn_same_imports_ms: med("spawn-same-imports", F.ready),
  spawn_ratio_same_imports: ratio(med("spawn-ours", F.ready), med("spawn-same-imports", F.ready)),
  pool_primes_start_ms: med("pool-ours", F.start),
  pool_primes_tasks_ms: med("pool-ours", F.tasks),
  raw_pool_primes_tasks_ms: med("pool-raw", F.tasks),
  pool_primes_wall_ms: med("pool-ours", F.wall),
  raw_pool_primes_wall_ms: med("pool-raw", F.wall),
  python_pool_primes_wall_ms: PYTHON === null ? null : med("pool-python", F.wall),
  pool_primes_correct: (samples["pool-ours"] ?? []).length === 0
    ? null
    : [...(samples["pool-ours"] ?? []), ...(samples["pool-raw"] ?? [])].every((s) => s["correct"] === true),
  raw_teardown_idle_ms: med("teardown-raw", F.rawIdle),
  teardown_idle_ratio_raw: ratio(med("teardown-ours", F.idle), med("teardown-raw", F.rawIdle)),
  teardown_busy_grace_ms: GRACE_MS,
  teardown_busy_ratio_ladder: ratio(med("teardown-ours", F.busy), GRACE_MS),
  idle_rss_mb: med("spawn-ours", F.rss),
  raw_idle_rss_mb: med("spawn-same-imports", F.rss),
  bare_node_idle_uss_mb: med("spawn-bare", F.uss),
  stream_items: samples["stream-ours"]?.length || samples["stream-raw"]?.length ? STREAM_ITEMS : null,
  stream_cold_items_per_s: med("stream-ours", F.streamCold),
  raw_stream_cold_items_per_s: med("stream-raw", F.streamCold),
  stream_cold_ratio_raw: ratio(med("stream-ours", F.streamCold), med("stream-raw", F.streamCold)),
  stream_batches: med("stream-ours", F.batches),
  raw_stream_batches: med("stream-raw", F.batches),
  stream_cpu_parent_ns: med("stream-ours", F.streamCpuParentNs),
  stream_cpu_child_ns: med("stream-ours", F.streamCpuChildNs),
  raw_stream_cpu_parent_ns: med("stream-raw", F.streamCpuParentNs),
  raw_stream_cpu_child_ns: med("stream-raw", F.streamCpuChildNs),
  raw_stream_unbatched_items: samples["stream-raw"]?.length ? STREAM_UNBATCHED : null,
  raw_stream_unbatched_cpu_parent_ns: med("stream-raw", F.unbatchedCpuParentNs),
  raw_stream_unbatched_cpu_child_ns: med("stream-raw", F.unbatchedCpuChildNs),
  stream_ratio_raw_unbatched: ratio(figures.stream_items_per_s, figures.raw_stream_unbatched_items_per_s),
  dialog_echoes: samples["stream-ours"]?.length || samples["stream-raw"]?.length ? DIALOG_ECHOES : null,
  dialog_cpu_parent_us: med("stream-ours", F.dialogCpuParent),
  dialog_cpu_child_us: med("stream-ours", F.dialogCpuChild),
  raw_dialog_cpu_parent_us: med("stream-raw", F.dialogCpuParent),
  raw_dialog_cpu_child_us: med("stream-raw", F.dialogCpuChild),
  stream_errors: [...(samples["stream-ours"] ?? []), ...(samples["stream-raw"] ?? [])].length === 0
    ? null
    : [...(samples["stream-ours"] ?? []), ...(samples["stream-raw"] ?? [])].reduce((a, s) => a + s["errors"], 0),
  paired_ratios: {
    rtt: paired("echo-ours", F.p50, "echo-raw", F.p50),
    pipelined_raw: paired("echo-ours", F.pipe, "echo-raw", F.pipe),
    pipelined_piscina: paired("echo-ours", F.pipe, "echo-piscina", F.pipe),
    uds_rtt_parent: paired("echo-uds", F.p50, "echo-ours", F.p50),
    uds_pipelined_parent: paired("echo-uds", F.pipe, "echo-ours", F.pipe),
    tcp_tls_rtt_parent: paired("echo-tcp", F.p50, "echo-ours", F.p50),
    tcp_tls_pipelined_parent: paired("echo-tcp", F.pipe, "echo-ours", F.pipe),
    spawn: paired("spawn-ours", F.ready, "spawn-bare", F.ready),
    pool: paired("pool-ours", F.total, "pool-raw", F.total),
    pool_python: PYTHON === null ? null : paired("pool-ours", F.total, "pool-python", F.total),
    uss: paired("spawn-ours", F.uss, "spawn-same-imports", F.uss),
    stream_raw: paired("stream-ours", F.stream, "stream-raw", F.stream),
    stream_cold_raw: paired("stream-ours", F.streamCold, "stream-raw", F.streamCold),
    dialog_raw: paired("stream-ours", F.dialog, "stream-raw", F.dialog)
  }
}

const output = {
  ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, round1(v, k.endsWith("_mb") ? 2 : 1)])),
  ...Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round1(v, 3)])),
  ...Object.fromEntries(
    Object.entries(extra).map(([k, v]) => [
      k,
      typeof v === "number"
        ? round1(v, k.includes("ratio") ? 3 : k.endsWith("_mb") ? 2 : 1)
        : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k2, v2]) => [k2, round1(v2, 3)]))
        : v
    ])
  ),
  meta: {
    rounds: ROUNDS,
    quick: QUICK,
    runs_per_figure: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length])),
    pool_size: POOL_SIZE,
    python: PYTHON,
    python_start_method: samples["pool-python"]?.[0]?.["startMethod"] ?? null,
    node: process.version,
    parallelism: (() => {
      const s = summary(parallelism)
      return { median: round1(s.median, 2), min: round1(s.min, 2), max: round1(s.max, 2) }
    })(),
    leaked_processes: leaks.length,
    failed_runs: failures.length,
    suite_seconds: round1(suiteSeconds, 1)
  }
}

Fs.mkdirSync(outDir, { recursive: true })
const rawFile = Path.join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`)
Fs.writeFileSync(rawFile, JSON.stringify({ output, samples, parallelism, leaks, failures }, null, 1))

// ---------------------------------------------------------------------------
// printing
// ---------------------------------------------------------------------------

if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`)
} else {
  const fmt = (s: Summary, d: number) =>
    Number.isFinite(s.median) ? `${s.median.toFixed(d)} [${s.min.toFixed(d)}–${s.max.toFixed(d)}]` : "n/a"
  const fr = (r: number | null, d = 2) => (r === null ? "n/a" : `${r.toFixed(d)}×`)
  const fmtCount = (n: number) => n.toLocaleString("en-US")
  type Row = readonly [string, string, string, string, string]
  const rows: Array<Row> = [
    [
      "portal call RTT p50, warm actor, {id,n} (µs)",
      fmt(col("echo-ours", F.p50), 0),
      `raw fork IPC json ${fmt(col("echo-raw", F.p50), 0)}`,
      fr(ratios.rtt_ratio),
      "≤ 2×"
    ],
    [
      "  RTT p99 (µs), for reference",
      fmt(col("echo-ours", F.p99), 0),
      `raw ${fmt(col("echo-raw", F.p99), 0)}`,
      fr(ratio(extra.call_rtt_p99_us, extra.raw_rtt_p99_us)),
      "–"
    ],
    [
      "pipelined, 100 in flight (calls/s)",
      fmt(col("echo-ours", F.pipe), 0),
      `raw fork IPC json ${fmt(col("echo-raw", F.pipe), 0)}`,
      fr(ratios.pipelined_ratio_raw),
      "≥ 0.5×"
    ],
    [
      "pipelined, 100 in flight (calls/s)",
      fmt(col("echo-ours", F.pipe), 0),
      `piscina 1 thread ${fmt(col("echo-piscina", F.pipe), 0)}`,
      fr(ratios.pipelined_ratio_piscina),
      "≥ 1× (beats the pools)"
    ],
    [
      "pipelined, every call in a span (calls/s)",
      fmt(col("echo-traced", F.pipe), 0),
      `the same without spans ${fmt(col("echo-ours", F.pipe), 0)}`,
      fr(ratio(figures.traced_call_pipelined_per_s, figures.call_pipelined_per_s)),
      "–"
    ],
    [
      "pipelined, every call in an OpenTelemetry span (calls/s)",
      fmt(col("echo-otel", F.pipe), 0),
      `the same without spans ${fmt(col("echo-ours", F.pipe), 0)}`,
      fr(ratio(figures.otel_call_pipelined_per_s, figures.call_pipelined_per_s)),
      "–"
    ],
    [
      "entity call p50 through the cluster bridge, one runner in process (µs)",
      fmt(col("cluster", (s) => s["bridge"]?.p50us), 0),
      `plain entity ${fmt(col("cluster", (s) => s["plain"]?.p50us), 0)}, direct portal ${fmt(col("cluster", (s) => s["direct"]?.p50us), 0)}`,
      fr(ratio(figures.cluster_bridge_entity_call_p50_us, figures.cluster_plain_entity_call_p50_us)),
      "–"
    ],
    [
      "peer call RTT p50 over a Unix socket (µs)",
      fmt(col("echo-uds", F.p50), 0),
      `parent link ${fmt(col("echo-ours", F.p50), 0)}`,
      fr(ratios.uds_rtt_ratio_parent),
      "≤ 1.2×"
    ],
    [
      "peer pipelined over a Unix socket (calls/s)",
      fmt(col("echo-uds", F.pipe), 0),
      `parent link ${fmt(col("echo-ours", F.pipe), 0)}`,
      fr(ratios.uds_pipelined_ratio_parent),
      "≥ 0.9×"
    ],
    [
      "peer call RTT p50 over TCP + TLS 1.3 PSK, loopback (µs)",
      fmt(col("echo-tcp", F.p50), 0),
      `parent link ${fmt(col("echo-ours", F.p50), 0)}`,
      fr(ratios.tcp_tls_rtt_ratio_parent),
      "–"
    ],
    [
      "peer pipelined over TCP + TLS 1.3 PSK, loopback (calls/s)",
      fmt(col("echo-tcp", F.pipe), 0),
      `parent link ${fmt(col("echo-ours", F.pipe), 0)}`,
      fr(ratios.tcp_tls_pipelined_ratio_parent),
      "≥ 0.5×"
    ],
    [
      "Registry.findActor, one host, incl. a new connection, p50 (ms)",
      fmt(col("echo-uds", F.find), 2),
      `first ever ${fmt(col("echo-uds", F.findFirst), 2)}, shared ${fmt(col("echo-uds", F.findAgain), 3)}`,
      "–",
      "≤ 2 ms"
    ],
    [
      "  CPU per pipelined call, caller + actor (µs)",
      `${fmt(col("echo-ours", F.cpuParent), 1)} + ${fmt(col("echo-ours", F.cpuChild), 1)}`,
      `raw ${fmt(col("echo-raw", F.cpuParent), 1)} + ${fmt(col("echo-raw", F.cpuChild), 1)}`,
      fr(ratio(
        (extra.call_cpu_parent_us ?? NaN) + (extra.call_cpu_child_us ?? NaN),
        (extra.raw_cpu_parent_us ?? NaN) + (extra.raw_cpu_child_us ?? NaN)
      )),
      "–"
    ],
    [
      "spawn → ready, TS actor importing effect (ms)",
      fmt(col("spawn-ours", F.ready), 0),
      `bare node fork ${fmt(col("spawn-bare", F.ready), 0)}`,
      fr(ratios.spawn_ratio),
      "≤ 2× bare fork + imports"
    ],
    [
      "  spawn → ready vs a bare child loading the same code",
      fmt(col("spawn-ours", F.ready), 0),
      `same imports ${fmt(col("spawn-same-imports", F.ready), 0)}`,
      fr(extra.spawn_ratio_same_imports),
      "≤ 2×"
    ],
    [
      "pool of 2, 100k tiny tasks, 100 in flight, 1 per worker (tasks/s)",
      fmt(col("pool-tasks-ours", F.tasksPerS), 0),
      `piscina 2 threads ${fmt(col("pool-tasks-piscina", F.tasksPerS), 0)}`,
      fr(ratio(figures.pool_tiny_tasks_per_s, figures.piscina_tiny_tasks_per_s)),
      "–"
    ],
    [
      "  the same, concurrencyPerWorker 32 (tasks/s)",
      fmt(col("pool-tasks-ours-32", F.tasksPerS), 0),
      `tinypool 2 threads ${fmt(col("pool-tasks-tinypool", F.tasksPerS), 0)}`,
      fr(ratio(figures.pool_tiny_tasks_per_worker_32_per_s, figures.tinypool_tiny_tasks_per_s)),
      "≥ 1×"
    ],
    [
      "  the same, concurrencyPerWorker 32 (tasks/s)",
      fmt(col("pool-tasks-ours-32", F.tasksPerS), 0),
      `workerpool 2 threads ${fmt(col("pool-tasks-workerpool", F.tasksPerS), 0)}`,
      fr(ratio(figures.pool_tiny_tasks_per_worker_32_per_s, figures.workerpool_tiny_tasks_per_s)),
      "≥ 1×"
    ],
    [
      "  thread workers, 1 per worker (tasks/s)",
      fmt(col("pool-tasks-thread", F.tasksPerS), 0),
      `piscina 2 threads ${fmt(col("pool-tasks-piscina", F.tasksPerS), 0)}`,
      fr(ratio(figures.thread_pool_tiny_tasks_per_s, figures.piscina_tiny_tasks_per_s)),
      "≥ 2×"
    ],
    [
      "  thread workers, 32 per worker (tasks/s)",
      fmt(col("pool-tasks-thread-32", F.tasksPerS), 0),
      `piscina 2 threads ${fmt(col("pool-tasks-piscina", F.tasksPerS), 0)}`,
      fr(ratio(figures.thread_pool_tiny_tasks_per_worker_32_per_s, figures.piscina_tiny_tasks_per_s)),
      "≥ 2×"
    ],
    [
      "primes job, 6 tasks: 1 worker against 2 (speedup)",
      fmt(col("pool-one-ours", F.tasks), 0),
      `2 workers ${fmt(col("pool-ours", F.tasks), 0)}`,
      fr(figures.pool_cpu_speedup),
      "≈ the run's parallelism"
    ],
    [
      "pool: a worker SIGKILLed → the pool serving at full size (ms)",
      fmt(col("pool-tasks-ours", F.poolRestart), 0),
      `spawn → ready ${fmt(col("spawn-ours", F.ready), 0)}`,
      fr(ratio(figures.pool_restart_ms, figures.spawn_ready_ms)),
      "≤ spawn + 20 ms"
    ],
    [
      "pool, onInterrupt kill: a stuck call's timeout → the pool serving 2 calls (ms)",
      fmt(col("pool-tasks-ours", F.cancelFree), 0),
      `the call's timeout + ack timeout ${50 + 500}`,
      fr(ratio(figures.pool_cancel_free_ms, 50 + 500)),
      "–"
    ],
    [
      "  → the stuck worker killed and replaced (ms)",
      fmt(col("pool-tasks-ours", F.cancelReplaced), 0),
      `timeout + ack + killGrace ${50 + 500 + 100} + spawn`,
      fr(ratio(figures.pool_cancel_replaced_ms, 50 + 500 + 100)),
      "–"
    ],
    [
      "spawn → ready, thread actor (ms)",
      fmt(col("spawn-thread", F.ready), 0),
      `process actor ${fmt(col("spawn-ours", F.ready), 0)}`,
      fr(ratio(figures.thread_spawn_ready_ms, figures.spawn_ready_ms)),
      "≤ 0.6×"
    ],
    [
      "idle thread actor: growth of its process's USS (MB)",
      fmt(col("spawn-thread", F.uss), 1),
      `process actor USS ${fmt(col("spawn-ours", F.uss), 1)}`,
      fr(ratio(figures.thread_idle_mb, med("spawn-ours", F.uss))),
      "≤ 0.5×"
    ],
    [
      "supervised restart: SIGKILL → a call answered by the new incarnation (ms)",
      fmt(col("spawn-ours", F.restart), 0),
      `spawn → ready ${fmt(col("spawn-ours", F.ready), 0)}`,
      fr(ratio(figures.restart_ms, figures.spawn_ready_ms)),
      "≤ spawn + 20 ms"
    ],
    [
      `workerPool(${POOL_SIZE}) primes: start + 6 tasks + close (ms)`,
      fmt(col("pool-ours", F.total), 0),
      `raw fork pool(${POOL_SIZE}) ${fmt(col("pool-raw", F.total), 0)}`,
      fr(ratios.pool_ratio),
      "≤ 1.3×"
    ],
    [
      `workerPool(${POOL_SIZE}) primes: start + 6 tasks + close (ms)`,
      fmt(col("pool-ours", F.total), 0),
      PYTHON === null ? "python3: not found" : `ProcessPoolExecutor(${POOL_SIZE}) ${fmt(col("pool-python", F.total), 0)}`,
      fr(ratios.pool_ratio_python),
      "< 1×"
    ],
    [
      "  primes, whole script wall incl. node/tsx boot (ms)",
      fmt(col("pool-ours", F.wall), 0),
      `raw ${fmt(col("pool-raw", F.wall), 0)}${
        PYTHON === null ? "" : `, python ${fmt(col("pool-python", F.wall), 0)}`
      }`,
      fr(ratio(extra.pool_primes_wall_ms, extra.raw_pool_primes_wall_ms)),
      "–"
    ],
    [
      "teardown, 4 idle actors, scope close → all gone (ms)",
      fmt(col("teardown-ours", F.idle), 1),
      `raw fork ×4 IPC stop ${fmt(col("teardown-raw", F.rawIdle), 1)}`,
      fr(extra.teardown_idle_ratio_raw),
      "≤ 50 ms"
    ],
    [
      "teardown, 4 actors stuck in sync code (ms)",
      fmt(col("teardown-ours", F.busy), 0),
      `grace period ${GRACE_MS}`,
      fr(extra.teardown_busy_ratio_ladder),
      "≤ grace + 50 ms (never acknowledged: SIGKILL)"
    ],
    [
      "idle actor private memory, USS (MB)",
      fmt(col("spawn-ours", F.uss), 1),
      `bare node, same imports ${fmt(col("spawn-same-imports", F.uss), 1)}`,
      fr(ratios.uss_ratio),
      "– (no bar yet)"
    ],
    [
      `server stream, ${fmtCount(STREAM_ITEMS)} small numbers, default window, warm (items/s)`,
      fmt(col("stream-ours", F.stream), 0),
      `raw fork IPC json, 512/send, acked ${fmt(col("stream-raw", F.stream), 0)}`,
      fr(ratios.stream_ratio_raw),
      "≥ 0.5×"
    ],
    [
      "  the first stream on a fresh worker (items/s)",
      fmt(col("stream-ours", F.streamCold), 0),
      `raw ${fmt(col("stream-raw", F.streamCold), 0)}`,
      fr(extra.stream_cold_ratio_raw),
      "–"
    ],
    [
      "  vs raw, one number per send, no flow control (items/s)",
      fmt(col("stream-ours", F.stream), 0),
      `raw unbatched, ${fmtCount(STREAM_UNBATCHED)} ${fmt(col("stream-raw", F.unbatched), 0)}`,
      fr(extra.stream_ratio_raw_unbatched),
      "–"
    ],
    [
      "  CPU per streamed item, caller + actor (ns)",
      `${fmt(col("stream-ours", F.streamCpuParentNs), 0)} + ${fmt(col("stream-ours", F.streamCpuChildNs), 0)}`,
      `raw ${fmt(col("stream-raw", F.streamCpuParentNs), 0)} + ${fmt(col("stream-raw", F.streamCpuChildNs), 0)}`,
      fr(ratio(
        (extra.stream_cpu_parent_ns ?? NaN) + (extra.stream_cpu_child_ns ?? NaN),
        (extra.raw_stream_cpu_parent_ns ?? NaN) + (extra.raw_stream_cpu_child_ns ?? NaN)
      )),
      "–"
    ],
    [
      `dialog echo, ${fmtCount(DIALOG_ECHOES)} numbers sent while receiving (echoes/s)`,
      fmt(col("stream-ours", F.dialog), 0),
      `raw fork IPC json, 100 in flight ${fmt(col("stream-raw", F.dialog), 0)}`,
      fr(ratios.dialog_ratio_raw),
      "–"
    ],
    [
      "  CPU per dialog echo, caller + actor (µs)",
      `${fmt(col("stream-ours", F.dialogCpuParent), 1)} + ${fmt(col("stream-ours", F.dialogCpuChild), 1)}`,
      `raw ${fmt(col("stream-raw", F.dialogCpuParent), 1)} + ${fmt(col("stream-raw", F.dialogCpuChild), 1)}`,
      fr(ratio(
        (extra.dialog_cpu_parent_us ?? NaN) + (extra.dialog_cpu_child_us ?? NaN),
        (extra.raw_dialog_cpu_parent_us ?? NaN) + (extra.raw_dialog_cpu_child_us ?? NaN)
      )),
      "–"
    ]
  ]
  const header: Row = ["figure", "ours: median [min–max]", "baseline: median [min–max]", "ratio", "target"]
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)))
  const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  const p = (s: string) => process.stdout.write(`${s}\n`)
  p("")
  p(
    `effect-tractor bench: ${ROUNDS} rounds (fresh process per scenario, rotating order), medians of per-run values; ` +
      `node ${process.version}`
  )
  p(
    `effective parallelism of the machine at round starts: ${output.meta.parallelism.median} ` +
      `[${output.meta.parallelism.min}–${output.meta.parallelism.max}] (2.0 = two free cores)`
  )
  p("")
  p(line(header))
  p(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
  for (const r of rows) p(line(r))
  p("")
  p(
    `spawn → reply to a first call: ${
      fmt(col("spawn-ours", F.firstCall), 0)
    } ms; idle USS of a bare node child: ${fmt(col("spawn-bare", F.uss), 1)} MB; ` +
      `primes output correct: ${extra.pool_primes_correct === null ? "n/a" : extra.pool_primes_correct ? "yes" : "NO"}; ` +
      `streamed and echoed numbers complete and in order: ${
        extra.stream_errors === null ? "n/a" : extra.stream_errors === 0 ? "yes" : `NO (${extra.stream_errors} bad passes)`
      }`
  )
  p(
    `suite: ${suiteSeconds.toFixed(0)} s; failed runs: ${failures.length}; processes left behind (killed by the sweep): ${leaks.length}`
  )
  p(`raw samples: ${Path.relative(repoRoot, rawFile)}`)
}
