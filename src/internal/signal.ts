/**
 * A wake-up signal for fibers waiting on state that callbacks change: `wait` suspends until the
 * next `wake`, then the waiter looks at the state again. Cheaper than a queue, and interruptible.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/** @internal */
export class Signal {
  private readonly waiters = new Set<() => void>()

  /** Resumes every fiber waiting now. */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  /** Suspends until the next `wake`. */
  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    const waiter = () => {
      this.waiters.delete(waiter)
      resume(Exit.void)
    }
    this.waiters.add(waiter)
    return Effect.sync(() => this.waiters.delete(waiter))
  })
}
