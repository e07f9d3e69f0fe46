/**
 * Runs every example as a subprocess, the way a reader would (`node --import tsx <file>`), and
 * checks its output, its exit code, and that no process of its tree outlives it.
 */
import * as Os from "node:os"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { assertClean, assertGone, runExample, runProgram } from "./utils/examples.ts"
import { checkOrphansAfterEach, tempDir } from "./utils/index.ts"
import { postgres, postgresMissing } from "./utils/postgres.ts"

checkOrphansAfterEach()

const PRIMES = [
  ["112272535095293", "True"],
  ["112582705942171", "True"],
  ["112272535095293", "True"],
  ["115280095190773", "True"],
  ["115797848077099", "True"],
  ["1099726899285419", "False"]
] as const
const primeLines = PRIMES.map(([n, prime]) => `${n} is prime: ${prime}`)
const seconds = (what: string) => new RegExp(`^${what} took \\d+(\\.\\d+)?(e-\\d+)? seconds$`)

describe("examples/parallelism", () => {
  it.live("concurrent_actors_primes (one file) prints its workers, every result as it completes with its worker, then the timings", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/parallelism/concurrent_actors_primes.ts")
      yield* assertClean(run)
      assert.strictEqual(run.lines.length, 9, run.lines.join("\n"))
      const workers = /^root@(\d+) started 4 workers: (.*)$/.exec(run.lines[0]!)
      assert.isNotNull(workers, run.lines[0])
      assert.strictEqual(Number(workers![1]), run.pid)
      const names = workers![2]!.split(", ")
      assert.deepStrictEqual(names.map((n) => n.split("@")[0]), ["worker_0", "worker_1", "worker_2", "worker_3"])
      // completion order: the same lines as the docs, in any order, each found by one of the workers
      const results = run.lines.slice(1, 7).map((line) => /^(.*) \((worker_\d@\d+)\)$/.exec(line)!)
      assert.deepStrictEqual(results.map((m) => m[1]).sort(), [...primeLines].sort())
      for (const m of results) assert.include(names, m[2])
      assert.match(run.lines[7]!, seconds("processing"))
      assert.match(run.lines[8]!, seconds("script"))
      // the pool had its 4 workers and no worker ran the main program (which would have started 4
      // more); helpers such as esbuild on a cold cache are in the tree too, but carry no actor title
      assert.strictEqual(run.actors.length, 4, `actors seen: ${run.actors}`)
      assert.isAtLeast(run.tree.length, 4)
    }))

  it.live("concurrent_actors_primes takes the number of workers from argv", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/parallelism/concurrent_actors_primes.ts", "1")
      yield* assertClean(run)
      assert.match(run.lines[0]!, /started 1 workers: worker_0@\d+$/)
      assert.deepStrictEqual(run.lines.slice(1, 7).map((l) => l.replace(/ \(worker_0@\d+\)$/, "")).sort(), [...primeLines].sort())
      const usage = yield* runExample("examples/parallelism/concurrent_actors_primes.ts", "zero")
      assert.strictEqual(usage.exitCode, 2)
      assert.match(usage.stderr, /usage: /)
    }))

  it.live("concurrent_futures_primes (the baseline) prints the same results in input order", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/parallelism/concurrent_futures_primes.ts", "2")
      yield* assertClean(run)
      assert.deepStrictEqual(run.lines.slice(0, 6), primeLines)
      assert.match(run.lines[6]!, seconds("processing"))
      assert.match(run.lines[7]!, seconds("script"))
      assert.strictEqual(run.lines.length, 8)
      assert.isAtLeast(run.tree.length, 2)
    }))

  it.live("single_func collects the pid of the child it ran in, and the child is gone", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/parallelism/single_func.ts")
      yield* assertClean(run)
      assert.strictEqual(run.lines.length, 1, run.lines.join("\n"))
      const pid = Number(/^Collected subproc (\d+)$/.exec(run.lines[0]!)?.[1])
      assert.isTrue(Number.isInteger(pid), run.lines[0])
      assert.notStrictEqual(pid, run.pid)
      assert.include(run.tree, pid)
      yield* assertGone([pid])
    }))

  it.live("we_are_processes: one actor per core, all reaped when the root self-destructs", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/parallelism/we_are_processes.ts")
      yield* assertClean(run)
      const cores = Math.max(2, Os.availableParallelism())
      const pids = run.lines.slice(0, cores).map((line, i) => {
        const match = /^Yo, i'm 'worker_(\d+)' running in pid (\d+)$/.exec(line)
        assert.isNotNull(match, line)
        assert.strictEqual(Number(match![1]), i)
        return Number(match![2])
      })
      assert.strictEqual(new Set(pids).size, cores)
      for (const pid of pids) assert.include(run.tree, pid)
      assert.deepStrictEqual(run.lines.slice(cores), [
        "This process tree will self-destruct in 1 sec...",
        "Zombies Contained"
      ])
      yield* assertGone(pids)
    }))
})

