/**
 * The mechanism of a worker pool: a queue in front of the workers (a semaphore of size × calls per
 * worker; a call takes a permit, then the least busy worker), the counters of its stats, retries
 * of calls whose worker died, and the kill of a worker still running an interrupted call.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
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
  /** when it last ended a call (or started) */
  lastActive: number
}

interface Waiter {
  granted: boolean
  readonly resume: () => void
}

/** @internal */
export interface PoolOptions {
  readonly perWorker: number
  readonly maxQueue: number
  readonly kill: boolean
  /** the grace of the teardown of a worker killed on interrupt */
  readonly killGraceMillis: number
  /** the error of a call refused because `maxQueue` calls already wait */
  readonly queueFull: (workers: number, maxQueue: number) => unknown
  /** subscribes to the supervision events of the pool's nursery */
  readonly events: Effect.Effect<unknown, never, Scope.Scope>
  /** an elastic pool: how to start one more worker, and stop one, between `minSize` and `maxWorkers` */
  readonly elastic?: {
    readonly minSize: number
    readonly maxWorkers: number
    readonly idleMillis: number
    readonly start: Effect.Effect<PortalImpl, ActorError.SpawnError>
    readonly stop: (portal: PortalImpl) => Effect.Effect<void>
    /** runs the pool's own background work (starting workers) with its caller's services */
    readonly run: (effect: Effect.Effect<void>) => void
  } | undefined
}

/** @internal */
export class Pool {
  readonly [TypeId] = TypeId
  readonly workers: Array<Worker>
  /** calls running on workers (each holds one of `capacity` places) */
  running = 0
  /** calls waiting for a place, first come first served */
  private readonly waiting: Array<Waiter> = []
  /** workers being started on demand */
  starting = 0
  queued = 0
  completed = 0
  failed = 0
  interrupted = 0
  /** the latest run and wait times (ms), for the stats' percentiles */
  readonly runTimes = new Reservoir()
  readonly waitTimes = new Reservoir()

  constructor(readonly portals: ReadonlyArray<PortalImpl>, readonly options: PoolOptions, readonly metrics: PoolMetrics) {
    this.workers = portals.map((portal) => ({ portal, inFlight: 0, lastActive: Date.now() }))
  }

  get capacity(): number {
    return this.workers.length * this.options.perWorker
  }

  /** calls in flight once the pool is as large as it may grow (what a map keeps busy) */
  get fullCapacity(): number {
    return Math.max(1, (this.options.elastic?.maxWorkers ?? this.workers.length) * this.options.perWorker)
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
      restarts,
      runMillis: this.runTimes.summary(),
      waitMillis: this.waitTimes.summary()
    }
  }

  /**
   * A worker still running an interrupted call: torn down, its supervisor replaces it. It already
   * missed one acknowledgement, so the ladder's grace is short (`killGrace`): a worker that can
   * still answer says Cancelling at once and keeps SIGTERM's period for its finalizers; one stuck
   * in synchronous code is SIGKILLed when the short grace ends.
   */
  private readonly onStuck = (peer: Peer) => {
    if (peer instanceof ActorProcess) Effect.runFork(peer.teardown({ graceMillis: this.options.killGraceMillis }))
  }

  /** One call on the least busy worker, holding one permit while it runs. */
  private onWorker(fn: Actor.Fn.Any, payload: unknown, queuedAt: number): Effect.Effect<unknown, unknown> {
    return Effect.suspend(() => {
      let best = this.workers[0]!
      for (const worker of this.workers) if (worker.inFlight < best.inFlight) best = worker
      best.inFlight++
      const started = performance.now()
      const waited = started - queuedAt
      this.waitTimes.add(waited)
      return best.portal.call(fn, payload, this.options.kill ? this.onStuck : undefined).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            best.inFlight--
            best.lastActive = Date.now()
            const ran = performance.now() - started
            this.runTimes.add(ran)
            const outcome = Exit.isSuccess(exit) ? "completed" : Exit.isInterrupted(exit) ? "interrupted" : "failed"
            this[outcome]++
            this.metrics.record(outcome, ran, waited)
          })
        )
      )
    })
  }

  /**
   * Hands a free place to the first waiting call, if any. (Effect's semaphore wakes every waiter
   * on each release, to retry: with a hundred calls waiting that cost ~2 ms per call.)
   */
  private dispatch(): void {
    while (this.running < this.capacity && this.waiting.length > 0) {
      const waiter = this.waiting.shift()!
      this.running++
      waiter.granted = true
      waiter.resume()
    }
  }

  private release(): void {
    this.running--
    this.dispatch()
  }

  /** Waits for a place; an interrupted wait gives back a place it was handed meanwhile. */
  private readonly acquire: Effect.Effect<void> = Effect.async<void>((resume) => {
    const waiter: Waiter = { granted: false, resume: () => resume(Effect.void) }
    this.waiting.push(waiter)
    this.queued++
    return Effect.sync(() => {
      // interrupted: the call will not run (the continuation that counts it out never comes)
      const i = this.waiting.indexOf(waiter)
      if (i >= 0) this.waiting.splice(i, 1)
      this.queued--
      if (waiter.granted) this.release()
    })
  })

  private once(fn: Actor.Fn.Any, payload: unknown): Effect.Effect<unknown, unknown> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const queuedAt = performance.now()
        const run = Effect.ensuring(restore(this.onWorker(fn, payload, queuedAt)), Effect.sync(() => this.release()))
        if (this.running < this.capacity && this.waiting.length === 0) {
          this.running++
          return run
        }
        this.grow()
        if (this.queued >= this.options.maxQueue) {
          return Effect.fail(this.options.queueFull(this.workers.length, this.options.maxQueue))
        }
        return Effect.zipRight(
          restore(this.acquire),
          Effect.suspend(() => {
            this.queued--
            return run
          })
        )
      })
    )
  }



  /** Every worker busy: an elastic pool below its most starts one more (the call waits for a permit). */
  private grow(): void {
    const elastic = this.options.elastic
    if (elastic === undefined || this.workers.length + this.starting >= elastic.maxWorkers) return
    this.starting++
    elastic.run(
      elastic.start.pipe(
        Effect.tap((portal) =>
          Effect.suspend(() => {
            this.workers.push({ portal, inFlight: 0, lastActive: Date.now() })
            this.dispatch()
            return Effect.void
          })
        ),
        Effect.catchAll((e) => Effect.logWarning(`the pool could not start one more worker: ${e.message}`)),
        Effect.ensuring(Effect.sync(() => this.starting--)),
        Effect.asVoid
      )
    )
  }

  /** Stops the workers idle for longer than `idleMillis`, down to `minSize`. */
  readonly shrink: Effect.Effect<void> = Effect.suspend(() => {
    const elastic = this.options.elastic
    if (elastic === undefined) return Effect.void
    const now = Date.now()
    const stopping: Array<PortalImpl> = []
    for (const worker of [...this.workers].reverse()) {
      if (this.workers.length <= elastic.minSize) break
      if (worker.inFlight > 0 || now - worker.lastActive < elastic.idleMillis) continue
      this.workers.splice(this.workers.indexOf(worker), 1)
      stopping.push(worker.portal)
    }
    if (stopping.length === 0) return Effect.void
    return Effect.forEach(stopping, elastic.stop, { concurrency: "unbounded", discard: true })
  })

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

