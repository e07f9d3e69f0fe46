/**
 * A dialog (tractor's context) with a two-way stream: the parent opens `simpleRpc` in an actor,
 * gets its `started` value (data + 1), then plays 10 rounds of ping-pong over the dialog's stream,
 * closes its side, and collects the child's result: how many pings it answered.
 *
 *     npx tsx examples/rpc_bidir_streaming.ts
 */
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import { PingPong } from "./ping_pong.ts"

const rounds = 10

const main = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const portal = yield* Nursery.spawn(nursery, "rpc_server", {
      modules: [new URL("./ping_pong.ts", import.meta.url)]
    })

    const answered = yield* Portal.openDialog(portal, PingPong.simpleRpc, 10, (dialog) =>
      Effect.gen(function*() {
        yield* Console.log(`started: ${dialog.started}`)
        const stream = yield* dialog.openStream()
        let count = 0
        yield* stream.send("ping")
        // every pong is answered with the next ping, until the last one
        yield* Stream.runForEach(stream.receive, (pong) => {
          count++
          return Console.log(`ping ${count} -> ${pong}`).pipe(
            Effect.zipRight(count < rounds ? stream.send("ping") : stream.close)
          )
        })
        // our side is closed, the child returns, its stream ends: the dialog's result is ready
        return yield* dialog.result
      }))

    yield* Console.log(`rpc_server answered ${answered} pings`)
    // the daemon lives until cancelled; here, explicitly (closing the nursery would do it too)
    yield* Portal.cancelActor(portal)
  })
)

ActorRuntime.runMain(main)
