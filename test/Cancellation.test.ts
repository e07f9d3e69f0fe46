/**
 * Cancellation: graceful cancel of daemons (scope close, interruption of the parent fiber), the
 * teardown ladder for actors deaf to cancel requests, cancel-ack timeouts and self-cancellation.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Echo } from "./fixtures/protocols.ts"
import { Supervisor } from "./fixtures/supervisionProtocols.ts"
import { expectLogs, tolerateLogs } from "./utils/assertions.ts"
import {
  checkOrphansAfterEach,
  descendants,
  echoModule,
  fixture,
  isActorTitle,
  isAlive,
  tempDir,
  titleOf,
  waitGone
} from "./utils/index.ts"

checkOrphansAfterEach()

const supervisionModule = fixture("supervision.ts")

/** Short ladder periods so that riding the ladder to SIGKILL takes 0.5 s. */
const fastLadder = { gracePeriod: "200 millis", termPeriod: "300 millis", cancelAckTimeout: "100 millis" } as const
const ladderMillis = 200 + 300
/** an actor that never acknowledged the cancel request is killed after the grace period alone */
const graceMillis = 200
/** Room for a loaded 2-core machine. */
const slackMillis = 1500

const tempFile = (name: string) => Path.join(tempDir("tractor-cancel-"), name)

const failuresOf = <A, E>(exit: Exit.Exit<A, E>): Array<E> =>
  Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)).slice() : []

/**
 * Spawns a daemon and starts a call in it that only ends by interruption; returns once the handler
 * runs (the `pid` call behind it on the same connection has been answered).
 */
const startSleepingDaemon = (nursery: Nursery.Nursery<ActorError.ActorError>, file: string) =>
  Effect.gen(function*() {
    const portal = yield* Nursery.spawn(nursery, "daemon", { modules: [supervisionModule, echoModule] })
    yield* Nursery.fork(nursery, Portal.call(portal, Supervisor.finalizeThen, { file, fail: false, ms: 0 }))
    assert.strictEqual(yield* Portal.call(portal, Echo.pid, undefined), portal.actor.pid)
    assert.isTrue(isAlive(portal.actor.pid))
    return portal.actor
  })

/** The daemon went through the graceful path: its handler saw the interrupt and its finalizer ran. */
const assertCancelledGracefully = (actor: Actor.ActorId, file: string) => {
  assert.isFalse(isAlive(actor.pid), `${actor.name} is still alive`)
  assert.isTrue(Fs.existsSync(`${file}.interrupted`), "the running handler was not interrupted")
  assert.strictEqual(Fs.readFileSync(file, "utf8"), "daemon:Failure", "the lifetime finalizer did not run")
}

