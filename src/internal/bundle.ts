/**
 * The child entry of a module set: the child bootstrap plus exactly the enabled modules, bundled
 * by esbuild into one CommonJS file and cached by content. A child then starts with plain `node` and
 * no loader, whether the parent runs under tsx, vitest or compiled JavaScript, and pays neither for
 * barrel imports nor for a TypeScript loader. A small launcher compiles the bundle with V8's code
 * cache, written by the first child that ran it, so later children skip most of the compiling.
 * Modules that use top-level await cannot be CommonJS: their set is bundled as ESM, without the cache.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Url from "node:url"
import * as Effect from "effect/Effect"
import type * as Esbuild from "esbuild"
import * as ActorError from "../ActorError.js"

/** @internal a module to enable: a path, a file URL or a package specifier */
export type ModuleSpecifier = string | URL

const here = Url.fileURLToPath(import.meta.url)
let childEntryPath = Path.join(Path.dirname(here), `child${Path.extname(here)}`)
const version = 5

/** @internal the source of the child bootstrap (inside a bundled child, set from its spec) */
export const childEntry = (): string => childEntryPath

/** @internal */
export const setChildEntry = (path: string): void => {
  childEntryPath = path
}

// A module named by its compiled name whose source is what exists (tsx runs `.ts` files that import
// `./m.js`), or by its source name after compiling (`new URL("./m.ts", import.meta.url)` in `out/`).
const twins: Record<string, ReadonlyArray<string>> = {
  ".js": [".ts", ".tsx", ".jsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"],
  ".ts": [".js"],
  ".tsx": [".js", ".jsx"],
  ".jsx": [".js", ".tsx"],
  ".mts": [".mjs"],
  ".cts": [".cjs"]
}

/** whether a specifier names a file (a path or a file URL), not a package */
const isFileSpecifier = (spec: ModuleSpecifier): boolean =>
  spec instanceof URL || spec.startsWith("file:") || spec.startsWith(".") || Path.isAbsolute(spec)

/**
 * The file (or package specifier) a module specifier names, and whether it is missing: `file:` URLs
 * and absolute paths as they are, relative paths against the working directory; a missing `.js`
 * whose `.ts` source exists is the source, and the other way round.
 * @internal
 */
export const resolveModule = (spec: ModuleSpecifier): { readonly file: string; readonly missing: boolean } => {
  if (!isFileSpecifier(spec)) return { file: spec as string, missing: false }
  const file = spec instanceof URL || spec.startsWith("file:") ? Url.fileURLToPath(spec) : Path.resolve(spec)
  if (Fs.existsSync(file)) return { file, missing: false }
  const ext = Path.extname(file)
  for (const twin of twins[ext] ?? []) {
    const candidate = file.slice(0, file.length - ext.length) + twin
    if (Fs.existsSync(candidate)) return { file: candidate, missing: false }
  }
  return { file, missing: true }
}

const missingFile = (actorName: string, name: string, file: string): ActorError.SpawnError =>
  new ActorError.SpawnError({
    actorName,
    module: name,
    message: `cannot start actor "${actorName}": module file not found: ${file}` +
      (name.startsWith(".")
        ? ` (the relative path "${name}" was resolved against the working directory ${process.cwd()}; ` +
          `name a module next to your code with new URL("./module.js", import.meta.url))`
        : "")
  })

/** @internal */
export const cacheDir = (): string => {
  const configured = process.env["EFFECT_TRACTOR_CACHE_DIR"]
  if (configured !== undefined && configured !== "") return configured
  const nodeModules = Path.resolve("node_modules")
  return Fs.existsSync(nodeModules)
    ? Path.join(nodeModules, ".cache", "effect-tractor")
    : Path.join(Os.tmpdir(), `effect-tractor-${process.getuid?.() ?? "user"}`)
}

/**
 * What a bundle was built from: every input file esbuild read, those under `node_modules` (the
 * dependencies, effect-tractor itself when installed as a package) included, each with its
 * modification time, size, inode and status change time. npm gives every file of a package the
 * same fixed mtime, and a file system may hand a deleted file's inode to the next new file, so it
 * is the change time (set by the kernel on every write, creation or rename, never by a tool) that
 * tells an in-place upgrade apart; any difference makes the bundle stale.
 */
