/**
 * Remote stacks that point at the user's files: an actor runs a bundle, so the frames of an error
 * raised in it name the bundle. esbuild writes each bundle's source map next to it (`<bundle>.map`);
 * this reads it only when a stack is boxed for the trip to the caller, so spawning pays nothing.
 */
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"
import * as Url from "node:url"

const maps = new Map<string, Module.SourceMap | null>()

const mapOf = (file: string): Module.SourceMap | null => {
  let map = maps.get(file)
  if (map === undefined) {
    map = null
    try {
      const text = Fs.readFileSync(`${file}.map`, "utf8")
      map = new Module.SourceMap(JSON.parse(text))
    } catch {
      // no map (not a bundle, or the cache was cleared): the frame stays as it is
    }
    maps.set(file, map)
  }
  return map
}

// `at fn (file:line:col)` or `at file:line:col`, with a path or a file URL
const frame = /^(\s*at (?:.*? \()?)((?:file:\/\/)?\/[^():]+?\.(?:cjs|mjs|js)):(\d+):(\d+)(\)?)$/
const wrapperLength = (Module as unknown as { readonly wrapper?: ReadonlyArray<string> }).wrapper?.[0]?.length ?? 0

/** @internal a stack whose frames in bundles with a source map name the original files and lines */
export const mapStack = (stack: string): string => {
  if (!stack.includes(".cjs:") && !stack.includes(".mjs:")) return stack
  return stack.split("\n").map((line) => {
    const m = frame.exec(line)
    if (m === null) return line
    const file = m[2]!.startsWith("file:") ? Url.fileURLToPath(m[2]!) : m[2]!
    const map = mapOf(file)
    if (map === null) return line
    const lineNumber = Number(m[3])
    // a CommonJS bundle is compiled inside the module wrapper, which shifts its first line
    const column = Number(m[4]) - 1 - (lineNumber === 1 && file.endsWith(".cjs") ? wrapperLength : 0)
    const entry = map.findEntry(lineNumber - 1, Math.max(0, column)) as Partial<Module.SourceMapping>
    if (entry.originalSource === undefined || entry.originalLine === undefined) return line
    const source = entry.originalSource.startsWith("file:")
      ? Url.fileURLToPath(entry.originalSource)
      : Path.resolve(Path.dirname(file), entry.originalSource)
    return `${m[1]}${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}${m[5]}`
  }).join("\n")
}
