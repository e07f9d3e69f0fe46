/**
 * Dialogs (tractor's contexts) over real processes: the `started` handshake, the absorption rule,
 * cancellation around streams, overrun policies both ways, ping-pong, errors that must win, a peer
 * that dies, local fan-out of a dialog stream, and multiplexing without head-of-line blocking.
 * Case numbers refer to tractor-map.md §4.2.
 */
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as MsgStream from "../src/MsgStream.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { DialogService, Refused, type ScriptReport, type Step } from "./fixtures/dialogService.ts"
import { StreamService } from "./fixtures/streamService.ts"
import { checkOrphansAfterEach, fixture, isAlive, waitGone } from "./utils/index.ts"

checkOrphansAfterEach()

const dialogModule = fixture("dialogService.ts")

/** Our view of DialogSkew: it expects a string where the child's `started` sends a number. */
const DialogSkewView = Actor.protocol("DialogSkew", { open: Actor.dialog({ started: Schema.String }) })

/** A child that receives slowly and returns what it got once our side is closed. */
const collector = { window: 2, delayMs: 1 }

class BodyFailed extends Data.TaggedError("BodyFailed")<{ readonly message: string }> {}

/** Spawns the dialog actor in a new nursery; runs `body` with its portal and the nursery's owner (us). */
const withDialogs = <A, E>(body: (portal: Portal.Portal, self: Actor.ActorId) => Effect.Effect<A, E>) =>
  Nursery.open((nursery) =>
    Effect.flatMap(
      Nursery.spawn(nursery, "dialogs", { modules: [dialogModule] }),
      (portal) => body(portal, nursery.actor)
    )
  )

/** Fails with BodyFailed when the effect takes longer than `seconds`: a hang is a failure, not a stuck run. */
const within = (seconds: number, why: string) =>
  Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new BodyFailed({ message: why }) })

/** A synchronous side effect as an effect-returning function. */
const body = (f: () => void) => () => Effect.sync(f)

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** The only failure of an exit: a sole `Fail`, no defect, no interruption, no second failure. */
const soleFailure = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure, got a success")
  const cause = (exit as Exit.Failure<A, E>).cause
  const failures = Chunk.toReadonlyArray(Cause.failures(cause))
  assert.strictEqual(failures.length, 1, Cause.pretty(cause))
  assert.isFalse(Cause.isInterrupted(cause), Cause.pretty(cause))
  assert.strictEqual(Chunk.size(Cause.defects(cause)), 0, Cause.pretty(cause))
  return failures[0]!
}

const assertCancelledBy = (error: unknown, canceller: Actor.ActorId) => {
  assert.instanceOf(error, ActorError.ContextCancelled, String(error))
  assert.strictEqual((error as ActorError.ContextCancelled).canceller.uid, canceller.uid)
}

const events = (portal: Portal.Portal) => Portal.call(portal, DialogService.events, undefined)

/** Polls the child's event log until it holds every one of `expected` (up to 3 s). */
const awaitEvents = (portal: Portal.Portal, ...expected: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 3_000
    while (true) {
      const seen = yield* events(portal)
      const missing = expected.filter((e) => !seen.includes(e))
      if (missing.length === 0) return seen
      if (Date.now() > deadline) return assert.fail(`missing events ${missing.join(", ")}; saw ${seen.join(", ")}`)
      yield* Effect.sleep("20 millis")
    }
  })

/** The actor's process exits soon after it acknowledged a cancel request. */
const assertGone = (actor: Actor.ActorId) =>
  Effect.map(waitGone([actor.pid], 3_000), (alive) => assert.deepStrictEqual(alive, [], `${actor.name} is alive`))

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const assertIncreasing = (values: ReadonlyArray<number>) => {
  for (let i = 1; i < values.length; i++) {
    assert.isAbove(values[i]!, values[i - 1]!, `not increasing at ${i}: ${values.slice(Math.max(0, i - 3), i + 3)}`)
  }
}

