/**
 * Bench actor: a server stream of small numbers, and a dialog that echoes its stream.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Actor from "../../src/Actor.ts"
import { BenchStream } from "./protocols.ts"

export const BenchStreamLive = Actor.serve(BenchStream, {
  range: (n) => Stream.range(0, n - 1),
  echo: (_, context) =>
    Effect.gen(function*() {
      yield* context.started(undefined)
      const stream = yield* context.openStream()
      let count = 0
      yield* Stream.runForEach(stream.receive, (n) => {
        count++
        return stream.send(n)
      })
      return count
    })
})
