import * as Effect from "effect/Effect"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Echo } from "../test/fixtures/protocols.ts"

const t0 = performance.now()
const program = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const portal = yield* Nursery.spawn(nursery, "echo", { modules: [new URL("../test/fixtures/echo.ts", import.meta.url)] })
    console.log("ready", performance.now() - t0, portal.actor)
    const echo = Portal.client(portal, Echo)
    console.log(yield* echo.echo("hi"))
    console.log(yield* echo.add({ a: 1, b: 2 }))
    console.log(yield* echo.whoami())
    console.log(yield* Effect.flip(echo.boom("bad")))
    console.log(String(yield* Effect.flip(echo.die("dead"))))
    console.log(yield* echo.sleep(10000).pipe(Effect.timeout("100 millis"), Effect.either))
    console.log(yield* echo.stats())
    const t1 = performance.now()
    for (let i = 0; i < 2000; i++) yield* echo.echo("hi")
    console.log("rtt us", (performance.now() - t1) / 2000 * 1000)
    const t2 = performance.now()
    yield* Effect.forEach(Array.from({ length: 20000 }, (_, i) => i), () => echo.echo("hi"), { concurrency: 100, discard: true })
    console.log("pipelined/s", 20000 / ((performance.now() - t2) / 1000))
  })
)
const t3 = performance.now()
Effect.runPromise(program).then(() => console.log("done; teardown+all", performance.now() - t3), (e) => console.error("FAILED", e))