describe("Dialogs", () => {
  describe("handshake misuse (case 18)", () => {
    it.live("fails openDialog with RemoteActorError(DialogMisuse) when the child calls started twice", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.startedTwice, undefined, (dialog) => dialog.result)
          )
          const error = soleFailure(exit)
          assert.instanceOf(error, ActorError.RemoteActorError, String(error))
          if (error instanceof ActorError.RemoteActorError) {
            assert.strictEqual(error.errorTag, "DialogMisuse")
            assert.match(error.message, /started.*twice/)
            assert.strictEqual(error.source.uid, portal.actor.uid)
          }
        })
      ))

    it.live("fails the parent's openDialog, body unrun, when the child opens its stream before started", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          let bodyRan = false
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.streamBeforeStarted, undefined, body(() => (bodyRan = true)))
          )
          const error = soleFailure(exit)
          assert.instanceOf(error, ActorError.RemoteActorError, String(error))
          if (error instanceof ActorError.RemoteActorError) {
            assert.strictEqual(error.errorTag, "DialogMisuse")
            assert.match(error.message, /before `started`/)
          }
          assert.isFalse(bodyRan)
          // the misuse failed that dialog only
          assert.strictEqual(yield* Portal.call(portal, DialogService.ping, "x"), "pong x")
        })
      ))
  })

  describe("stream misuse", () => {
    it.live("fails a second openStream with DialogMisuse: here locally, from the child as RemoteActorError", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const local = yield* Portal.openDialog(portal, DialogService.sleeper, "twice", (dialog) =>
            Effect.gen(function*() {
              yield* dialog.openStream()
              const error = yield* Effect.flip(dialog.openStream())
              yield* dialog.cancel
              return error
            }))
          assert.strictEqual(local._tag, "DialogMisuse")
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.streamTwice, undefined, (dialog) => dialog.result)
          )
          const remote = soleFailure(exit)
          assert.instanceOf(remote, ActorError.RemoteActorError, String(remote))
          assert.strictEqual((remote as ActorError.RemoteActorError).errorTag, "DialogMisuse")
        })
      ))
  })

  describe("sends that cannot be", () => {
    it.live("fails a send after close with DialogMisuse, and a send after the child returned too", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const [afterClose, afterReturn] = yield* Portal.openDialog(
            portal,
            DialogService.collector,
            collector,
            (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream()
                yield* stream.send(1)
                yield* stream.close
                const afterClose = yield* Effect.flip(stream.send(2))
                yield* dialog.result
                const afterReturn = yield* Effect.flip(stream.send(3))
                return [afterClose, afterReturn] as const
              })
          )
          // the type of send's error (ActorError) does not include DialogMisuse: read the tag untyped
          assert.strictEqual((afterClose as { readonly _tag: string })._tag, "DialogMisuse", String(afterClose))
          assert.strictEqual((afterReturn as { readonly _tag: string })._tag, "DialogMisuse", String(afterReturn))
        })
      ))
  })

  describe("schema disagreement", () => {
    it.live("fails with MsgTypeError on an undecodable started value and cancels the child's side", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(Portal.openDialog(portal, DialogSkewView.open, undefined, () => Effect.void))
          const error = soleFailure(exit)
          assert.instanceOf(error, ActorError.MsgTypeError, String(error))
          yield* awaitEvents(portal, "skew:interrupted")
        })
      ))
  })

  describe("context basics (case 19)", () => {
    it.live("delivers started(data + 1) and the result, returns the body's value, runs child finalizers", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const value = yield* Portal.openDialog(portal, DialogService.simple, 10, (dialog) =>
            Effect.map(dialog.result, (result) => ({ started: dialog.started, result })))
          assert.deepStrictEqual(value, { started: 11, result: "yo" })
          yield* awaitEvents(portal, "simple:finalized")
        })
      ))

    it.live("propagates an error raised in the parent's body and cancels the child's side", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(Portal.openDialog(portal, DialogService.sleeper, "s19", (dialog) =>
            Effect.gen(function*() {
              assert.strictEqual(dialog.started, portal.actor.pid)
              yield* awaitEvents(portal, "s19:sleeping")
              return yield* new BodyFailed({ message: "on purpose" })
            })))
          const error = soleFailure(exit)
          assert.instanceOf(error, BodyFailed)
          yield* awaitEvents(portal, "s19:interrupted", "s19:finalized")
        })
      ))

    it.live("fails with the child's declared error, typed, whether it came before or after started", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          for (const afterStarted of [false, true]) {
            const error = yield* Effect.flip(
              Portal.openDialog(portal, DialogService.refusing, { afterStarted }, (dialog) => dialog.result)
            )
            assert.instanceOf(error, Refused, String(error))
            assert.strictEqual((error as Refused).stage, afterStarted ? "after started" : "before started")
          }
        })
      ))

    it.live("cancels the child's side when the dialog is interrupted while it waits for started", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Portal.openDialog(portal, DialogService.slowStart, 10_000, () => Effect.void)
          )
          yield* Effect.sleep("300 millis")
          const exit = yield* Fiber.interrupt(fiber)
          assert.isTrue(Exit.isInterrupted(exit))
          yield* awaitEvents(portal, "slowStart:interrupted")
        })
      ))

    it.live("cancels the child's side when the fiber running the dialog is interrupted", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const entered = yield* Deferred.make<void>()
          const fiber = yield* Effect.fork(Portal.openDialog(portal, DialogService.sleeper, "s19i", () =>
            Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never)))
          yield* Deferred.await(entered)
          const exit = yield* Fiber.interrupt(fiber)
          assert.isTrue(Exit.isInterrupted(exit))
          yield* awaitEvents(portal, "s19i:interrupted", "s19i:finalized")
        })
      ))
  })

  describe("absorption rule (case 20)", () => {
    it.live("absorbs the ContextCancelled of dialog.cancel at the end; result reports us as its canceller", () =>
      withDialogs((portal, self) =>
        Effect.gen(function*() {
          const outcome = yield* Portal.openDialog(portal, DialogService.sleeper, "s20", (dialog) =>
            Effect.gen(function*() {
              yield* dialog.cancel
              return yield* Effect.either(dialog.result)
            }))
          assert.isTrue(Either.isLeft(outcome))
          assertCancelledBy(Either.isLeft(outcome) ? outcome.left : undefined, self)
          yield* awaitEvents(portal, "s20:interrupted", "s20:finalized")
          // the actor is fine
          assert.strictEqual(yield* Portal.call(portal, DialogService.ping, "x"), "pong x")
        })
      ))

    it.live("returns the child's result without error when the child returned before dialog.cancel", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const result = yield* Portal.openDialog(portal, DialogService.simple, 1, (dialog) =>
            Effect.gen(function*() {
              const result = yield* dialog.result
              yield* dialog.cancel
              return result
            }))
          assert.strictEqual(result, "yo")
        })
      ))

    it.live("raises ContextCancelled naming us when we cancel the actor with Portal.cancelActor instead", () =>
      withDialogs((portal, self) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(Portal.openDialog(portal, DialogService.sleeper, "s20b", () =>
            Effect.zipRight(Portal.cancelActor(portal, { timeout: "5 seconds" }), Effect.never)))
          assertCancelledBy(soleFailure(exit), self)
          yield* assertGone(portal.actor)
        })
      ))
  })

  it.live("ends the parent's receive with zero items when the child opens, closes and returns (case 21)", () =>
    withDialogs((portal) =>
      Effect.gen(function*() {
        const [items, again, result] = yield* Portal.openDialog(portal, DialogService.openCloseReturn, undefined, (d) =>
          Effect.gen(function*() {
            const stream = yield* d.openStream()
            const items = yield* Stream.runCollect(stream.receive)
            // a second receive ends at once too
            const again = yield* Stream.runCollect(stream.receive).pipe(Effect.timeout("300 millis"))
            return [items, again, yield* d.result] as const
          }))
        assert.strictEqual(Chunk.size(items), 0)
        assert.strictEqual(Chunk.size(again), 0)
        assert.strictEqual(result, "closed")
      })
    ))

  describe("cancel around streams (case 22)", () => {
    for (const when of ["before opening", "after opening", "after closing"] as const) {
      it.live(`cancels ${when} the stream: receive and result fail with one ContextCancelled, absorbed`, () =>
        withDialogs((portal, self) =>
          Effect.gen(function*() {
            const [received, fromReceive, fromResult] = yield* Portal.openDialog(
              portal,
              DialogService.ticker,
              { tag: "t22", delayMs: 20 },
              (dialog) =>
                Effect.gen(function*() {
                  if (when === "before opening") {
                    yield* dialog.cancel
                    // wait for the answer: the stream opened afterwards is born failed
                    yield* Effect.either(dialog.result)
                  }
                  const stream = yield* dialog.openStream()
                  let received = 0
                  if (when !== "before opening") {
                    received = Chunk.size(yield* Stream.runCollect(Stream.take(stream.receive, 2)))
                    if (when === "after closing") yield* stream.close
                    yield* dialog.cancel
                  }
                  const fromReceive = yield* Effect.flip(Stream.runDrain(stream.receive))
                  const fromResult = yield* Effect.flip(dialog.result)
                  return [received, fromReceive, fromResult] as const
                })
            )
            assert.strictEqual(received, when === "before opening" ? 0 : 2)
            assertCancelledBy(fromResult, self)
            assert.strictEqual(fromReceive, fromResult, "the stream and the result disagree on the outcome")
            yield* awaitEvents(portal, "t22:interrupted")
            // the connection is still up: the actor answers, and can be cancelled afterwards
            assert.strictEqual(yield* Portal.call(portal, DialogService.ping, when), `pong ${when}`)
            yield* Portal.cancelActor(portal, { timeout: "5 seconds" })
            yield* assertGone(portal.actor)
          })
        ))
    }
  })

  describe("cancel from a sibling fiber (case 23)", () => {
    it.live("fails the fiber iterating the stream with ContextCancelled(us) when a sibling sends, then cancels", () =>
      withDialogs((portal, self) =>
        Effect.gen(function*() {
          const ticker = { tag: "t23", delayMs: 10 }
          const iterated = yield* Portal.openDialog(portal, DialogService.ticker, ticker, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              let seen = 0
              const iterator = yield* Effect.fork(Stream.runForEach(stream.receive, body(() => seen++)))
              const canceller = yield* Effect.fork(Effect.gen(function*() {
                yield* Effect.sleep("100 millis")
                yield* stream.send(1)
                yield* dialog.cancel
              }))
              yield* Fiber.join(canceller)
              const exit = yield* Fiber.await(iterator)
              return { exit, seen }
            }))
          assert.isAbove(iterated.seen, 0)
          assertCancelledBy(failureOf(iterated.exit), self)
          yield* awaitEvents(portal, "t23:interrupted")
        })
      ))

    // Deviation from tractor, on purpose: the body must return a value, so a ContextCancelled we asked
    // for that the body lets escape is raised (typed, naming us); a body that returns is absorbed.
    it.live("raises our own ContextCancelled when the body lets it escape, and absorbs it when the body catches it", () =>
      withDialogs((portal, self) =>
        Effect.gen(function*() {
          const run = (tag: string, recover: boolean) =>
            Effect.exit(Portal.openDialog(portal, DialogService.ticker, { tag, delayMs: 10 }, (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream()
                const iterator = yield* Effect.fork(Stream.runDrain(stream.receive))
                yield* Effect.sleep("100 millis")
                yield* stream.send(1)
                yield* dialog.cancel
                const joined = Fiber.join(iterator)
                const ended: Effect.Effect<string, unknown> = Effect.as(joined, "ran to the end")
                return yield* recover
                  ? Effect.catchIf(ended, ActorError.ContextCancelled.is, () => Effect.succeed("absorbed"))
                  : ended
              })))
          const escaped = yield* run("t23b", false)
          assertCancelledBy(soleFailure(escaped), self)
          const caught = yield* run("t23c", true)
          assert.isTrue(Exit.isSuccess(caught), Exit.isFailure(caught) ? Cause.pretty(caught.cause) : "")
          if (Exit.isSuccess(caught)) assert.strictEqual(caught.value, "absorbed")
          yield* awaitEvents(portal, "t23b:interrupted", "t23c:interrupted")
        })
      ))
  })

  describe("child self-cancel (case 24)", () => {
    it.live("raises ContextCancelled naming the child when it cancels itself before started", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          let bodyRan = false
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.selfCancel, { beforeStarted: true }, body(() => (bodyRan = true)))
          )
          assertCancelledBy(soleFailure(exit), portal.actor)
          assert.isFalse(bodyRan)
        })
      ))

    it.live("raises ContextCancelled naming the child when it cancels itself after started (body awaits result)", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.selfCancel, { beforeStarted: false }, (dialog) => dialog.result)
          )
          assertCancelledBy(soleFailure(exit), portal.actor)
          // a self-cancel ends the dialog, not the actor
          assert.strictEqual(yield* Portal.call(portal, DialogService.ping, "x"), "pong x")
        })
      ))

    it.live("interrupts a body busy with other work when the child cancels itself right after started", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.selfCancel, { beforeStarted: false }, () => Effect.never).pipe(
              within(5, "the body was never interrupted")
            )
          )
          assertCancelledBy(soleFailure(exit), portal.actor)
        })
      ))

    it.live("raises ContextCancelled naming the child when a fiber forked by its handler cancels the dialog", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.cancelFromFiber, undefined, (dialog) => dialog.result).pipe(
              within(5, "the dialog was never cancelled")
            )
          )
          assertCancelledBy(soleFailure(exit), portal.actor)
        })
      ))
  })

  describe("overruns (cases 25, 26)", () => {
    it.live("fail: the parent's send fails with StreamOverrun(child) while the child has not opened its stream", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const error = yield* Portal.openDialog(portal, DialogService.sleeper, "s25", (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream({ overrun: "fail" })
              const error = yield* Effect.flip(stream.send(1))
              yield* dialog.cancel
              return error
            }))
          assert.instanceOf(error, ActorError.StreamOverrun, String(error))
          assert.strictEqual((error as ActorError.StreamOverrun).actor.uid, portal.actor.uid)
        })
      ))

    it.live("backpressure: the parent's send waits, without error, while the child has not opened its stream", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const waited = yield* Portal.openDialog(portal, DialogService.sleeper, "s25b", (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              const sent = yield* stream.send(1).pipe(Effect.timeoutOption("300 millis"))
              yield* dialog.cancel
              return Option.isNone(sent)
            }))
          assert.isTrue(waited, "a send with no credit returned")
        })
      ))

    it.live("fail: a child sending to a parent that never opens its stream: RemoteActorError(StreamOverrun)", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.producer, { count: 10, overrun: "fail" }, (dialog) => dialog.result)
          )
          const error = soleFailure(exit)
          assert.instanceOf(error, ActorError.RemoteActorError, String(error))
          assert.strictEqual((error as ActorError.RemoteActorError).errorTag, "StreamOverrun")
        })
      ))

    it.live("fail: sends to a slow child succeed up to the window, then fail; nothing accepted is lost", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const { error, received, sent } = yield* Portal.openDialog(
            portal,
            DialogService.collector,
            { window: 4, delayMs: 50 },
            (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream({ overrun: "fail" })
                // let the child's credit arrive
                yield* Effect.sleep("300 millis")
                let sent = 0
                let error: unknown = undefined
                for (let i = 0; i < 50 && error === undefined; i++) {
                  const r = yield* Effect.either(stream.send(i))
                  if (Either.isRight(r)) sent++
                  else error = r.left
                }
                yield* stream.close
                return { error, sent, received: yield* dialog.result }
              })
          )
          assert.instanceOf(error, ActorError.StreamOverrun, String(error))
          assert.isAtLeast(sent, 4)
          assert.isBelow(sent, 50)
          assert.deepStrictEqual(received, range(sent))
        })
      ))

    it.live("fail: a child sending faster than a stalled parent reads fails with StreamOverrun, raised here", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.producer, { count: 100, overrun: "fail" }, (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream({ window: 4 })
                // stalled: the child's credit runs out long before we read
                yield* Effect.sleep("300 millis")
                return yield* Stream.runDrain(stream.receive)
              }))
          )
          const error = soleFailure(exit)
          assert.instanceOf(error, ActorError.RemoteActorError, String(error))
          assert.strictEqual((error as ActorError.RemoteActorError).errorTag, "StreamOverrun")
        })
      ))

    it.live("backpressure: a slow child receives every element the parent sends, in order", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const collector = { window: 2, delayMs: 2 }
          const received = yield* Portal.openDialog(portal, DialogService.collector, collector, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              yield* Effect.forEach(range(200), stream.send, { discard: true })
              yield* stream.close
              return yield* dialog.result
            }))
          assert.deepStrictEqual(received, range(200))
        })
      ))

    it.live("backpressure: a slow parent receives every element the child sends, in order", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const [received, sent] = yield* Portal.openDialog(
            portal,
            DialogService.producer,
            { count: 200, overrun: "backpressure" },
            (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream({ window: 2 })
                const received = yield* Stream.runCollect(Stream.tap(stream.receive, () => Effect.sleep("2 millis")))
                return [Chunk.toReadonlyArray(received), yield* dialog.result] as const
              })
          )
          assert.strictEqual(sent, 200)
          assert.deepStrictEqual(received, range(200))
        })
      ))

    it.live("dropOldest: the parent's sends never wait; a slow child gets the newest, in order", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const collector = { window: 2, delayMs: 20 }
          const received = yield* Portal.openDialog(portal, DialogService.collector, collector, (dialog) =>
            Effect.gen(function*() {
              // the buffer of unsent elements is as large as this side's window: 4
              const stream = yield* dialog.openStream({ overrun: "dropOldest", window: 4 })
              yield* Effect.sleep("300 millis")
              // 50 sends against a credit of 2: none of them waits
              yield* Effect.forEach(range(50), stream.send, { discard: true }).pipe(Effect.timeout("1 second"))
              // let the buffer drain before closing
              yield* Effect.sleep("1 second")
              yield* stream.close
              return yield* dialog.result
            }))
          assertIncreasing(received)
          assert.isBelow(received.length, 50, "nothing was dropped")
          assert.deepStrictEqual(received.slice(-4), [46, 47, 48, 49])
        })
      ))

    it.live("dropOldest: a child's sends never wait; a slow parent gets the newest, in order", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const [received, sent] = yield* Portal.openDialog(
            portal,
            DialogService.producer,
            { count: 1000, overrun: "dropOldest", window: 8, lingerMs: 1000 },
            (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream({ window: 2 })
                const received = yield* Stream.runCollect(Stream.tap(stream.receive, () => Effect.sleep("10 millis")))
                return [Chunk.toReadonlyArray(received), yield* dialog.result] as const
              })
          )
          assert.strictEqual(sent, 1000, "a dropOldest send failed or waited")
          assertIncreasing(received)
          assert.isBelow(received.length, 1000, "nothing was dropped")
          assert.deepStrictEqual(received.slice(-8), range(8).map((i) => 992 + i))
        })
      ))

    it.live("dropOldest: closing right after the sends still delivers the buffered newest elements", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const collector = { window: 2, delayMs: 20 }
          const received = yield* Portal.openDialog(portal, DialogService.collector, collector, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream({ overrun: "dropOldest", window: 4 })
              yield* Effect.sleep("300 millis")
              yield* Effect.forEach(range(50), stream.send, { discard: true })
              yield* stream.close
              return yield* dialog.result
            }))
          assertIncreasing(received)
          assert.strictEqual(received[received.length - 1], 49, `received ${received}`)
        })
      ))
  })

  describe("two-way traffic", () => {
    it.live("plays 10 rounds of ping-pong, with explicit pulls and with a stream loop (case 27)", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          // explicit receive, one element at a time
          const [started, pongs, count] = yield* Portal.openDialog(portal, DialogService.pingPong, 10, (dialog) =>
            Effect.scoped(Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              const pull = yield* Stream.toPull(stream.receive)
              const pongs: Array<string> = []
              for (let i = 0; i < 10; i++) {
                yield* stream.send("ping")
                pongs.push(...Chunk.toReadonlyArray(yield* pull))
              }
              yield* stream.close
              return [dialog.started, pongs, yield* dialog.result] as const
            })))
          assert.strictEqual(started, 11)
          assert.deepStrictEqual(pongs, Array(10).fill("pong"))
          assert.strictEqual(count, 10)
          // a loop over the stream: answer each pong with a ping until 10
          const looped = yield* Portal.openDialog(portal, DialogService.pingPong, 0, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              let rounds = 0
              yield* stream.send("ping")
              yield* Stream.runForEach(stream.receive, (pong) => {
                assert.strictEqual(pong, "pong")
                rounds++
                return rounds < 10 ? stream.send("ping") : stream.close
              })
              return { rounds, count: yield* dialog.result }
            }))
          assert.deepStrictEqual(looped, { rounds: 10, count: 10 })
        })
      ))

    it.live("mixes request/response with a running stream on one dialog (case 32)", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const seen = yield* Portal.openDialog(portal, DialogService.reqResp, undefined, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              const receiver = yield* Effect.fork(Stream.runCollect(stream.receive))
              for (let i = 0; i < 5; i++) {
                yield* stream.send("ping")
                yield* Effect.sleep("60 millis")
              }
              yield* stream.close
              // the child returns once our side is closed: its stream ends with it
              return Chunk.toReadonlyArray(yield* Fiber.join(receiver))
            }))
          assert.strictEqual(seen.filter((m) => m === "pong").length, 5, seen.join(","))
          assert.isAbove(seen.filter((m) => m === "yo").length, 0)
          assert.deepStrictEqual(seen.filter((m) => m !== "yo" && m !== "pong"), [])
        })
      ))

    it.live("closes the parent's side of the stream when the body ends, so a child reading to the end returns", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const pong = yield* Portal.openDialog(portal, DialogService.pingPong, 1, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              yield* stream.send("ping")
              // tractor: leaving the stream's block sends Stop; here the body's end is that block's end
              return yield* Stream.runHead(stream.receive)
            })).pipe(within(5, "the dialog hung"))
          assert.deepStrictEqual(pong, Option.some("pong"))
        })
      ))

    it.live("ends the child's receive when the body ends without ever opening its stream", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const collector = { window: 2, delayMs: 1 }
          const done = yield* Portal.openDialog(portal, DialogService.collector, collector, () =>
            Effect.succeed("done")).pipe(within(5, "the dialog hung"))
          assert.strictEqual(done, "done")
          const started = yield* Portal.openDialog(portal, DialogService.pingPong, 1, (dialog) =>
            Effect.succeed(dialog.started)).pipe(within(5, "the dialog hung"))
          assert.strictEqual(started, 2)
        })
      ))

    it.live("lets two fibers send on one stream concurrently under backpressure", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const [received, sent] = yield* Portal.openDialog(portal, DialogService.twoSenders, 50, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream({ window: 2 })
              const received = yield* Stream.runCollect(Stream.tap(stream.receive, () => Effect.sleep("2 millis")))
              return [Chunk.toReadonlyArray(received), yield* dialog.result] as const
            })).pipe(within(10, "a sender hung"))
          assert.strictEqual(sent, 100)
          assert.deepStrictEqual(received.filter((n) => n < 1_000_000), range(50))
          assert.deepStrictEqual(received.filter((n) => n >= 1_000_000), range(50).map((n) => 1_000_000 + n))
        })
      ))
  })

  describe("the dialog's end", () => {
    it.live("drains what the child still sends after the body stopped reading, to reach its result", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const producer = { count: 10_000, overrun: "backpressure" } as const
          const first = yield* Portal.openDialog(portal, DialogService.producer, producer, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream({ window: 8 })
              // tractor: leaving the block drains (discards) in-flight elements until the child's result
              return Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(stream.receive, 5)))
            })).pipe(within(10, "the dialog hung"))
          assert.deepStrictEqual(first, range(5))
        })
      ))

    it.live("drains what the child sends when the body never opened its stream, to reach its result", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const producer = { count: 10, overrun: "backpressure" } as const
          const value = yield* Portal.openDialog(portal, DialogService.producer, producer, () => Effect.succeed("done"))
            .pipe(within(10, "the dialog hung"))
          assert.strictEqual(value, "done")
        })
      ))

    it.live("lets two fibers receive from one stream concurrently: each element once, and both end", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const producer = { count: 1000, overrun: "backpressure" } as const
          const [a, b] = yield* Portal.openDialog(portal, DialogService.producer, producer, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream({ window: 4 })
              const collect = Effect.map(Stream.runCollect(stream.receive), Chunk.toReadonlyArray)
              return yield* Effect.all([collect, collect], { concurrency: 2 })
            })).pipe(within(10, "a receiver hung"))
          assertIncreasing(a)
          assertIncreasing(b)
          assert.deepStrictEqual([...a, ...b].sort((x, y) => x - y), range(1000))
        })
      ))
  })

  it.live("raises the child's original error, not the ContextCancelled of the grandchild it cancelled (case 34)", () =>
    withDialogs((portal) =>
      Effect.gen(function*() {
        const module = Url.fileURLToPath(dialogModule)
        const exit = yield* Effect.exit(Portal.openDialog(portal, DialogService.middle, { module }, () => Effect.void))
        const error = soleFailure(exit)
        assert.instanceOf(error, ActorError.RemoteActorError, String(error))
        if (error instanceof ActorError.RemoteActorError) {
          assert.strictEqual(error.errorTag, "Kaboom", error.toString())
          assert.strictEqual(error.source.uid, portal.actor.uid)
        }
        // the middle actor did open the grandchild dialog before failing
        const seen = yield* events(portal)
        assert.isTrue(seen.some((e) => e.startsWith("middle:grandchild started ")), seen.join(", "))
      })
    ), 20_000)

  it.live("relays a grandchild's dialog failure through a middle dialog, keeping its source (inception)", () =>
    withDialogs((portal) =>
      Effect.gen(function*() {
        const module = Url.fileURLToPath(dialogModule)
        const exit = yield* Effect.exit(Portal.openDialog(portal, DialogService.relay, { module }, () => Effect.void))
        const error = soleFailure(exit)
        assert.instanceOf(error, ActorError.RemoteActorError, String(error))
        if (error instanceof ActorError.RemoteActorError) {
          assert.strictEqual(error.errorTag, "DialogMisuse")
          assert.strictEqual(error.source.name, "grandchild")
          assert.deepStrictEqual(error.relayPath.map((a) => a.name), ["grandchild", "dialogs"])
          assert.isTrue(error.isInception)
        }
      })
    ), 20_000)

  describe("out-of-band actor cancel (case 36)", () => {
    for (const cancelFirst of [false, true]) {
      it.live(
        cancelFirst
          ? "exits the background dialog cleanly when it called dialog.cancel before Portal.cancelActor"
          : "raises ContextCancelled(us) in a background fiber's dialog when we Portal.cancelActor its peer",
        () =>
          withDialogs((portal, self) =>
            Effect.gen(function*() {
              const entered = yield* Deferred.make<void>()
              const release = yield* Deferred.make<void>()
              const background = yield* Effect.fork(
                Portal.openDialog(portal, DialogService.sleeper, "s36", (dialog) =>
                  Effect.gen(function*() {
                    if (cancelFirst) {
                      yield* dialog.cancel
                      yield* Effect.either(dialog.result)
                    }
                    yield* Deferred.succeed(entered, undefined)
                    yield* Deferred.await(release)
                    return "released"
                  }))
              )
              yield* Deferred.await(entered)
              yield* Portal.cancelActor(portal, { timeout: "5 seconds" })
              yield* Deferred.succeed(release, undefined)
              const exit = yield* Fiber.await(background).pipe(Effect.timeout("5 seconds"))
              if (cancelFirst) assert.deepStrictEqual(exit, Exit.succeed("released"))
              else assertCancelledBy(soleFailure(exit), self)
              yield* assertGone(portal.actor)
            })
          )
      )
    }
  })

  /**
   * Opens `dieAfterOpen` (the child opens its stream, sends one element, then SIGKILLs itself) in a
   * nursery with no body to interrupt, so what is observed is the dialog's own outcome.
   */
  const withDier = <A, E>(
    body: (dialog: Actor.DialogHandle<void, never, number, void, never>) => Effect.Effect<A, E>
  ) =>
    Effect.scoped(Effect.gen(function*() {
      const nursery = yield* Nursery.make()
      const portal = yield* Nursery.spawn(nursery, "dier", { modules: [dialogModule] })
      const exit = yield* Effect.exit(
        Portal.openDialog(portal, DialogService.dieAfterOpen, undefined, body).pipe(Effect.timeout("10 seconds"))
      )
      return [exit, portal.actor.pid] as const
    }))

  it.live("fails the dialog with TransportClosed when the child's process dies after opening a stream (case 40)", () =>
    Effect.gen(function*() {
      const start = Date.now()
      const [exit, pid] = yield* withDier((dialog) =>
        Effect.gen(function*() {
          const stream = yield* dialog.openStream()
          return yield* Stream.runCollect(stream.receive)
        })
      )
      const error = soleFailure(exit)
      assert.instanceOf(error, ActorError.TransportClosed, String(error))
      assert.strictEqual((error as ActorError.TransportClosed).actor.pid, pid)
      assert.isBelow(Date.now() - start, 10_000)
      assert.isFalse(isAlive(pid))
    }))

  it.live("a broken connection fails the body's own receive with TransportClosed, so the body can react", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const [exit, pid] = yield* withDier((dialog) =>
        Effect.gen(function*() {
          const stream = yield* dialog.openStream()
          const received = yield* Effect.either(Stream.runCollect(stream.receive))
          // the body is still running here: it saw the failure and reacts to it
          seen.push(received._tag === "Left" ? received.left : "no failure")
          seen.push(yield* Effect.either(stream.send(1 as never)).pipe(Effect.map((e) => e._tag === "Left" ? e.left : "sent")))
          return "reacted"
        })
      )
      assert.strictEqual(seen.length, 2, "the body was interrupted before it could react")
      assert.instanceOf(seen[0], ActorError.TransportClosed, String(seen[0]))
      assert.instanceOf(seen[1], ActorError.TransportClosed, String(seen[1]))
      // the dialog itself still fails: its other end is gone
      assert.instanceOf(soleFailure(exit), ActorError.TransportClosed)
      assert.isFalse(isAlive(pid))
    }))

  describe("local fan-out of a dialog stream (case 31)", () => {
    it.live("gives each of 10 subscribers, subscribed before start, the full 1000-element sequence", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const producer = { count: 1000, overrun: "backpressure" } as const
          const all = yield* Portal.openDialog(portal, DialogService.producer, producer, (dialog) =>
            Effect.scoped(Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              const hub = yield* MsgStream.broadcast(stream.receive, { capacity: 1000 })
              const subscribers = yield* Effect.forEach(range(10), () => hub.subscribe)
              yield* hub.start
              const collect = <E>(s: Stream.Stream<number, E>) =>
                Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
              return yield* Effect.forEach(subscribers, collect, { concurrency: "unbounded" })
            })))
          assert.strictEqual(all.length, 10)
          for (const values of all) assert.deepStrictEqual(values, range(1000))
        })
      ))

    it.live("signals Lagged to a slow subscriber, which goes on from the oldest element held; lag skip: no error", () =>
      withDialogs((portal) =>
        Effect.gen(function*() {
          const fanOut = (lag: "signal" | "skip") =>
            Portal.openDialog(portal, DialogService.producer, { count: 1000, overrun: "backpressure" }, (dialog) =>
              Effect.scoped(Effect.gen(function*() {
                const stream = yield* dialog.openStream()
                const hub = yield* MsgStream.broadcast(stream.receive, { capacity: 16, lag })
                const slow = yield* hub.subscribe
                // subscribers drive the source: a fast one reads ahead, the slow one falls behind
                const fast = yield* hub.subscribe
                yield* hub.start
                yield* Effect.forkScoped(Stream.runDrain(fast))
                const received: Array<number> = []
                let skipped = 0
                let lags = 0
                // re-pulling the same subscription after a Lagged continues it
                while (true) {
                  const r = yield* Effect.either(
                    Stream.runForEach(slow, (n) =>
                      Effect.zipRight(Effect.sleep("2 millis"), body(() => received.push(n))()))
                  )
                  if (Either.isRight(r)) break
                  assert.instanceOf(r.left, MsgStream.Lagged)
                  lags++
                  skipped += (r.left as MsgStream.Lagged).skipped
                }
                return { received, skipped, lags }
              })))
          const signalled = yield* fanOut("signal")
          assert.isAbove(signalled.lags, 0, "the slow subscriber never lagged")
          assert.isAbove(signalled.skipped, 0)
          assertIncreasing(signalled.received)
          assert.strictEqual(signalled.received.length + signalled.skipped, 1000)
          assert.strictEqual(signalled.received[signalled.received.length - 1], 999)
          const skipping = yield* fanOut("skip")
          assert.strictEqual(skipping.lags, 0)
          assertIncreasing(skipping.received)
          assert.isBelow(skipping.received.length, 1000)
          assert.strictEqual(skipping.received[skipping.received.length - 1], 999)
        })
      ))
  })

  it.live("multiplexes dialogs and calls on one actor: a stalled consumer blocks no other dialog or call", () =>
    withDialogs((portal) =>
      Effect.gen(function*() {
        const stalledOpen = yield* Deferred.make<void>()
        // a producer of 100,000 elements whose consumer reads nothing: the child soon waits on credit
        const stalled = yield* Effect.fork(
          Portal.openDialog(portal, DialogService.producer, { count: 100_000, overrun: "backpressure" }, (dialog) =>
            Effect.gen(function*() {
              yield* dialog.openStream({ window: 4 })
              yield* Deferred.succeed(stalledOpen, undefined)
              return yield* Effect.never
            }))
        )
        yield* Deferred.await(stalledOpen)
        const others = yield* Effect.all([
          Portal.openDialog(portal, DialogService.pingPong, 1, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              let rounds = 0
              yield* stream.send("ping")
              yield* Stream.runForEach(stream.receive, () => ++rounds < 10 ? stream.send("ping") : stream.close)
              return yield* dialog.result
            })),
          Portal.openDialog(portal, DialogService.producer, { count: 5_000, overrun: "backpressure" }, (dialog) =>
            Effect.flatMap(dialog.openStream(), (stream) => Stream.runCount(stream.receive))),
          Portal.call(portal, DialogService.ping, "through")
        ], { concurrency: "unbounded" }).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(others, [10, 5_000, "pong through"])
        // the stalled dialog is still there, still stalled
        assert.isNull(stalled.unsafePoll())
        const exit = yield* Fiber.interrupt(stalled)
        assert.isTrue(Exit.isInterrupted(exit))
      })
    ))
})

