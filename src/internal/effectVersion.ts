/**
 * The Effect this library was loaded with must be the major line it was built for: Effect values
 * of another major look like effects but are not (`Fiber.runLoop: Not a valid effect`), so a
 * mismatch is refused where effect-tractor is first imported, with a message that names the fix.
 */
import * as Module from "node:module"

/** @internal the range of `peerDependencies.effect` */
export const supportedEffect = { range: "^3.22.0", major: 3, minor: 22 } as const

/** @internal the problem with `version`, or `undefined` when it is supported */
export const effectVersionProblem = (version: string, from?: string): string | undefined => {
  const m = /^(\d+)\.(\d+)\.\d+/.exec(version)
  const major = m === null ? NaN : Number(m[1])
  const minor = m === null ? NaN : Number(m[2])
  if (major === supportedEffect.major && minor >= supportedEffect.minor) return undefined
  return `effect-tractor needs effect ${supportedEffect.range} (3.22 or a later 3.x), but it loaded effect ${version}` +
    `${from === undefined ? "" : ` from ${from}`}: install a supported version (npm install effect@${supportedEffect.range})` +
    (major > supportedEffect.major ? `; effect ${major} is not supported yet` : "")
}

/** @internal throws at import when the installed effect is not supported (actors skip it: their parent checked) */
export const assertSupportedEffect = (): void => {
  if (process.env["EFFECT_TRACTOR_SPEC"] !== undefined) return
  let version: string
  let from: string
  try {
    const require = Module.createRequire(import.meta.url)
    from = require.resolve("effect/package.json")
    version = (require(from) as { version: string }).version
  } catch {
    return // not resolvable this way (a bundler inlined effect): nothing to check against
  }
  const problem = effectVersionProblem(version, from)
  if (problem !== undefined) throw new Error(problem)
}
