/**
 * The library's Effect metrics (their names and tags are documented in the README). Every metric
 * is made once per set of tags, from a key that already carries them, and updated synchronously:
 * on the call path an update is a map lookup and an addition, never an Effect.
 */
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"

const msBoundaries = MetricBoundaries.exponential({ start: 0.01, factor: 2, count: 24 })

const counter = (name: string, description: string, tags: Record<string, string>) => {
  let key = MetricKey.counter(name, { description })
  for (const [k, v] of Object.entries(tags)) key = MetricKey.tagged(key, k, v)
  return Metric.fromMetricKey(key)
}

const gauge = (name: string, description: string, tags: Record<string, string>) => {
  let key = MetricKey.gauge(name, { description })
  for (const [k, v] of Object.entries(tags)) key = MetricKey.tagged(key, k, v)
  return Metric.fromMetricKey(key)
}

const histogram = (name: string, description: string, tags: Record<string, string>) => {
  let key = MetricKey.histogram(name, msBoundaries, description)
  for (const [k, v] of Object.entries(tags)) key = MetricKey.tagged(key, k, v)
  return Metric.fromMetricKey(key)
}

/** @internal the metrics of the calls of one function, on the calling side */
export interface FnMetrics {
  started(): void
  ended(exit: Exit.Exit<unknown, unknown>, ms: number): void
}

const fnMetrics = new Map<string, FnMetrics>()

/** @internal calls in flight, completed by outcome, and their latency, for `protocol.fn` */
export const forFn = (protocol: string, fn: string): FnMetrics => {
  const id = `${protocol}\u0000${fn}`
  let metrics = fnMetrics.get(id)
  if (metrics === undefined) {
    const tags = { protocol, fn }
    const inFlight = gauge("effect_tractor_calls_in_flight", "calls started and not yet answered", tags)
    const outcome = (o: string) =>
      counter("effect_tractor_calls", "calls answered (or given up), by outcome", { ...tags, outcome: o })
    const succeeded = outcome("success")
    const failed = outcome("failure")
    const interrupted = outcome("interrupted")
    const latency = histogram("effect_tractor_call_ms", "time from a call's start to its answer (ms)", tags)
    let open = 0
    metrics = {
      started: () => inFlight.unsafeUpdate(++open, []),
      ended: (exit, ms) => {
        inFlight.unsafeUpdate(--open, [])
        ;(Exit.isSuccess(exit) ? succeeded : Exit.isInterrupted(exit) ? interrupted : failed).unsafeUpdate(1, [])
        latency.unsafeUpdate(ms, [])
      }
    }
    fnMetrics.set(id, metrics)
  }
  return metrics
}

/** @internal the metrics of one link, named by its peer */
export interface LinkMetrics {
  sent(bytes: number, frames: number): void
  received(bytes: number): void
  framesReceived(frames: number): void
}

const linkMetrics = new Map<string, LinkMetrics>()

/** @internal bytes and frames out and in on the links to actors named `peer` */
export const forLink = (peer: string): LinkMetrics => {
  let metrics = linkMetrics.get(peer)
  if (metrics === undefined) {
    const of = (name: string, description: string, direction: string) =>
      counter(name, description, { peer, direction })
    const bytesOut = of("effect_tractor_link_bytes", "bytes written to and read from links", "out")
    const bytesIn = of("effect_tractor_link_bytes", "bytes written to and read from links", "in")
    const framesOut = of("effect_tractor_link_frames", "frames written to and read from links", "out")
    const framesIn = of("effect_tractor_link_frames", "frames written to and read from links", "in")
    metrics = {
      sent: (bytes, frames) => {
        bytesOut.unsafeUpdate(bytes, [])
        framesOut.unsafeUpdate(frames, [])
      },
      received: (bytes) => bytesIn.unsafeUpdate(bytes, []),
      framesReceived: (frames) => framesIn.unsafeUpdate(frames, [])
    }
    linkMetrics.set(peer, metrics)
  }
  return metrics
}

/** @internal the metrics of the nurseries of one actor (by name) */
export interface NurseryMetrics {
  spawned(method: string, ms: number): void
  exited(): void
  restarted(): void
}

const nurseryMetrics = new Map<string, NurseryMetrics>()

/** @internal actors spawned and alive, spawn time and restarts, for the nurseries of `owner` */
export const forNursery = (owner: string): NurseryMetrics => {
  let metrics = nurseryMetrics.get(owner)
  if (metrics === undefined) {
    const tags = { nursery: owner }
    const alive = gauge("effect_tractor_actors_alive", "actors started and not yet exited", tags)
    const spawnTime = histogram("effect_tractor_spawn_ms", "time from a spawn to the actor being ready (ms)", tags)
    const restarts = counter("effect_tractor_restarts", "children restarted by a supervisor", tags)
    const spawnedBy = new Map<string, Metric.Metric.Counter<number>>()
    let count = 0
    metrics = {
      spawned: (method, ms) => {
        let spawned = spawnedBy.get(method)
        if (spawned === undefined) {
          spawned = counter("effect_tractor_actors_spawned", "actors started", { ...tags, method })
          spawnedBy.set(method, spawned)
        }
        spawned.unsafeUpdate(1, [])
        spawnTime.unsafeUpdate(ms, [])
        alive.unsafeUpdate(++count, [])
      },
      exited: () => alive.unsafeUpdate(--count, []),
      restarted: () => restarts.unsafeUpdate(1, [])
    }
    nurseryMetrics.set(owner, metrics)
  }
  return metrics
}

const escalations = new Map<string, Metric.Metric.Counter<number>>()

/**
 * @internal a step of the teardown ladder beyond the cancel request: `kill_unacknowledged` (no
 * answer to the request in the grace period), `term` (acknowledged but still alive), `kill_after_term`
 */
export const escalated = (step: "kill_unacknowledged" | "term" | "kill_after_term"): void => {
  let metric = escalations.get(step)
  if (metric === undefined) {
    metric = counter("effect_tractor_ladder_escalations", "teardowns that went past the cancel request", { step })
    escalations.set(step, metric)
  }
  metric.unsafeUpdate(1, [])
}

const stalls = new Map<string, Metric.Metric.Counter<number>>()

/** @internal a stream's sender had no credit left and waited for the consumer */
export const creditStall = (protocol: string, fn: string): void => {
  const id = `${protocol}\u0000${fn}`
  let metric = stalls.get(id)
  if (metric === undefined) {
    metric = counter("effect_tractor_stream_credit_stalls", "times a stream's sender waited for credit", { protocol, fn })
    stalls.set(id, metric)
  }
  metric.unsafeUpdate(1, [])
}
