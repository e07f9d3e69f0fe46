/**
 * Bench actor: echoes the tiny payload, or blocks in synchronous code.
 */
import * as Effect from "effect/Effect"
import * as Actor from "../../src/Actor.ts"
import { BenchEcho } from "./protocols.ts"

export const BenchEchoLive = Actor.serve(BenchEcho, {
  echo: (msg) => Effect.succeed(msg),
  block: (ms) =>
    Effect.sync(() => {
      const end = Date.now() + ms
      while (Date.now() < end) {
        // synchronous: the event loop does not run until the loop is over
      }
    })
})
