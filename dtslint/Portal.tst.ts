import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { describe, expect, test } from "tstyche"
import * as Actor from "../src/Actor.ts"
import type * as ActorError from "../src/ActorError.ts"
import * as Portal from "../src/Portal.ts"
import type * as Supervision from "../src/Supervision.ts"

declare const policy: Supervision.Policy

class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { key: Schema.String }) {}

const Store = Actor.protocol("Store", {
  get: Actor.fn({ payload: Schema.String, success: Schema.Number, error: NotFound }),
  isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }),
  keys: Actor.fn({ success: Schema.Array(Schema.String) })
})

declare const portal: Portal.Portal

describe("Portal", () => {
  test("call: the function's success, its declared error or an ActorError, and no requirement", () => {
    expect(Portal.call(portal, Store.isPrime, 7)).type.toBe<Effect.Effect<boolean, ActorError.ActorError, never>>()
    expect(Portal.call(portal, Store.get, "k")).type.toBe<
      Effect.Effect<number, NotFound | ActorError.ActorError, never>
    >()
    expect(Portal.call(portal, Store.keys, undefined)).type.toBe<
      Effect.Effect<ReadonlyArray<string>, ActorError.ActorError, never>
    >()
  })

  test("call is dual: data-last gives the same effect", () => {
    expect(Portal.call(Store.get, "k")).type.toBe<
      (self: Portal.Portal) => Effect.Effect<number, NotFound | ActorError.ActorError, never>
    >()
  })

  test("call checks the payload against the function's schema", () => {
    expect(Portal.call).type.toBeCallableWith(portal, Store.isPrime, 7)
    expect(Portal.call).type.not.toBeCallableWith(portal, Store.isPrime, "7")
    expect(Portal.call).type.not.toBeCallableWith(portal, Store.get, 7)
  })

  test("client: one method per function, typed like call", () => {
    const store = Portal.client(portal, Store)
    expect(store.isPrime).type.toBe<(payload: number) => Effect.Effect<boolean, ActorError.ActorError, never>>()
    expect(store.get).type.toBe<(payload: string) => Effect.Effect<number, NotFound | ActorError.ActorError, never>>()
    expect(store.get("k")).type.toBe<Effect.Effect<number, NotFound | ActorError.ActorError, never>>()
    expect(store.keys).type.toBeCallableWith()
  })

  test("client checks the payload", () => {
    const store = Portal.client(portal, Store)
    expect(store.isPrime).type.not.toBeCallableWith("7")
    expect(store.get).type.not.toBeCallableWith({ key: "k" })
    expect(store.isPrime).type.not.toBeCallableWith()
  })

  test("client has no method for a function the protocol does not declare", () => {
    expect(Portal.client(portal, Store)).type.not.toHaveProperty("put")
  })

  test("cancelActor can only fail with ActorTooSlow", () => {
    expect(Portal.cancelActor(portal)).type.toBe<Effect.Effect<void, ActorError.ActorTooSlow, never>>()
  })

  test("layer provides the protocol's service and may fail to spawn", () => {
    expect(Portal.layer(Store, { modules: ["./store.ts"] })).type.toBe<
      Layer.Layer<Actor.Service<"Store">, ActorError.SpawnError, never>
    >()
  })

  test("a supervised layer: the same service, the same errors (a restart is invisible to its type)", () => {
    expect(Portal.layer(Store, { modules: ["./store.ts"], supervision: policy, restart: "transient" })).type.toBe<
      Layer.Layer<Actor.Service<"Store">, ActorError.SpawnError, never>
    >()
    expect(Portal.layer).type.not.toBeCallableWith(Store, { modules: ["./store.ts"], supervision: "oneForOne" })
  })
})
