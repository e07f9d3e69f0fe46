/**
 * Nurseries: a scope that owns child actors and background tasks, with one-cancels-all.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import * as Supervision from "../Supervision.js"
import { type ActorExit, type ActorId, format, makeUid } from "./actorId.js"
import { forNursery } from "./metrics.js"
import type { InspectSpec } from "./child.js"
import { ActorProcess, type Settings } from "./actorProcess.js"
import * as Bundle from "./bundle.js"
import * as Main from "./main.js"
import { defaultMaxMessageBytes } from "./framing.js"
import { PortalImpl, type Slot as PortalSlot } from "./portal.js"
import { decide, type Restart } from "./supervision.js"
import { treeSpec } from "./child.js"
import * as TreeRuntime from "./runtime.js"
import * as Transport from "./transport.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-tractor/Nursery")

/** @internal */
export interface Timings {
  readonly gracePeriod?: Duration.DurationInput | undefined
  readonly termPeriod?: Duration.DurationInput | undefined
  readonly readyTimeout?: Duration.DurationInput | undefined
  readonly cancelAckTimeout?: Duration.DurationInput | undefined
  readonly maxMessageBytes?: number | undefined
  readonly maxActors?: number | undefined
  /** the nursery's own option only */
  readonly supervision?: Supervision.Policy | undefined
}

/** @internal */
export interface SpawnOptions extends Timings {
  readonly restart?: Restart | undefined
  readonly shutdown?: Supervision.Shutdown | undefined
  readonly spawnMethod?: "process" | "thread" | undefined
  readonly resourceLimits?: import("node:worker_threads").ResourceLimits | undefined
  readonly inspect?: boolean | {
    readonly port?: number | undefined
    readonly pauseOnStart?: boolean | undefined
    readonly keepOnCrash?: Duration.DurationInput | undefined
  } | undefined
  readonly output?: "inherit" | "prefixed" | "log" | undefined
  readonly modules: ReadonlyArray<Bundle.ModuleSpecifier>
  readonly external?: ReadonlyArray<string> | undefined
  readonly env?: Record<string, string | undefined> | undefined
  readonly execArgv?: ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
}

const millis = (d: Duration.DurationInput | undefined, fallback: number) =>
  d === undefined ? fallback : Duration.toMillis(Duration.decode(d))

/**
 * What a spawn asks of the actor's inspector: from its `inspect` option, else from
 * EFFECT_TRACTOR_INSPECT naming it (or `*`).
 * @internal
 */
export const inspectOf = (name: string, over: SpawnOptions): InspectSpec | undefined => {
  const listed = (process.env["EFFECT_TRACTOR_INSPECT"] ?? "").split(",").map((s) => s.trim())
  const option = over.inspect ?? (listed.includes(name) || listed.includes("*") ? true : undefined)
  if (option === undefined || option === false) return undefined
  const o = option === true ? {} : option
  return {
    port: o.port ?? 0,
    pauseOnStart: o.pauseOnStart ?? false,
    keepOnCrashMillis: o.keepOnCrash === undefined ? 0 : millis(o.keepOnCrash, 0)
  }
}

const resolve = (base: Timings, over: SpawnOptions): Settings => ({
  graceMillis: over.shutdown === "infinity"
    ? Infinity
    : over.shutdown !== undefined && over.shutdown !== "brutal"
    ? millis(over.shutdown, 500)
    : millis(over.gracePeriod ?? base.gracePeriod, 500),
  brutal: over.shutdown === "brutal",
  termMillis: millis(over.termPeriod ?? base.termPeriod, 1600),
  // an actor waiting for its debugger is not late
  readyTimeoutMillis: typeof over.inspect === "object" && over.inspect.pauseOnStart === true
    ? Infinity
    : millis(over.readyTimeout ?? base.readyTimeout, 30_000),
  cancelAckTimeoutMillis: millis(over.cancelAckTimeout ?? base.cancelAckTimeout, 500),
  maxMessageBytes: over.maxMessageBytes ?? base.maxMessageBytes ?? defaultMaxMessageBytes
})

