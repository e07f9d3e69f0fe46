/**
 * The main program of a tree: `runMain` runs it in the root with graceful Ctrl-C, and does nothing
 * in an actor, which imports the same module to serve what it exports (the one-file program).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import type * as FiberId from "effect/FiberId"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"

// one answer per process, whatever copies of this module a bundle holds: the spawner's spec is in
// the environment while an actor's bundle loads, and the child bootstrap marks it too
const state: { actor: boolean } = ((globalThis as any)[Symbol.for("effect-tractor/actor-process")] ??= {
  actor: process.env["EFFECT_TRACTOR_SPEC"] !== undefined
})

/** @internal */
export const isActorProcess = (): boolean => state.actor

/** @internal called by the child bootstrap before it imports the enabled modules */
export const markActorProcess = (): void => {
  state.actor = true
}

/** @internal */
export interface RunMainOptions {
  readonly disableErrorReporting?: boolean | undefined
  readonly disablePrettyLogger?: boolean | undefined
  readonly teardown?: ((exit: Exit.Exit<unknown, unknown>, onExit: (code: number) => void) => void) | undefined
}

/** @internal exit code 1 for a failure, 0 for success or an interruption (as `NodeRuntime.runMain`) */
export const defaultTeardown = (exit: Exit.Exit<unknown, unknown>, onExit: (code: number) => void): void =>
  onExit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)

const prettyLogger = (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime) => {
  const loggers = FiberRefs.getOrDefault(refs, FiberRef.currentLoggers)
  if (!HashSet.has(loggers, Logger.defaultLogger)) return refs
  return FiberRefs.updateAs(refs, {
    fiberId,
    fiberRef: FiberRef.currentLoggers,
    value: loggers.pipe(HashSet.remove(Logger.defaultLogger), HashSet.add(Logger.prettyLoggerDefault))
  })
}

/** @internal */
export const runMain = <A, E>(effect: Effect.Effect<A, E>, options: RunMainOptions = {}): void => {
  if (state.actor) return
  const reported = options.disableErrorReporting === true ? effect : Effect.tapErrorCause(effect, (cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(cause))
  const fiber: Fiber.RuntimeFiber<A, E> = Effect.runFork(reported, {
    ...(options.disablePrettyLogger === true ? {} : { updateRefs: prettyLogger })
  })
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  let signalled = false
  const onSignal = () => {
    signalled = true
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    clearInterval(keepAlive)
    ;(options.teardown ?? defaultTeardown)(exit, (code) => {
      process.exitCode = code
      if (signalled || code !== 0) process.exit(code)
    })
  })
}
