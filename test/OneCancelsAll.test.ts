/**
 * One-cancels-all (the default of every nursery): every failure of a nursery is reported once, siblings are torn down,
 * nested nurseries relay their parallel failures, lifetime finalizers run on error and on cancel.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Actor from "../src/Actor.ts"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Boom, Echo } from "./fixtures/protocols.ts"
import { Supervisor } from "./fixtures/supervisionProtocols.ts"
import { checkOrphansAfterEach, echoModule, fixture, isAlive, tempDir } from "./utils/index.ts"

checkOrphansAfterEach()

const supervisionModule = fixture("supervision.ts")

/** The failures of a failed exit (its `Fail`s, in the order the cause holds them). */
const failuresOf = <A, E>(exit: Exit.Exit<A, E>): Array<E> => {
  assert.isTrue(Exit.isFailure(exit), `expected a failure, got ${String(exit)}`)
  return Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)).slice() : []
}

const remoteErrors = (failures: ReadonlyArray<unknown>): Array<ActorError.RemoteActorError> => {
  for (const failure of failures) {
    assert.isTrue(ActorError.RemoteActorError.is(failure), `not a RemoteActorError: ${String(failure)}`)
  }
  return failures.filter(ActorError.RemoteActorError.is)
}

const tempFile = (name: string) => Path.join(tempDir("tractor-sup-"), name)

const names = (n: number) => Array.from({ length: n }, (_, i) => `failing_${i}`)

