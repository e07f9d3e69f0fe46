/**
 * Paths of the actor modules in test/fixtures.
 */
export const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url)

export const echoModule = fixture("echo.ts")
