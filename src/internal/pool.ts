/**
 * The mechanism of a worker pool: a queue in front of the workers (a semaphore of size × calls per
 * worker; a call takes a permit, then the least busy worker), the counters of its stats, retries
 * of calls whose worker died, and the kill of a worker still running an interrupted call.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Actor from "../Actor.js"
import { ProtocolTypeId } from "../Actor.js"
import * as ActorError from "../ActorError.js"
import { ActorProcess } from "./actorProcess.js"
import type { Peer } from "./peer.js"
import type { PortalImpl } from "./portal.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-tractor/WorkerPool")

interface Worker {
  readonly portal: PortalImpl
  inFlight: number
}

/** @internal */
export interface PoolOptions {
  readonly perWorker: number
  readonly maxQueue: number
  readonly kill: boolean
  /** the error of a call refused because `maxQueue` calls already wait */
  readonly queueFull: (workers: number, maxQueue: number) => unknown
}

/** @internal */
export class Pool {
  readonly [TypeId] = TypeId
  readonly workers: ReadonlyArray<Worker>
  readonly permits: Effect.Semaphore
  queued = 0
  completed = 0
  failed = 0
  interrupted = 0

  constructor(readonly portals: ReadonlyArray<PortalImpl>, readonly options: PoolOptions) {
    this.workers = portals.map((portal) => ({ portal, inFlight: 0 }))
    this.permits = Effect.unsafeMakeSemaphore(portals.length * options.perWorker)
  }

  get capacity(): number {
    return this.workers.length * this.options.perWorker
  }

  stats() {
    let busy = 0
    let restarts = 0
    for (const worker of this.workers) {
      busy += worker.inFlight
      const slot = worker.portal.slot as { readonly incarnation?: number } | undefined
      if (slot?.incarnation !== undefined) restarts += Math.max(0, slot.incarnation - 1)
    }
    return {
      workers: this.workers.length,
      busy,
      queued: this.queued,
      completed: this.completed,
      failed: this.failed,
      interrupted: this.interrupted,
      restarts
    }
  }

  /** A worker still running an interrupted call: torn down, its supervisor replaces it. */
  private readonly onStuck = (peer: Peer) => {
    if (peer instanceof ActorProcess) Effect.runFork(peer.teardown())
  }

  /** One call on the least busy worker, holding one permit while it runs. */
  private onWorker(fn: Actor.Fn.Any, payload: unknown): Effect.Effect<unknown, unknown> {
    return Effect.suspend(() => {
      let best = this.workers[0]!
      for (const worker of this.workers) if (worker.inFlight < best.inFlight) best = worker
      best.inFlight++
      return best.portal.call(fn, payload, this.options.kill ? this.onStuck : undefined).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            best.inFlight--
            if (Exit.isSuccess(exit)) this.completed++
            else if (Exit.isInterrupted(exit)) this.interrupted++
            else this.failed++
          })
        )
      )
    })
  }

  private once(fn: Actor.Fn.Any, payload: unknown): Effect.Effect<unknown, unknown> {
    const run = this.onWorker(fn, payload)
    return Effect.flatMap(this.permits.withPermitsIfAvailable(1)(run), (done) => {
      if (Option.isSome(done)) return Effect.succeed(done.value)
      if (this.queued >= this.options.maxQueue) {
        return Effect.fail(this.options.queueFull(this.workers.length, this.options.maxQueue))
      }
      this.queued++
      return this.permits.withPermits(1)(Effect.suspend(() => {
        this.queued--
        return run
      })).pipe(Effect.onInterrupt(() => Effect.sync(() => this.queued--)))
    })
  }

  private readonly clients = new Map<string, unknown>()

  client(protocol: Actor.Protocol.Any): unknown {
    const meta = protocol[ProtocolTypeId]
    let client = this.clients.get(meta.name)
    if (client === undefined) {
      const methods: Record<string, (payload: unknown) => unknown> = {}
      for (const [name, fn] of Object.entries(meta.fns)) {
        methods[name] = fn.kind === "fn"
          ? (payload) => this.call(fn as Actor.Fn.Any, payload)
          : () => {
            throw new Error(
              `WorkerPool.client: ${meta.name}.${name} is a ${fn.kind}, and a pool balances calls only: ` +
                `open it on one worker's portal (pool.portals)`
            )
          }
      }
      client = methods
      this.clients.set(meta.name, client)
    }
    return client
  }

  call(
    fn: Actor.Fn.Any,
    payload: unknown,
    options?: { readonly retry?: Schedule.Schedule<unknown, ActorError.ActorError> | undefined }
  ): Effect.Effect<unknown, unknown> {
    const once = this.once(fn, payload)
    if (options?.retry === undefined) return once
    return Effect.retry(once, {
      schedule: options.retry as Schedule.Schedule<unknown, unknown>,
      while: (e) => e instanceof ActorError.TransportClosed
    })
  }
}

/** @internal */
export interface Pool {
  /** the typed client of a protocol, every call through the pool */
  client(protocol: Actor.Protocol.Any): unknown
}

/** @internal */
export const makePool = (portals: ReadonlyArray<PortalImpl>, options: PoolOptions): Pool => new Pool(portals, options)
