import type * as Entity from "@effect/cluster/Entity"
import type * as Sharding from "@effect/cluster/Sharding"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { describe, expect, test } from "tstyche"
import * as Actor from "../src/Actor.ts"
import type * as ActorError from "../src/ActorError.ts"
import * as Cluster from "../src/Cluster.ts"

class Overdrawn extends Schema.TaggedError<Overdrawn>()("Overdrawn", { balance: Schema.Number }) {}

const Account = Actor.protocol("Account", {
  deposit: Actor.fn({ payload: Schema.Struct({ id: Schema.String, n: Schema.Number }), success: Schema.Number }),
  withdraw: Actor.fn({ payload: Schema.Number, success: Schema.Number, error: Overdrawn }),
  history: Actor.stream({ payload: Schema.Number, element: Schema.String })
})

const Chat = Actor.protocol("Chat", {
  hello: Actor.fn({ success: Schema.String }),
  talk: Actor.dialog({ payload: Schema.String, started: Schema.String, parentSends: Schema.String, childSends: Schema.String })
})

const AccountEntity = Cluster.entity(Account, { deposit: { persisted: true, primaryKey: (p) => p.id } })
declare const client: (id: string) => Effect.Effect.Success<typeof AccountEntity.client> extends (id: string) => infer C ? C : never

describe("Cluster", () => {
  test("entity: the protocol's name is the entity type; one RPC per call and server stream", () => {
    expect(AccountEntity).type.toBeAssignableTo<Entity.Entity<"Account", any>>()
    expect<Cluster.Rpcs<typeof Account>["_tag"]>().type.toBe<"deposit" | "withdraw" | "history">()
  })

  test("a call's client: the payload and success of the function; its error, or an ActorError, or the cluster's", () => {
    const withdrawn = client("a").withdraw(5)
    expect<Effect.Effect.Success<typeof withdrawn>>().type.toBe<number>()
    expect<Overdrawn>().type.toBeAssignableTo<Effect.Effect.Error<typeof withdrawn>>()
    expect<ActorError.TransportClosed>().type.toBeAssignableTo<Effect.Effect.Error<typeof withdrawn>>()
    expect(client("a").deposit).type.toBeCallableWith({ id: "d-1", n: 5 })
    expect(client("a").deposit).type.not.toBeCallableWith({ n: 5 })
  })

  test("a server stream's client gives a Stream of its elements", () => {
    const history = client("a").history(3)
    expect<Stream.Stream.Success<typeof history>>().type.toBe<string>()
  })

  test("a protocol with a dialog is refused, naming the dialog", () => {
    expect(Cluster.entity).type.not.toBeCallableWith(Chat)
    expect<Cluster.WithoutDialogs<typeof Chat>>().type.toBe<
      { readonly "a cluster entity has calls and server streams only; this protocol has the dialogs": "talk" }
    >()
    expect<Cluster.WithoutDialogs<typeof Account>>().type.toBe<typeof Account>()
  })

  test("options name the protocol's functions; a primary key reads the payload", () => {
    expect(Cluster.entity).type.not.toBeCallableWith(Account, { refund: { persisted: true } })
    expect(Cluster.entity).type.not.toBeCallableWith(Account, { deposit: { persisted: true, primaryKey: (p: number) => String(p) } })
  })

  test("toLayer: a runner's layer, needing Sharding; spawn options or a pool's", () => {
    const modules = [new URL("file:///account.js")]
    expect(Cluster.toLayer(AccountEntity, { modules })).type.toBe<Layer.Layer<never, ActorError.SpawnError, Sharding.Sharding>>()
    expect(Cluster.toLayer).type.toBeCallableWith(AccountEntity, { mode: "pool", size: 4, modules, maxIdleTime: "1 minute" })
    expect(Cluster.toLayer).type.toBeCallableWith(AccountEntity, { modules, spawnMethod: "thread", concurrency: 4 })
    expect(Cluster.toLayer).type.not.toBeCallableWith(AccountEntity, { mode: "fibers", modules })
  })
})
