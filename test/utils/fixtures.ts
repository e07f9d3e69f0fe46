/**
 * Paths of the actor modules in test/fixtures, and scratch folders.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url)

export const echoModule = fixture("echo.ts")

const scratch: Array<string> = []

/** @internal removes the folders made by `tempDir` (after each test file, see ./index.ts) */
export const removeTempDirs = (): void => {
  for (const dir of scratch.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
}

/** A fresh folder under the system's temporary folder, removed after the test file. */
export const tempDir = (prefix: string): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  scratch.push(dir)
  return dir
}
