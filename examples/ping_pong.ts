/**
 * The actor module of `rpc_bidir_streaming.ts`: a small ping-pong server over a dialog.
 *
 * Kept apart from the script: the actor imports this module (and only this one), so it declares
 * things and runs nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "effect-tractor/Actor"

export const PingPong = Actor.protocol("PingPong", {
  /**
   * Reports `data + 1` as its `started` value, then answers every "ping" with a "pong" until the
   * parent closes its side; returns how many pings it answered.
   */
  simpleRpc: Actor.dialog({
    payload: Schema.Number,
    started: Schema.Number,
    parentSends: Schema.Literal("ping"),
    childSends: Schema.Literal("pong"),
    result: Schema.Number
  })
})

export const PingPongLive = Actor.serve(PingPong, {
  simpleRpc: (data, context) =>
    Effect.gen(function*() {
      // tell the parent we are up, like `started()` of a task pair
      yield* context.started(data + 1)
      const stream = yield* context.openStream()
      let count = 0
      // ends when the parent closes its side of the stream
      yield* Stream.runForEach(stream.receive, () => {
        count++
        return stream.send("pong")
      })
      return count
    })
})