interface Meta {
  readonly format: "cjs" | "esm"
  readonly inputs: Record<string, readonly [mtime: number, size: number, inode: number, ctime: number]>
}

const stamp = (file: string): readonly [number, number, number, number] | undefined => {
  const stat = Fs.statSync(file, { throwIfNoEntry: false })
  return stat === undefined ? undefined : [stat.mtimeMs, stat.size, stat.ino, stat.ctimeMs]
}

// spawns started in one turn of the event loop (a pool's workers) share one check of the inputs
const checked = new Map<string, Meta["format"]>()
let forgetScheduled = false

/** the format of the bundle described by `metaFile`, when it is there and none of its inputs changed */
const freshFormat = (metaFile: string): Meta["format"] | undefined => {
  const known = checked.get(metaFile)
  if (known !== undefined) return known
  const format = checkInputs(metaFile)
  if (format !== undefined) {
    checked.set(metaFile, format)
    if (!forgetScheduled) {
      forgetScheduled = true
      setImmediate(() => {
        forgetScheduled = false
        checked.clear()
      }).unref()
    }
  }
  return format
}

const checkInputs = (metaFile: string): Meta["format"] | undefined => {
  try {
    const meta: Meta = JSON.parse(Fs.readFileSync(metaFile, "utf8"))
    for (const file in meta.inputs) {
      const was = meta.inputs[file]!
      const stat = Fs.statSync(file, { throwIfNoEntry: false })
      if (
        stat === undefined || stat.mtimeMs !== was[0] || stat.size !== was[1] || stat.ino !== was[2] ||
        stat.ctimeMs !== was[3]
      ) return undefined
    }
    return meta.format === "cjs" || meta.format === "esm" ? meta.format : undefined
  } catch {
    return undefined
  }
}

/** @internal how many module sets the cache keeps (the most recently used) */
export const cacheEntries = 64

/** @internal entries not used for this long are removed at the next build */
export const cacheMaxAgeMillis = 14 * 24 * 3600 * 1000

const used = new Set<string>()

/** Marks an entry as used (once per process), so that pruning keeps it. */
const touch = (metaFile: string): void => {
  if (used.has(metaFile)) return
  used.add(metaFile)
  try {
    const now = new Date()
    Fs.utimesSync(metaFile, now, now)
  } catch {
    // pruning may then take it a little early: it is rebuilt on demand
  }
}

/**
 * Keeps the cache folder bounded: removes the files of entries beyond the `cacheEntries` most
 * recently used, of entries unused for `cacheMaxAgeMillis`, and temporary files of builds that died.
 * Deleting any entry is always safe: it is rebuilt on the next spawn that needs it.
 * @internal
 */
export const prune = (dir: string, now = Date.now()): void => {
  let names: Array<string>
  try {
    names = Fs.readdirSync(dir)
  } catch {
    return
  }
  const entries: Array<readonly [string, number]> = []
  for (const name of names) {
    const file = Path.join(dir, name)
    if (name.endsWith(".tmp")) {
      const stat = Fs.statSync(file, { throwIfNoEntry: false })
      if (stat !== undefined && now - stat.mtimeMs > 3600_000) Fs.rmSync(file, { force: true })
    } else if (/^[0-9a-f]{24}\.json$/.test(name)) {
      const stat = Fs.statSync(file, { throwIfNoEntry: false })
      if (stat !== undefined) entries.push([name.slice(0, 24), stat.mtimeMs])
    }
  }
  entries.sort((a, b) => b[1] - a[1])
  const gone = new Set(
    entries.filter(([, mtime], i) => i >= cacheEntries || now - mtime > cacheMaxAgeMillis).map(([key]) => key)
  )
  if (gone.size === 0) return
  for (const name of names) {
    if (gone.has(name.slice(0, 24))) Fs.rmSync(Path.join(dir, name), { force: true })
  }
}

// One build at a time in a process: esbuild's service is stopped after each build so that no
// helper process outlives a spawn.
const buildLock = Effect.unsafeMakeSemaphore(1)

