/**
 * Remote stacks that point at the user's files: an actor runs a bundle, so the frames of an error
 * raised in it name the bundle. esbuild writes each bundle's source map next to it (`<bundle>.map`);
 * this reads it only when a stack is boxed for the trip to the caller, so spawning pays nothing.
 */
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"
import * as Url from "node:url"

/**
 * One source map, decoded just enough to answer lookups: the VLQ mappings are scanned once for the
 * running state at the start of every generated line (Node's `module.SourceMap` decodes every
 * mapping into objects: ~50 ms for an actor that imports effect, against ~5 ms here), and a lookup
 * then decodes only its own line.
 */
/** @internal */
export interface Decoded {
  readonly sources: ReadonlyArray<string>
  readonly mappings: string
  /** per generated line: where it starts in `mappings`, and the source, line and column before it */
  readonly lines: Array<readonly [start: number, source: number, line: number, column: number]>
  /** the source, line and column of the last segment */
  readonly last: readonly [number, number, number]
}

const digits = new Int8Array(128).fill(-1)
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].entries()) {
  digits[c.charCodeAt(0)] = i
}

/** decodes the segments of `mappings` from `from`, calling `segment` for each, until a line ends */
const scanLine = (
  mappings: string,
  from: number,
  state: [number, number, number],
  segment: (column: number) => boolean
): number => {
  let i = from
  let column = 0
  const fields = [0, 0, 0, 0, 0]
  while (i < mappings.length) {
    const c = mappings.charCodeAt(i)
    if (c === 59) return i + 1 // ';' ends the line
    if (c === 44) {
      i++
      continue
    }
    let n = 0
    while (i < mappings.length) {
      const ch = mappings.charCodeAt(i)
      if (ch === 44 || ch === 59) break
      let value = 0
      let shift = 0
      let digit: number
      do {
        digit = digits[mappings.charCodeAt(i++)]!
        value += (digit & 31) << shift
        shift += 5
      } while (digit & 32)
      fields[n++] = value & 1 ? -(value >>> 1) : value >>> 1
    }
    column += fields[0]!
    if (n >= 4) {
      state[0] += fields[1]!
      state[1] += fields[2]!
      state[2] += fields[3]!
    }
    if (n >= 4 && !segment(column)) return -1
  }
  return i
}

/** @internal */
export const decode = (text: string): Decoded => {
  const raw = JSON.parse(text) as { sources: Array<string>; mappings: string }
  const lines: Decoded["lines"] = []
  const state: [number, number, number] = [0, 0, 0]
  let seen = false
  let i = 0
  while (i < raw.mappings.length) {
    // a source of -1: no segment yet, nothing to fall back on
    lines.push([i, seen ? state[0] : -1, state[1], state[2]])
    i = scanLine(raw.mappings, i, state, () => (seen = true))
  }
  return { sources: raw.sources, mappings: raw.mappings, lines, last: [state[0], state[1], state[2]] }
}

/** the original source, line and column (all 0-based) of a generated position */
/** @internal */
export const lookup = (map: Decoded, line: number, column: number): readonly [string, number, number] | undefined => {
  const at = map.lines[line]
  if (at === undefined) {
    const [source, l, c] = map.last
    return line > 0 && map.sources[source] !== undefined ? [map.sources[source]!, l, c] : undefined
  }
  const state: [number, number, number] = [Math.max(0, at[1]), at[2], at[3]]
  // before the line's first segment, the position belongs to the last segment of an earlier line
  let found: readonly [number, number, number] | undefined = at[1] === -1 ? undefined : [at[1], at[2], at[3]]
  scanLine(map.mappings, at[0], state, (generated) => {
    if (generated > column) return false
    found = [state[0], state[1], state[2]]
    return true
  })
  return found === undefined || map.sources[found[0]] === undefined
    ? undefined
    : [map.sources[found[0]]!, found[1], found[2]]
}

const maps = new Map<string, Decoded | null>()

const mapOf = (file: string): Decoded | null => {
  let map = maps.get(file)
  if (map === undefined) {
    map = null
    try {
      map = decode(Fs.readFileSync(`${file}.map`, "utf8"))
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

// the frames from the link's dispatch on are this library's, the same for every error: not shown
const dispatch = /[\\/]internal[\\/]link\.(ts|js):\d+:\d+\)?$/

/** @internal without the frames of the library's own dispatch that called the handler */
export const trimDispatch = (stack: string): string => {
  const lines = stack.split("\n")
  const at = lines.findIndex((line) => dispatch.test(line))
  return at <= 0 ? stack : lines.slice(0, at).join("\n")
}

/**
 * A stack whose frames in bundles with a source map name the original files and lines, without
 * the library's dispatch frames below the handler.
 * @internal
 */
export const mapStack = (stack: string): string => trimDispatch(mapFrames(stack))

const mapFrames = (stack: string): string => {
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
    const entry = lookup(map, lineNumber - 1, Math.max(0, column))
    if (entry === undefined) return line
    const source = entry[0].startsWith("file:") ? Url.fileURLToPath(entry[0]) : Path.resolve(Path.dirname(file), entry[0])
    return `${m[1]}${source}:${entry[1] + 1}:${entry[2] + 1}${m[5]}`
  }).join("\n")
}
