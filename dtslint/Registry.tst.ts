import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { describe, expect, test } from "tstyche"
import type * as ActorError from "../src/ActorError.ts"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import type * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"

describe("Registry", () => {
  test("findActor: an Option of a portal, scoped, failing only when the registry is unreachable", () => {
    expect(Registry.findActor("kv")).type.toBe<
      Effect.Effect<Option.Option<Portal.Portal>, ActorError.RegistryUnavailable, Scope.Scope>
    >()
    expect(Registry.findActor).type.not.toBeCallableWith(42)
  })

  test("waitForActor: a portal, or ActorNotFound after the timeout", () => {
    expect(Registry.waitForActor("kv", { timeout: "5 seconds" })).type.toBe<
      Effect.Effect<Portal.Portal, ActorError.ActorNotFound | ActorError.RegistryUnavailable, Scope.Scope>
    >()
    expect(Registry.waitForActor).type.toBeCallableWith("kv")
    expect(Registry.waitForActor).type.not.toBeCallableWith("kv", { timeout: "soon" })
  })

  test("list: entries with names, ids, hosts, addresses and protocols; no scope", () => {
    expect(Registry.list).type.toBe<Effect.Effect<ReadonlyArray<Registry.Entry>, ActorError.RegistryUnavailable>>()
    expect<Registry.Entry["id"]["pid"]>().type.toBe<number>()
    expect<Registry.Entry["addresses"]>().type.toBe<ReadonlyArray<string>>()
  })

  test("ActorError.ActorNotFound carries the name and how long was waited", () => {
    expect<ActorError.ActorNotFound["name"]>().type.toBe<string>()
    expect<ActorError.ActorNotFound["waitedMillis"]>().type.toBe<number>()
  })
})

describe("ActorRuntime.layer", () => {
  test("provides the runtime, with a redacted key", () => {
    expect(ActorRuntime.layer({ registry: "tcp:10.0.0.1:47001", key: Redacted.make("k"), tcpHost: "10.0.0.2" })).type
      .toBe<Layer.Layer<ActorRuntime.ActorRuntime>>()
    expect(ActorRuntime.layer()).type.toBe<Layer.Layer<ActorRuntime.ActorRuntime>>()
  })

  test("refuses a key in clear", () => {
    expect(ActorRuntime.layer).type.not.toBeCallableWith({ key: "a key in clear" })
  })
})