/** after a child process exits, when the socket files of what it had spawned are swept */
const grandchildSweepMillis = 1000

/** @internal */
export const defaultMaxActors = 256

/**
 * @internal a child's place in the nursery: what starts it again, the incarnation running now, and
 * the portals' calls waiting while it restarts
 */
export class ChildSlot implements PortalSlot {
  /** the incarnation whose exit is this child's next event (none while it restarts) */
  running: ActorProcess | undefined = undefined
  /** how many incarnations have reported ready */
  incarnation = 0
  /** why the child is gone for good (it will not be restarted), once it is */
  removed: string | undefined
  /** calls of its portals waiting for the next incarnation */
  readonly waiters = new Set<() => void>()
  /** its run of the restart delay schedule */
  driver: Schedule.ScheduleDriver<unknown, unknown, never> | undefined

  constructor(
    readonly nursery: NurseryImpl,
    /** unique in the nursery (names need not be) */
    readonly key: string,
    readonly name: string,
    readonly options: SpawnOptions,
    readonly restart: Restart
  ) {}

  /** the latest incarnation, alive or not (what its portal names) */
  last!: ActorProcess

  /** The incarnation that just reported ready: from now on its exit is this slot's event. */
  attach(child: ActorProcess): void {
    if (this.removed !== undefined) return
    if (!this.nursery.slots.includes(this)) this.nursery.slots.push(this)
    this.setCurrent(child)
  }

  latest = (): ActorProcess => this.last

  /** the incarnation a call may go to now */
  usable = (): ActorProcess | undefined => {
    const c = this.running
    return c !== undefined && c.exitInfo === undefined && c.link.closedWith === undefined && !c.stopping ? c : undefined
  }

  private gone(): ActorError.TransportClosed {
    return new ActorError.TransportClosed({
      actor: this.last.id,
      reason: this.removed ?? "it is gone",
      message: `actor ${format(this.last.id)} is gone and will not be back: ${this.removed ?? "it is gone"}`
    })
  }

  setCurrent(child: ActorProcess | undefined): void {
    this.running = child
    if (child !== undefined) this.last = child
    this.wake()
  }

  remove(reason: string): void {
    if (this.removed !== undefined) return
    this.removed = reason
    this.running = undefined
    this.wake()
  }

  private wake() {
    for (const waiter of this.waiters) waiter()
  }

  readonly current: Effect.Effect<ActorProcess, ActorError.TransportClosed> = Effect.suspend(() => {
    const ready = this.usable()
    if (ready !== undefined) return Effect.succeed(ready)
    if (this.removed !== undefined) return Effect.fail(this.gone())
    const waitMillis = this.nursery.policy.restartTimeoutMillis
    return Effect.async<void>((resume) => {
      const waiter = () => {
        if (this.usable() !== undefined || this.removed !== undefined) {
          this.waiters.delete(waiter)
          resume(Effect.void)
        }
      }
      this.waiters.add(waiter)
      return Effect.sync(() => this.waiters.delete(waiter))
    }).pipe(
      Effect.timeoutFail({
        duration: waitMillis,
        onTimeout: () =>
          new ActorError.TransportClosed({
            actor: this.last.id,
            reason: `it is restarting and was not back within ${waitMillis} ms`,
            message: `actor ${format(this.last.id)} is restarting and was not back within ${waitMillis} ms ` +
              `(restartTimeout of the nursery's supervision): retry later, or raise restartTimeout`
          })
      }),
      Effect.zipRight(Effect.suspend(() => this.current))
    )
  })
}

/** @internal what the supervisor fiber of a nursery reads, in order */
type Event =
  | { readonly _tag: "Exited"; readonly slot: ChildSlot; readonly child: ActorProcess; readonly error: ActorError.TransportClosed }
  | { readonly _tag: "StartFailed"; readonly slot: ChildSlot; readonly error: ActorError.SpawnError }
  | { readonly _tag: "Sync"; readonly done: () => void }

