/**
 * Two links over the in-memory connection pair: the whole call protocol with no process and no
 * socket (what the link split makes possible: framing and protocol tests that run anywhere).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Actor from "../../src/Actor.ts"
import * as ActorError from "../../src/ActorError.ts"
import { codecOf } from "../../src/internal/codec.ts"
import { memoryPair } from "../../src/internal/connection.ts"
import { Caller } from "../../src/internal/caller.ts"
import { Link } from "../../src/internal/link.ts"
import { Server, type ServedFn, servesNothing } from "../../src/internal/server.ts"

const Local = Actor.protocol("Local", {
  twice: Actor.fn({ payload: Schema.Number, success: Schema.Number }),
  refuse: Actor.fn({ payload: Schema.String, error: Schema.String })
})
const Other = Actor.protocol("Other", { nothing: Actor.fn({}) })

const caller = { name: "caller", uid: "c", pid: 1 }
const callee = { name: "callee", uid: "s", pid: 2 }

const served = (spec: Actor.AnySpec & { readonly protocol: string; readonly name: string }, handler: ServedFn["handler"]) =>
  [spec.name, { spec, protocol: spec.protocol, name: spec.name, codec: codecOf(spec), handler }] as const

/** a caller's link and a callee's link serving Local, over the in-memory pair */
const pair = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const runtime = yield* Effect.runtime<Actor.CurrentActor>().pipe(
    Effect.provideService(Actor.CurrentActor, { id: callee, parent: caller, scope, cancel: Effect.void })
  )
  const fns = new Map([["Local", new Map([
    served(Local.twice, (n) => Effect.succeed((n as number) * 2)),
    served(Local.refuse, (why) => Effect.fail(why))
  ])]])
  const [a, b] = memoryPair()
  const problems: Array<string> = []
  const hooks = { onControl: () => {}, onProtocolError: (m: string) => problems.push(m), onClose: () => {} }
  const client = new Caller(new Link(a, caller, callee, 1 << 20, hooks, servesNothing(), "initiator"))
  new Link(b, callee, caller, 1 << 20, hooks, new Server(fns, runtime), "acceptor")
  return { client, problems }
})

const call = (client: Caller, spec: Actor.AnySpec & { readonly protocol: string; readonly name: string }, payload: unknown) =>
  Effect.async<unknown, unknown>((resume) => {
    const error = client.start(client.link.nextCallId(), spec, payload, resume)
    if (error !== undefined) resume(Exit.fail(error))
  })

describe("in-memory connection", () => {
  it.live("carries calls, declared errors and refusals between two links with no process", () =>
    Effect.gen(function*() {
      const { client, problems } = yield* pair
      assert.strictEqual(yield* call(client, Local.twice, 21), 42)
      const many = yield* Effect.all(Array.from({ length: 50 }, (_, i) => call(client, Local.twice, i)), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(many, Array.from({ length: 50 }, (_, i) => 2 * i))
      assert.strictEqual(yield* Effect.flip(call(client, Local.refuse, "no")), "no")
      const refused = yield* Effect.flip(call(client, Other.nothing, undefined))
      assert.instanceOf(refused, ActorError.ModuleNotEnabled)
      assert.deepStrictEqual(problems, [])
    }))

  it.live("closing one end fails the calls waiting on the other with TransportClosed", () =>
    Effect.gen(function*() {
      const { client } = yield* pair
      const [a] = memoryPair()
      const hooks = { onControl: () => {}, onProtocolError: () => {}, onClose: () => {} }
      const lonely = new Caller(new Link(a, caller, callee, 1 << 20, hooks, servesNothing(), "initiator"))
      const waiting = yield* Effect.fork(call(lonely, Local.twice, 1))
      yield* Effect.sleep("10 millis")
      a.destroy()
      const error = yield* Effect.flip(waiting.await.pipe(Effect.flatten))
      assert.instanceOf(error, ActorError.TransportClosed)
      // the other pair is unaffected
      assert.strictEqual(yield* call(client, Local.twice, 2), 4)
    }))
})
