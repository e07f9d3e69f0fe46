/**
 * Assertions shared by the test files.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"

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


/** what `expectLogs` and `tolerateLogs` keep instead of printing; the rest goes to the loggers around */
const keeping = (required: ReadonlyArray<RegExp>, allowed: ReadonlyArray<RegExp>) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(FiberRef.currentLoggers), (outer) => {
    const seen = required.map(() => false)
    const logger = Logger.make<unknown, void>((options) => {
      const text = (Array.isArray(options.message) ? options.message : [options.message]).map(String).join(" ")
      const i = required.findIndex((pattern) => pattern.test(text))
      if (i !== -1) seen[i] = true
      else if (!allowed.some((pattern) => pattern.test(text))) for (const l of outer) l.log(options)
    })
    return self.pipe(
      Effect.locally(FiberRef.currentLoggers, HashSet.make(logger)),
      Effect.tap(() => {
        const missing = required.filter((_, i) => !seen[i])
        assert.deepStrictEqual(missing.map(String), [], "expected log entries that never came")
      })
    )
  })

/**
 * Runs `self` with a logger that keeps the entries matching `expected` (each must be logged at
 * least once, or the test fails) and passes every other one to the default logger: a warning the
 * test provokes on purpose (a ladder escalation, a dropped connection) is checked, not printed as
 * if something had gone wrong. Entries whose text matches no pattern still show.
 */
export const expectLogs = (...expected: ReadonlyArray<RegExp>) => keeping(expected, [])

/**
 * Like `expectLogs`, for entries a test may provoke depending on timing (a connection that a
 * race drops): kept when they come, not required.
 */
export const tolerateLogs = (...allowed: ReadonlyArray<RegExp>) => keeping([], allowed)
