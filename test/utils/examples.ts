/**
 * Runs an example as a subprocess, the way a reader would (`node --import tsx <file>`), watching
 * its process tree while it runs.
 */
import * as Url from "node:url"
import * as Command from "@effect/platform/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { descendants, isActorTitle, isAlive, titleOf, waitGone } from "./processes.ts"

const root = Url.fileURLToPath(new URL("../..", import.meta.url))

export interface Run {
  readonly pid: number
  readonly exitCode: number
  readonly lines: ReadonlyArray<string>
  readonly stderr: string
  /** every process seen in the example's tree while it ran (itself excluded) */
  readonly tree: ReadonlyArray<number>
  /** the processes of the tree seen with an actor's title (`name@pid`), not helpers such as esbuild */
  readonly actors: ReadonlyArray<number>
}


const text = <E>(stream: Stream.Stream<Uint8Array, E>) => stream.pipe(Stream.decodeText(), Stream.mkString)

/**
 * Runs an example and samples its process tree every 20 ms while it runs, plus once after it
 * exits (actors are still found then: their spec names the example as their parent).
 */
export const runExample = (file: string, ...args: ReadonlyArray<string>): Effect.Effect<Run> =>
  runProgram(file, { args })

/** `runExample` with arguments and extra environment variables (which the program's actors inherit) */
export const runProgram = (
  file: string,
  options: { readonly args?: ReadonlyArray<string>; readonly env?: Record<string, string> }
): Effect.Effect<Run> =>
  Effect.gen(function*() {
    const proc = yield* Command.make(process.execPath, "--import", "tsx", file, ...(options.args ?? [])).pipe(
      Command.workingDirectory(root),
      Command.env(options.env ?? {}),
      Command.start
    )
    const tree = new Set<number>()
    const actors = new Set<number>()
    const sample = Effect.sync(() =>
      descendants(proc.pid).forEach((pid) => {
        tree.add(pid)
        if (isActorTitle(titleOf(pid))) actors.add(pid)
      })
    )
    yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced("20 millis")))
    const [stdout, stderr, exitCode] = yield* Effect.all([text(proc.stdout), text(proc.stderr), proc.exitCode], {
      concurrency: "unbounded"
    })
    yield* sample
    return { pid: proc.pid, exitCode, lines: stdout.trimEnd().split("\n"), stderr, tree: [...tree], actors: [...actors] }
  }).pipe(Effect.scoped, Effect.provide(NodeContext.layer), Effect.orDie)

/** Fails unless the pids are gone; `graceMs` only for helpers (esbuild) that exit on their own. */
export const assertGone = (pids: ReadonlyArray<number>, graceMs = 0) =>
  Effect.map(waitGone(pids, graceMs), (alive) => assert.deepStrictEqual(alive, [], `processes left alive: ${alive}`))

export const assertClean = (run: Run) =>
  Effect.gen(function*() {
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.isFalse(isAlive(run.pid))
    yield* assertGone(run.tree, 1000)
  })

