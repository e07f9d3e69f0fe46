// Project rules that a type checker cannot see. Exits non-zero with one line per violation.
//  - src/ imports Effect modules one by one ("effect/Effect"), never a barrel ("effect",
//    "@effect/platform"): the barrel costs about a second per spawned actor.
//  - no console, async/await or try/catch in src/ outside the child bootstrap and the bundler glue.
//  - public modules open with a one-sentence doc comment carrying @since.
//  - imports inside src/ point one way: no import circle, type-only imports included.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const root = new URL("..", import.meta.url).pathname
const files = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : []
  })

const problems = []
const imperativeAllowed = new Set(["src/internal/child.ts", "src/internal/bundle.ts", "src/internal/link.ts", "src/internal/server.ts", "src/internal/watchdog.ts", "src/internal/actorProcess.ts"])
for (const file of files(join(root, "src"))) {
  const rel = relative(root, file)
  const text = readFileSync(file, "utf8")
  text.split("\n").forEach((line, i) => {
    const at = `${rel}:${i + 1}`
    if (/from\s+"(effect|@effect\/platform|@effect\/platform-node)"/.test(line)) problems.push(`${at}: barrel import (${line.trim()}); import the module itself`)
    if (/\bconsole\./.test(line)) problems.push(`${at}: console in src/; log with Effect.log*`)
    if (!imperativeAllowed.has(rel) && (/(?<![.\w])(async\s+(\(|function|\w+\s*=>)|await\s)/.test(line) && !line.trim().startsWith("*"))) problems.push(`${at}: async/await in src/; use Effects`)
  })
  if (!rel.includes("/internal/") && !/^(#!.*\n)?\/\*\*[\s\S]*?@since/.test(text)) problems.push(`${rel}: public module without an opening doc comment with @since`)
}
// the import graph of src/, type-only and dynamic imports included, and its circles
const graph = new Map()
for (const file of files(join(root, "src"))) {
  const text = readFileSync(file, "utf8")
  const targets = [...text.matchAll(/(?:from\s+|import\(\s*)"(\.{1,2}\/[^"]+)\.js"/g)].map((m) =>
    relative(root, resolve(dirname(file), m[1] + ".ts"))
  )
  graph.set(relative(root, file), new Set(targets))
}
const state = new Map()
const circles = []
const visit = (node, path) => {
  state.set(node, "open")
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === "open") circles.push([...path.slice(path.indexOf(next)), next].join(" -> "))
    else if (!state.has(next)) visit(next, [...path, next])
  }
  state.set(node, "done")
}
for (const node of graph.keys()) if (!state.has(node)) visit(node, [node])
for (const circle of circles) problems.push(`import circle: ${circle}`)

for (const p of problems) console.error(p)
if (problems.length > 0) process.exit(1)
console.log(`lint: ${files(join(root, "src")).length} files clean`)
