/**
 * The README's programs, exactly as written there: written into a project folder, type checked
 * as a user's project would be (NodeNext, strict), run with `tsx`, and their output compared with
 * the output the README shows.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
// @ts-expect-error a plain JavaScript helper, shared with the consumer test
import { outputProblem, readmeBlocks, userTsconfig } from "../scripts/readme-blocks.mjs"
import { checkOrphansAfterEach } from "./utils/index.ts"

checkOrphansAfterEach()

const repo = Url.fileURLToPath(new URL("..", import.meta.url))
const { files, outputs } = readmeBlocks() as {
  files: Array<{ name: string; code: string }>
  outputs: Array<{ name: string; lines: Array<string>; unordered: number }>
}
let project = ""

beforeAll(() => {
  // inside the repository (build/ is ignored by git): `effect-tractor/*` resolves to this package
  Fs.mkdirSync(Path.join(repo, "build"), { recursive: true })
  project = Fs.mkdtempSync(Path.join(repo, "build", "readme-"))
  for (const file of files) Fs.writeFileSync(Path.join(project, file.name), file.code)
  Fs.writeFileSync(Path.join(project, "tsconfig.json"), JSON.stringify(userTsconfig))
})

afterAll(() => Fs.rmSync(project, { recursive: true, force: true }))

const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.sync(() => ChildProcess.spawnSync(command, args, { cwd: project, encoding: "utf8", timeout: 60_000 }))

describe("README", () => {
  it("has its programs marked, each with the output it prints", () => {
    assert.includeMembers(files.map((f) => f.name), ["primes.ts", "main.ts", "pool.ts", "layer.ts", "onefile.ts", "feed.ts", "find.ts", "supervise.ts", "greeter.ts", "greet.ts", "telemetry.ts", "checker.ts", "observe.ts"])
    for (const output of outputs) assert.include(files.map((f) => f.name), output.name)
  })

  it.live("its programs type check as a user's strict NodeNext project", () =>
    Effect.gen(function*() {
      const tsc = yield* run(process.execPath, [Path.join(repo, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."])
      assert.strictEqual(tsc.status, 0, tsc.stdout + tsc.stderr)
    }))

  for (const output of outputs) {
    it.live(`${output.name} prints what the README says`, () =>
      Effect.gen(function*() {
        const result = yield* run(process.execPath, ["--import", "tsx", output.name])
        assert.strictEqual(result.status, 0, result.stderr)
        assert.isUndefined(outputProblem(output, result.stdout))
      }))
  }
})
