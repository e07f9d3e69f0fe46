/**
 * Paths of the bench files. Generated files go to `.bench-out/` at the repository root (ignored
 * by git).
 */
import * as Path from "node:path"
import * as Url from "node:url"

export const benchDir: string = Path.dirname(Path.dirname(Url.fileURLToPath(import.meta.url)))
export const repoRoot: string = Path.dirname(benchDir)
export const outDir: string = Path.join(repoRoot, ".bench-out")
export const bench = (...parts: Array<string>): string => Path.join(benchDir, ...parts)

/** The bare-imports baseline child, bundled by scenarios/prepare.ts. */
export const bareImportsBundle: string = Path.join(outDir, "bare-imports.mjs")
