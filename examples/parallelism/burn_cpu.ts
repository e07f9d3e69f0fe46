/**
 * The actor module of `single_func.ts`: a function that keeps a core busy for a while.
 *
 * Kept apart from the script: the actor imports this module (and only this one), so it declares
 * things and runs nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "effect-tractor/Actor"

const spin = (millis: number) => {
  const end = Date.now() + millis
  while (Date.now() < end) {
    // nothing: the point is the heat
  }
}

/**
 * Keeps a core busy for about a second and returns the pid of the process it ran in. It burns in
 * 10 ms slices with a checkpoint in between (a zero sleep lets the event loop run), so the fiber
 * stays interruptible: an actor hears a cancel request even while it burns.
 */
export const burnCpu: Effect.Effect<number> = Effect.gen(function*() {
  const end = Date.now() + 1_000
  while (Date.now() < end) {
    spin(10)
    yield* Effect.sleep(0)
  }
  return process.pid
})

export const Burner = Actor.protocol("Burner", {
  burnCpu: Actor.fn({ success: Schema.Number })
})

export const BurnerLive = Actor.serve(Burner, {
  burnCpu: () => burnCpu
})
