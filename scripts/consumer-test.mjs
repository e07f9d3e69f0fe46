// The consumer test: packs this library, installs the tarball into a scratch project outside the
// repository (its own package.json and node_modules, effect installed by the consumer), and runs
// the README's programs there, under tsx and compiled by tsc with plain node. Also checks what the
// tarball holds, that every export resolves (JavaScript and types), what require() does, and
// what a wrong Effect version gives. Exits non-zero on
// the first problem; removes its scratch folder.
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { outputProblem, readmeBlocks, userTsconfig } from "./readme-blocks.mjs"

const repo = fileURLToPath(new URL("..", import.meta.url))
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"))
const scratch = mkdtempSync(join(tmpdir(), "effect-tractor-consumer-"))
const npm = process.platform === "win32" ? "npm.cmd" : "npm"
const log = (line) => process.stdout.write(`consumer: ${line}\n`)
let failed = false
const check = (ok, what) => {
  log(`${ok ? "ok  " : "FAIL"} ${what}`)
  if (!ok) failed = true
  return ok
}
const run = (cwd, command, args, env = {}) =>
  spawnSync(command, args, { cwd, encoding: "utf8", timeout: 180_000, env: { ...process.env, ...env } })

try {
  log(`node ${process.version}`)
  // 1. the tarball
  const packed = JSON.parse(
    execFileSync(npm, ["pack", "--json", "--pack-destination", scratch], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  )[0]
  const tarball = join(scratch, packed.filename)
  const shipped = packed.files.map((f) => f.path)
  check(shipped.includes("dist/Nursery.js") && shipped.includes("dist/Nursery.d.ts"), `${packed.filename}: ${shipped.length} files, ${packed.size} bytes, with dist/`)
  check(["LICENSE", "README.md", "CHANGELOG.md", "package.json"].every((f) => shipped.includes(f)), "it has LICENSE, README, CHANGELOG")
  check(!shipped.some((f) => /^(test|bench|scripts|examples|dtslint|\.ci|\.changeset)\//.test(f)), "it has no tests, benchmarks, scripts or CI files")
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const files = typeof target === "string" ? [target] : [target.types, target.import]
    for (const file of files) check(shipped.includes(file.replace(/^\.\//, "")), `exports["${subpath}"] -> ${file} is in the tarball`)
  }

  // 2. the consumer's project
  const app = join(scratch, "app")
  mkdirSync(app)
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2))
  const dev = pkg.devDependencies
  const install = run(app, npm, [
    "install", "--no-audit", "--no-fund", "--loglevel=error", tarball,
    `effect@${dev.effect}`, `tsx@${dev.tsx}`, `typescript@${dev.typescript}`, `@types/node@${dev["@types/node"]}`,
    // what the README's tracing setup uses
    `@effect/opentelemetry@${dev["@effect/opentelemetry"]}`, `@effect/platform@${dev["@effect/platform"]}`,
    // the optional peers of effect-tractor/Cluster
    ...["@effect/cluster", "@effect/platform-node", "@effect/rpc", "@effect/sql", "@effect/workflow", "@effect/experimental"].map((p) => `${p}@${dev[p]}`)
  ])
  if (!check(install.status === 0, `npm install of the tarball with effect@${dev.effect}`)) throw new Error(install.stderr)
  const installed = JSON.parse(readFileSync(join(app, "node_modules", "effect-tractor", "package.json"), "utf8"))
  check(installed.version === pkg.version, `node_modules/effect-tractor is ${installed.version}`)
  const effects = run(app, npm, ["ls", "effect", "--all", "--parseable"]).stdout.trim().split("\n").filter(Boolean)
  check(effects.length === 1, `one copy of effect in the consumer (${effects.length})`)

  // 3. the README's programs, as written
  const { files, outputs } = readmeBlocks()
  for (const file of files) writeFileSync(join(app, file.name), file.code)
  const subpaths = Object.keys(pkg.exports).filter((s) => s !== "./package.json" && s !== ".")
  writeFileSync(
    join(app, "exports.ts"),
    subpaths.map((s, i) => `import * as M${i} from "effect-tractor${s.slice(1)}"`).join("\n") +
      `\nimport * as All from "effect-tractor"\nexport const all = [${subpaths.map((_, i) => `M${i}`).join(", ")}, All]\n`
  )
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(userTsconfig, null, 2))
  const tsx = join(app, "node_modules", ".bin", "tsx")
  for (const output of outputs) {
    const result = run(app, tsx, [output.name])
    const problem = result.status === 0 ? outputProblem(output, result.stdout) : result.stderr
    check(problem === undefined, `tsx ${output.name} prints what the README says${problem ? `\n${problem}` : ""}`)
  }
  const tsc = run(app, process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "."])
  check(tsc.status === 0, `tsc compiles the README's files and an import of every export${tsc.status ? `\n${tsc.stdout}` : ""}`)
  for (const output of outputs) {
    const result = run(app, process.execPath, [join("out", output.name.replace(/\.ts$/, ".js"))])
    const problem = result.status === 0 ? outputProblem(output, result.stdout) : result.stderr
    check(problem === undefined, `node out/${output.name.replace(/\.ts$/, ".js")} prints what the README says${problem ? `\n${problem}` : ""}`)
  }
  // the command line, installed as a bin
  const bin = join(app, "node_modules", ".bin", "effect-tractor")
  const tree = run(app, bin, ["tree"])
  check(tree.status === 0 && /^(no actor processes on this host|root \d+: )/.test(tree.stdout), `npx effect-tractor tree runs: ${tree.stdout.split("\n")[0]}${tree.stderr}`)
  const wrong = run(app, bin, ["trees"])
  check(wrong.status === 2 && wrong.stderr.includes("usage: effect-tractor tree"), "npx effect-tractor with a wrong command prints its usage and exits with 2")
  const imported = run(app, process.execPath, ["out/exports.js"])
  check(imported.status === 0, `every export imports under plain node${imported.status ? `\n${imported.stderr}` : ""}`)

  // 4. require(): Node 20.19+, 22.12+ and 24 load ES modules with require() (no top-level await here)
  const required = run(app, process.execPath, ["--input-type=commonjs", "-e", `require("effect-tractor/Nursery")`])
  if (process.features.require_module) check(required.status === 0, `require("effect-tractor/Nursery") works on Node ${process.version}`)
  else check(/ERR_REQUIRE_ESM/.test(required.stderr), `require() on Node ${process.version} fails with ERR_REQUIRE_ESM`)

  // 5. a wrong Effect: npm warns naming effect-tractor and the range; an older 3.x is refused at
  // import with our message; effect 4, which removed modules this version imports, fails to link
  const older = "3.21"
  const downgrade = run(app, npm, ["install", "--no-audit", "--no-fund", `effect@${older}`])
  check(/peer effect@"\^3\.22\.0" from effect-tractor/.test(downgrade.stderr), `npm install effect@${older} warns: peer effect@"^3.22.0" from effect-tractor`)
  const old = run(app, process.execPath, ["out/main.js"])
  const message = /effect-tractor needs effect[^\n]*/.exec(old.stderr)?.[0]
  check(old.status !== 0 && message !== undefined && message.includes(`loaded effect ${older}.`), `with effect ${older} the program stops at import: ${message ?? old.stderr}`)
  const four = run(app, npm, ["install", "--no-audit", "--no-fund", "--loglevel=error", "effect@4"])
  if (check(four.status === 0, "effect@4 installed over the peer range")) {
    const wrong = run(app, process.execPath, ["out/main.js"])
    const error = /Error \[ERR_MODULE_NOT_FOUND\][^\n]*/.exec(wrong.stderr)?.[0]
    check(wrong.status !== 0 && error !== undefined && /imported from .*effect-tractor/.test(error), `with effect 4 Node refuses to link it: ${error ?? wrong.stderr}`)
  }
} catch (e) {
  check(false, String(e?.stack ?? e))
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
log(failed ? "FAILED" : "passed")
process.exit(failed ? 1 : 0)