/** @internal */
export class NurseryImpl {
  readonly [TypeId] = TypeId
  readonly children = new Set<ActorProcess>()
  /** the supervised children, in start order */
  readonly slots: Array<ChildSlot> = []
  readonly tasks = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  /** the calls of one-shot actors: the nursery's own, each runs to its end whatever its siblings do */
  readonly oneShots = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  /** the slots of one-shot actors still running their call */
  readonly oneShotSlots = new Set<ChildSlot>()
  /** who interrupts the body and the tasks when the nursery cancels them itself (one-cancels-all) */
  readonly cancelId = FiberId.unsafeMake()
  readonly failures: Array<Cause.Cause<unknown>> = []
  readonly events = Effect.runSync(PubSub.unbounded<Supervision.Event>())
  readonly queue = Effect.runSync(Queue.unbounded<Event>())
  /** the restarts still in the intensity window: when, and the exits that caused them */
  recent: ReadonlyArray<{ readonly at: number; readonly name: string; readonly exit: ActorExit }> = []
  supervisor: Fiber.RuntimeFiber<never> | undefined
  private readonly seen = new Set<unknown>()
  private slotCount = 0
  body: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** made by `make` in an actor's own code: if it gives up, its actor ends with it (a nested supervisor) */
  endsActor = false
  cancelling = false
  closed = false

  constructor(
    readonly runtime: TreeRuntime.TreeRuntime,
    readonly scope: Scope.Scope,
    readonly timings: Timings,
    /** runs the nursery's own work (teardowns, warnings) with the caller's logger, tracer and services */
    readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  ) {}

  get policy(): Supervision.Policy {
    return this.timings.supervision ?? Supervision.oneCancelsAll
  }

  get supervised(): boolean {
    return this.policy.kind === "supervise"
  }

  get actor(): ActorId {
    return this.runtime.self
  }

  nextSlotKey(): string {
    return String(this.slotCount++)
  }

  /** Keeps a failure (once) and cancels everything else: one-cancels-all. */
  record(cause: Cause.Cause<unknown>, order: "concurrent" | "reverse" = "concurrent"): void {
    if (Cause.isInterruptedOnly(cause)) return
    const failures = Chunk.toReadonlyArray(Cause.failures(cause))
    const defects = Chunk.toReadonlyArray(Cause.defects(cause))
    const fresh = [...failures, ...defects].filter((item) => !this.seen.has(item))
    if (fresh.length === 0) return
    for (const item of fresh) this.seen.add(item)
    // the failures and nothing else: no Interrupt of a sibling this nursery cancelled, none twice
    this.failures.push(
      fresh.length === failures.length + defects.length && !Cause.isInterrupted(cause)
        ? cause
        : fresh.map((item) => failures.includes(item) ? Cause.fail(item) : Cause.die(item)).reduce((a, b) => Cause.parallel(a, b))
    )
    this.cancelAll(order)
  }

  /**
   * A remote failure that arrived as the answer to our own interrupt: keep it when we are failing;
   * otherwise the caller had given up on it, and it is worth a debug line only.
   */
  readonly onRaced = (error: unknown): void => {
    if (this.cancelling) this.record(Cause.fail(error))
    else {
      this.run(Effect.logDebug(`a call failed while it was being interrupted: ${String(error)}`))
    }
  }

  cancelAll(order: "concurrent" | "reverse" = "concurrent"): void {
    if (this.cancelling) return
    this.cancelling = true
    this.body?.unsafeInterruptAsFork(this.cancelId)
    for (const task of this.tasks) task.unsafeInterruptAsFork(this.cancelId)
    for (const slot of this.slots) slot.remove("its nursery is cancelling")
    // one-shot actors run to their end (tractor): only the other children are torn down
    const oneShots = new Set([...this.oneShotSlots].map((s) => s.last))
    if (order === "reverse") this.run(this.teardownInReverse)
    else for (const child of this.children) if (!oneShots.has(child)) this.run(child.teardown())
  }

