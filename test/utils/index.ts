/**
 * Shared test helpers.
 */
import { afterEach } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { assertNoOrphans } from "./processes.ts"

export * from "./fixtures.ts"
export * from "./processes.ts"

/** After every test of the file: no process of this test process's tree may be left alive. */
export const checkOrphansAfterEach = (timeoutMs = 3000) =>
  afterEach(() => Effect.runPromise(assertNoOrphans(timeoutMs)))
