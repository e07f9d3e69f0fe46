/**
 * Where the bench actor modules are, for `Nursery.spawn(..., { modules })`.
 */
export const echoModule: URL = new URL("./echo.ts", import.meta.url)
export const primesModule: URL = new URL("./primes.ts", import.meta.url)
export const streamModule: URL = new URL("./stream.ts", import.meta.url)