  get failure(): Cause.Cause<unknown> | undefined {
    return this.failures.length === 0 ? undefined : this.failures.reduce((a, b) => Cause.parallel(a, b))
  }

  readonly awaitTasks: Effect.Effect<void> = Effect.suspend(() => {
    const all = [...this.tasks, ...this.oneShots]
    return all.length === 0 ? Effect.void : Effect.zipRight(Fiber.awaitAll(all), this.awaitTasks)
  })

  /** Waits until the supervisor has handled every event queued so far. */
  readonly drain: Effect.Effect<void> = Effect.suspend(() =>
    this.supervisor === undefined || this.closed ? Effect.void : Effect.async<void>((resume) => {
      this.queue.unsafeOffer({ _tag: "Sync", done: () => resume(Effect.void) })
    })
  )

  /** Children stopped one at a time, the last started first (OTP's shutdown order), then any other. */
  private readonly teardownInReverse: Effect.Effect<void> = Effect.suspend(() => {
    const ordered = [...this.children].reverse()
    return Effect.zipRight(
      Effect.forEach(ordered, (child) => child.teardown(), { discard: true }),
      Effect.suspend(() => this.teardownChildren)
    )
  })

  readonly teardownChildren: Effect.Effect<void> = Effect.suspend(() =>
    Effect.forEach([...this.children], (child) => child.teardown(), { concurrency: "unbounded", discard: true })
  )

