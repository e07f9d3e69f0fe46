/**
 * Baseline child for memory and spawn cost: a bare node child (plain fork IPC, no effect-tractor
 * runtime, no link, no watchdog) that loads the same code as the echo actor. Bundled by esbuild
 * with the same options effect-tractor uses for its own child entries (see scenarios/prepare.ts),
 * and loaded through a dynamic import like the actor's enabled modules are.
 */
const loaded = await import("../actors/echo.ts")
;(globalThis as { __benchLoaded?: unknown }).__benchLoaded = loaded

process.on("message", (m) => process.send!(m))
process.on("disconnect", () => process.exit(0))
