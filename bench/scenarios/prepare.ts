/**
 * Run once before the measured rounds: bundles the bare-imports baseline child and spawns each
 * bench actor once, so that effect-tractor's bundle cache (node_modules/.cache/effect-tractor) and
 * tsx's transform cache are warm. Spawn figures are for a warm cache.
 */
import * as Fs from "node:fs"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as esbuild from "esbuild"
import * as Nursery from "../../src/Nursery.ts"
import * as Portal from "../../src/Portal.ts"
import { echoModule, primesModule, streamModule } from "../actors/modules.ts"
import { BenchEcho, BenchPrimes, BenchStream } from "../actors/protocols.ts"
import { bareImportsBundle, bench, outDir, repoRoot } from "../lib/paths.ts"
import { emit, nowMs } from "../lib/util.ts"

const t0 = nowMs()
Fs.mkdirSync(outDir, { recursive: true })
// a bare child importing the same code the plain way: one ESM bundle, loaded by node itself (no
// launcher, no code cache: effect-tractor's own child bundles are CommonJS started by its launcher)
await esbuild.build({
  entryPoints: [bench("children", "bare-imports.ts")],
  absWorkingDir: repoRoot,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: bareImportsBundle,
  logLevel: "silent",
  legalComments: "none",
  banner: {
    js: "import { createRequire as __benchRequire } from 'node:module';const require = __benchRequire(import.meta.url);"
  }
})
await esbuild.stop()
const tBundle = nowMs()

const program = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const echo = yield* Nursery.spawn(nursery, "prepare_echo", { modules: [echoModule] })
    const primes = yield* Nursery.spawn(nursery, "prepare_primes", { modules: [primesModule] })
    const streamer = yield* Nursery.spawn(nursery, "prepare_stream", { modules: [streamModule] })
    const e = yield* Portal.call(echo, BenchEcho.echo, { id: 1, n: 2 })
    const p = yield* Portal.call(primes, BenchPrimes.isPrime, 7)
    const s = yield* Stream.runCount(Portal.stream(streamer, BenchStream.range, 3))
    return e.id === 1 && e.n === 2 && p === true && s === 3
  })
)
const ok = await Effect.runPromise(program)
emit({ ok, bundleMs: tBundle - t0, actorsMs: nowMs() - tBundle })
