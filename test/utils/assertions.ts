/**
 * Assertions shared by the test files.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"

/** Runs `effect`, expects it to fail, and returns the error after checking its class. */
export const failsWith = <A, E, R, C>(
  effect: Effect.Effect<A, E, R>,
  ErrorClass: new(...args: Array<any>) => C
): Effect.Effect<C, never, R> =>
  Effect.flip(effect).pipe(
    Effect.orDieWith((value) => new Error(`expected a failure, got the success ${JSON.stringify(value)?.slice(0, 200)}`)),
    Effect.map((error) => {
      assert.instanceOf(error, ErrorClass, `unexpected error: ${String(error)}`)
      return error as unknown as C
    })
  )