  readonly shutdown: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    for (const slot of this.slots) slot.remove("its nursery closed")
    return Fiber.interruptAll([...this.tasks, ...this.oneShots]).pipe(
      Effect.zipRight(this.supervisor === undefined ? Effect.void : Fiber.interrupt(this.supervisor)),
      Effect.zipRight(this.supervised ? this.teardownInReverse : this.teardownChildren),
      Effect.zipRight(PubSub.shutdown(this.events))
    )
  })

  publish(event: Supervision.Event): Effect.Effect<void> {
    return PubSub.publish(this.events, event)
  }

  // ---------------------------------------------------------------------------
  // the supervisor: one fiber, one event at a time
  // ---------------------------------------------------------------------------

  readonly supervise: Effect.Effect<never> = Effect.forever(
    Effect.flatMap(Queue.take(this.queue), (event) =>
      // one event's trouble never stops the supervisor: later events (and drains) wait on it
      this.handle(event).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.void
            : Effect.logError(`the supervisor of ${format(this.actor)} failed to handle an event`, cause)
        )
      ))
  )

  private handle(event: Event): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      if (event._tag === "Sync") return event.done()
      const slot = event.slot
      // an exit of an incarnation the supervisor already replaced or stopped, or after the end
      if (slot.removed !== undefined) return
      if (event._tag === "Exited" && slot.running !== event.child) return
      if (this.closed || (this.cancelling && this.supervised)) return
      const exit: ActorExit = event._tag === "Exited"
        ? event.child.exit()!
        : { actor: slot.last.id, code: null, signal: null, expected: false, reason: `it could not start: ${event.error.message}` }
      const now = Date.now()
      const live = this.slots.filter((s) => s.removed === undefined).map((s) => ({ name: s.key, restart: s.restart }))
      const decision = decide(this.policy, live, this.recent.map((r) => r.at), slot.key, exit, now)
      yield* this.publish({ _tag: "Exited", name: slot.name, exit, restart: decision._tag === "Restart" })
      // a restart, or one too many: it counts in the window (decide's history is exactly these times)
      if (decision._tag !== "Remove") {
        this.recent = [...this.recent.filter((r) => r.at > now - this.policy.periodMillis), { at: now, name: slot.name, exit }]
      }
      switch (decision._tag) {
        case "Remove": {
          this.removeSlot(slot, exit.reason)
          return
        }
        case "GiveUp": {
          if (this.policy.kind === "oneCancelsAll") {
            // tractor's rule: the crash itself, the very error its pending calls got
            this.removeSlot(slot, exit.reason)
            return this.record(Cause.fail(event.error))
          }
          const error = new Supervision.RestartIntensityExceeded({
            maxRestarts: this.policy.maxRestarts,
            periodMillis: this.policy.periodMillis,
            exits: this.recent.map(({ exit, name }) => ({ name, exit })),
            message: `the nursery of ${format(this.actor)} gave up: ${this.recent.length} restarts within ` +
              `${this.policy.periodMillis} ms, more than maxRestarts (${this.policy.maxRestarts}); the last: ` +
              `${slot.name} (${exit.reason}). Fix the crash, or allow more restarts (maxRestarts, period)`
          })
          yield* this.publish({ _tag: "GaveUp", error })
          yield* Effect.logWarning(error.message)
          this.record(Cause.fail(error), "reverse")
          if (this.endsActor && this.runtime.crash !== undefined) {
            // the children first, in reverse order, then the actor: its parent sees it crash
            yield* this.teardownInReverse
            this.runtime.crash(error.message)
          }
          return
        }
        case "Restart": {
          const byKey = new Map(this.slots.map((s) => [s.key, s]))
          const started = new Set(decision.start)
          slot.setCurrent(undefined)
          for (const key of decision.stop) {
            const sibling = byKey.get(key)!
            const child = sibling.running
            if (started.has(key)) sibling.setCurrent(undefined)
            else this.removeSlot(sibling, "it was stopped by a sibling's restart (temporary: never restarted)")
            if (child !== undefined) yield* child.teardown()
          }
          yield* this.publish({ _tag: "Restarting", names: decision.start.map((k) => byKey.get(k)!.name), delayed: this.policy.restartDelay !== undefined })
          yield* this.delay(slot)
          for (const key of decision.start) {
            if (this.closed || this.cancelling) return
            yield* this.startAgain(byKey.get(key)!)
          }
          return
        }
      }
    })
  }

  /** The restart delay of a child: its own run of the schedule, begun again when the window empties. */
  private delay(slot: ChildSlot): Effect.Effect<void> {
    const schedule = this.policy.restartDelay
    if (schedule === undefined) return Effect.void
    return Effect.gen(this, function*() {
      if (slot.driver === undefined) slot.driver = yield* Schedule.driver(schedule)
      else if (this.recent.length <= 1) yield* slot.driver.reset
      yield* Effect.ignore(slot.driver.next(undefined))
    })
  }

  private startAgain(slot: ChildSlot): Effect.Effect<void> {
    return startProcess(this, slot).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => {
          // counted like a crash: a child that cannot start again ends in the intensity limit
          this.queue.unsafeOffer({ _tag: "StartFailed", slot, error })
        })
      ),
      // the nursery began to cancel while the child started: it was torn down, nothing to do
      Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.failCause(cause)),
      Effect.asVoid
    )
  }

  removeSlot(slot: ChildSlot, reason: string): void {
    slot.remove(reason)
    const i = this.slots.indexOf(slot)
    if (i >= 0) this.slots.splice(i, 1)
  }
}

/** @internal */
export const make = (timings: Timings = {}): Effect.Effect<NurseryImpl, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* TreeRuntime.current
    const caller = yield* Effect.runtime<never>()
    const parent = yield* Effect.scope
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    const nursery = new NurseryImpl(runtime, scope, timings, Runtime.runFork(caller))
    nursery.endsActor = Main.isActorProcess() && Option.isSome(yield* Effect.serviceOption(Actor.CurrentActor))
    nursery.supervisor = nursery.run(nursery.supervise)
    yield* Scope.addFinalizer(scope, nursery.shutdown)
    return nursery
  })