/** @internal the latest 1024 durations, for percentiles */
export class Reservoir {
  private readonly values: Array<number> = []
  private next = 0
  count = 0

  add(ms: number): void {
    this.count++
    if (this.values.length < 1024) this.values.push(ms)
    else this.values[this.next++ % 1024] = ms
  }

  summary(): { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number } {
    if (this.values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 }
    const sorted = [...this.values].sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
    return { count: this.count, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! }
  }
}

/** @internal the pool's Effect metrics, tagged with its name */
export class PoolMetrics {
  private readonly byOutcome
  private readonly run
  private readonly wait

  constructor(readonly pool: string) {
    const tag = <A extends Metric.Metric<any, any, any>>(metric: A): A => Metric.tagged(metric, "pool", pool) as A
    const calls = tag(Metric.counter("effect_tractor_pool_calls", { description: "calls run by a worker pool, by outcome" }))
    this.byOutcome = {
      completed: Metric.tagged(calls, "outcome", "completed"),
      failed: Metric.tagged(calls, "outcome", "failed"),
      interrupted: Metric.tagged(calls, "outcome", "interrupted")
    }
    this.run = tag(Metric.histogram(
      "effect_tractor_pool_run_ms",
      MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 20 }),
      "how long a call ran on its worker (ms)"
    ))
    this.wait = tag(Metric.histogram(
      "effect_tractor_pool_wait_ms",
      MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 20 }),
      "how long a call waited for a worker (ms)"
    ))
  }


  /** Synchronous (the metrics' unsafe updates): per call, an Effect each would cost ~15% of a tiny task's rate. */
  record(outcome: "completed" | "failed" | "interrupted", ranMs: number, waitedMs: number): void {
    this.byOutcome[outcome].unsafeUpdate(1, [])
    this.run.unsafeUpdate(ranMs, [])
    this.wait.unsafeUpdate(waitedMs, [])
  }
}

/** @internal */
export interface Pool {
  /** the typed client of a protocol, every call through the pool */
  client(protocol: Actor.Protocol.Any): unknown
}

/** @internal */
export const makePool = (portals: ReadonlyArray<PortalImpl>, options: PoolOptions, name: string): Pool =>
  new Pool(portals, options, new PoolMetrics(name))

/**
 * One line of a progress bar: `label [#######.......]  7/14`, `width` characters of bar.
 * @internal
 */
export const renderProgress = (label: string, done: number, total: number, width = 30): string => {
  const fraction = total <= 0 ? 1 : Math.min(1, done / total)
  const filled = Math.round(fraction * width)
  const count = `${String(done).padStart(String(total).length)}/${total}`
  return `${label === "" ? "" : `${label} `}[${"#".repeat(filled)}${".".repeat(width - filled)}] ${count}`
}
