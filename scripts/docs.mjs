// The API reference, from the doc comments of the public modules (src/*.ts, not src/internal).
//   node scripts/docs.mjs           writes docs/api/<Module>.md and docs/api/index.md
//   node scripts/docs.mjs --check   type checks every @example (as a user's strict NodeNext project
//                                   importing the built package) and fails on a value export
//                                   without one; writes nothing outside build/
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)
const ts = require("typescript")
const root = fileURLToPath(new URL("..", import.meta.url))
const check = process.argv.includes("--check")

const modules = readdirSync(join(root, "src"))
  .filter((f) => f.endsWith(".ts") && f !== "index.ts")
  .map((f) => f.slice(0, -3))
  .sort()

const tagText = (tag) => (typeof tag.comment === "string" ? tag.comment : ts.getTextOfJSDocComment(tag.comment) ?? "")

/** every exported declaration of a module with its doc comment */
const exportsOf = (name) => {
  const file = join(root, "src", `${name}.ts`)
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const moduleDoc = ts.getJSDocCommentsAndTags(source.statements[0] ?? source).find(ts.isJSDoc)
  const out = []
  const visit = (node, prefix) => {
    const exported = ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export
    if (!exported) return
    let names = []
    let kind = "value"
    if (ts.isVariableStatement(node)) names = node.declarationList.declarations.map((d) => d.name.getText())
    else if (ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) names = [node.name?.getText()]
    else if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) {
      names = [node.name.getText()]
      kind = "type"
    } else if (ts.isModuleDeclaration(node)) {
      const body = node.body
      if (body && ts.isModuleBlock(body)) for (const s of body.statements) visit(s, `${prefix}${node.name.getText()}.`)
      return
    }
    const doc = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc).at(-1)
    for (const n of names) {
      if (n === undefined) continue
      const tags = doc?.tags ?? []
      out.push({
        name: prefix + n,
        kind: ts.isClassDeclaration(node) ? "class" : kind,
        summary: doc ? (ts.getTextOfJSDocComment(doc.comment) ?? "") : "",
        examples: tags.filter((t) => t.tagName.text === "example").map(tagText),
        since: tags.find((t) => t.tagName.text === "since") ? tagText(tags.find((t) => t.tagName.text === "since")) : undefined,
        category: tags.find((t) => t.tagName.text === "category") ? tagText(tags.find((t) => t.tagName.text === "category")) : "other",
        signature: signatureOf(node, n, source)
      })
    }
  }
  for (const statement of source.statements) visit(statement, "")
  return { summary: moduleDoc ? (ts.getTextOfJSDocComment(moduleDoc.comment) ?? "") : "", items: out }
}

/** the declaration as a user sees it: its text up to the implementation */
const signatureOf = (node, name, source) => {
  if (ts.isVariableStatement(node)) {
    const d = node.declarationList.declarations.find((d) => d.name.getText() === name)
    return d.type ? `export declare const ${name}: ${d.type.getText(source)}` : `export declare const ${name}`
  }
  if (ts.isClassDeclaration(node)) return `export declare class ${name}`
  if (ts.isFunctionDeclaration(node)) {
    const text = node.getText(source)
    return text.slice(0, node.body ? node.body.getStart(source) - node.getStart(source) : text.length).trim()
  }
  return node.getText(source).replace(/\/\*\*[\s\S]*?\*\/\s*/g, "")
}

const code = (example) => /```ts\n([\s\S]*?)```/.exec(example)?.[1]

const all = modules.map((name) => ({ name, ...exportsOf(name) }))


/** the reference's files: docs/api/<name> -> text */
function reference() {
  const files = {}
  const index = ["# API reference", "", "Generated from the doc comments by `npm run docs`.", "", "| module | what |", "|---|---|"]
  for (const module of all) {
    index.push(`| [${module.name}](${module.name}.md) | ${module.summary.split("\n").join(" ")} |`)
    const lines = [`# ${module.name}`, "", module.summary, "", "```ts", `import * as ${module.name} from "effect-tractor/${module.name}"`, "```", ""]
    const categories = [...new Set(module.items.map((i) => i.category))].sort()
    for (const category of categories) {
      lines.push(`## ${category}`, "")
      for (const item of module.items.filter((i) => i.category === category)) {
        lines.push(`### ${item.name}`, "")
        if (item.summary !== "") lines.push(item.summary, "")
        lines.push("```ts", item.signature, "```", "")
        for (const example of item.examples) lines.push("**Example**", "", example.trim(), "")
        if (item.since) lines.push(`Since ${item.since}`, "")
      }
    }
    files[`${module.name}.md`] = lines.join("\n")
  }
  files["index.md"] = index.join("\n") + "\n"
  return files
}

if (check) {
  const dir = join(root, "build", "doc-examples")
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const problems = []
  let count = 0
  for (const module of all) {
    for (const item of module.items) {
      const blocks = item.examples.map(code).filter((c) => c !== undefined)
      if (item.kind !== "type" && !item.name.endsWith("TypeId") && blocks.length === 0) {
        problems.push(`src/${module.name}.ts: ${item.name} has no @example`)
      }
      blocks.forEach((block, i) => {
        count++
        // each example is a module of its own; a trailing export keeps it one
        writeFileSync(join(dir, `${module.name}.${item.name}.${i}.ts`), `${block}\nexport {}\n`)
      })
    }
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true,
        exactOptionalPropertyTypes: true, skipLibCheck: true, types: ["node"], noEmit: true,
        noUnusedLocals: false, rootDir: "."
      },
      include: ["*.ts"]
    })
  )
  try {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", dir], { cwd: root, encoding: "utf8" })
  } catch (e) {
    problems.push(`the examples do not type check:\n${e.stdout}`)
  }
  rmSync(dir, { recursive: true, force: true })
  for (const [name, text] of Object.entries(reference())) {
    let current
    try {
      current = readFileSync(join(root, "docs", "api", name), "utf8")
    } catch {}
    if (current !== text) problems.push(`docs/api/${name} is out of date: run npm run docs`)
  }
  for (const p of problems) console.error(p)
  if (problems.length > 0) process.exit(1)
  console.log(`docs: ${count} examples of ${all.length} modules type check`)
}

if (!check) {
  const dir = join(root, "docs", "api")
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of Object.entries(reference())) writeFileSync(join(dir, name), text)
  console.log(`docs: docs/api/ written (${all.length} modules)`)
}
