import * as ChildProcess from "node:child_process"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "../src/Actor.ts"
import { Boom } from "./fixtures/protocols.ts"
import { checkOrphansAfterEach, fixture, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

describe("Actor", () => {
  it.live("annotates an actor's logs with its name and pid", () =>
    Effect.gen(function*() {
      const root = Url.fileURLToPath(new URL("..", import.meta.url))
      const run = yield* Effect.sync(() =>
        ChildProcess.spawnSync(process.execPath, ["--import", "tsx", Url.fileURLToPath(fixture("root_logs.ts"))], {
          cwd: root,
          encoding: "utf8",
          timeout: 30_000
        })
      )
      assert.strictEqual(run.status, 0, run.stderr)
      const lines = run.stdout.trim().split("\n")
      const { pid } = JSON.parse(lines[lines.length - 1]!)
      const logged = lines.find((line) => line.includes("hello from the actor"))
      assert.isDefined(logged, run.stdout)
      assert.include(logged!, `actor=chatty@${pid}`)
      assert.isFalse(isAlive(pid))
    }))

  it("rejects a protocol function with a reserved name", () => {
    assert.throws(() => Actor.protocol("Bad", { pipe: Actor.fn({}) }), /reserved/)
  })

  it("formats an actor id as name@pid", () => {
    assert.strictEqual(Actor.format({ name: "worker_0", uid: "u", pid: 42 }), "worker_0@42")
  })
})

describe("Actor.protocol refuses schemas the JSON wire cannot carry", () => {
  const refused = (spec: Actor.AnySpec) => {
    try {
      Actor.protocol("Wire", { f: spec })
    } catch (e) {
      return (e as Error).message
    }
    return undefined
  }

  it("names the part, the field and the JSON-safe schema to use instead", () => {
    assert.strictEqual(
      refused(Actor.fn({ payload: Schema.Struct({ at: Schema.DateFromSelf }) })),
      `Actor.protocol("Wire"): the payload of Wire.f at .at is DateFromSelf, whose encoded value JSON cannot carry ` +
        `(the wire is JSON): use Schema.Date (an ISO string on the wire) or Schema.DateFromNumber`
    )
    assert.include(refused(Actor.fn({ success: Schema.BigIntFromSelf }))!, "the success of Wire.f is bigint")
    assert.include(refused(Actor.fn({ success: Schema.BigIntFromSelf }))!, "use Schema.BigInt")
    assert.include(
      refused(Actor.fn({ payload: Schema.Struct({ rows: Schema.Array(Schema.Struct({ blob: Schema.Uint8ArrayFromSelf })) }) }))!,
      "the payload of Wire.f at .rows[0].blob is Uint8ArrayFromSelf"
    )
    assert.include(refused(Actor.stream({ element: Schema.Tuple(Schema.String, Schema.SymbolFromSelf) }))!, "the element of Wire.f at [1]")
    assert.include(refused(Actor.dialog({ childSends: Schema.Option(Schema.DateFromSelf) }))!, "the childSends of Wire.f")
    assert.include(refused(Actor.fn({ payload: Schema.OptionFromSelf(Schema.Number) }))!, "the payload of Wire.f is Option<number>")
    assert.include(refused(Actor.fn({ payload: Schema.instanceOf(Map) }))!, "the payload of Wire.f is Map")
  })

  it("checks a recursive schema (Schema.suspend) once through: accepts it, or names what is wrong in it", () => {
    interface Tree {
      readonly n: number
      readonly kids: ReadonlyArray<Tree>
    }
    const Tree: Schema.Schema<Tree> = Schema.Struct({ n: Schema.Number, kids: Schema.Array(Schema.suspend((): Schema.Schema<Tree> => Tree)) })
    assert.isUndefined(refused(Actor.fn({ payload: Tree, success: Tree })))
    interface Dated {
      readonly at: Date
      readonly next: ReadonlyArray<Dated>
    }
    const Dated: Schema.Schema<Dated> = Schema.Struct({
      at: Schema.DateFromSelf,
      next: Schema.Array(Schema.suspend((): Schema.Schema<Dated> => Dated))
    })
    assert.include(refused(Actor.fn({ success: Schema.Struct({ first: Dated }) }))!, "at .first.at is DateFromSelf")
  })

  it("accepts the JSON-safe forms, transformations included", () => {
    for (
      const spec of [
        Actor.fn({ payload: Schema.Date, success: Schema.BigInt }),
        Actor.fn({ payload: Schema.Uint8ArrayFromBase64, success: Schema.Option(Schema.Number) }),
        Actor.fn({ payload: Schema.Struct({ a: Schema.optional(Schema.Number), b: Schema.NullOr(Schema.String) }) }),
        Actor.fn({ error: Boom, success: Schema.Unknown }),
        Actor.fn({ payload: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Number) }) }),
        Actor.stream({ element: Schema.Union(Schema.Literal("a", 1, true, null), Schema.Number.pipe(Schema.int())) }),
        Actor.dialog({ payload: Schema.Void, started: Schema.Undefined, result: Schema.Duration })
      ]
    ) assert.isUndefined(refused(spec))
  })
})
