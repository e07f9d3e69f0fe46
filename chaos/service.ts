/**
 * Chaos actor module: the protocol every service of the chaos tree serves (calls, a declared error,
 * a server stream, a two-way dialog), plus the hooks the fault schedule uses from inside an actor
 * (block the event loop, drop the peer connections, report memory).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "../src/Actor.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import { collect } from "./lib.ts"

/** the declared error of `flaky` */
export class Refused extends Schema.TaggedError<Refused>()("Refused", { seq: Schema.Number }) {}

export const Chaos = Actor.protocol("Chaos", {
  /** answers its payload as it came */
  echo: Actor.fn({
    payload: Schema.Struct({ seq: Schema.Number, data: Schema.String }),
    success: Schema.Struct({ seq: Schema.Number, data: Schema.String })
  }),
  /** fails with its declared error when asked to, else answers `seq` */
  flaky: Actor.fn({
    payload: Schema.Struct({ seq: Schema.Number, fail: Schema.Boolean }),
    success: Schema.Number,
    error: Refused
  }),
  /** `from`, `from + 1`, ..., `n` elements */
  range: Actor.stream({ payload: Schema.Struct({ from: Schema.Number, n: Schema.Number }), element: Schema.Number }),
  /** answers every number the parent sends with the same number, in order; returns how many it got */
  chat: Actor.dialog({
    payload: Schema.Number,
    started: Schema.Number,
    parentSends: Schema.Number,
    childSends: Schema.Number,
    result: Schema.Number
  }),
  /** blocks the event loop for `ms` milliseconds (synchronous code that hears nothing meanwhile) */
  block: Actor.fn({ payload: Schema.Number }),
  /** throws from a timer just after answering: an uncaught exception ends the actor */
  crash: Actor.fn({}),
  /** destroys every connection peers opened to this actor; answers how many */
  dropPeers: Actor.fn({ success: Schema.Number }),
  /** this process's memory after a full collection, in bytes */
  memory: Actor.fn({ success: Schema.Struct({ rss: Schema.Number, heapUsed: Schema.Number }) })
})

export const ChaosLive = Actor.serve(Chaos, {
  echo: (msg) => Effect.succeed(msg),
  flaky: ({ fail, seq }) => fail ? Effect.fail(new Refused({ seq })) : Effect.succeed(seq),
  range: ({ from, n }) => Stream.range(from, from + n - 1),
  chat: (first, context) =>
    Effect.gen(function*() {
      yield* context.started(first)
      const stream = yield* context.openStream()
      let count = 0
      yield* Stream.runForEach(stream.receive, (n) => {
        count++
        return stream.send(n)
      })
      return count
    }),
  block: (ms) =>
    Effect.sync(() => {
      const end = Date.now() + ms
      while (Date.now() < end) {
        // synchronous on purpose
      }
    }),
  crash: () =>
    Effect.sync(() => {
      setTimeout(() => {
        throw new Error("chaos: an uncaught exception")
      }, 0)
    }),
  dropPeers: () =>
    Effect.map(TreeRuntime.current, (runtime) => {
      const links = [...runtime.accepted]
      for (const link of links) link.connection.destroy()
      return links.length
    }),
  memory: () =>
    Effect.sync(() => {
      collect()
      const { heapUsed, rss } = process.memoryUsage()
      return { rss, heapUsed }
    })
})
