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
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import { type ActorId, format, makeUid } from "./actorId.js"
import { ActorProcess, type Settings } from "./actorProcess.js"
import * as Bundle from "./bundle.js"
import * as Main from "./main.js"
import { defaultMaxMessageBytes } from "./framing.js"
import { PortalImpl } from "./portal.js"
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
}

/** @internal */
export interface SpawnOptions extends Timings {
  readonly modules: ReadonlyArray<Bundle.ModuleSpecifier>
  readonly external?: ReadonlyArray<string> | undefined
  readonly env?: Record<string, string | undefined> | undefined
  readonly execArgv?: ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
}

const millis = (d: Duration.DurationInput | undefined, fallback: number) =>
  d === undefined ? fallback : Duration.toMillis(Duration.decode(d))

const resolve = (base: Timings, over: Timings): Settings => ({
  graceMillis: millis(over.gracePeriod ?? base.gracePeriod, 500),
  termMillis: millis(over.termPeriod ?? base.termPeriod, 1600),
  readyTimeoutMillis: millis(over.readyTimeout ?? base.readyTimeout, 30_000),
  cancelAckTimeoutMillis: millis(over.cancelAckTimeout ?? base.cancelAckTimeout, 500),
  maxMessageBytes: over.maxMessageBytes ?? base.maxMessageBytes ?? defaultMaxMessageBytes
})

/** @internal */
export const defaultMaxActors = 256

/** @internal */
export class NurseryImpl {
  readonly [TypeId] = TypeId
  readonly children = new Set<ActorProcess>()
  readonly tasks = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  readonly failures: Array<Cause.Cause<unknown>> = []
  private readonly seen = new Set<unknown>()
  body: Fiber.RuntimeFiber<unknown, unknown> | undefined
  cancelling = false
  closed = false

  constructor(
    readonly runtime: TreeRuntime.TreeRuntime,
    readonly scope: Scope.Scope,
    readonly timings: Timings,
    /** runs the nursery's own work (teardowns, warnings) with the caller's logger, tracer and services */
    readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  ) {}

  get actor(): ActorId {
    return this.runtime.self
  }

  /** Keeps a failure (once) and cancels everything else: one-cancels-all. */
  record(cause: Cause.Cause<unknown>): void {
    if (Cause.isInterruptedOnly(cause)) return
    const items = [...Chunk.toReadonlyArray(Cause.failures(cause)), ...Chunk.toReadonlyArray(Cause.defects(cause))]
    if (items.length > 0 && items.every((item) => this.seen.has(item))) return
    for (const item of items) this.seen.add(item)
    this.failures.push(cause)
    this.cancelAll()
  }

  /** A remote failure that arrived as the answer to our own interrupt: keep it when we are failing. */
  readonly onRaced = (error: unknown): void => {
    if (this.cancelling) this.record(Cause.fail(error))
    else {
      this.run(Effect.logWarning(`a call failed while it was being interrupted: ${String(error)}`))
    }
  }

  cancelAll(): void {
    if (this.cancelling) return
    this.cancelling = true
    this.body?.unsafeInterruptAsFork(FiberId.none)
    for (const task of this.tasks) task.unsafeInterruptAsFork(FiberId.none)
    for (const child of this.children) this.run(child.teardown())
  }

  get failure(): Cause.Cause<unknown> | undefined {
    return this.failures.length === 0 ? undefined : this.failures.reduce((a, b) => Cause.parallel(a, b))
  }

  readonly awaitTasks: Effect.Effect<void> = Effect.suspend(() =>
    this.tasks.size === 0 ? Effect.void : Effect.zipRight(Fiber.awaitAll([...this.tasks]), this.awaitTasks)
  )

  readonly teardownChildren: Effect.Effect<void> = Effect.suspend(() =>
    Effect.forEach([...this.children], (child) => child.teardown(), { concurrency: "unbounded", discard: true })
  )

  readonly shutdown: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    return Fiber.interruptAll([...this.tasks]).pipe(Effect.zipRight(this.teardownChildren))
  })
}

/** @internal */
export const make = (timings: Timings = {}): Effect.Effect<NurseryImpl, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* TreeRuntime.current
    const caller = yield* Effect.runtime<never>()
    const parent = yield* Effect.scope
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    const nursery = new NurseryImpl(runtime, scope, timings, Runtime.runFork(caller))
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
    const fiber = yield* Effect.fork(body(nursery))
    nursery.body = fiber
    const exit = yield* Fiber.await(fiber)
    nursery.body = undefined
    if (Exit.isFailure(exit)) nursery.record(exit.cause)
    yield* nursery.awaitTasks
    const failure = nursery.failure
    if (failure !== undefined) return yield* Effect.failCause(failure)
    return yield* exit
  })) as any

/** @internal */
export const join = (nursery: NurseryImpl): Effect.Effect<void, unknown> =>
  Effect.suspend(() => {
    return Effect.zipRight(nursery.awaitTasks, Effect.suspend(() => {
      const failure = nursery.failure
      return failure === undefined ? Effect.void : Effect.failCause(failure)
    }))
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
  Effect.map(spawnChild(nursery, name, options), (child) => new PortalImpl(child, nursery.onRaced, nursery.actor))

const spawnChild = (
  nursery: NurseryImpl,
  name: string,
  options: SpawnOptions
): Effect.Effect<ActorProcess, ActorError.SpawnError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
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
        tree: treeSpec(tree.settings)
      })
      nursery.children.add(child)
      child.onExit = () => {
        nursery.children.delete(child)
        if (child.served.addresses.length > 0) {
          nursery.run(Effect.ignore(tree.unregister(child.id.uid)))
          // a child that was killed could not remove its socket file: its parent does
          for (const address of child.served.addresses.map(Transport.parseAddress)) {
            if (address?.kind === "unix") Transport.removeSocketFile(address.path)
          }
        }
      }
      child.onCrash = (error) => nursery.record(Cause.fail(error))
      yield* restore(child.awaitReady()).pipe(Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : child.teardown()))
      if (nursery.cancelling) {
        yield* child.teardown()
        return yield* Effect.interrupt
      }
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

/** @internal */
export const runInActor = (
  nursery: NurseryImpl,
  fn: Actor.Fn.Any,
  payload: unknown,
  options: SpawnOptions & { readonly name?: string | undefined }
): Effect.Effect<unknown, unknown> =>
  Effect.flatMap(
    spawnChild(nursery, options.name ?? `${fn.protocol}.${fn.name}`, options),
    (child) => Effect.ensuring(child.caller.call(fn, payload, child.cancelAckTimeoutMillis, nursery.onRaced), child.teardown())
  )

/** @internal */
export const cancel = (nursery: NurseryImpl): Effect.Effect<void> => nursery.teardownChildren
