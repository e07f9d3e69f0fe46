import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Burst } from "./fixtures/raw_burst.ts"
import { Raw } from "./fixtures/raw_frames.ts"
import { Echo } from "./fixtures/protocols.ts"
import { checkOrphansAfterEach, echoModule, fixture, isAlive } from "./utils/index.ts"
import { failsWith } from "./utils/assertions.ts"

checkOrphansAfterEach()

const rawModule = fixture("raw_frames.ts")
const burstModule = fixture("raw_burst.ts")

// Protocols named "Echo" that disagree with the fixture's declaration, as a caller built against
// another version of the protocol would.
class Other extends Schema.TaggedError<Other>()("Other", { code: Schema.Number }) {}
const EchoDrifted = Actor.protocol("Echo", {
  echo: Actor.fn({ payload: Schema.String, success: Schema.Number }),
  add: Actor.fn({ payload: Schema.Unknown, success: Schema.Number }),
  boom: Actor.fn({ payload: Schema.String, error: Other }),
  shout: Actor.fn({ payload: Schema.String, success: Schema.String })
})

/**
 * Captures what the default logger prints (the parent logs protocol errors from outside any fiber
 * of the test, through the default runtime and so through `console`), for the current scope.
 */
const captureConsole = Effect.acquireRelease(
  Effect.sync(() => {
    const lines: Array<string> = []
    const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info }
    const record = (...args: ReadonlyArray<unknown>) => {
      lines.push(args.map(String).join(" "))
    }
    console.log = record
    console.warn = record
    console.error = record
    console.info = record
    return { lines, saved }
  }),
  ({ saved }) => Effect.sync(() => Object.assign(console, saved))
).pipe(Effect.map(({ lines }) => lines as ReadonlyArray<string>))

/** Waits (up to `millis`) until `lines` holds `count` lines matching `pattern`; returns the matches. */
const eventually = (lines: ReadonlyArray<string>, pattern: RegExp, count = 1, millis = 5000) =>
  Effect.gen(function*() {
    const matches = () => lines.filter((l) => pattern.test(l))
    const deadline = Date.now() + millis
    while (matches().length < count && Date.now() < deadline) yield* Effect.sleep("20 millis")
    return matches()
  })