describe("Supervision", () => {
  it.live.each([1, 2, 3])(
    "fails with exactly %i RemoteActorErrors when that many forked calls fail (none lost, none twice)",
    (n) =>
      Effect.gen(function*() {
        let actors: ReadonlyArray<Actor.ActorId> = []
        const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
          Effect.gen(function*() {
            const portals = yield* Effect.forEach(
              names(n),
              (name) => Nursery.spawn(nursery, name, { modules: [supervisionModule] }),
              { concurrency: "unbounded" }
            )
            actors = portals.map((portal) => portal.actor)
            // every call is in flight before the first one fails (~100 ms later)
            for (const portal of portals) {
              yield* Nursery.fork(
                nursery,
                Portal.call(portal, Supervisor.failAfter, { ms: 100, reason: `${portal.actor.name} failed` })
              )
            }
          })
        ).pipe(Effect.exit)

        const errors = remoteErrors(failuresOf(exit))
        assert.strictEqual(errors.length, n, String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : exit))
        assert.deepStrictEqual(errors.map((e) => e.message).sort(), names(n).map((name) => `${name} failed`).sort())
        assert.deepStrictEqual(
          errors.map((e) => e.source.pid).sort(),
          actors.map((a) => a.pid).sort(),
          "each error comes from its own actor"
        )
        for (const error of errors) {
          assert.strictEqual(error.errorTag, "Error")
          assert.deepStrictEqual(error.relayPath, [error.source])
        }
        for (const actor of actors) assert.isFalse(isAlive(actor.pid), `${actor.name} is still alive`)
      })
  )

  it.live("keeps every failure that races with one-cancels-all (6 actors x 3 staggered calls, 5 rounds)", () =>
    Effect.gen(function*() {
      const expected = Array.from({ length: 6 }, (_, i) => [0, 1, 2].map((k) => `${i}.${k} failed`)).flat().sort()
      const rounds: Array<ReadonlyArray<string>> = []
      for (let round = 0; round < 5; round++) {
        const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
          Effect.gen(function*() {
            const portals = yield* Effect.forEach(
              names(6),
              (name) => Nursery.spawn(nursery, name, { modules: [supervisionModule] }),
              { concurrency: "unbounded" }
            )
            // the failures arrive one per millisecond, from 6 connections, while the nursery cancels
            for (const [i, portal] of portals.entries()) {
              for (const k of [0, 1, 2]) {
                yield* Nursery.fork(
                  nursery,
                  Portal.call(portal, Supervisor.failAfter, { ms: 100 + 3 * i + k, reason: `${i}.${k} failed` })
                )
              }
            }
          })
        ).pipe(Effect.exit)
        rounds.push(remoteErrors(failuresOf(exit)).map((e) => e.message).sort())
      }
      assert.deepStrictEqual(rounds, Array.from({ length: 5 }, () => expected))
    }))

  it.live("fails with the error of a daemon call in the body and tears down every other actor", () =>
    Effect.gen(function*() {
      let failing: Actor.ActorId | undefined
      let sleepers: ReadonlyArray<Actor.ActorId> = []
      let failedAt = 0
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
        Effect.gen(function*() {
          const [daemon, ...others] = yield* Effect.forEach(
            ["daemon", "sleeper_0", "sleeper_1"],
            (name) => Nursery.spawn(nursery, name, { modules: [supervisionModule, echoModule] }),
            { concurrency: "unbounded" }
          )
          failing = daemon!.actor
          sleepers = others.map((portal) => portal.actor)
          for (const portal of others) yield* Nursery.fork(nursery, Portal.call(portal, Echo.sleep, 600_000))
          // the sleepers are really serving their calls before the daemon fails
          for (const portal of others) assert.strictEqual(yield* Portal.call(portal, Echo.pid, undefined), portal.actor.pid)
          return yield* Portal.call(daemon!, Supervisor.failAfter, { ms: 100, reason: "daemon failed" }).pipe(
            Effect.tapError(() => Effect.sync(() => failedAt = Date.now()))
          )
        }), { gracePeriod: "10 seconds" }
      ).pipe(Effect.exit)
      const teardown = Date.now() - failedAt

      const errors = remoteErrors(failuresOf(exit))
      assert.strictEqual(errors.length, 1, "the interrupted sleepers add no failure")
      assert.strictEqual(errors[0]!.message, "daemon failed")
      assert.deepStrictEqual(errors[0]!.source, failing)
      for (const actor of [failing!, ...sleepers]) {
        assert.isFalse(isAlive(actor.pid), `${actor.name} is still alive after the nursery closed`)
      }
      // the sleepers ended on the cancel request: the signal ladder would take the 10 s grace period
      assert.isBelow(teardown, 5_000)
    }))

  it.live("reports the error of every failing child, declared, undeclared and defects alike", () =>
    Effect.gen(function*() {
      let actors: Record<string, Actor.ActorId> = {}
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<Boom | ActorError.ActorError>) =>
        Effect.gen(function*() {
          const [declared, undeclared, defect] = yield* Effect.forEach(
            ["declared", "undeclared", "defect"],
            (name) => Nursery.spawn(nursery, name, { modules: [echoModule] }),
            { concurrency: "unbounded" }
          )
          actors = { declared: declared!.actor, undeclared: undeclared!.actor, defect: defect!.actor }
          yield* Nursery.fork(nursery, Portal.call(declared!, Echo.boom, "declared boom"))
          yield* Nursery.fork(nursery, Portal.call(undeclared!, Echo.undeclared, "undeclared boom"))
          yield* Nursery.fork(nursery, Portal.call(defect!, Echo.die, "defect boom"))
        })
      ).pipe(Effect.exit)

      const failures = failuresOf(exit)
      assert.strictEqual(failures.length, 3, String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : exit))
      const boom = failures.find((f) => f instanceof Boom)
      assert.deepStrictEqual(boom, new Boom({ reason: "declared boom" }), "the declared error arrives typed")
      const remote = failures.filter(ActorError.RemoteActorError.is)
      assert.strictEqual(remote.length, 2)
      const undeclared = remote.find((e) => e.source.name === "undeclared")
      const defect = remote.find((e) => e.source.name === "defect")
      assert.deepStrictEqual(
        [undeclared?.errorTag, undeclared?.message, undeclared?.source],
        ["Error", "undeclared boom", actors["undeclared"]]
      )
      assert.deepStrictEqual([defect?.errorTag, defect?.message, defect?.source], ["TypeError", "defect boom", actors["defect"]])
      for (const actor of Object.values(actors)) assert.isFalse(isAlive(actor.pid))
    }))

  it.live("relays nested failures: each child's parallel failure holds its grandchildren's errors", () =>
    Effect.gen(function*() {
      const module = Url.fileURLToPath(supervisionModule)
      const tree: Array<{ child: Actor.ActorId; grandchildren: ReadonlyArray<Actor.ActorId> }> = []
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
        Effect.gen(function*() {
          const children = yield* Effect.forEach(
            ["child_a", "child_b"],
            (name) => Nursery.spawn(nursery, name, { modules: [supervisionModule] }),
            { concurrency: "unbounded" }
          )
          // first every grandchild is up, so both children fail at about the same time
          yield* Effect.forEach(children, (child) =>
            Effect.map(
              Portal.call(child, Supervisor.spawnGrandchildren, { module, count: 2 }),
              (grandchildren) => tree.push({ child: child.actor, grandchildren })
            ), { concurrency: "unbounded" })
          for (const child of children) yield* Nursery.fork(nursery, Portal.call(child, Supervisor.failGrandchildren, 100))
        })
      ).pipe(Effect.exit)

      const errors = remoteErrors(failuresOf(exit))
      assert.strictEqual(errors.length, 2, String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : exit))
      assert.strictEqual(tree.length, 2)
      for (const { child, grandchildren } of tree) {
        const error = errors.find((e) => e.source.uid === child.uid)
        assert.isDefined(error, `no error from ${child.name}`)
        // the shape of codec.failureReason for a parallel cause: one MultipleErrors box holding
        // every failure, each boxed again by the child (source kept, relay path extended)
        assert.strictEqual(error!.errorTag, "MultipleErrors")
        assert.deepStrictEqual(error!.relayPath, [child])
        assert.isFalse(error!.isInception)
        assert.match(error!.message, /^2 errors: /)
        const inner = error!.errors ?? []
        assert.strictEqual(inner.length, 2)
        assert.deepStrictEqual(
          inner.map((e) => e.source.uid).sort(),
          grandchildren.map((g) => g.uid).sort(),
          "one error per grandchild"
        )
        for (const grandchildError of inner) {
          assert.isTrue(ActorError.RemoteActorError.is(grandchildError))
          const grandchild = grandchildren.find((g) => g.uid === grandchildError.source.uid)!
          assert.strictEqual(grandchildError.errorTag, "Error")
          assert.strictEqual(grandchildError.message, `${grandchild.name} failed`)
          assert.deepStrictEqual(grandchildError.relayPath, [grandchild, child])
          assert.isTrue(grandchildError.isInception)
          assert.include(error!.message, `Error: ${grandchild.name} failed`)
        }
        for (const actor of [child, ...grandchildren]) assert.isFalse(isAlive(actor.pid), `${actor.name} is still alive`)
      }
    }))

  it.live("runs the actor's lifetime finalizers when its call fails and the nursery tears it down", () =>
    Effect.gen(function*() {
      const file = tempFile("on-error")
      let pid = 0
      const exit = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "finalized", { modules: [supervisionModule] })
          pid = portal.actor.pid
          yield* Portal.call(portal, Supervisor.finalizeThen, { file, fail: true, ms: 100 })
        })
      ).pipe(Effect.exit)

      const errors = remoteErrors(failuresOf(exit))
      assert.deepStrictEqual(errors.map((e) => e.message), ["finalized failed"])
      assert.isFalse(isAlive(pid))
      assert.isTrue(Fs.existsSync(file), "the lifetime finalizer did not run")
      // the actor's scope closes with the parent's cancel request, an interruption
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "finalized:Failure")
    }))

  it.live("runs the actor's lifetime finalizers when its nursery cancels it", () =>
    Effect.gen(function*() {
      const file = tempFile("on-cancel")
      const pid = yield* Nursery.open((nursery) =>
        Effect.gen(function*() {
          const portal = yield* Nursery.spawn(nursery, "finalized", { modules: [echoModule] })
          yield* Portal.call(portal, Echo.touchOnExit, file)
          assert.isFalse(Fs.existsSync(file), "the finalizer ran before the actor ended")
          yield* Nursery.cancel(nursery)
          assert.isFalse(isAlive(portal.actor.pid), "Nursery.cancel returned before the actor exited")
          return portal.actor.pid
        })
      )
      assert.isFalse(isAlive(pid))
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "finalized")
    }))
})