/** @internal */
export const open = <A, E, R>(
  body: (nursery: NurseryImpl) => Effect.Effect<A, E, R>,
  timings?: Timings
): Effect.Effect<A, unknown, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.gen(function*() {
    const nursery = yield* make(timings)
    // its failure goes to whoever awaits `open`, not to the actor
    nursery.endsActor = false
    const fiber = yield* Effect.fork(body(nursery))
    nursery.body = fiber
    const exit = yield* Fiber.await(fiber)
    nursery.body = undefined
    if (Exit.isFailure(exit)) nursery.record(exit.cause)
    yield* nursery.awaitTasks
    yield* nursery.drain
    const failure = nursery.failure
    if (failure !== undefined) return yield* Effect.failCause(failure)
    return yield* exit
  })) as any

/** @internal */
export const join = (nursery: NurseryImpl): Effect.Effect<void, unknown> =>
  Effect.suspend(() => {
    return Effect.zipRight(
      Effect.zipRight(nursery.awaitTasks, nursery.drain),
      Effect.suspend(() => {
        const failure = nursery.failure
        return failure === undefined ? Effect.void : Effect.failCause(failure)
      })
    )
  })

/** @internal */
export const fork = <A, E, R>(
  nursery: NurseryImpl,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      if (nursery.closed || nursery.cancelling) {
        return Effect.forkDaemon(Effect.interrupt as Effect.Effect<A, E, R>)
      }
      return Effect.forkDaemon(restore(effect)).pipe(Effect.tap((fiber) => {
        nursery.tasks.add(fiber)
        fiber.addObserver((exit) => {
          nursery.tasks.delete(fiber)
          if (Exit.isFailure(exit)) nursery.record(exit.cause)
        })
      }))
    })
  )

/**
 * A spawn in an actor process that does not come from the actor's handlers (no `CurrentActor`:
 * the module's top level, while the actor imports it, or a fiber it started there) is a main
 * program run by the import of a module the actor enabled: it would spawn again in every actor it
 * starts, without end.
 */
const misplacedSpawn = (name: string): Effect.Effect<ActorError.SpawnError | undefined> =>
  Effect.map(Effect.serviceOption(Actor.CurrentActor), (current) => {
    if (!Main.isActorProcess() || Option.isSome(current)) return undefined
    return new ActorError.SpawnError({
      actorName: name,
      message: `cannot spawn "${name}" in actor ${process.title}: the spawn comes from the top level of a module ` +
        `the actor imports, most likely its main program, which would start again in every actor. ` +
        `Run the main program with ActorRuntime.runMain(program), which does nothing in an actor, ` +
        `or move it to a file of its own`
    })
  })

/** @internal */
export const spawn = (
  nursery: NurseryImpl,
  name: string,
  options: SpawnOptions
): Effect.Effect<PortalImpl, ActorError.SpawnError> =>
  Effect.map(spawnSlot(nursery, name, options), ([slot, child]) =>
    nursery.supervised
      ? new PortalImpl(child, nursery.onRaced, nursery.actor, slot)
      : new PortalImpl(child, nursery.onRaced, nursery.actor))

const checkChild = (name: string, options: SpawnOptions): Effect.Effect<Restart, ActorError.SpawnError> =>
  Supervision.validateChild(options).pipe(
    Effect.map((checked) => checked.restart),
    Effect.mapError((e) =>
      new ActorError.SpawnError({ actorName: name, message: `cannot spawn "${name}": ${e.message}` })
    )
  )

const spawnSlot = (
  nursery: NurseryImpl,
  name: string,
  options: SpawnOptions
): Effect.Effect<readonly [ChildSlot, ActorProcess], ActorError.SpawnError> =>
  Effect.gen(function*() {
    const restart = yield* checkChild(name, options)
    const slot = new ChildSlot(nursery, nursery.nextSlotKey(), name, options, restart)
    const child = yield* startProcess(nursery, slot)
    return [slot, child] as const
  })