interface EsbuildMessage {
  readonly text: string
  readonly location: { readonly file: string; readonly line: number; readonly column: number } | null
}

const blame = (modules: ReadonlyArray<readonly [string, string]>, errors: ReadonlyArray<EsbuildMessage>) => {
  for (const error of errors) {
    for (const [name, resolved] of modules) {
      const file = error.location?.file ?? ""
      if (file !== "" && (Path.resolve(file) === resolved || resolved.endsWith(file))) return name
      if (error.text.includes(resolved) || error.text.includes(`"${name}"`)) return name
    }
  }
  return modules.length === 1 ? modules[0]![0] : undefined
}

const entryName = "<actor entry>"

/** esbuild's messages, without positions in the generated entry and in the words of this library */
const render = (errors: ReadonlyArray<EsbuildMessage>) =>
  errors.map((e) => {
    const text = e.text.replace(/^Could not resolve "([^"]+)"/, (_, spec: string) =>
      spec.startsWith(".") || Path.isAbsolute(spec)
        ? `file not found: ${spec}`
        : `cannot find package "${spec}" (install it in the project, or name a file)`)
    return e.location !== null && e.location.file !== entryName
      ? `${e.location.file}:${e.location.line}:${e.location.column}: ${text}`
      : text
  }).join("\n")

const sourceFile = /\.(m|c)?[jt]sx?$/
const loaders: Record<string, "ts" | "tsx" | "js" | "jsx"> = {
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".tsx": "tsx",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".jsx": "jsx"
}

/**
 * Keeps `import.meta.url` (and `dirname`/`filename`) of the project's own modules pointing at
 * their source files inside the bundle, so an actor module can find its neighbours
 * (`new URL("./worker.ts", import.meta.url)`) exactly as it does unbundled.
 */
