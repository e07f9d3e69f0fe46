import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as esbuild from "esbuild"
import * as FastCheck from "effect/FastCheck"
import { decode, lookup, mapStack } from "../../src/internal/sourceMap.ts"
import { tempDir } from "../utils/index.ts"

// a bundle made the way actors' bundles are: minified whitespace, an external map, a banner
const dir = tempDir("effect-tractor-sourcemap-test-")
const bundle = Path.join(dir, "bundle.cjs")
esbuild.buildSync({
  entryPoints: [Url.fileURLToPath(new URL("../fixtures/echo.ts", import.meta.url))],
  bundle: true,
  platform: "node",
  format: "cjs",
  outfile: bundle,
  sourcemap: "external",
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  banner: { js: "var banner=1;" },
  logLevel: "silent"
})
const text = Fs.readFileSync(`${bundle}.map`, "utf8")
const reference = new Module.SourceMap(JSON.parse(text))
const decoded = decode(text)
const lines = Fs.readFileSync(bundle, "utf8").split("\n")

describe("sourceMap", () => {
  it.prop(
    "looks a generated position up exactly as Node's SourceMap does",
    [FastCheck.nat({ max: lines.length }), FastCheck.nat({ max: 1_000_000 })],
    ([line, at]) => {
      const column = at % ((lines[line]?.length ?? 0) + 2)
      const expected = reference.findEntry(line, column) as Partial<Module.SourceMapping>
      const got: ReadonlyArray<string | number | undefined> | undefined = lookup(decoded, line, column)
      assert.deepStrictEqual(
        got,
        expected.originalSource === undefined
          ? undefined
          : [expected.originalSource, expected.originalLine, expected.originalColumn]
      )
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it("maps the frames of a stack in a bundle to the original files, and leaves other frames alone", () => {
    const line = lines.findIndex((l) => l.includes("slept "))
    const column = lines[line]!.indexOf("slept ")
    const stack = [
      "Error: boom",
      `    at handler (${bundle}:${line + 1}:${column + 1})`,
      `    at ${Url.pathToFileURL(bundle).href}:${line + 1}:${column + 1}`,
      "    at node:internal/process/task_queues:95:5"
    ].join("\n")
    const mapped = mapStack(stack).split("\n")
    const echo = Url.fileURLToPath(new URL("../fixtures/echo.ts", import.meta.url))
    assert.strictEqual(mapped[0], "Error: boom")
    assert.match(mapped[1]!, new RegExp(`^    at handler \\(${echo.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+\\)$`))
    assert.include(mapped[2]!, `${echo}:`)
    assert.strictEqual(mapped[3], "    at node:internal/process/task_queues:95:5")
    // a file without a map is left as it is
    assert.strictEqual(mapStack("Error\n    at /nowhere/x.cjs:1:5"), "Error\n    at /nowhere/x.cjs:1:5")
  })
})