/** Starts one incarnation of a slot's child and waits until it is ready (or fails). */
const startProcess = (nursery: NurseryImpl, slot: ChildSlot): Effect.Effect<ActorProcess, ActorError.SpawnError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const { name, options } = slot
      const spawnStart = performance.now()
      if (nursery.closed || nursery.cancelling) {
        return yield* new ActorError.SpawnError({
          actorName: name,
          message: `cannot spawn "${name}": the nursery of ${format(nursery.actor)} is ${
            nursery.closed ? "closed" : "cancelling"
          }`
        })
      }
      const outside = yield* misplacedSpawn(name)
      if (outside !== undefined) return yield* outside
      const entry = yield* restore(Bundle.entryFor(name, options.modules, options.external))
      const maxActors = nursery.timings.maxActors ?? defaultMaxActors
      if (nursery.children.size >= maxActors) {
        return yield* new ActorError.SpawnError({
          actorName: name,
          message: `cannot spawn "${name}": the nursery of ${format(nursery.actor)} already has ${nursery.children.size} ` +
            `actors, its limit (maxActors ${maxActors}${nursery.timings.maxActors === undefined ? ", the default" : ""}): ` +
            `spawn fewer, or raise maxActors on the nursery`
        })
      }
      const tree = nursery.runtime
      // the root serves the registry its actors register in: it listens before its first child starts
      if (tree.parent === undefined) {
        yield* Effect.catchAll(tree.listen, (e) => Effect.logWarning(`actors of this tree cannot find each other: ${e.message}`))
      }
      const child = new ActorProcess({
        entry,
        name,
        uid: makeUid(),
        parent: nursery.actor,
        settings: resolve(nursery.timings, options),
        env: options.env,
        execArgv: options.execArgv,
        cwd: options.cwd,
        method: options.spawnMethod,
        resourceLimits: options.resourceLimits,
        inspect: inspectOf(name, options),
        output: options.output,
        tree: treeSpec(tree.settings),
        runtime: yield* Effect.runtime<never>()
      })
      nursery.children.add(child)
      const metrics = forNursery(nursery.actor.name)
      let counted = false
      child.onExit = () => {
        if (counted) metrics.exited()
        nursery.children.delete(child)
        if (child.served.addresses.length > 0) nursery.run(Effect.ignore(tree.unregister(child.id.uid)))
        // a child that was killed could not remove its socket file, even one it made before it said
        // it was ready: its parent, who named it, does
        Transport.removeSocketFile(Transport.socketPath(tree.directory, child.id.uid))
        // what a killed child had spawned went with it (the kernel's orphan guard) and could not
        // remove its files either: they are named after the child's pid, and swept once they are gone
        if (options.spawnMethod !== "thread" && child.id.pid > 0) {
          const pid = child.id.pid
          setTimeout(() => Transport.sweepStaleSockets(tree.directory, pid), grandchildSweepMillis).unref()
        }
      }
      // Node callbacks only queue an event: the supervisor fiber decides
      child.onGone = (error) => nursery.queue.unsafeOffer({ _tag: "Exited", slot, child, error })
      child.onReady = () => slot.attach(child)
      yield* restore(child.awaitReady()).pipe(Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : child.teardown()))
      if (nursery.cancelling || nursery.closed) {
        yield* child.teardown()
        return yield* Effect.interrupt
      }
      slot.incarnation++
      if (child.exitInfo === undefined) {
        counted = true
        metrics.spawned(options.spawnMethod ?? "process", performance.now() - spawnStart)
      }
      if (slot.incarnation > 1) metrics.restarted()
      yield* nursery.publish({ _tag: "Started", name, actor: child.id, incarnation: slot.incarnation })
      const addresses = child.served.addresses
      if (addresses.length > 0) {
        const entry = { name, id: child.id, host: tree.settings.host, addresses, protocols: child.served.protocols }
        yield* tree.register(entry).pipe(
          Effect.catchAll((e) => Effect.logWarning(`${format(child.id)} cannot be found by name: ${e.message}`))
        )
      }
      return child
    })
  )


