import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { checkOrphansAfterEach, echoModule, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

const root = Url.fileURLToPath(new URL("..", import.meta.url))
const out = Path.join(root, "build", "compiled-test")

const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.sync(() => ChildProcess.spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 60_000 }))

describe("compiled JavaScript", () => {
  it.live("a plain-node parent built by tsc spawns a TypeScript actor module without any loader", () =>
    Effect.gen(function*() {
      Fs.rmSync(out, { recursive: true, force: true })
      const tsc = yield* run(process.execPath, [
        Path.join(root, "node_modules", "typescript", "bin", "tsc"),
        "-p",
        "tsconfig.build.json",
        "--outDir",
        Path.join(out, "dist")
      ])
      assert.strictEqual(tsc.status, 0, tsc.stdout + tsc.stderr)
      Fs.writeFileSync(
        Path.join(out, "main.mjs"),
        [
          `import * as Effect from "effect/Effect"`,
          `import * as Schema from "effect/Schema"`,
          `import * as Actor from "./dist/Actor.js"`,
          `import * as Nursery from "./dist/Nursery.js"`,
          `import * as Portal from "./dist/Portal.js"`,
          `const Echo = Actor.protocol("Echo", { echo: Actor.fn({ payload: Schema.String, success: Schema.String }) })`,
          `const program = Nursery.open((nursery) => Effect.gen(function*() {`,
          `  const portal = yield* Nursery.spawn(nursery, "compiled", { modules: [${JSON.stringify(echoModule.href)}] })`,
          `  const text = yield* Portal.call(portal, Echo.echo, "from compiled js")`,
          `  console.log(JSON.stringify({ text, pid: portal.actor.pid, loaders: process.execArgv }))`,
          `}))`,
          `Effect.runPromise(program).then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })`
        ].join("\n")
      )
      const main = yield* run(process.execPath, [Path.join(out, "main.mjs")])
      assert.strictEqual(main.status, 0, main.stdout + main.stderr)
      const result = JSON.parse(main.stdout.trim().split("\n").pop()!)
      assert.strictEqual(result.text, "from compiled js")
      assert.deepStrictEqual(result.loaders, [])
      assert.isFalse(isAlive(result.pid))
    }), 90_000)
})
