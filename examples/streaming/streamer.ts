/**
 * An actor module of `pipeline.ts`: a streamer that counts from 0, pausing now and then so that
 * two of them interleave.
 *
 * Kept apart from the script: the streamer actors import this module (and only this one), so it
 * declares things and runs nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "effect-tractor/Actor"

export const Streamer = Actor.protocol("Streamer", {
  /** 0, 1, ..., count - 1 */
  numbers: Actor.stream({ payload: Schema.Number, element: Schema.Number })
})

export const StreamerLive = Actor.serve(Streamer, {
  numbers: (count) =>
    Stream.range(0, count - 1, 10).pipe(
      // a random pause per chunk of 10: the two streamers of the pipeline overtake each other
      Stream.tap((n) => (n % 10 === 9 ? Effect.sleep(Math.floor(Math.random() * 3)) : Effect.void))
    )
})
