/**
 * Shared test helpers.
 */
import { afterAll, afterEach } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { removeTempDirs } from "./fixtures.ts"
import { assertNoOrphans } from "./processes.ts"

export * from "./fixtures.ts"
export * from "./net.ts"
export * from "./processes.ts"

/** After every test of the file: no process of this test process's tree may be left alive. */
export const checkOrphansAfterEach = (timeoutMs = 3000) =>
  afterEach(() => Effect.runPromise(assertNoOrphans(timeoutMs)))

// every test file imports these helpers: its scratch folders go when it ends
afterAll(removeTempDirs)