describe("multiplexing under load", () => {
  it.live("runs 20 ping-pong dialogs (window 1) and 20 streams (window 3) at once on one actor, each intact", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const portal = yield* Nursery.spawn(nursery, "both", { modules: [dialogModule, fixture("streamService.ts")] })
        const dialogs = range(20).map((i) =>
          Portal.openDialog(portal, DialogService.pingPong, i, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream({ window: 1 })
              let rounds = 0
              yield* stream.send("ping")
              yield* Stream.runForEach(stream.receive, () => ++rounds < 50 ? stream.send("ping") : stream.close)
              return { started: dialog.started, answered: yield* dialog.result }
            }))
        )
        const streams = range(20).map((i) =>
          Effect.map(
            Stream.runCollect(Portal.stream(portal, StreamService.range, 1_000 + i, { window: 3 })),
            Chunk.toReadonlyArray
          )
        )
        const [pingPongs, ranges] = yield* Effect.all([
          Effect.all(dialogs, { concurrency: "unbounded" }),
          Effect.all(streams, { concurrency: "unbounded" })
        ], { concurrency: 2 }).pipe(within(30, "the multiplexed run hung"))
        assert.deepStrictEqual(pingPongs, range(20).map((i) => ({ started: i + 1, answered: 50 })))
        ranges.forEach((values, i) => assert.deepStrictEqual(values, range(1_000 + i)))
      })
    ))
})

