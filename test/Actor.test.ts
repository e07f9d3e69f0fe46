import * as ChildProcess from "node:child_process"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Actor from "../src/Actor.ts"
import { checkOrphansAfterEach, fixture, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

describe("Actor", () => {
  it.live("annotates an actor's logs with its name and pid", () =>
    Effect.gen(function*() {
      const root = Url.fileURLToPath(new URL("..", import.meta.url))
      const run = yield* Effect.sync(() =>
        ChildProcess.spawnSync(process.execPath, ["--import", "tsx", Url.fileURLToPath(fixture("root_logs.ts"))], {
          cwd: root,
          encoding: "utf8",
          timeout: 30_000
        })
      )
      assert.strictEqual(run.status, 0, run.stderr)
      const lines = run.stdout.trim().split("\n")
      const { pid } = JSON.parse(lines[lines.length - 1]!)
      const logged = lines.find((line) => line.includes("hello from the actor"))
      assert.isDefined(logged, run.stdout)
      assert.include(logged!, `actor=chatty@${pid}`)
      assert.isFalse(isAlive(pid))
    }))

  it("rejects a protocol function with a reserved name", () => {
    assert.throws(() => Actor.protocol("Bad", { pipe: Actor.fn({}) }), /reserved/)
  })

  it("formats an actor id as name@pid", () => {
    assert.strictEqual(Actor.format({ name: "worker_0", uid: "u", pid: 42 }), "worker_0@42")
  })
})