const keepImportMeta: Esbuild.Plugin = {
  name: "effect-tractor-import-meta",
  setup(build) {
    build.onLoad({ filter: sourceFile }, (args) => {
      if (args.path.includes(`${Path.sep}node_modules${Path.sep}`)) return undefined
      const contents = Fs.readFileSync(args.path, "utf8")
      if (!contents.includes("import.meta")) return undefined
      return {
        contents: contents
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(Url.pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(Path.dirname(args.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path)),
        loader: loaders[Path.extname(args.path)] ?? "js"
      }
    })
  }
}

/**
 * The launcher of CommonJS bundles: compiles the bundle given as its first argument with the code
 * cache next to it (`<bundle>.v8`), runs it as a CommonJS module, and, when there was no usable
 * cache, writes one on the next turn of the event loop (the actor's startup code has run and been
 * compiled by then). A cache V8 rejects (another node, other flags) is simply rewritten.
 */
const launcherSource = `"use strict"
const Fs = require("node:fs")
const Path = require("node:path")
const Vm = require("node:vm")
const { createRequire, wrap } = require("node:module")
const file = process.argv[2]
process.argv.splice(2, 1)
const cacheFile = file + ".v8"
let cachedData
try { cachedData = Fs.readFileSync(cacheFile) } catch {}
const script = new Vm.Script(wrap(Fs.readFileSync(file, "utf8")), { filename: file, cachedData })
const mod = { exports: {}, filename: file, id: file, loaded: false }
script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, Path.dirname(file))
if (cachedData === undefined || script.cachedDataRejected) {
  setImmediate(() => {
    const tmp = cacheFile + "." + process.pid + ".tmp"
    try {
      Fs.writeFileSync(tmp, script.createCachedData())
      Fs.renameSync(tmp, cacheFile)
    } catch {
      try { Fs.rmSync(tmp, { force: true }) } catch {}
    }
  })
}
`

const launchers = new Map<string, string>()

/** the launcher in `dir`, written when missing or out of date (checked once per folder and process) */
const launcherFile = (dir: string): string => {
  let file = launchers.get(dir)
  if (file === undefined) {
    file = Path.join(dir, `launch-${version}.cjs`)
    if (!Fs.existsSync(file) || Fs.readFileSync(file, "utf8") !== launcherSource) {
      const tmp = `${file}.${process.pid}.tmp`
      Fs.writeFileSync(tmp, launcherSource)
      Fs.renameSync(tmp, file)
    }
    launchers.set(dir, file)
  }
  return file
}

/**
 * The node arguments that start the bundled child entry for `modules` (the launcher and the bundle,
 * or the ESM bundle alone), building the bundle when missing or stale.
 * @internal
 */
export const entryFor = (
  actorName: string,
  specifiers: ReadonlyArray<ModuleSpecifier>,
  external: ReadonlyArray<string> = []
): Effect.Effect<ReadonlyArray<string>, ActorError.SpawnError> =>
  Effect.suspend(() => {
    const modules: Array<readonly [string, string]> = []
    for (const spec of specifiers) {
      const name = typeof spec === "string" ? spec : spec.href
      const { file, missing } = resolveModule(spec)
      if (missing) return Effect.fail(missingFile(actorName, name, file))
      modules.push([name, file])
    }
    const dir = cacheDir()
    const key = Crypto.createHash("sha256")
      .update(JSON.stringify({
        version,
        childEntry: childEntryPath,
        modules: modules.map(([, r]) => r),
        external,
        cwd: process.cwd(),
        node: process.version,
        arch: process.arch
      }))
      .digest("hex")
      .slice(0, 24)
    const base = Path.join(dir, key)
    const metaFile = `${base}.json`
    const fresh = () => {
      const format = freshFormat(metaFile)
      return format === undefined ? undefined : args(dir, base, format)
    }
    const ready = fresh()
    if (ready !== undefined) {
      touch(metaFile)
      return Effect.succeed(ready)
    }
    return buildLock.withPermits(1)(Effect.suspend(() => {
      const ready = fresh()
      if (ready !== undefined) return Effect.succeed(ready)
      return Effect.map(build(actorName, modules, external, dir, base, metaFile), (format) => args(dir, base, format))
    }))
  })

type Format = "cjs" | "esm"

/**
 * Leaves the named packages (and their subpaths) out of the bundle: each import of one becomes a
 * `require` of the very file esbuild would have bundled, by its absolute path, so the package runs
 * from where it is installed (its `__dirname`, its data files and native addons with it).
 */
const externalPackages = (names: ReadonlyArray<string>, resolved: Set<string>): Esbuild.Plugin => ({
  name: "effect-tractor-external",
  setup(build) {
    const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    build.onResolve({ filter: new RegExp(`^(${escaped.join("|")})(/.*)?$`) }, async (args) => {
      if (args.pluginData === externalPackages) return undefined
      const found = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: externalPackages
      })
      if (found.errors.length > 0 || found.path === "") return { errors: found.errors }
      resolved.add(found.path)
      return { path: found.path, external: true }
    })
  }
})

/** the package.json of the package that holds `file` */
const manifestOf = (file: string): string | undefined => {
  for (let dir = Path.dirname(file); dir !== Path.dirname(dir); dir = Path.dirname(dir)) {
    const manifest = Path.join(dir, "package.json")
    if (Fs.existsSync(manifest)) return manifest
  }
  return undefined
}

/** spelled in parts: this file is bundled into children too, and its own import.meta is rewritten */
const importMeta = (key: string) => `${"import"}.meta.${key}`

const args = (dir: string, base: string, format: Format): ReadonlyArray<string> =>
  format === "cjs" ? [launcherFile(dir), `${base}.cjs`] : [`${base}.mjs`]

const topLevelAwait = (e: unknown): boolean =>
  ((e as { errors?: Array<EsbuildMessage> }).errors ?? []).some((m) => /top-level await/i.test(m.text))