/**
 * A random script for one side of a dialog: sends (of values unique to the side), closes, cancels,
 * failures (the parent's body raises BodyFailed, the child its declared Refused), pauses.
 */
const scriptArbitrary = FastCheck.array(
  FastCheck.oneof(
    { weight: 6, arbitrary: FastCheck.constant("send" as const) },
    { weight: 1, arbitrary: FastCheck.constant("close" as const) },
    { weight: 1, arbitrary: FastCheck.constant("cancel" as const) },
    { weight: 1, arbitrary: FastCheck.constant("fail" as const) },
    { weight: 2, arbitrary: FastCheck.integer({ min: 0, max: 15 }) }
  ),
  { maxLength: 12 }
)

type Script = ReadonlyArray<"send" | "close" | "cancel" | "fail" | number>

const toSteps = (script: Script, firstValue: number): Array<Step> => {
  let next = firstValue
  return script.map((s): Step =>
    s === "send" ? { op: "send", value: next++ } : typeof s === "number" ? { op: "sleep", ms: s } : { op: s }
  )
}

/**
 * The values of the sends before the side's stream ended: its first close or failure, or for the
 * child its self-cancel (the parent's `dialog.cancel` ends the child's side, not the parent's sends).
 */
const sendsBeforeEnd = (steps: ReadonlyArray<Step>, side: "parent" | "child"): Array<number> => {
  const out: Array<number> = []
  for (const step of steps) {
    if (step.op === "close" || step.op === "fail" || (step.op === "cancel" && side === "child")) break
    if (step.op === "send") out.push(step.value)
  }
  return out
}