/** @internal a one-shot actor's portal and the outcome of its call */
export interface OneShot {
  readonly portal: PortalImpl
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly result: Effect.Effect<unknown, unknown>
  /** while true, a caller waits for the outcome: a failure is its to handle, not the nursery's */
  awaited: boolean
}

/**
 * Spawns a one-shot actor and starts its call in a fiber of the nursery's own (tractor's
 * `run_in_actor`): it runs to its end whatever its siblings do, the actor is reaped when it is done,
 * and a failure is kept by the nursery (the other one-shots go on; the daemons are cancelled).
 * @internal
 */
export const startInActor = (
  nursery: NurseryImpl,
  fn: Actor.Fn.Any,
  payload: unknown,
  options: SpawnOptions & { readonly name?: string | undefined }
): Effect.Effect<OneShot, ActorError.SpawnError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      // a one-shot is never restarted: it ran its call, or failed it
      const [slot, child] = yield* restore(spawnSlot(
        nursery,
        options.name ?? `${fn.protocol}.${fn.name}`,
        nursery.supervised ? { ...options, restart: "temporary" } : options
      ))
      nursery.oneShotSlots.add(slot)
      const fiber = nursery.run(
        Effect.ensuring(child.caller.call(fn, payload, child.cancelAckTimeoutMillis, nursery.onRaced), child.teardown())
      )
      nursery.oneShots.add(fiber)
      const shot: OneShot = {
        portal: new PortalImpl(child, nursery.onRaced, nursery.actor),
        fiber,
        result: Fiber.join(fiber),
        awaited: false
      }
      fiber.addObserver((exit) => {
        nursery.oneShots.delete(fiber)
        nursery.oneShotSlots.delete(slot)
        if (Exit.isFailure(exit) && !shot.awaited) nursery.record(exit.cause)
      })
      return shot
    })
  )

/**
 * `startInActor`, then its result. Interrupting the caller reaps the one-shot, unless the
 * interrupt is the nursery's own one-cancels-all: that one-shot then runs to its end.
 * @internal
 */
export const runInActor = (
  nursery: NurseryImpl,
  fn: Actor.Fn.Any,
  payload: unknown,
  options: SpawnOptions & { readonly name?: string | undefined }
): Effect.Effect<unknown, unknown> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(startInActor(nursery, fn, payload, options)), (shot) => {
      // the caller gets the outcome and may handle a failure; if the nursery's own cancel takes the
      // caller away, the one-shot runs on and its failure is the nursery's
      shot.awaited = true
      return restore(shot.result).pipe(
        Effect.onInterrupt((interruptors) =>
          Effect.suspend(() => {
            shot.awaited = false
            if (HashSet.has(interruptors, nursery.cancelId)) {
              const exit = shot.fiber.unsafePoll()
              if (exit !== null && Exit.isFailure(exit)) nursery.record(exit.cause)
              return Effect.void
            }
            return Fiber.interrupt(shot.fiber)
          })
        )
      )
    }))

/** @internal */
export const cancel = (nursery: NurseryImpl): Effect.Effect<void> =>
  Effect.suspend(() => {
    for (const slot of [...nursery.slots]) nursery.removeSlot(slot, "its nursery cancelled its actors")
    return nursery.teardownChildren
  })

/** @internal */
export const stopChild = (nursery: NurseryImpl, portal: PortalImpl): Effect.Effect<void> =>
  Effect.suspend(() => {
    const slot = nursery.slots.find((s) => s === portal.slot || s.running === portal.peer)
    const child = slot?.running ?? [...nursery.children].find((c) => c === portal.peer)
    if (slot !== undefined) nursery.removeSlot(slot, "it was stopped (Nursery.stopChild)")
    return child === undefined ? Effect.void : child.teardown()
  })

/** @internal */
export const events = (nursery: NurseryImpl): Effect.Effect<Queue.Dequeue<Supervision.Event>, never, Scope.Scope> =>
  PubSub.subscribe(nursery.events)
