/**
 * Builds `dist/` once before the tests: the examples and the README's programs import the library
 * by its package name, which resolves to the build.
 */
import * as ChildProcess from "node:child_process"
import * as Url from "node:url"

export default function setup() {
  const root = Url.fileURLToPath(new URL("..", import.meta.url))
  ChildProcess.execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: "inherit" })
}
