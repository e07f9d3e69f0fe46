/**
 * The actor module of `we_are_processes.ts`: an actor that says who and where it is.
 *
 * Kept apart from the script: every actor imports this module (and only this one), so it declares
 * things and runs nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "effect-tractor/Actor"

export const Identify = Actor.protocol("Identify", {
  /** The actor's name and the pid of its process. */
  whoami: Actor.fn({ success: Schema.Tuple(Schema.String, Schema.Number) })
})

export const IdentifyLive = Actor.serve(Identify, {
  whoami: () => Effect.map(Actor.CurrentActor, (self) => [self.id.name, process.pid] as const)
})