describe("Cancellation", () => {
  it.live("cancels a daemon and its running call gracefully when the nursery's scope closes", () =>
    Effect.gen(function*() {
      const file = tempFile("scope-close")
      let closing = 0
      const actor = yield* Effect.scoped(Effect.gen(function*() {
        // a cancel request that went unheard would cost the 10 s grace period before any signal
        const nursery = yield* Nursery.make<ActorError.ActorError>({ gracePeriod: "10 seconds" })
        const actor = yield* startSleepingDaemon(nursery, file)
        closing = Date.now()
        return actor
      }))
      const elapsed = Date.now() - closing
      assertCancelledGracefully(actor, file)
      assert.isBelow(elapsed, 5_000, "the daemon did not exit on the cancel request")
    }))

  it.live("cancels a daemon gracefully when the fiber running the nursery is interrupted", () =>
    Effect.gen(function*() {
      const file = tempFile("interrupt")
      const ready = yield* Deferred.make<Actor.ActorId>()
      const fiber = yield* Effect.fork(
        Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
          Effect.gen(function*() {
            yield* Deferred.succeed(ready, yield* startSleepingDaemon(nursery, file))
            return yield* Effect.never
          }), { gracePeriod: "10 seconds" })
      )
      const actor = yield* Deferred.await(ready)
      const interrupting = Date.now()
      const exit = yield* Fiber.interrupt(fiber)
      const elapsed = Date.now() - interrupting
      assert.isTrue(Exit.isInterrupted(exit), `the interruption became ${String(exit)}`)
      assertCancelledGracefully(actor, file)
      assert.isBelow(elapsed, 5_000, "the daemon did not exit on the cancel request")
    }))

  it.live("cancels a daemon gracefully when a timeout interrupts the nursery", () =>
    Effect.gen(function*() {
      const file = tempFile("timeout")
      let actor: Actor.ActorId | undefined
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
        Effect.gen(function*() {
          actor = yield* startSleepingDaemon(nursery, file)
          return yield* Effect.never
        }), { gracePeriod: "10 seconds" }).pipe(Effect.timeout("2 seconds"), Effect.exit)
      assert.isDefined(actor, "the daemon was not ready within the timeout")
      assert.deepStrictEqual(failuresOf(exit).map((e) => e._tag), ["TimeoutException"])
      assertCancelledGracefully(actor!, file)
    }))

  it.live("tears down every actor on Nursery.cancel and keeps the nursery usable", () =>
    Effect.gen(function*() {
      const result = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const first = yield* Effect.forEach(
            ["a", "b"],
            (name) => Nursery.spawn(nursery, name, { modules: [echoModule] }),
            { concurrency: "unbounded" }
          )
          for (const portal of first) assert.strictEqual(yield* Portal.call(portal, Echo.echo, "hi"), "hi")
          yield* Nursery.cancel(nursery)
          for (const portal of first) assert.isFalse(isAlive(portal.actor.pid), `${portal.actor.name} survived`)
          const after = yield* Nursery.spawn(nursery, "c", { modules: [echoModule] })
          return [yield* Portal.call(after, Echo.echo, "again"), after.actor.pid] as const
        })
      )
      assert.strictEqual(result[0], "again")
      assert.isFalse(isAlive(result[1]))
    }))

  it.live("treats a SIGTERM from outside as a graceful cancel, not a crash", () =>
    Effect.gen(function*() {
      const file = tempFile("sigterm")
      const outcome = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "daemon", { modules: [supervisionModule, echoModule] })
          const pending = yield* Effect.fork(
            Portal.call(portal, Supervisor.finalizeThen, { file, fail: false, ms: 0 })
          )
          assert.strictEqual(yield* Portal.call(portal, Echo.pid, undefined), portal.actor.pid)
          process.kill(portal.actor.pid, "SIGTERM")
          const pendingError = yield* Effect.flip(Fiber.join(pending))
          // the exit that follows is announced: the nursery must not fail while it is still open
          assert.deepStrictEqual(yield* waitGone([portal.actor.pid], 3_000), [])
          return { actor: portal.actor, pendingError, parent: nursery.actor }
        })
      )
      const { actor, parent, pendingError } = outcome
      assert.isTrue(ActorError.ContextCancelled.is(pendingError), String(pendingError))
      if (ActorError.ContextCancelled.is(pendingError)) {
        // a SIGTERM normally comes from the parent's ladder: the actor reports its parent as canceller
        assert.deepStrictEqual(pendingError.canceller, parent)
      }
      assertCancelledGracefully(actor, file)
    }))

  it.live("hard-kills an actor stuck in synchronous code within gracePeriod + termPeriod", () =>
    Effect.gen(function*() {
      let closing = 0
      const pid = yield* Effect.scoped(Effect.gen(function*() {
        const nursery = yield* Nursery.make<ActorError.ActorError>(fastLadder)
        const portal = yield* Nursery.spawn(nursery, "stuck", { modules: [echoModule] })
        yield* Nursery.fork(nursery, Portal.call(portal, Echo.blockSync, 60_000))
        // the call is on the wire before the cancel request, so the handler blocks first
        yield* Effect.sleep("200 millis")
        assert.isTrue(isAlive(portal.actor.pid))
        closing = Date.now()
        return portal.actor.pid
      }))
      const elapsed = Date.now() - closing
      assert.isFalse(isAlive(pid), "the stuck actor survived the ladder")
      // deaf to the cancel request, it never acknowledged it: SIGKILL right after the grace period,
      // without waiting out the term period for a SIGTERM handler its blocked loop cannot run
      assert.isAtLeast(elapsed, graceMillis - 20)
      assert.isBelow(elapsed, ladderMillis)
    }).pipe(expectLogs(/actor stuck@\d+ did not acknowledge the cancel request within 200 ms/)))

  it.live("an actor that acknowledged the cancel keeps the term period for its finalizers", () =>
    Effect.gen(function*() {
      const file = Path.join(tempDir("effect-tractor-linger-"), "finalized")
      let closing = 0
      const pid = yield* Effect.scoped(Effect.gen(function*() {
        const nursery = yield* Nursery.make({ gracePeriod: "100 millis", termPeriod: "3 seconds" })
        const portal = yield* Nursery.spawn(nursery, "lingering", { modules: [echoModule] })
        yield* Portal.call(portal, Echo.lingerOnExit, { file, ms: 600 })
        closing = Date.now()
        return portal.actor.pid
      }))
      const elapsed = Date.now() - closing
      assert.isFalse(isAlive(pid))
      // past the grace period (SIGTERM), its 600 ms finalizer ran to its end: no SIGKILL cut it short
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "finalized")
      assert.isAtLeast(elapsed, 550)
    }))

  it.live("fails with ActorTooSlow when the cancel ack times out and still closes the nursery", () =>
    Effect.gen(function*() {
      let actor: Actor.ActorId | undefined
      let askedAt = 0
      let failedAt = 0
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "deaf", { modules: [echoModule] })
          actor = portal.actor
          yield* Nursery.fork(nursery, Portal.call(portal, Echo.blockSync, 60_000))
          yield* Effect.sleep("200 millis")
          askedAt = Date.now()
          return yield* Portal.cancelActor(portal, { timeout: "200 millis" }).pipe(
            Effect.tapError(() =>
              Effect.sync(() => {
                failedAt = Date.now()
                assert.isTrue(isAlive(portal.actor.pid), "the cancel request alone killed the actor")
              })
            )
          )
        }), fastLadder).pipe(Effect.exit)
      const closed = Date.now()

      const failures = failuresOf(exit)
      assert.strictEqual(failures.length, 1, String(exit))
      const tooSlow = failures[0]
      assert.isTrue(tooSlow instanceof ActorError.ActorTooSlow, String(tooSlow))
      if (tooSlow instanceof ActorError.ActorTooSlow) {
        assert.deepStrictEqual(tooSlow.actor, actor)
        assert.strictEqual(tooSlow.waitedMillis, 200)
      }
      assert.isAtLeast(failedAt - askedAt, 190)
      assert.isFalse(isAlive(actor!.pid))
      // escalated to SIGKILL after the grace period (the request was never acknowledged), no deadlock
      assert.isAtLeast(closed - failedAt, graceMillis - 20)
      assert.isBelow(closed - failedAt, 100 + graceMillis + slackMillis)
    }).pipe(expectLogs(/actor deaf@\d+ did not acknowledge the cancel request within 200 ms/)))

  it.live("gives pending calls ContextCancelled by the actor itself when it cancels itself", () =>
    Effect.gen(function*() {
      const outcome = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "quitter", { modules: [echoModule] })
          const pending = yield* Effect.fork(Portal.call(portal, Echo.sleep, 600_000))
          assert.strictEqual(yield* Portal.call(portal, Echo.pid, undefined), portal.actor.pid)
          const own = yield* Effect.either(Portal.call(portal, Echo.cancelSelf, undefined))
          const pendingError = yield* Effect.flip(Fiber.join(pending))
          // the exit that follows is not a crash: the nursery must not fail while it is still open
          assert.deepStrictEqual(yield* waitGone([portal.actor.pid], 3_000), [])
          const afterwards = yield* Effect.flip(Portal.call(portal, Echo.pid, undefined))
          return { actor: portal.actor, own, pendingError, afterwards }
        })
      )
      const { actor, afterwards, own, pendingError } = outcome
      assert.isTrue(ActorError.ContextCancelled.is(pendingError), String(pendingError))
      if (ActorError.ContextCancelled.is(pendingError)) {
        assert.deepStrictEqual(pendingError.canceller, actor, "the canceller is the actor itself")
        assert.deepStrictEqual(pendingError.actor, actor)
      }
      // the call that cancelled may finish or be cancelled with the rest, never anything else
      if (Either.isLeft(own)) {
        assert.isTrue(ActorError.ContextCancelled.is(own.left), String(own.left))
        if (ActorError.ContextCancelled.is(own.left)) assert.deepStrictEqual(own.left.canceller, actor)
      }
      assert.isTrue(afterwards instanceof ActorError.TransportClosed, String(afterwards))
      assert.isFalse(isAlive(actor.pid))
    }))

  it.live("propagates the root's failure within 4.5 s when a grandchild is stuck in synchronous code", () =>
    Effect.gen(function*() {
      let grandchild = 0
      let failedAt = 0
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
        Effect.gen(function*() {
          const child = yield* Nursery.spawn(nursery, "child", { modules: [supervisionModule] })
          yield* Nursery.fork(
            nursery,
            Portal.call(child, Supervisor.blockedGrandchild, { module: Url.fileURLToPath(echoModule), ms: 60_000 })
          )
          while (grandchild === 0) {
            yield* Effect.sleep("20 millis")
            // the grandchild, not the bundler the child may run first
            grandchild = descendants(child.actor.pid).find((pid) => isActorTitle(titleOf(pid), "grandchild")) ?? 0
          }
          yield* Effect.sleep("1 second")
          assert.isTrue(isAlive(grandchild))
          failedAt = Date.now()
          return yield* Effect.fail("the root gives up" as const)
        })
      ).pipe(Effect.exit)
      const elapsed = Date.now() - failedAt

      assert.deepStrictEqual(failuresOf(exit), ["the root gives up"])
      assert.isBelow(elapsed, 4_500, "the failure took too long to propagate")
      assert.deepStrictEqual(yield* waitGone([grandchild], 1_000), [], "the grandchild survived")
    }).pipe(expectLogs(/actor grandchild@\d+ did not acknowledge the cancel request within 500 ms/), tolerateLogs(/answered call \d+, which is not waiting/)))
})
