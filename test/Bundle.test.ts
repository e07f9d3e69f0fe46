import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Url from "node:url"
import { cacheEntries, cacheMaxAgeMillis, prune } from "../src/internal/bundle.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Dynamic } from "./fixtures/dynamic_import.ts"
import { Awaited } from "./fixtures/top_level_await.ts"
import { Echo, Located, Versioned } from "./fixtures/protocols.ts"
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

  describe("the cache key covers every input", () => {
    const repo = Url.fileURLToPath(new URL("..", import.meta.url))
    // npm gives every file of a package this same mtime: only the inode tells an upgrade apart
    const npmTime = new Date("1985-10-26T08:15:00Z")
    const writePackage = (project: string, version: string) => {
      const dir = Path.join(project, "node_modules", "upgradable")
      Fs.rmSync(dir, { recursive: true, force: true })
      Fs.mkdirSync(dir, { recursive: true })
      const files = {
        "package.json": JSON.stringify({ name: "upgradable", version, main: "index.js" }),
        "index.js": `exports.version = ${JSON.stringify(version)}\n`
      }
      for (const [name, text] of Object.entries(files)) {
        Fs.writeFileSync(Path.join(dir, name), text)
        Fs.utimesSync(Path.join(dir, name), npmTime, npmTime)
      }
    }
    const versionIn = (module: string) =>
      Nursery.open((nursery) =>
        Effect.flatMap(
          Nursery.spawn(nursery, "versioned", { modules: [module] }),
          (portal) => Portal.call(portal, Versioned.version, undefined)
        )
      )

    it.live("a dependency upgraded in place (same sizes, same mtimes) reaches the next actor", () =>
      withCacheDir((cache) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            // inside the repository, so that the module finds effect; build/ is ignored by git
            Fs.mkdirSync(Path.join(repo, "build"), { recursive: true })
            const project = Fs.mkdtempSync(Path.join(repo, "build", "upgrade-test-"))
            Fs.writeFileSync(
              Path.join(project, "versioned.ts"),
              [
                `import * as Effect from "effect/Effect"`,
                `import { version } from "upgradable"`,
                `import * as Actor from ${JSON.stringify(Path.join(repo, "src", "Actor.ts"))}`,
                `import { Versioned } from ${JSON.stringify(Url.fileURLToPath(fixture("protocols.ts")))}`,
                `export const VersionedLive = Actor.serve(Versioned, { version: () => Effect.succeed(version) })`
              ].join("\n")
            )
            return project
          }),
          (project) =>
            Effect.gen(function*() {
              const module = Path.join(project, "versioned.ts")
              writePackage(project, "1.0.0")
              assert.strictEqual(yield* versionIn(module), "1.0.0")
              assert.strictEqual(yield* versionIn(module), "1.0.0")
              writePackage(project, "2.0.0")
              assert.strictEqual(yield* versionIn(module), "2.0.0")
              // the inputs under node_modules are part of the key: effect and effect-tractor's own files too
              const meta = JSON.parse(Fs.readFileSync(Path.join(cache, filesIn(cache, ".json")[0]!), "utf8"))
              const inputs = Object.keys(meta.inputs)
              assert.isTrue(inputs.some((f) => f.endsWith(Path.join("node_modules", "upgradable", "index.js"))))
              assert.isTrue(inputs.some((f) => f.includes(`${Path.sep}node_modules${Path.sep}effect${Path.sep}`)))
              assert.isTrue(inputs.some((f) => f.endsWith(Path.join("src", "internal", "child.ts"))))
            }),
          (project) => Effect.sync(() => Fs.rmSync(project, { recursive: true, force: true }))
        )
      ))

    it("the cache keeps the most recently used entries, drops old ones and leftovers of dead builds", () => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-tractor-prune-test-"))
      try {
        const now = Date.now()
        const keys: Array<string> = []
        for (let i = 0; i < cacheEntries + 6; i++) {
          const key = i.toString(16).padStart(24, "0")
          keys.push(key)
          for (const ext of [".json", ".cjs", ".cjs.map", ".cjs.v8"]) {
            const file = Path.join(dir, key + ext)
            Fs.writeFileSync(file, "x")
            // entry i was used i minutes ago; the last one long ago
            const at = new Date(now - (i === cacheEntries + 5 ? cacheMaxAgeMillis + 1000 : i * 60_000))
            Fs.utimesSync(file, at, at)
          }
        }
        const oldTmp = Path.join(dir, "abc.cjs.123.tmp")
        Fs.writeFileSync(oldTmp, "x")
        Fs.utimesSync(oldTmp, new Date(now - 7200_000), new Date(now - 7200_000))
        const freshTmp = Path.join(dir, "def.cjs.456.tmp")
        Fs.writeFileSync(freshTmp, "x")
        Fs.writeFileSync(Path.join(dir, "launch-5.cjs"), "x")
        prune(dir, now)
        const left = new Set(Fs.readdirSync(dir))
        for (const [i, key] of keys.entries()) {
          for (const ext of [".json", ".cjs", ".cjs.map", ".cjs.v8"]) {
            assert.strictEqual(left.has(key + ext), i < cacheEntries, `${key}${ext}`)
          }
        }
        assert.isFalse(left.has("abc.cjs.123.tmp"), "a dead build's leftover")
        assert.isTrue(left.has("def.cjs.456.tmp"), "a build in progress")
        assert.isTrue(left.has("launch-5.cjs"), "the launcher")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  it.live("a package named in external runs from where it is installed, finding its own files", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const repo = Url.fileURLToPath(new URL("..", import.meta.url))
        Fs.mkdirSync(Path.join(repo, "build"), { recursive: true })
        const project = Fs.mkdtempSync(Path.join(repo, "build", "external-test-"))
        const pkg = Path.join(project, "node_modules", "dirnamed")
        Fs.mkdirSync(pkg, { recursive: true })
        Fs.writeFileSync(Path.join(pkg, "package.json"), JSON.stringify({ name: "dirnamed", version: "1.0.0", main: "index.js" }))
        Fs.writeFileSync(Path.join(pkg, "data.txt"), "found")
        Fs.writeFileSync(
          Path.join(pkg, "index.js"),
          `exports.dir = __dirname\nexports.data = () => require("node:fs").readFileSync(require("node:path").join(__dirname, "data.txt"), "utf8")\n`
        )
        Fs.writeFileSync(
          Path.join(project, "located.ts"),
          [
            `import * as Effect from "effect/Effect"`,
            `import * as dirnamed from "dirnamed"`,
            `import * as Actor from ${JSON.stringify(Path.join(repo, "src", "Actor.ts"))}`,
            `import { Located } from ${JSON.stringify(Url.fileURLToPath(fixture("protocols.ts")))}`,
            `export const LocatedLive = Actor.serve(Located, { where: () => Effect.sync(() => ({ dir: dirnamed.dir, data: dirnamed.data() })) })`
          ].join("\n")
        )
        return { project, pkg }
      }),
      ({ pkg, project }) =>
        Effect.gen(function*() {
          const where = (external?: ReadonlyArray<string>) =>
            Nursery.open((nursery) =>
              Effect.flatMap(
                Nursery.spawn(nursery, "located", { modules: [Path.join(project, "located.ts")], external }),
                (portal) => Effect.either(Portal.call(portal, Located.where, undefined))
              )
            )
          // bundled, the package looks for its files next to the bundle, in the cache folder
          const bundled = yield* where()
          assert.isTrue(bundled._tag === "Left" && bundled.left._tag === "RemoteActorError" && bundled.left.message.includes("ENOENT"))
          const outside = yield* where(["dirnamed"])
          assert.deepStrictEqual(outside, Either.right({ dir: pkg, data: "found" }))
        }),
      ({ project }) => Effect.sync(() => Fs.rmSync(project, { recursive: true, force: true }))
    ))
})