describe("Wire", () => {
  describe("schema mismatches fail one call, not the actor", () => {
    it.live("rejects a payload that does not match the schema before sending it", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "typed", { modules: [echoModule] })
          const error = yield* failsWith(
            Portal.call(portal, Echo.add, { a: "one", b: 2 } as unknown as { a: number; b: number }),
            ActorError.MsgTypeError
          )
          assert.strictEqual(error.part, "payload")
          assert.strictEqual(error.protocol, "Echo")
          assert.strictEqual(error.fn, "add")
          assert.include(error.message, "Echo.add")
          assert.strictEqual(yield* Portal.call(portal, Echo.add, { a: 1, b: 2 }), 3)
        })
      ))

    it.live("the actor rejects a payload that does not match its own schema and keeps serving", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "typed", { modules: [echoModule] })
          // the drifted caller's schema accepts anything: only the actor can object
          const error = yield* failsWith(
            Portal.call(portal, EchoDrifted.add, { a: "one", b: 2 }),
            ActorError.MsgTypeError
          )
          assert.strictEqual(error.part, "payload")
          assert.strictEqual(error.fn, "add")
          assert.deepStrictEqual(error.actor, portal.actor, "the actor reports the mismatch")
          assert.strictEqual(yield* Portal.call(portal, EchoDrifted.add, { a: 40, b: 2 }), 42)
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "still here"), "still here")
        })
      ))

    it.live("fails a call whose handler result does not match the success schema", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "liar", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, Echo.badResult, undefined), ActorError.MsgTypeError)
          assert.strictEqual(error.part, "success")
          assert.strictEqual(error.fn, "badResult")
          assert.deepStrictEqual(error.actor, portal.actor)
          assert.strictEqual(yield* Portal.call(portal, Echo.add, { a: 2, b: 2 }), 4)
        })
      ))

    it.live("a result JSON cannot hold never crashes the actor: a Void result is not sent, a cycle fails the call typed", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "odd", { modules: [echoModule] })
          // a timer object returned for a Void function: the call succeeds, nothing crosses
          assert.isUndefined(yield* Portal.call(portal, Echo.returnsTimer, undefined))
          const error = yield* failsWith(Portal.call(portal, Echo.circular, undefined), ActorError.MsgTypeError)
          assert.strictEqual(error.part, "success")
          assert.match(error.message, /the success of Echo\.circular cannot be sent as JSON \(.*circular/)
          // and the actor is still there
          assert.strictEqual(yield* Portal.call(portal, Echo.add, { a: 2, b: 2 }), 4)
        })
      ))

    it.live("fails a call whose result does not match the caller's success schema", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "drift", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, EchoDrifted.echo, "not a number"), ActorError.MsgTypeError)
          assert.strictEqual(error.part, "success")
          assert.strictEqual(error.fn, "echo")
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "fine"), "fine")
        })
      ))

    it.live("fails a call whose declared error does not match the caller's error schema", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "drift", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, EchoDrifted.boom, "boom"), ActorError.MsgTypeError)
          assert.strictEqual(error.part, "failure")
          assert.strictEqual(error.fn, "boom")
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "fine"), "fine")
        })
      ))

    it.live("answers a function the actor's protocol does not have with UnknownFunction", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "strict", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, EchoDrifted.shout, "hey"), ActorError.UnknownFunction)
          assert.strictEqual(error.protocol, "Echo")
          assert.strictEqual(error.fn, "shout")
          assert.deepStrictEqual(error.actor, portal.actor)
          assert.include(error.message, "echo", "the message lists the functions the actor has")
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "known"), "known")
        })
      ))
  })

  describe("size limits", () => {
    it.live("refuses a payload over maxMessageBytes without sending it, then serves small calls", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "small", { modules: [echoModule], maxMessageBytes: 4096 })
          const error = yield* failsWith(Portal.call(portal, Echo.echo, "x".repeat(10_000)), ActorError.MessageTooLarge)
          assert.strictEqual(error.limit, 4096)
          assert.isAbove(error.size, 10_000)
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, "small"), "small")
          // just under the limit still goes through
          const near = "y".repeat(3900)
          assert.strictEqual(yield* Portal.call(portal, Echo.echo, near), near)
          assert.isTrue(isAlive(portal.actor.pid))
        })
      ))

    it.live("fails a call whose result is over maxMessageBytes, then serves small calls", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "bloat", { modules: [echoModule], maxMessageBytes: 4096 })
          const error = yield* failsWith(Portal.call(portal, Echo.blob, 10_000), ActorError.MessageTooLarge)
          assert.strictEqual(error.limit, 4096)
          assert.isAbove(error.size, 10_000)
          assert.deepStrictEqual(error.actor, portal.actor, "the actor refused to send its result")
          assert.strictEqual(yield* Portal.call(portal, Echo.blob, 100), "x".repeat(100))
        })
      ))

    it.live("applies the nursery's maxMessageBytes to its children", () =>
      Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "inherits", { modules: [echoModule] })
          const error = yield* failsWith(Portal.call(portal, Echo.blob, 5000), ActorError.MessageTooLarge)
          assert.strictEqual(error.limit, 2048)
          assert.strictEqual(yield* Portal.call(portal, Echo.blob, 10), "x".repeat(10))
        }), { maxMessageBytes: 2048 }))
  })

  describe("malformed frames", () => {
    it.scopedLive("logs junk and unsolicited answers from an actor as protocol errors and loses no call", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "noisy", { modules: [rawModule] })
            const raw = Portal.client(portal, Raw)
            assert.strictEqual(yield* raw.garbage(undefined), "ok")
            assert.strictEqual(yield* raw.ping(undefined), "pong")
            const notJson = yield* eventually(lines, /malformed frame from noisy@\d+: not JSON/)
            assert.strictEqual(notJson.length, 1, lines.join("\n"))
            const unsolicited = yield* eventually(lines, /answered call 999999, which is not waiting/)
            assert.strictEqual(unsolicited.length, 1, lines.join("\n"))
            // the connection still works both ways, for calls made concurrently too
            const answers = yield* Effect.all([raw.garbage(undefined), raw.ping(undefined), raw.garbage(undefined)], {
              concurrency: "unbounded"
            })
            assert.deepStrictEqual(answers, ["ok", "pong", "ok"])
            assert.isTrue(isAlive(portal.actor.pid))
          })
        )
      }))

    it.scopedLive("fails only the call whose answer frame has a bad envelope, with MsgTypeError part frame", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "forger", { modules: [rawModule] })
            const raw = Portal.client(portal, Raw)
            // the first call on a fresh portal has id 1: the actor answers it with a broken Failure first
            const error = yield* failsWith(
              raw.write([`{"_tag":"Failure","id":1,"reason":{"_tag":"NoSuchReason"}}`]),
              ActorError.MsgTypeError
            )
            assert.strictEqual(error.part, "frame")
            assert.strictEqual(error.protocol, "Raw")
            assert.strictEqual(error.fn, "write")
            assert.deepStrictEqual(error.actor, portal.actor)
            // its real answer comes too late and is only logged
            const late = yield* eventually(lines, /answered call 1, which is not waiting/)
            assert.strictEqual(late.length, 1, lines.join("\n"))
            assert.strictEqual(yield* raw.ping(undefined), "pong")
          })
        )
      }))

    it.scopedLive("settles a call with the first answer that arrives and logs a second one", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "twice", { modules: [rawModule] })
            const raw = Portal.client(portal, Raw)
            assert.strictEqual(yield* raw.answerEarly({ id: 1, text: "early", times: 1 }), "early")
            const late = yield* eventually(lines, /answered call 1, which is not waiting/)
            assert.strictEqual(late.length, 1, lines.join("\n"))
            assert.strictEqual(yield* raw.ping(undefined), "pong")
          })
        )
      }))

    it.scopedLive("handles every valid frame of one read around junk frames and loses no call", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "bursty", { modules: [burstModule] })
            const burst = Portal.client(portal, Burst)
            // one read that is not JSON even when joined: a frame cut short, then an empty line
            assert.strictEqual(
              yield* burst.burst([
                `{"_tag":"Success","id":999991}`,
                `{"_tag":"Success","id":1,"value":"early"}`,
                `{"_tag":"Success"`,
                ``,
                `{"_tag":"Success","id":999993}`
              ]),
              "early",
              "the forged answer between the junk settles the call (id 1)"
            )
            // one read that is JSON when joined, with more values than frames: `1,2` is not a frame
            assert.strictEqual(
              yield* burst.burst([
                `{"_tag":"Success","id":999995}`,
                `1,2`,
                `{"_tag":"Success","id":3,"value":"early again"}`,
                `{"_tag":"Success","id":999997}`
              ]),
              "early again",
              "the forged answer after the junk settles the call (id 3)"
            )
            // every valid frame was handled: the unsolicited ones and the real, late answers are logged
            for (const id of [999991, 999993, 999995, 999997, 1, 3]) {
              const answered = yield* eventually(lines, new RegExp(`answered call ${id}, which is not waiting`))
              assert.strictEqual(answered.length, 1, `call ${id}:\n${lines.join("\n")}`)
            }
            // the two junk frames are reported, the empty line is not a frame
            const junk = yield* eventually(lines, /malformed frame from bursty@\d+: not JSON/, 2)
            assert.strictEqual(junk.length, 2, lines.join("\n"))
            assert.strictEqual(lines.filter((l) => /malformed frame/.test(l)).length, 2, lines.join("\n"))
            const answers = yield* Effect.all([burst.ping(undefined), burst.ping(undefined), burst.ping(undefined)], {
              concurrency: "unbounded"
            })
            assert.deepStrictEqual(answers, ["pong", "pong", "pong"])
            assert.isTrue(isAlive(portal.actor.pid))
          })
        )
      }))

    // Frames are parsed one by one (a joined parse could read a valid frame as part of the junk
    // around it and the call would get its late answer).
    it.scopedLive("does not let junk lines of one read swallow the valid frame between them", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "swallow", { modules: [burstModule] })
            const burst = Portal.client(portal, Burst)
            // joined with commas the three lines are three JSON values, `[[0,{...},0],1,2]`, as many as
            // there are frames; taken one by one the middle line is the only valid frame
            assert.strictEqual(
              yield* burst.burst([`[0`, `{"_tag":"Success","id":1,"value":"early"}`, `0],1,2`]),
              "early"
            )
            const junk = yield* eventually(lines, /malformed frame from swallow@\d+: not JSON/, 2)
            assert.strictEqual(junk.length, 2, lines.join("\n"))
            assert.strictEqual(yield* burst.ping(undefined), "pong")
          })
        )
      }))

    it.scopedLive("drops an incoming frame whose UTF-8 size is over maxMessageBytes though its length is not", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "wide", { modules: [rawModule], maxMessageBytes: 4096 })
            const raw = Portal.client(portal, Raw)
            // the forged answer to call 1 is 3000 characters but 6000 bytes: over the limit
            const error = yield* failsWith(raw.answerEarly({ id: 1, text: "é", times: 3000 }), ActorError.MessageTooLarge)
            assert.strictEqual(error.limit, 4096)
            assert.deepStrictEqual(error.actor, portal.actor)
            const late = yield* eventually(lines, /answered call 1, which is not waiting/)
            assert.strictEqual(late.length, 1, lines.join("\n"))
            assert.strictEqual(yield* raw.ping(undefined), "pong")
          })
        )
      }))

    it.scopedLive("drops a junk frame over maxMessageBytes, whole or split across reads, and loses no call", () =>
      Effect.gen(function*() {
        const lines = yield* captureConsole
        yield* Nursery.open((nursery) =>
          Effect.gen(function*() {
            const portal = yield* Nursery.spawn(nursery, "flood", { modules: [rawModule], maxMessageBytes: 4096 })
            const raw = Portal.client(portal, Raw)
            // one read's worth, then far more than one socket read (the line arrives in pieces)
            assert.strictEqual(yield* raw.flood(20_000), "ok")
            assert.strictEqual(yield* raw.flood(500_000), "ok")
            assert.strictEqual(yield* raw.ping(undefined), "pong")
            const dropped = yield* eventually(lines, /over the limit of 4096 bytes and was dropped/, 2)
            assert.strictEqual(dropped.length, 2, lines.join("\n"))
          })
        )
      }))
  })
})