const isPrefix = (prefix: ReadonlyArray<number>, of: ReadonlyArray<number>) =>
  prefix.length <= of.length && prefix.every((v, i) => of[i] === v)

/** How the child's script ends by itself: its first cancel or fail, if any. */
const childEnding = (steps: ReadonlyArray<Step>): "cancel" | "fail" | undefined =>
  steps.find((s): s is { readonly op: "cancel" } | { readonly op: "fail" } => s.op === "cancel" || s.op === "fail")?.op

describe("property: random send/close/cancel/fail scripts on both sides of a dialog", () => {
  it.live("ends each side exactly once, delivers nothing twice, nothing after close, and leaves no process", () =>
    withDialogs((portal) =>
      Effect.gen(function*() {
        const scripts = FastCheck.tuple(scriptArbitrary, scriptArbitrary)
        const samples = FastCheck.sample(scripts, { seed: 20240607, numRuns: 20 })
        for (let run = 0; run < samples.length; run++) {
          const [parentScript, childScript] = samples[run]!
          const parentSteps = toSteps(parentScript, 0)
          const childSteps = toSteps(childScript, 1_000)
          const label = `run ${run}: parent ${JSON.stringify(parentScript)}, child ${JSON.stringify(childScript)}`
          const parentSent: Array<number> = []
          const parentReceived: Array<number> = []
          let parentCancelled = false
          let parentFailed = false
          const exit = yield* Effect.exit(
            Portal.openDialog(portal, DialogService.scripted, { run, steps: childSteps }, (dialog) =>
              Effect.gen(function*() {
                const stream = yield* dialog.openStream()
                const receiver = yield* Effect.fork(
                  Effect.either(Stream.runForEach(stream.receive, (n) => body(() => parentReceived.push(n))()))
                )
                for (const step of parentSteps) {
                  if (step.op === "send") {
                    if (Either.isRight(yield* Effect.either(stream.send(step.value)))) parentSent.push(step.value)
                  } else if (step.op === "close") yield* stream.close
                  else if (step.op === "cancel") {
                    parentCancelled = true
                    yield* dialog.cancel
                  } else if (step.op === "fail") {
                    parentFailed = true
                    return yield* new BodyFailed({ message: "scripted" })
                  } else yield* Effect.sleep(step.ms)
                }
                yield* stream.close
                return yield* Fiber.join(receiver)
              })
            ).pipe(within(10, `hung: ${label}`))
          )
          const childEnds = childEnding(childSteps)
          const anyEnding = childEnds !== undefined || parentCancelled || parentFailed

          // the parent's side ends once: with its value, or with exactly one error that one of the scripts raised
          if (Exit.isFailure(exit)) {
            const error = soleFailure(exit)
            if (error instanceof BodyFailed) assert.isTrue(parentFailed, label)
            else if (error instanceof Refused) assert.strictEqual(childEnds, "fail", label)
            else {
              assert.strictEqual(childEnds, "cancel", `${label}: ${String(error)}`)
              assertCancelledBy(error, portal.actor)
            }
          }
          // our body's failure always ends the dialog with a failure
          if (parentFailed) assert.isTrue(Exit.isFailure(exit), label)
          // a child that ends itself is heard, unless we cancelled or failed first
          if (childEnds !== undefined && !parentCancelled && !parentFailed) {
            const error = soleFailure(exit)
            if (childEnds === "fail") assert.instanceOf(error, Refused, label)
            else assertCancelledBy(error, portal.actor)
          }

          // the child's side ended once, and reported it
          const reports = (yield* Portal.call(portal, DialogService.reports, undefined)).filter((r) => r.run === run)
          assert.strictEqual(reports.length, 1, `${label}: ${reports.length} outcomes on the child's side`)
          const child: ScriptReport = reports[0]!
          if (!anyEnding) assert.strictEqual(child.outcome, "returned", label)
          if (child.outcome === "failed") assert.strictEqual(childEnds, "fail", label)
          if (child.outcome === "returned") assert.isUndefined(childEnds, label)

          // no element twice, out of order, or after its sender closed (or cancelled)
          const parentMaySend = sendsBeforeEnd(parentSteps, "parent")
          const childMaySend = sendsBeforeEnd(childSteps, "child")
          assert.isTrue(isPrefix(parentSent, parentMaySend), `${label}: parent sent ${parentSent}`)
          assert.isTrue(isPrefix(child.sent, childMaySend), `${label}: child sent ${child.sent}`)
          assert.isTrue(isPrefix(child.received, parentSent), `${label}: child got ${child.received} of ${parentSent}`)
          assert.isTrue(isPrefix(parentReceived, child.sent), `${label}: parent got ${parentReceived} of ${child.sent}`)
          if (!anyEnding) {
            // nobody cancelled or failed: everything sent arrived
            assert.isTrue(Exit.isSuccess(exit), label)
            assert.deepStrictEqual(parentSent, parentMaySend, label)
            assert.deepStrictEqual(child.sent, childMaySend, label)
            assert.deepStrictEqual(child.received, parentSent, label)
            assert.deepStrictEqual(parentReceived, child.sent, label)
          }
        }
        // the scripts were varied enough to exercise each ending
        const all = yield* Portal.call(portal, DialogService.reports, undefined)
        assert.strictEqual(all.length, samples.length)
        assert.isTrue(all.some((r) => r.outcome === "returned"), "no run returned")
        assert.isTrue(all.some((r) => r.outcome === "interrupted"), "no run was cancelled")
        assert.isTrue(all.some((r) => r.outcome === "failed"), "no child failed")
        // the actor survived every one of them
        assert.strictEqual(yield* Portal.call(portal, DialogService.ping, "after"), "pong after")
      })
    ), 60_000)
})
