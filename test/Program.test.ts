import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { runProgram } from "./utils/examples.ts"
import { checkOrphansAfterEach, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

const runRoot = (file: string, env: Record<string, string> = {}) =>
  Effect.map(runProgram(`test/fixtures/${file}`, { env }), (run) => ({
    code: run.exitCode,
    stdout: run.lines.join("\n"),
    stderr: run.stderr,
    actors: run.actors
  }))

describe("Program", () => {
  it.live("a one-file program under runMain: its actors serve the module and never run its main", () =>
    Effect.gen(function*() {
      const run = yield* runRoot("onefile.ts", { ONEFILE_MODE: "guarded" })
      assert.strictEqual(run.code, 0, run.stderr)
      const out = JSON.parse(run.stdout.trim())
      assert.deepStrictEqual(out.results.map((r: { value: number }) => r.value), [4, 9])
      // two actors, plus esbuild on a cold cache: nobody spawned again
      const actors = out.results.map((r: { pid: number }) => r.pid)
      assert.sameMembers([...run.actors], actors)
      assert.notInclude(run.stderr, "cannot spawn")
    }))

  it.live("a one-file program without runMain: the actor's copy of the main is refused its spawn, nothing recurses", () =>
    Effect.gen(function*() {
      const run = yield* runRoot("onefile.ts", { ONEFILE_MODE: "unguarded" })
      // the root itself completes: its actors served it
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(JSON.parse(run.stdout.trim()).results.map((r: { value: number }) => r.value), [4, 9])
      // each actor's copy of the main program failed its first spawn with a message that says why
      assert.match(run.stderr, /sq_a@\d+: (\(FiberFailure\) )?SpawnError: cannot spawn "sq_a" in actor sq_a@\d+: the spawn comes from the top level/)
      assert.include(run.stderr, "ActorRuntime.runMain(program)")
      assert.strictEqual(run.actors.length, 2, `actors seen: ${run.actors}`)
    }))

  it.live("a program that ends with a nursery still open warns, naming it, and tears its actor down", () =>
    Effect.gen(function*() {
      const start = Date.now()
      const run = yield* runRoot("leaky.ts")
      assert.strictEqual(run.code, 0, run.stderr)
      const [pid, done] = run.stdout.trim().split("\n")
      assert.strictEqual(done, "main done")
      assert.isFalse(isAlive(Number(pid)))
      assert.match(run.stdout + run.stderr, /still open: its scope was never closed/)
      assert.match(run.stdout + run.stderr, /actors leaky@\d+/)
      // no hang: the idle actor did not hold the event loop, the ladder's first step ended it
      assert.isBelow(Date.now() - start, 15_000)
    }))
})