describe("examples/service_discovery", () => {
  it.live("clients find the daemon by name, one stores and the other reads it back; the registry holds all of them", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/service_discovery.ts")
      yield* assertClean(run)
      assert.strictEqual(run.lines.length, 3, run.lines.join("\n"))
      const stored = /^client_a@(\d+) stored "hello from a" in kv@(\d+)$/.exec(run.lines[0]!)
      const read = /^client_b@(\d+) read "hello from a" from kv@(\d+)$/.exec(run.lines[1]!)
      assert.isNotNull(stored, run.lines[0])
      assert.isNotNull(read, run.lines[1])
      // both found the same daemon, an actor of this program's tree
      assert.strictEqual(stored![2], read![2])
      const listed = /^the registry holds: (.*)$/.exec(run.lines[2]!)
      assert.deepStrictEqual(listed![1]!.split(", ").map((e) => e.split("@")[0]), ["client_a", "client_b", "kv", "root"])
      // the registry of this program's root holds the very daemon the clients found (sampling the
      // process tree for it missed the short-lived daemon twice under load: the list is exact)
      assert.include(listed![1]!.split(", "), `kv@${stored![2]}`)
      assert.include(listed![1]!, `root@${run.pid}`)
    }))
})

describe("examples/supervision", () => {
  const quotes = (author: string) => [
    `Let it crash. (${author})`,
    `Supervisors restart what fails. (${author})`,
    `Errors are messages too. (${author})`
  ]

  it.live("tree: quotes crashes on every fourth call and is restarted while its caller keeps working; counter keeps its process", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/supervision/tree.ts")
      yield* assertClean(run)
      const expected = Array.from({ length: 10 }, (_, i) => `${i + 1}. ${quotes("Erlang")[i % 3]}`)
      for (const incarnation of [2, 3, 4]) {
        expected.push("quotes crashed (it exited with code 1): restarting", `quotes is back (incarnation ${incarnation})`)
      }
      expected.push("counter kept its process: true")
      assert.deepStrictEqual(run.lines, expected)
      // actors of its tree ran (the process sampling may miss an incarnation that lived a few ms)
      assert.isAtLeast(run.actors.length, 2, `actors seen: ${run.actors.join(", ")}`)
    }))

  it.live("layers: an app service on a supervised actor's client, whose handlers use their own layer's service", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/supervision/layers.ts")
      yield* assertClean(run)
      assert.deepStrictEqual(run.lines, [...quotes("Joe Armstrong"), ...quotes("Joe Armstrong")])
    }))
})

describe("examples/cluster", () => {
  const check = (lines: ReadonlyArray<string>, runners: ReadonlyArray<string>) => {
    const ours = lines.filter((l) => /^(runner_\d|Jobs )/.test(l))
    assert.deepStrictEqual(ours.filter((l) => l.startsWith("runner_")).map((l) => l.split(" ")[0]), runners)
    const jobs = ours.filter((l) => l.startsWith("Jobs ") && !l.includes("again"))
    assert.strictEqual(jobs.length, 6)
    for (const line of jobs) assert.match(line, /^Jobs [a-f]: 2262 primes below 20000, in runner_\d$/)
    assert.deepStrictEqual(new Set(jobs.map((l) => l.split(" in ")[1])).size <= runners.length, true)
    assert.include(ours, "Jobs a again: 168 primes below 1000, job 2 of the same actor: true")
  }

  it.live("on SQLite: one runner actor hosts six entities, each with its actor; all reaped", () =>
    Effect.gen(function*() {
      const run = yield* runProgram("examples/cluster/main.ts", { env: { CLUSTER_DB: Path.join(tempDir("effect-tractor-cluster-"), "c.db") } })
      yield* assertClean(run)
      check(run.lines, ["runner_0"])
      assert.isAtLeast(run.tree.length, 7, "the runner and the entities' actors")
    }), 60_000)

  it.live.skipIf(postgresMissing() !== undefined)("on Postgres: two runner actors share the entities", () =>
    Effect.gen(function*() {
      const url = yield* postgres
      const run = yield* runProgram("examples/cluster/main.ts", { env: { CLUSTER_PG_URL: url } })
      yield* assertClean(run)
      check(run.lines, ["runner_0", "runner_1"])
    }).pipe(Effect.scoped), 60_000)
})
