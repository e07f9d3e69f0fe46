// Builds dist/ from src/ (JavaScript, declarations, declaration and source maps), from a clean folder
// so that no file of a removed module is ever shipped.
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { createRequire } from "node:module"

const root = new URL("..", import.meta.url)
rmSync(new URL("dist", root), { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
