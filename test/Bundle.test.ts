import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Dynamic } from "./fixtures/dynamic_import.ts"
import { Awaited } from "./fixtures/top_level_await.ts"
import { Echo } from "./fixtures/protocols.ts"
import { checkOrphansAfterEach, echoModule, fixture } from "./utils/index.ts"

checkOrphansAfterEach()

/** a fresh bundle cache for one test (the children inherit the variable) */
const withCacheDir = <A, E, R>(body: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-tractor-bundle-test-"))
      const previous = process.env["EFFECT_TRACTOR_CACHE_DIR"]
      process.env["EFFECT_TRACTOR_CACHE_DIR"] = dir
      return { dir, previous }
    }),
    ({ dir }) => body(dir),
    ({ dir, previous }) =>
      Effect.sync(() => {
        if (previous === undefined) delete process.env["EFFECT_TRACTOR_CACHE_DIR"]
        else process.env["EFFECT_TRACTOR_CACHE_DIR"] = previous
        Fs.rmSync(dir, { recursive: true, force: true })
      })
  )

const filesIn = (dir: string, suffix: string) => Fs.readdirSync(dir).filter((f) => f.endsWith(suffix))

/** waits (live clock) until `dir` has a file ending in `suffix` */
const awaitFile = (dir: string, suffix: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      const found = filesIn(dir, suffix)
      if (found.length > 0) return Path.join(dir, found[0]!)
      yield* Effect.sleep("20 millis")
    }
    return assert.fail(`no *${suffix} in ${dir}: ${Fs.readdirSync(dir).join(", ")}`)
  })

const echoOnce = (name: string) =>
  Nursery.open((nursery) =>
    Effect.gen(function*() {
      const portal = yield* Nursery.spawn(nursery, name, { modules: [echoModule] })
      return yield* Portal.call(portal, Echo.echo, name)
    })
  )

describe("Bundle", () => {
  it.live("the first child writes the V8 code cache next to its CommonJS bundle; the next ones start from it", () =>
    withCacheDir((dir) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* echoOnce("first"), "first")
        assert.lengthOf(filesIn(dir, ".cjs").filter((f) => !f.startsWith("launch-")), 1)
        const cache = yield* awaitFile(dir, ".cjs.v8")
        const written = Fs.statSync(cache).mtimeMs
        assert.isAbove(Fs.statSync(cache).size, 1000)
        assert.strictEqual(yield* echoOnce("second"), "second")
        yield* Effect.sleep("100 millis")
        // accepted, so left as it was
        assert.strictEqual(Fs.statSync(cache).mtimeMs, written)
      })
    ))

  it.live("a corrupt code cache is rejected by V8, the actor starts anyway and the cache is rewritten", () =>
    withCacheDir((dir) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* echoOnce("first"), "first")
        const cache = yield* awaitFile(dir, ".cjs.v8")
        const junk = Buffer.from("not a code cache".repeat(64))
        Fs.writeFileSync(cache, junk)
        assert.strictEqual(yield* echoOnce("second"), "second")
        for (let i = 0; i < 100 && Fs.readFileSync(cache).equals(junk); i++) yield* Effect.sleep("20 millis")
        assert.isFalse(Fs.readFileSync(cache).equals(junk), "the cache was not rewritten")
        assert.strictEqual(yield* echoOnce("third"), "third")
      })
    ))

  it.live("a handler imports node builtins at run time, by name and by a computed name", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portal = yield* Nursery.spawn(nursery, "dynamic", { modules: [fixture("dynamic_import.ts")] })
        assert.deepStrictEqual(yield* Portal.call(portal, Dynamic.builtins, undefined), ["function", "a/b"])
      })
    ))

  it.live("a module with top-level await is bundled as ESM and served", () =>
    withCacheDir((dir) =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "tla", { modules: [fixture("top_level_await.ts")] })
          assert.strictEqual(yield* Portal.call(portal, Awaited.greeting, undefined), "awaited at import")
          assert.lengthOf(filesIn(dir, ".mjs"), 1)
          assert.lengthOf(filesIn(dir, ".cjs").filter((f) => !f.startsWith("launch-")), 0)
        })
      )
    ))
})
