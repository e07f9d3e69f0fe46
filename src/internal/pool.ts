/**
 * The mechanism of a worker pool: a queue in front of the workers (a semaphore of size × calls per
 * worker; a call takes a permit, then the least busy worker), the counters of its stats, retries
 * of calls whose worker died, and the kill of a worker still running an interrupted call.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Actor from "../Actor.js"
import { ProtocolTypeId } from "../Actor.js"
import * as ActorError from "../ActorError.js"
import { ActorProcess } from "./actorProcess.js"
import { type TraceContext, traced } from "./caller.js"
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

/** where a job is: waiting; running on a worker; handed the slow way; running the slow way; done */
const QUEUED = 0
const RUNNING = 1
const SLOW = 2
const SLOW_RUNNING = 3
const SETTLED = 4

/** one call through the pool */
interface Job {
  readonly fn: Actor.Fn.Any
  readonly payload: unknown
  /** the trace context of its client span, when its caller traces */
  readonly trace: TraceContext | undefined
  readonly queuedAt: number
  state: number
  resume: (effect: Effect.Effect<unknown, unknown>) => void
  worker: Worker | undefined
  peer: Peer | undefined
  /** its call id on the peer's link, once running */
  id: number
  /** how it ended, once settled */
  answer: Exit.Exit<unknown, unknown> | undefined
  started: number
  waited: number
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
  /** calls waiting for a place, first come first served, from `head` on (the ones before are done) */
  private readonly waiting: Array<Job> = []
  private head = 0
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
    // with the loggers of the fiber that spawned it: its escalations reach the application's logger
    if (peer instanceof ActorProcess) Runtime.runFork(peer.runtime)(peer.teardown({ graceMillis: this.options.killGraceMillis }))
  }

  /**
   * Starts `job` on the least busy worker that can take a call now: the request is written at
   * once, and the answer settles the job from the link's callback, which hands the place to the
   * next job in the same turn (no fiber hop between one answer and the next request). A job whose
   * only workers are restarting goes the slow way: it resumes its caller's fiber with an effect
   * that waits for the worker (bounded by the supervision's restartTimeout).
   */
  private start(job: Job): void {
    this.running++
    // the least busy worker with room that can take a call now; else the least busy one with room
    const perWorker = this.options.perWorker
    let best: Worker | undefined
    let peer: Peer | undefined
    let waitFor: Worker | undefined
    for (const worker of this.workers) {
      if (worker.inFlight >= perWorker || (best !== undefined && worker.inFlight >= best.inFlight)) continue
      const usable = worker.portal.usableNow()
      if (usable === undefined) {
        if (waitFor === undefined || worker.inFlight < waitFor.inFlight) waitFor = worker
        continue
      }
      best = worker
      peer = usable
    }
    const now = performance.now()
    const waited = now - job.queuedAt
    this.waitTimes.add(waited)
    job.waited = waited
    job.started = now
    if (best === undefined || peer === undefined) {
      // every worker with room is restarting: wait for the least busy one (capacity guarantees one)
      best = waitFor ?? this.workers[0]!
      best.inFlight++
      job.worker = best
      job.state = SLOW
      const worker = best
      return job.resume(Effect.suspend(() => {
        job.state = SLOW_RUNNING
        return worker.portal.call(job.fn, job.payload, this.options.kill ? this.onStuck : undefined, job.trace ?? false)
      }).pipe(Effect.onExit((exit) => Effect.sync(() => this.finish(job, exit)))))
    }
    best.inFlight++
    job.worker = best
    job.peer = peer
    job.state = RUNNING
    const id = peer.link.nextCallId()
    job.id = id
    const error = peer.caller.start(id, job.fn, job.payload, (exit) => {
      if (job.state !== RUNNING) return
      this.finish(job, exit)
      job.resume(exit)
    }, undefined, job.trace)
    if (error !== undefined && job.state === RUNNING) {
      const exit = Exit.fail(error)
      this.finish(job, exit)
      job.resume(exit)
    }
  }

  /** The job's call ended (answer, failure to send, or its interrupt acknowledged): counts it, frees its place. */
  private finish(job: Job, exit: Exit.Exit<unknown, unknown>): void {
    if (job.state === SETTLED) return
    job.state = SETTLED
    job.answer = exit
    const worker = job.worker!
    worker.inFlight--
    worker.lastActive = Date.now()
    const ran = performance.now() - job.started
    this.runTimes.add(ran)
    const outcome = Exit.isSuccess(exit) ? "completed" : Exit.isInterrupted(exit) ? "interrupted" : "failed"
    this[outcome]++
    this.metrics.record(outcome, ran, job.waited)
    this.running--
    this.dispatch()
  }

  /** Hands free places to the first waiting jobs, if any (first come, first served). */
  private dispatch(): void {
    while (this.running < this.capacity && this.head < this.waiting.length) {
      const job = this.waiting[this.head]!
      this.waiting[this.head++] = undefined as unknown as Job
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head)
        this.head = 0
      }
      if (job.state !== QUEUED) continue
      this.queued--
      this.start(job)
    }
  }

  /**
   * One call through the pool. It takes a place at once if one is free, else waits in the queue
   * (or is refused beyond `maxQueue`). Interrupted while it waits, it leaves the queue; while it
   * runs, its handler is interrupted and the place is held until the worker acknowledges (or, with
   * `onInterrupt: "kill"`, the worker is torn down when it does not).
   */
  private once(fn: Actor.Fn.Any, payload: unknown): Effect.Effect<unknown, unknown> {
    return traced(fn, (trace) => this.onceWith(fn, payload, trace))
  }

  private onceWith(fn: Actor.Fn.Any, payload: unknown, trace: TraceContext | undefined): Effect.Effect<unknown, unknown> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const free = this.running < this.capacity && this.head === this.waiting.length
        if (!free) {
          this.grow()
          if (this.queued >= this.options.maxQueue) {
            return Effect.fail(this.options.queueFull(this.workers.length, this.options.maxQueue))
          }
        }
        const job: Job = {
          fn,
          payload,
          trace,
          queuedAt: performance.now(),
          state: QUEUED,
          resume: undefined as unknown as Job["resume"],
          worker: undefined,
          peer: undefined,
          id: 0,
          answer: undefined,
          started: 0,
          waited: 0
        }
        return Effect.catchAllCause(
          restore(Effect.async<unknown, unknown>((resume) => {
            job.resume = resume
            if (free) this.start(job)
            else {
              this.waiting.push(job)
              this.queued++
            }
          })),
          (cause) => Cause.isInterruptedOnly(cause) ? this.abandon(job, cause) : Effect.failCause(cause)
        )
      })
    )
  }

  /** The caller of `job` was interrupted: what is left to do depends on where the job was. */
  private abandon(job: Job, cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> {
    switch (job.state) {
      case QUEUED: {
        // still waiting: it leaves the queue (skipped by dispatch)
        job.state = SETTLED
        this.queued--
        return Effect.failCause(cause)
      }
      case SLOW: {
        // handed a place, interrupted before it used it
        this.finish(job, Exit.failCause(cause))
        return Effect.failCause(cause)
      }
      case RUNNING: {
        const peer = job.peer!
        const portal = job.worker!.portal
        const stuck = this.options.kill ? () => this.onStuck(peer) : undefined
        return Effect.zipRight(
          Effect.ensuring(
            peer.caller.interruptCall(job.id, peer.cancelAckTimeoutMillis, portal.onRaced, stuck),
            Effect.sync(() => this.finish(job, Exit.failCause(cause)))
          ),
          Effect.failCause(cause)
        )
      }
      default: {
        // the answer came, but the interruption won the race to the fiber: do not lose a failure
        const answer = job.answer
        if (
          answer !== undefined && Exit.isFailure(answer) && answer.cause._tag === "Fail" &&
          !ActorError.ContextCancelled.is(answer.cause.error)
        ) job.worker!.portal.onRaced(answer.cause.error)
        return Effect.failCause(cause)
      }
    }
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

/**
 * @internal
 * `fn` over `inputs` as a stream, `lanes` calls submitted at once, in input order or as they
 * complete (then with the input beside each output).
 *
 * Each lane is one fiber that takes the next input and calls it through the pool, again and again:
 * no fiber per input, and no Stream.mapEffect machinery (its concurrent variants run ~15k trivial
 * elements/s ordered and ~6k unordered, below a pool's tiny-task rate). The lanes keep at most
 * twice `lanes` inputs between the next output the consumer has not pulled and the newest input
 * taken (room for the outputs of one round while the next runs), so a slow consumer holds the
 * map back. The first failure fails the stream; ending the stream
 * early interrupts the calls in flight.
 */
export const mapStream = (
  pool: Pool,
  fn: Actor.Fn.Any,
  inputs: Iterable<unknown>,
  lanes: number,
  ordered: boolean,
  options?: { readonly retry?: Schedule.Schedule<unknown, ActorError.ActorError> | undefined }
): Stream.Stream<unknown, unknown> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const iterator = inputs[Symbol.iterator]()
    const laneCount = Math.max(1, Math.floor(lanes))
    const window = 2 * laneCount
    /** inputs taken; outputs handed to the consumer (ordered: the index of the next one) */
    let taken = 0
    let pulled = 0
    let exhausted = false
    let lanesDone = false
    let failure: Cause.Cause<unknown> | undefined
    /** ordered: outputs by input index; unordered: [input, output] pairs as they came */
    const byIndex = new Map<number, unknown>()
    let arrived: Array<unknown> = []
    let consumer: (() => void) | undefined
    let roomWaiters: Array<() => void> = []

    const wakeConsumer = () => {
      const wake = consumer
      consumer = undefined
      wake?.()
    }
    const waitRoom = Effect.async<void>((resume) => {
      roomWaiters.push(() => resume(Effect.void))
    })
    const lane: Effect.Effect<void> = Effect.suspend(() => {
      if (failure !== undefined || exhausted) return Effect.void
      if (taken - pulled >= window) return Effect.zipRight(waitRoom, lane)
      const next = iterator.next()
      if (next.done === true) {
        exhausted = true
        return Effect.void
      }
      const index = taken++
      const input = next.value
      return Effect.flatMap(Effect.exit(pool.call(fn, input, options)), (exit) => {
        if (Exit.isFailure(exit)) {
          if (failure === undefined && !Cause.isInterruptedOnly(exit.cause)) failure = exit.cause
        } else if (ordered) byIndex.set(index, exit.value)
        else arrived.push([input, exit.value] as const)
        wakeConsumer()
        return failure === undefined ? lane : Effect.void
      })
    })
    yield* Effect.forkScoped(
      Effect.forEach(Array.from({ length: laneCount }, () => lane), (l) => l, { concurrency: "unbounded", discard: true })
        .pipe(Effect.ensuring(Effect.sync(() => {
          lanesDone = true
          wakeConsumer()
        })))
    )

    /** what is ready for the consumer now, or undefined */
    const ready = (): Effect.Effect<Chunk.Chunk<unknown>, Option.Option<unknown>> | undefined => {
      if (failure !== undefined) return Effect.mapError(Effect.failCause(failure), Option.some)
      let out: Array<unknown>
      if (ordered) {
        out = []
        while (byIndex.has(pulled)) {
          out.push(byIndex.get(pulled))
          byIndex.delete(pulled++)
        }
      } else {
        out = arrived
        arrived = []
        pulled += out.length
      }
      if (out.length > 0) {
        const waiters = roomWaiters
        roomWaiters = []
        for (const wake of waiters) wake()
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }
      if (lanesDone) return Effect.fail(Option.none())
      return undefined
    }
    const pull = Effect.suspend(() =>
      ready() ?? Effect.async<Chunk.Chunk<unknown>, Option.Option<unknown>>((resume) => {
        const check = () => {
          const now = ready()
          if (now === undefined) consumer = check
          else resume(now)
        }
        consumer = check
      })
    )
    return Stream.repeatEffectChunkOption(pull)
  }))

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
    // each metric is made from a key that already carries its tags: an update then goes straight
    // to its hook (a tag added with Metric.tagged makes a new key and hashes it on every update)
    const calls = (outcome: string) =>
      Metric.fromMetricKey(
        MetricKey.counter("effect_tractor_pool_calls", { description: "calls run by a worker pool, by outcome" }).pipe(
          MetricKey.tagged("pool", pool),
          MetricKey.tagged("outcome", outcome)
        )
      )
    this.byOutcome = { completed: calls("completed"), failed: calls("failed"), interrupted: calls("interrupted") }
    const histogram = (name: string, description: string) =>
      Metric.fromMetricKey(
        MetricKey.histogram(name, MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 20 }), description).pipe(
          MetricKey.tagged("pool", pool)
        )
      )
    this.run = histogram("effect_tractor_pool_run_ms", "how long a call ran on its worker (ms)")
    this.wait = histogram("effect_tractor_pool_wait_ms", "how long a call waited for a worker (ms)")
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