describe("one-shot actors keep every outcome", () => {
  const oneShots = (round: number) =>
    Array.from({ length: 6 }, (_, i) => ({ name: `shot_${round}_${i}`, fails: i % 2 === 0, ms: 20 + Math.floor(Math.random() * 250) }))

  it.live("each one-shot runs to its end; the nursery fails with exactly the failing ones, no Interrupt, daemons cancelled (5 rounds, random delays)", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 5; round++) {
        const plan = oneShots(round)
        let shots: ReadonlyArray<Nursery.OneShot<unknown, unknown>> = []
        let daemon = -1
        // every one-shot's call has started before any fails: the failing ones wait for this file
        const barrier = tempFile(`barrier_${round}`)
        const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError>) =>
          Effect.gen(function*() {
            const echo = yield* Nursery.spawn(nursery, "daemon", { modules: [echoModule] })
            daemon = echo.actor.pid
            yield* Nursery.fork(nursery, Effect.never)
            shots = yield* Effect.forEach(plan, ({ fails, ms, name }) =>
              fails
                ? Nursery.startInActor(nursery, Supervisor.failAfterBarrier, { file: barrier, ms, reason: `${name} failed` }, {
                  modules: [supervisionModule],
                  name
                })
                : Nursery.startInActor(nursery, Echo.sleep, ms, { modules: [echoModule], name }), { concurrency: "unbounded" })
            Fs.writeFileSync(barrier, "open")
            return yield* Effect.never
          })
        ).pipe(Effect.exit)
        assert.isTrue(Exit.isFailure(exit))
        if (!Exit.isFailure(exit)) return
        assert.isFalse(Cause.isInterrupted(exit.cause), `no Interrupt in the nursery's cause: ${Cause.pretty(exit.cause)}`)
        const errors = remoteErrors(failuresOf(exit))
        assert.deepStrictEqual(
          errors.map((e) => e.message).sort(),
          plan.filter((p) => p.fails).map((p) => `${p.name} failed`).sort(),
          `round ${round}: ${Cause.pretty(exit.cause)}`
        )
        // the ones that were to succeed did, however early a sibling failed
        for (const [i, shot] of shots.entries()) {
          const outcome = yield* Effect.exit(shot.result)
          assert.strictEqual(Exit.isSuccess(outcome), !plan[i]!.fails, `${plan[i]!.name}: ${String(outcome)}`)
        }
        assert.isFalse(isAlive(daemon), "the daemon was cancelled")
      }
    }), 60_000)

  it.live("runInActor in forked tasks: a failing one-shot does not interrupt the others", () =>
    Effect.gen(function*() {
      const began = Date.now()
      const exit = yield* Nursery.open((nursery: Nursery.Nursery<ActorError.ActorError | ActorError.SpawnError>) =>
        Effect.gen(function*() {
          // the slow ones are running (started: past the nursery's last cancel check) before the fast one fails
          const events = yield* Nursery.events(nursery)
          for (const name of ["slow_a", "slow_b"]) {
            yield* Nursery.fork(nursery, Nursery.runInActor(nursery, Echo.sleep, 1000, { modules: [echoModule], name }))
          }
          let started = 0
          while (started < 2) if ((yield* Queue.take(events))._tag === "Started") started++
          yield* Nursery.fork(
            nursery,
            Nursery.runInActor(nursery, Supervisor.failAfter, { ms: 20, reason: "first failed" }, { modules: [supervisionModule] })
          )
        })
      ).pipe(Effect.exit)
      assert.deepStrictEqual(remoteErrors(failuresOf(exit)).map((e) => e.message), ["first failed"])
      assert.isTrue(Exit.isFailure(exit) && !Cause.isInterrupted(exit.cause))
      // the nursery waited for the slow one-shots to end instead of cancelling them at the failure
      assert.isAtLeast(Date.now() - began, 1000)
    }))

  it.live("a one-shot is interrupted and reaped when its caller is interrupted by anything but the nursery", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const result = yield* Nursery.open((nursery) =>
        Nursery.runInActor(nursery, Echo.sleep, 60_000, { modules: [echoModule] }).pipe(Effect.timeout("300 millis"), Effect.option)
      )
      assert.isTrue(result._tag === "None")
      assert.isBelow(Date.now() - started, 10_000)
    }))
})
