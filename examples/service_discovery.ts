/**
 * Service discovery: a named service daemon, and clients that find it by name.
 *
 * The root starts a key-value daemon named "kv" and two clients. The clients are never handed a
 * portal to the daemon: each finds it in the tree's registry by its name and talks to it over a
 * connection of its own (a Unix socket on one host, TCP with TLS across hosts). The root lists what
 * the registry holds, then tears everything down; the registry forgets each actor as it goes.
 *
 * One file holds the protocols, their implementations and the main program: every actor imports
 * this module to serve them, and `ActorRuntime.runMain` runs the main program in the root only.
 *
 *     npx tsx examples/service_discovery.ts
 */
import * as Actor from "effect-tractor/Actor"
import * as ActorRuntime from "effect-tractor/ActorRuntime"
import * as Nursery from "effect-tractor/Nursery"
import * as Portal from "effect-tractor/Portal"
import * as Registry from "effect-tractor/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

// the daemon: a key-value store that lives in its own process
export const KV = Actor.protocol("KV", {
  set: Actor.fn({ payload: Schema.Struct({ key: Schema.String, value: Schema.String }) }),
  get: Actor.fn({ payload: Schema.String, success: Schema.OptionFromNullOr(Schema.String) })
})

const store = new Map<string, string>()

export const KVLive = Actor.serve(KV, {
  set: ({ key, value }) =>
    Effect.sync(() => {
      store.set(key, value)
    }),
  get: (key) => Effect.sync(() => Option.fromNullable(store.get(key)))
})

// a client: finds the daemon by name (waiting for it if it is not up yet), then uses it
export const Client = Actor.protocol("Client", {
  remember: Actor.fn({ payload: Schema.String, success: Schema.String }),
  recall: Actor.fn({ success: Schema.String })
})

const kv = Registry.waitForActor("kv", { timeout: "10 seconds" })

const me = Effect.map(Actor.CurrentActor, (self) => `${self.id.name}@${self.id.pid}`)

export const ClientLive = Actor.serve(Client, {
  remember: (value) =>
    Effect.scoped(Effect.gen(function*() {
      const daemon = yield* kv
      yield* Portal.call(daemon, KV.set, { key: "greeting", value })
      return `${yield* me} stored "${value}" in ${daemon.actor.name}@${daemon.actor.pid}`
    })).pipe(Effect.orDie),
  recall: () =>
    Effect.scoped(Effect.gen(function*() {
      const daemon = yield* kv
      const value = yield* Portal.call(daemon, KV.get, "greeting")
      return `${yield* me} read "${Option.getOrElse(value, () => "nothing")}" from ${daemon.actor.name}@${daemon.actor.pid}`
    })).pipe(Effect.orDie)
})

const main = Nursery.open((nursery) =>
  Effect.gen(function*() {
    const modules = [import.meta.url]
    const writer = yield* Nursery.spawn(nursery, "client_a", { modules })
    const reader = yield* Nursery.spawn(nursery, "client_b", { modules })
    yield* Nursery.spawn(nursery, "kv", { modules })
    yield* Console.log(yield* Portal.call(writer, Client.remember, "hello from a"))
    yield* Console.log(yield* Portal.call(reader, Client.recall, undefined))
    const entries = yield* Registry.list
    const names = entries.map((e) => `${e.name}@${e.id.pid}`).sort()
    yield* Console.log(`the registry holds: ${names.join(", ")}`)
  })
)

ActorRuntime.runMain(main)
