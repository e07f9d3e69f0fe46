/**
 * Supervision: a tree of two services where one crashes every fourth call and is restarted while
 * its caller keeps working.
 *
 * The nursery supervises one-for-one (at most 5 restarts in 10 seconds): when `quotes` crashes,
 * only `quotes` is started again; `counter` keeps its process. The caller's portal names the
 * child's place in the tree, not one process: a call made while `quotes` restarts waits for the new
 * one. A call that was in flight when it died fails with `TransportClosed`, so the caller retries
 * those (its choice, with a Schedule). At the end, the supervisor's events tell what happened.
 *
 *     npx tsx examples/supervision/tree.ts
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import * as Supervision from "effect-tractor/Supervision"
import { Counter, Quotes } from "./services.ts"

const modules = [new URL("./services.ts", import.meta.url)]

const program = Effect.gen(function*() {
  const supervision = yield* Supervision.oneForOne({ maxRestarts: 5, period: "10 seconds" })
  yield* Nursery.open((nursery) =>
    Effect.gen(function*() {
      const events = yield* Nursery.events(nursery)
      const quotes = yield* Nursery.spawn(nursery, "quotes", { modules })
      const counter = yield* Nursery.spawn(nursery, "counter", { modules })
      const counterPid = counter.actor.pid

      for (let i = 0; i < 10; i++) {
        const quote = yield* Portal.call(quotes, Quotes.quote, i).pipe(
          Effect.retry({ while: (e) => e._tag === "TransportClosed", schedule: Schedule.spaced("10 millis"), times: 3 })
        )
        const n = yield* Portal.call(counter, Counter.next, undefined)
        yield* Console.log(`${n}. ${quote}`)
      }

      for (const event of yield* Queue.takeAll(events)) {
        if (event._tag === "Exited") {
          yield* Console.log(`${event.name} crashed (${event.exit.reason}): ${event.restart ? "restarting" : "gone"}`)
        } else if (event._tag === "Started" && event.incarnation > 1) {
          yield* Console.log(`${event.name} is back (incarnation ${event.incarnation})`)
        }
      }
      yield* Console.log(`counter kept its process: ${counter.actor.pid === counterPid}`)
    }), { supervision })
})

Effect.runPromise(program)
