// Project rules that a type checker cannot see. Exits non-zero with one line per violation.
//  - src/ imports Effect modules one by one ("effect/Effect"), never a barrel ("effect",
//    "@effect/platform"): the barrel costs about a second per spawned actor.
//  - no console, async/await or try/catch in src/ outside the child bootstrap and the bundler glue.
//  - public modules open with a one-sentence doc comment carrying @since.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const root = new URL("..", import.meta.url).pathname
const files = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : []
  })

const problems = []
const imperativeAllowed = new Set(["src/internal/child.ts", "src/internal/bundle.ts", "src/internal/link.ts", "src/internal/watchdog.ts", "src/internal/actorProcess.ts"])
for (const file of files(join(root, "src"))) {
  const rel = relative(root, file)
  const text = readFileSync(file, "utf8")
  text.split("\n").forEach((line, i) => {
    const at = `${rel}:${i + 1}`
    if (/from\s+"(effect|@effect\/platform|@effect\/platform-node)"/.test(line)) problems.push(`${at}: barrel import (${line.trim()}); import the module itself`)
    if (/\bconsole\./.test(line)) problems.push(`${at}: console in src/; log with Effect.log*`)
    if (!imperativeAllowed.has(rel) && (/(?<![.\w])(async\s+(\(|function|\w+\s*=>)|await\s)/.test(line) && !line.trim().startsWith("*"))) problems.push(`${at}: async/await in src/; use Effects`)
  })
  if (!rel.includes("/internal/") && !/^\/\*\*[\s\S]*?@since/.test(text)) problems.push(`${rel}: public module without an opening doc comment with @since`)
}
for (const p of problems) console.error(p)
if (problems.length > 0) process.exit(1)
console.log(`lint: ${files(join(root, "src")).length} files clean`)