const build = (
  actorName: string,
  modules: ReadonlyArray<readonly [string, string]>,
  external: ReadonlyArray<string>,
  dir: string,
  base: string,
  metaFile: string
): Effect.Effect<Format, ActorError.SpawnError> =>
  Effect.tryPromise({
    try: async () => {
      const esbuild = await import("esbuild")
      Fs.mkdirSync(dir, { recursive: true })
      const loadedAtRunTime = new Set<string>()
      const contents = [
        `import { main } from ${JSON.stringify(childEntryPath)}`,
        `main([`,
        ...modules.map(([name, resolved]) => `  [${JSON.stringify(name)}, () => import(${JSON.stringify(resolved)})],`),
        `])`
      ].join("\n")
      const bundleAs = async (format: Format) => {
        const file = `${base}.${format === "cjs" ? "cjs" : "mjs"}`
        const tmp = `${file}.${process.pid}.${Crypto.randomBytes(4).toString("hex")}.tmp`
        try {
          const result = await esbuild.build({
            stdin: { contents, resolveDir: process.cwd(), sourcefile: entryName, loader: "ts" },
            bundle: true,
            platform: "node",
            format,
            target: "node20",
            outfile: tmp,
            metafile: true,
            write: true,
            logLevel: "silent",
            legalComments: "none",
            // read only when an error's stack is rendered (see `internal/sourceMap.ts`), or by a
            // debugger, which finds it by the comment added below: nothing at startup
            sourcemap: "external",
            sourcesContent: false,
            // less text to compile at every start; identifiers stay readable in remote stacks
            minifyWhitespace: true,
            minifySyntax: true,
            // an actor that spawns actors builds bundles too: esbuild stays a package, found from the cache folder
            external: ["esbuild"],
            plugins: [keepImportMeta, ...(external.length > 0 ? [externalPackages(external, loadedAtRunTime)] : [])],
            ...(format === "cjs"
              ? {
                // packages that locate their files with import.meta see the bundle, as they do in an ESM bundle
                define: {
                  [importMeta("url")]: "__effectTractorUrl",
                  [importMeta("dirname")]: "__dirname",
                  [importMeta("filename")]: "__filename"
                },
                banner: { js: "var __effectTractorUrl=require('node:url').pathToFileURL(__filename).href;" },
                // a script compiled by node:vm has no loader for import(): what stays outside the bundle
                // (node builtins, esbuild, computed specifiers) is required instead, which in Node 20
                // cannot load an ESM-only package by a computed name
                supported: { "dynamic-import": false }
              }
              : {
                banner: {
                  js: "import { createRequire as __effectTractorRequire } from 'node:module';" +
                    `const require = __effectTractorRequire(${importMeta("url")});`
                }
              })
          })
          // the map's final name (esbuild's own comment would name the temporary file)
          Fs.appendFileSync(tmp, `\n//# sourceMappingURL=${Path.basename(file)}.map\n`)
          Fs.renameSync(`${tmp}.map`, `${file}.map`)
          Fs.renameSync(tmp, file)
          Fs.rmSync(`${file}.v8`, { force: true })
          return result
        } finally {
          Fs.rmSync(tmp, { force: true })
          Fs.rmSync(`${tmp}.map`, { force: true })
        }
      }
      try {
        let format: Format = "cjs"
        const result = await bundleAs("cjs").catch((e) => {
          if (!topLevelAwait(e)) throw e
          format = "esm"
          return bundleAs("esm")
        })
        const inputs: Record<string, readonly [number, number, number, number]> = {}
        // a package left outside is loaded from where it is: its manifest tells when it moved on
        for (const file of loadedAtRunTime) {
          for (const input of [file, manifestOf(file)]) {
            const stats = input === undefined ? undefined : stamp(input)
            if (stats !== undefined) inputs[input!] = stats
          }
        }
        for (const input of Object.keys(result.metafile.inputs)) {
          const abs = Path.resolve(input)
          const stats = stamp(abs)
          if (stats !== undefined) inputs[abs] = stats
        }
        Fs.writeFileSync(metaFile, JSON.stringify({ format, inputs } satisfies Meta))
        used.add(metaFile)
        prune(dir)
        return format
      } finally {
        await esbuild.stop()
      }
    },
    catch: (e) => {
      const errors: ReadonlyArray<EsbuildMessage> = (e as { errors?: Array<EsbuildMessage> }).errors ?? []
      const module = blame(modules, errors)
      return new ActorError.SpawnError({
        actorName,
        ...(module !== undefined ? { module } : {}),
        message: `could not build the modules of actor "${actorName}"${module ? ` (${module})` : ""}: ${
          errors.length > 0 ? render(errors) : String(e)
        }`
      })
    }
  })
