// The README's programs, as the tests and the consumer test run them: every ```ts block preceded
// by `<!-- readme-file: name.ts -->` is a file of one project, and a ```text block preceded by
// `<!-- readme-output: name.ts [unordered=N] -->` is what running that file prints (pids written
// as any number; with unordered=N the first N lines may come in any order).
import { readFileSync } from "node:fs"

const marker = /^<!-- readme-(file|output): (\S+)(?: unordered=(\d+))? -->\n```(\w+)\n([\s\S]*?)\n```$/gm

/** @returns {{ files: Array<{ name: string, code: string }>, outputs: Array<{ name: string, lines: Array<string>, unordered: number }> }} */
export const readmeBlocks = (file = new URL("../README.md", import.meta.url)) => {
  const text = readFileSync(file, "utf8")
  const files = []
  const outputs = []
  for (const m of text.matchAll(marker)) {
    const [, kind, name, unordered, , body] = m
    if (kind === "file") files.push({ name, code: body + "\n" })
    else outputs.push({ name, lines: body.split("\n"), unordered: Number(unordered ?? 0) })
  }
  return { files, outputs }
}

const normalize = (line) => line.replace(/@\d+/g, "@<pid>").trimEnd()

/** The differences between what a program printed and what the README says it prints, if any. */
export const outputProblem = (expected, stdout) => {
  const got = stdout.trimEnd().split("\n").map(normalize)
  const want = expected.lines.map(normalize)
  const n = expected.unordered
  const same = got.length === want.length &&
    [...got.slice(0, n)].sort().join("\n") === [...want.slice(0, n)].sort().join("\n") &&
    got.slice(n).join("\n") === want.slice(n).join("\n")
  return same ? undefined : `${expected.name} printed:\n${got.join("\n")}\nthe README says:\n${want.join("\n")}`
}

/** The tsconfig a user of the README would have (NodeNext, strict). */
export const userTsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: true,
    types: ["node"],
    rootDir: ".",
    outDir: "out"
  }
}
