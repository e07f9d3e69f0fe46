/**
 * Running a program of actors: `runMain`, the entry point of a tree, which is also the guard that
 * lets one module hold the protocol, its implementation and the main program.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as internal from "./internal/main.js"

/**
 * @since 0.1.0
 */
export declare namespace runMain {
  /**
   * @since 0.1.0
   */
  export interface Options {
    /** Do not log the failure of the program (default: logged with its cause, remote stacks included). */
    readonly disableErrorReporting?: boolean | undefined
    /** Keep Effect's default logger instead of the pretty one. */
    readonly disablePrettyLogger?: boolean | undefined
    /** Decides the exit code (default: 1 for a failure, 0 for success or Ctrl-C). */
    readonly teardown?: ((exit: Exit.Exit<unknown, unknown>, onExit: (code: number) => void) => void) | undefined
  }
}

/**
 * Runs `effect` as the main program of the process, like `NodeRuntime.runMain`: SIGINT (Ctrl-C) and
 * SIGTERM interrupt it, so every nursery tears its actors down through the ladder and every
 * finalizer runs, in the root and in the actors; a failure is logged with its cause and sets exit
 * code 1.
 *
 * **Details**
 *
 * In an actor process `runMain` does nothing. An actor imports its enabled modules to find the
 * implementations they export, so a module that is both an actor module and the main program
 * (`modules: [import.meta.url]`) must not run its main when an actor imports it: `runMain` is this
 * library's `if __name__ == "__main__"`.
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const main = Nursery.open((nursery) => Effect.log(`nursery of ${nursery.actor.name}`))
 *
 * ActorRuntime.runMain(main)
 * ```
 * @since 0.1.0
 * @category running
 */
export const runMain: {
  (options?: runMain.Options): <A, E>(effect: Effect.Effect<A, E>) => void
  <A, E>(effect: Effect.Effect<A, E>, options?: runMain.Options): void
} = dual(
  (args) => Effect.isEffect(args[0]),
  internal.runMain
) as any

/**
 * Whether this process is an actor spawned by effect-tractor (as opposed to the root of a tree).
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 *
 * const role = ActorRuntime.isActorProcess() ? "actor" : "root"
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isActorProcess: () => boolean = internal.isActorProcess
