import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Url from "node:url"
import * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Bank, Frozen, frozenSince, Overdrawn } from "./fixtures/errors.ts"
import { Boom, Echo, Unserved, Untyped } from "./fixtures/protocols.ts"
import { Tree } from "./fixtures/tree.ts"
import { checkOrphansAfterEach, echoModule, fixture, isAlive, waitGone } from "./utils/index.ts"
import { failsWith } from "./utils/assertions.ts"

checkOrphansAfterEach()

const bankModule = fixture("errors.ts")
const throwingModule = fixture("throws_on_import.ts")
const syntaxErrorModule = fixture("syntax_error.mjs")
const missingModule = fixture("does_not_exist.ts")
const treeModule = fixture("tree.ts")

/** the protocol of throws_on_import.ts, declared here: importing that module throws */
const Doomed = Actor.protocol("Doomed", { ping: Actor.fn({ success: Schema.String }) })

describe("Errors", () => {
  describe("module allowlist", () => {
    it.live("refuses a protocol that no enabled module implements and keeps serving the others", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "allow", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, Unserved.nothing, undefined), ActorError.ModuleNotEnabled)
          assert.strictEqual(error.protocol, "Unserved")
          assert.strictEqual(error.fn, "nothing")
          assert.deepStrictEqual(error.actor, portal.actor)
          assert.include(error.message, "Unserved")
          assert.include(error.message, `(it serves "Echo")`)
          assert.isTrue(ActorError.isActorError(error))
          // a protocol whose module exists but was not enabled on this actor is refused too
          const bank = yield* failsWith(
            Portal.call(portal, Bank.withdraw, { account: "alice", amount: 1 }),
            ActorError.ModuleNotEnabled
          )
          assert.strictEqual(bank.protocol, "Bank")
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "still serving"), "still serving")
          assert.isTrue(isAlive(portal.actor.pid))
        })
      ))

    it.live("an actor spawned without modules serves nothing but stays up", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "empty", { modules: [] })
          const error = yield* failsWith(Portal.call(portal, Echo.echo, "anyone?"), ActorError.ModuleNotEnabled)
          assert.include(error.message, "(it serves nothing)")
          assert.strictEqual(error.protocol, "Echo")
          assert.strictEqual(error.fn, "echo")
          assert.isTrue(isAlive(portal.actor.pid))
        })
      ))

    it.live("serves every protocol of every enabled module", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "both", { modules: [echoModule, bankModule] })
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "e"), "e")
          assert.strictEqual(yield* Portal.call(portal, Bank.withdraw, { account: "alice", amount: 30 }), 70)
        })
      ))

    it.live("fails the spawn with SpawnError naming a module that throws while it is imported", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const error = yield* failsWith(
            Nursery.spawn(nursery, "doomed", { modules: [echoModule, throwingModule] }),
            ActorError.SpawnError
          )
          assert.strictEqual(error.actorName, "doomed")
          assert.strictEqual(error.name, "SpawnError")
          assert.strictEqual(error.module, throwingModule.href)
          assert.include(error.message, "doomed module refuses to load")
          assert.include(error.remoteStack ?? "", "doomed module refuses to load")
          // the nursery is unharmed: it still spawns
          const portal = yield* Nursery.spawn(nursery, "fine", { modules: [echoModule] })
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "ok"), "ok")
        })
      ))

    it.live("fails the spawn with SpawnError naming a module that does not parse", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const error = yield* failsWith(
            Nursery.spawn(nursery, "unparsable", { modules: [echoModule, syntaxErrorModule] }),
            ActorError.SpawnError
          )
          assert.strictEqual(error.actorName, "unparsable")
          assert.strictEqual(error.module, syntaxErrorModule.href)
          assert.include(error.message, "syntax_error.mjs")
        })
      ))

    it.live("fails the spawn with SpawnError naming a module file that does not exist", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const error = yield* failsWith(
            Nursery.spawn(nursery, "missing", { modules: [missingModule, echoModule] }),
            ActorError.SpawnError
          )
          assert.strictEqual(error.actorName, "missing")
          assert.strictEqual(error.module, missingModule.href)
          assert.include(error.message, "does_not_exist.ts")
        })
      ))

    it.live("fails a layer whose actor cannot start with SpawnError", () =>
      Effect.gen(function*() {
        const error = yield* failsWith(
          Effect.flatMap(Doomed, (doomed) => doomed.ping(undefined)).pipe(
            Effect.provide(Portal.layer(Doomed, { modules: [throwingModule] }))
          ),
          ActorError.SpawnError
        )
        assert.strictEqual(error.module, throwingModule.href)
        assert.strictEqual(error.actorName, "Doomed")
      }))
  })

  describe("boxing undeclared failures", () => {
    it.live("boxes an undeclared Error as RemoteActorError with its class, message, source and stack", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "boxer", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, Echo.undeclared, "nope"), ActorError.RemoteActorError)
          assert.strictEqual(error.errorTag, "Error")
          assert.strictEqual(error.message, "nope")
          assert.deepStrictEqual(error.source, portal.actor)
          assert.deepStrictEqual(error.relayPath, [portal.actor])
          assert.isFalse(error.isInception)
          assert.isString(error.remoteStack)
          assert.include(error.remoteStack!, "nope")
          assert.match(error.remoteStack!, /\n\s+at /, "a stack has frames")
          assert.isUndefined(error.errors)
          assert.isTrue(ActorError.RemoteActorError.is(error))
          assert.include(error.toString(), `boxer@${portal.actor.pid}`)
        })
      ))

    it.live("boxes a defect with the defect's class name", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "dier", { modules: [echoModule, bankModule] })
          const died = yield* failsWith(Portal.call(portal, Echo.die, "bad input"), ActorError.RemoteActorError)
          assert.strictEqual(died.errorTag, "TypeError")
          assert.strictEqual(died.message, "bad input")
          assert.deepStrictEqual(died.source, portal.actor)
          assert.include(died.remoteStack ?? "", "TypeError: bad input")
          // a plain `throw` inside Effect.sync is a defect too
          const thrown = yield* failsWith(Portal.call(portal, Bank.crash, "out of range"), ActorError.RemoteActorError)
          assert.strictEqual(thrown.errorTag, "RangeError")
          assert.strictEqual(thrown.message, "out of range")
          assert.include(thrown.remoteStack ?? "", "RangeError: out of range")
          // and the actor survives both
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "alive"), "alive")
        })
      ))

    it.live("boxes an undeclared tagged error under its tag", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "auditor", { modules: [bankModule] })
          const error = yield* failsWith(Portal.call(portal, Bank.audit, "totals differ"), ActorError.RemoteActorError)
          assert.strictEqual(error.errorTag, "LedgerCorrupt")
          assert.strictEqual(error.message, "totals differ")
          assert.deepStrictEqual(error.source, portal.actor)
        })
      ))

    it.live("keeps every failure of a handler that fails several ways at once", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "several", { modules: [bankModule] })
          const error = yield* failsWith(Portal.call(portal, Bank.several, undefined), ActorError.RemoteActorError)
          assert.strictEqual(error.errorTag, "MultipleErrors")
          assert.deepStrictEqual(error.source, portal.actor)
          const errors = error.errors ?? []
          assert.strictEqual(errors.length, 2)
          assert.deepStrictEqual(errors.map((e) => [e.errorTag, e.message]).sort(), [
            ["LedgerCorrupt", "first"],
            ["TypeError", "second"]
          ])
          for (const e of errors) {
            assert.instanceOf(e, ActorError.RemoteActorError)
            assert.deepStrictEqual(e.source, portal.actor)
          }
        })
      ))

    it.live("delivers an undeclared failure of a one-shot actor at the call site", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const error = yield* failsWith(
            Nursery.runInActor(nursery, Echo.undeclared, "one-shot failure", { modules: [echoModule], name: "oneshot" }),
            ActorError.RemoteActorError
          )
          assert.strictEqual(error.message, "one-shot failure")
          assert.strictEqual(error.source.name, "oneshot")
          assert.isFalse(isAlive(error.source.pid))
        })
      ))
  })

  describe("declared errors", () => {
    it.live("returns a declared error as an instance of its own class with its fields", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "bank", { modules: [bankModule, echoModule] })
          const overdrawn = yield* failsWith(
            Portal.call(portal, Bank.withdraw, { account: "bob", amount: 25 }),
            Overdrawn
          )
          assert.strictEqual(overdrawn._tag, "Overdrawn")
          assert.strictEqual(overdrawn.account, "bob")
          assert.strictEqual(overdrawn.balance, 0)
          assert.strictEqual(overdrawn.requested, 25)
          assert.strictEqual(overdrawn.shortfall, 25, "methods of the class work on the decoded error")
          assert.instanceOf(overdrawn, Error)
          assert.isFalse(ActorError.isActorError(overdrawn))

          const boom = yield* failsWith(Portal.call(portal, Echo.boom, "kaboom"), Boom)
          assert.strictEqual(boom.reason, "kaboom")
        })
      ))

    it.live("decodes each member of a declared error union, transformed fields included", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const bank = Portal.client(yield* Nursery.spawn(nursery, "bank", { modules: [bankModule] }), Bank)
          const frozen = yield* failsWith(bank.withdraw({ account: "carol", amount: 1 }), Frozen)
          assert.strictEqual(frozen.account, "carol")
          assert.instanceOf(frozen.since, Date)
          assert.strictEqual(frozen.since.toISOString(), frozenSince.toISOString())
          // catchTag sees the declared tags
          const handled = yield* bank.withdraw({ account: "bob", amount: 5 }).pipe(
            Effect.catchTag("Overdrawn", (e) => Effect.succeed(-e.shortfall))
          )
          assert.strictEqual(handled, -5)
          assert.strictEqual(yield* bank.withdraw({ account: "alice", amount: 40 }), 60)
        })
      ))
  })

  describe("relaying through actors", () => {
    it.live("keeps the source of a grandchild's error and records the relay path child-side", () =>
      Effect.gen(function*() {
        const error = yield* failsWith(
          Nursery.open((nursery) =>
            Nursery.runInActor(nursery, Tree.failDeep, { module: Url.fileURLToPath(treeModule), depth: 1 }, {
              modules: [treeModule],
              name: "child"
            })
          ),
          ActorError.RemoteActorError
        )
        assert.strictEqual(error.errorTag, "Kaput")
        assert.strictEqual(error.source.name, "gen0")
        assert.deepStrictEqual(error.relayPath.map((id) => id.name), ["gen0", "child"])
        assert.deepStrictEqual(error.relayPath[0], error.source)
        assert.notStrictEqual(error.relayPath[1]!.pid, error.source.pid)
        assert.isTrue(error.isInception)
        assert.include(error.toString(), "gen0@")
        assert.deepStrictEqual(yield* waitGone(error.relayPath.map((id) => id.pid), 1000), [])
      }))
  })

  describe("what a user sees", () => {
    it.live("Cause.pretty of a remote error shows the source actor, the relay path, the tag and the user's file and line first", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "shower", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, Echo.undeclared, "shown"), ActorError.RemoteActorError)
          const pretty = Cause.pretty(Cause.fail(error))
          const lines = pretty.split("\n")
          assert.strictEqual(lines[0], "RemoteActorError: shown")
          assert.strictEqual(lines[1], `    Error in actor shower@${portal.actor.pid}, relayed via shower@${portal.actor.pid}`)
          // the remote stack, source-mapped from the actor's bundle to the fixture's own line
          const echoSource = Url.fileURLToPath(echoModule)
          assert.include(lines[2], `${echoSource}:24:`, pretty)
          assert.notInclude(pretty, "Schema.ts")
          assert.notInclude(pretty, ".cache/effect-tractor")
          // nor the library's own dispatch below the handler
          assert.notMatch(pretty, /internal[\\/]link\./)
          assert.include(error.remoteStack!, `${echoSource}:24:`)
        })
      ))

    it.live("a handler that returns a Promise, a plain value or no Stream fails that call with a typed error that says what to do", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "untyped", { modules: [fixture("untyped.ts")] })
          const promise = yield* failsWith(Portal.call(portal, Untyped.promise, 1), ActorError.RemoteActorError)
          assert.strictEqual(promise.errorTag, "InvalidHandlerResult")
          assert.include(promise.message, "the handler of Untyped.promise returned a Promise (is the handler declared async?), not an Effect")
          assert.include(promise.message, "Effect.promise(() => ...)")
          const plain = yield* failsWith(Portal.call(portal, Untyped.plain, 1), ActorError.RemoteActorError)
          assert.include(plain.message, "the handler of Untyped.plain returned a number, not an Effect")
          const stream = yield* failsWith(
            Stream.runCollect(Portal.stream(portal, Untyped.notStream, undefined)),
            ActorError.RemoteActorError
          )
          assert.include(stream.message, "the handler of Untyped.notStream returned an Array, not a Stream")
          // the actor stays up and serves on
          assert.strictEqual(yield* Portal.call(portal, Untyped.number, 7), 7)
        })
      ))

    it.live("NaN and Infinity, which JSON cannot carry, fail with a message that says why", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "nan", { modules: [fixture("untyped.ts")] })
          for (const value of [NaN, Infinity, -Infinity]) {
            const error = yield* failsWith(Portal.call(portal, Untyped.number, value), ActorError.MsgTypeError)
            assert.strictEqual(error.part, "payload")
            assert.include(error.message, "the wire is JSON, which has no NaN or Infinity")
            assert.include(error.message, "Schema.Finite")
          }
        })
      ))

    it.live("a missing module file is named, with no internal file name and no bundler wording", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const url = yield* failsWith(Nursery.spawn(nursery, "gone", { modules: [missingModule] }), ActorError.SpawnError)
          assert.strictEqual(url.message, `cannot start actor "gone": module file not found: ${Url.fileURLToPath(missingModule)}`)
          const relative = yield* failsWith(
            Nursery.spawn(nursery, "gone", { modules: ["./no/such/module.ts"] }),
            ActorError.SpawnError
          )
          assert.include(relative.message, `module file not found: ${process.cwd()}/no/such/module.ts`)
          assert.include(relative.message, "resolved against the working directory")
          assert.include(relative.message, "new URL(\"./module.js\", import.meta.url)")
          const pkg = yield* failsWith(
            Nursery.spawn(nursery, "gone", { modules: ["no-such-package-anywhere"] }),
            ActorError.SpawnError
          )
          assert.include(pkg.message, `cannot find package "no-such-package-anywhere"`)
          for (const e of [url, relative, pkg]) {
            assert.strictEqual(e.name, "SpawnError")
            assert.notMatch(e.message, /effect-tractor-child|Could not resolve|<actor entry>/)
          }
        })
      ))

    it.live("a module named by its compiled name (.js) is served from its source (.ts), as after tsc the other way round", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "twin", { modules: [new URL("./fixtures/echo.js", import.meta.url)] })
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "twin"), "twin")
        })
      ))
  })
})
