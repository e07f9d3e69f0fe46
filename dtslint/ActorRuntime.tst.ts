import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Actor from "../src/Actor.ts"
import type * as Exit from "effect/Exit"
import { describe, expect, test } from "tstyche"
import * as ActorError from "../src/ActorError.ts"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import type * as Portal from "../src/Portal.ts"
import * as WorkerPool from "../src/WorkerPool.ts"

declare const program: Effect.Effect<number, ActorError.SpawnError>

class Prefix extends Context.Tag("Prefix")<Prefix, string>() {}
const Hello = Actor.protocol("Hello", { greet: Actor.fn({ payload: Schema.String, success: Schema.String }) })
const Plain = Actor.serve(Hello, { greet: (name) => Effect.succeed(name) })
const NeedsPrefix = Actor.serve(Hello, { greet: (name) => Effect.map(Prefix, (p) => p + name) })

describe("ActorRuntime", () => {
  test("runMain runs a program with no requirement, data first or data last, and returns nothing", () => {
    expect(ActorRuntime.runMain(program)).type.toBe<void>()
    expect(ActorRuntime.runMain(program, { disableErrorReporting: true })).type.toBe<void>()
    expect(ActorRuntime.runMain({ disablePrettyLogger: true })(program)).type.toBe<void>()
    expect(ActorRuntime.runMain(program, {
      teardown: (exit: Exit.Exit<unknown, unknown>, onExit: (code: number) => void) => onExit(exit._tag === "Success" ? 0 : 3)
    })).type.toBe<void>()
  })

  test("runMain refuses a program that still needs services", () => {
    expect(ActorRuntime.runMain).type.not.toBeCallableWith(Effect.succeed(1) as Effect.Effect<number, never, { readonly needs: "a layer" }>)
  })

  test("isActorProcess is a plain predicate", () => {
    expect(ActorRuntime.isActorProcess()).type.toBe<boolean>()
  })

  test("SpawnError names the actor in actorName and keeps Error's name", () => {
    const e = new ActorError.SpawnError({ actorName: "w", message: "m" })
    expect(e.actorName).type.toBe<string>()
    expect(e.name).type.toBe<string>()
    expect(ActorError.SpawnError).type.not.toBeConstructableWith({ name: "w", message: "m" })
  })

  test("a worker pool takes a maxSize", () => {
    expect(WorkerPool.make).type.toBeCallableWith({ size: 64, maxSize: 64, modules: ["./m.ts"] })
  })

  test("layer: what the root's handlers need becomes the layer's requirement", () => {
    expect(ActorRuntime.layer()).type.toBe<Layer.Layer<ActorRuntime.ActorRuntime, never, never>>()
    expect(ActorRuntime.layer({ serve: [Plain] })).type.toBe<Layer.Layer<ActorRuntime.ActorRuntime, never, never>>()
    expect(ActorRuntime.layer({ serve: [Plain, NeedsPrefix] })).type.toBe<
      Layer.Layer<ActorRuntime.ActorRuntime, never, Prefix>
    >()
  })

  test("the live tree: needs nothing, fails with nothing from here, with an ActorError through a portal", () => {
    expect(ActorRuntime.tree).type.toBe<Effect.Effect<ActorRuntime.TreeNode>>()
    expect(ActorRuntime.treeOf(undefined as unknown as Portal.Portal)).type.toBe<
      Effect.Effect<ActorRuntime.TreeNode, ActorError.ActorError>
    >()
    expect(ActorRuntime.renderTree).type.toBe<(node: ActorRuntime.TreeNode) => string>()
  })

  test("a tree node: its kind is one of three, its children are nodes, unreachable is optional", () => {
    expect<ActorRuntime.TreeNode["kind"]>().type.toBe<"root" | "process" | "thread">()
    expect<ActorRuntime.TreeNode["children"]>().type.toBe<ReadonlyArray<ActorRuntime.TreeNode>>()
    expect<ActorRuntime.TreeNode["unreachable"]>().type.toBe<string | undefined>()
    expect<ActorRuntime.TreeNode["callsInFlight"]>().type.toBe<number>()
  })
})
