/**
 * The calling side of a link: the calls this actor started on it, waiting for their answers, and
 * the three ways to start one (a call, a server stream; dialogs in `dialog.ts` build on `start`).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import { format } from "./actorId.js"
import { codecOf, type FnCodec, schemaCodec } from "./codec.js"
import { msgTypeError, tooLarge } from "./failure.js"
import { Inbox } from "./flow.js"
import { type FnMetrics, forFn } from "./metrics.js"
import { callFrame } from "./frames.js"
import type { CallerSide, Endpoint, Link } from "./link.js"

/** @internal a call this side started and is waiting on */
export interface Pending {
  readonly protocol: string
  readonly name: string
  readonly codec: FnCodec
  readonly resume: (exit: Exit.Exit<unknown, unknown>) => void
  /** set when the caller was interrupted: the answer is then the cancel ack */
  onAck: ((exit: Exit.Exit<unknown, unknown>) => void) | undefined
  readonly metrics: FnMetrics
  /** when it was sent (performance.now) */
  readonly sentAt: number
}

const metricsBySpec = new WeakMap<object, FnMetrics>()

const metricsOf = (spec: { readonly protocol: string; readonly name: string }): FnMetrics => {
  let metrics = metricsBySpec.get(spec)
  if (metrics === undefined) {
    metrics = forFn(spec.protocol, spec.name)
    metricsBySpec.set(spec, metrics)
  }
  return metrics
}

/** Records the end of a call: an interrupted caller's call counts as interrupted, whatever its answer. */
const ended = (entry: Pending, exit: Exit.Exit<unknown, unknown>): void =>
  entry.metrics.ended(entry.onAck !== undefined ? Exit.interrupt(FiberId.none) : exit, performance.now() - entry.sentAt)

/** @internal how a caller reports a remote failure that raced with its interruption */
export type OnRaced = (error: unknown) => void

/** @internal `[traceId, spanId, sampled]` of a call's client span */
export type TraceContext = typeof Message.TraceContext.Type

/** (no stack trace: the call site it would capture is this module, not the caller's code) */
const spanOptions = (fn: { readonly protocol: string; readonly name: string }) => ({
  kind: "client" as const,
  captureStackTrace: false,
  attributes: { "rpc.system": "effect-tractor", "rpc.service": fn.protocol, "rpc.method": fn.name }
})

/**
 * Runs `f` with the trace context of a client span for `fn` when the caller is inside a span, and
 * without any (and without a span) when it is not: a caller that does not trace pays one lookup.
 * @internal
 */
export const traced = <A, E, R>(
  fn: { readonly protocol: string; readonly name: string },
  f: (trace: TraceContext | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    if (fiber.currentSpan === undefined) return f(undefined)
    return Effect.useSpan(`${fn.protocol}.${fn.name}`, spanOptions(fn), (span) =>
      f([span.traceId, span.spanId, span.sampled]))
  })

/**
 * `traced` for what lives in a scope (a stream, a dialog): the client span ends with the scope.
 * @internal
 */
export const tracedScoped = <A, E, R>(
  fn: { readonly protocol: string; readonly name: string },
  f: (trace: TraceContext | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | Scope.Scope> =>
  Effect.withFiberRuntime((fiber) => {
    if (fiber.currentSpan === undefined) return f(undefined)
    return Effect.flatMap(Effect.makeSpanScoped(`${fn.protocol}.${fn.name}`, spanOptions(fn)), (span) =>
      f([span.traceId, span.spanId, span.sampled]))
  })

/** @internal */
export class Caller implements CallerSide {
  readonly pending = new Map<number, Pending>()

  constructor(readonly link: Link) {
    link.caller = this
  }

  /**
   * Registers call `id` (from `link.nextCallId()`) and sends it; returns an error when it cannot be
   * sent. The endpoint, if any, gets the call's other messages.
   */
  start(
    id: number,
    spec: Actor.AnySpec & { readonly protocol: string; readonly name: string },
    payload: unknown,
    resume: (exit: Exit.Exit<unknown, unknown>) => void,
    endpoint?: Endpoint,
    trace?: TraceContext
  ): ActorError.ActorError | undefined {
    const link = this.link
    if (link.closedWith !== undefined) return link.closedWith
    if (link.asleep) link.wake()
    const codec = codecOf(spec)
    let wire: unknown = payload
    if (codec.checkPayload === undefined || !codec.checkPayload(payload)) {
      const encoded = codec.encodePayload(payload)
      if (Either.isLeft(encoded)) return msgTypeError(link.self, spec.protocol, spec.name, "payload", encoded.left)
      wire = encoded.right
    }
    const metrics = metricsOf(spec)
    this.pending.set(id, {
      protocol: spec.protocol,
      name: spec.name,
      codec,
      resume,
      onAck: undefined,
      metrics,
      sentAt: performance.now()
    })
    if (endpoint !== undefined) link.endpoints.set(id, endpoint)
    const size = link.sendLine(callFrame(spec, id, JSON.stringify(wire), trace))
    if (size !== undefined) {
      this.pending.delete(id)
      link.endpoints.delete(id)
      return tooLarge(link.self, size, link.maxMessageBytes, `the payload of ${spec.protocol}.${spec.name}`)
    }
    metrics.started()
    return undefined
  }

  /**
   * Interrupts call `id` on the peer and waits for its answer (the ack) up to `ackTimeoutMillis`. A
   * real failure that won the race is handed to `onRaced` so it is not lost.
   */
  interruptCall(id: number, ackTimeoutMillis: number, onRaced: OnRaced, onStuck?: () => void): Effect.Effect<void> {
    return Effect.async<void>((ack) => {
      const entry = this.pending.get(id)
      if (entry === undefined) return ack(Exit.void)
      const timer = setTimeout(() => {
        this.pending.delete(id)
        ended(entry, Exit.void)
        this.link.endpoints.delete(id)
        // the handler did not end in time: it is still running (busy in synchronous code?)
        onStuck?.()
        ack(Exit.void)
      }, ackTimeoutMillis)
      entry.onAck = (exit) => {
        clearTimeout(timer)
        this.link.endpoints.delete(id)
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          if (error !== undefined && !ActorError.ContextCancelled.is(error)) onRaced(error)
        }
        ack(Exit.void)
      }
      this.link.send({ _tag: "Interrupt", id })
    })
  }

  /**
   * Calls a request/response function on the peer. Interrupting the returned effect interrupts
   * the remote handler and waits for the acknowledgement.
   *
   * The interruption is caught by a failure handler in an uninterruptible region around the wait,
   * not by `Effect.async`'s canceller: the same guarantee with fewer steps of the fiber runtime on
   * every call (measured in place, 100 calls in flight: 9.0 -> 6.9 µs of the caller's CPU per call).
   */
  call(
    fn: Actor.Fn.Any,
    payload: unknown,
    ackTimeoutMillis: number,
    onRaced: OnRaced,
    /** called when an interrupted call is not acknowledged in time: its handler still runs */
    onStuck?: () => void,
    /** the trace context, when the caller made its span already (false: none); else from the fiber */
    trace?: TraceContext | false
  ): Effect.Effect<unknown, unknown> {
    if (trace !== undefined) return this.callWith(fn, payload, ackTimeoutMillis, onRaced, onStuck, trace || undefined)
    return traced(fn, (trace) => this.callWith(fn, payload, ackTimeoutMillis, onRaced, onStuck, trace))
  }

  private callWith(
    fn: Actor.Fn.Any,
    payload: unknown,
    ackTimeoutMillis: number,
    onRaced: OnRaced,
    onStuck: (() => void) | undefined,
    trace: TraceContext | undefined
  ): Effect.Effect<unknown, unknown> {
    return Effect.uninterruptibleMask((restore) => {
      let id: number | undefined
      let answer: Exit.Exit<unknown, unknown> | undefined
      return Effect.catchAllCause(
        restore(Effect.async<unknown, unknown>((resume) => {
          const reserved = this.link.nextCallId()
          const error = this.start(reserved, fn, payload, (exit) => {
            answer = exit
            resume(exit)
          }, undefined, trace)
          if (error === undefined) id = reserved
          else resume(Exit.fail(error))
        })),
        (cause) => {
          if (id === undefined || !Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
          // the answer arrived, but our interruption won the race to the fiber: do not lose a failure
          if (answer !== undefined) {
            if (Exit.isFailure(answer) && answer.cause._tag === "Fail" && !ActorError.ContextCancelled.is(answer.cause.error)) {
              onRaced(answer.cause.error)
            }
            return Effect.failCause(cause)
          }
          return Effect.zipRight(this.interruptCall(id, ackTimeoutMillis, onRaced, onStuck), Effect.failCause(cause))
        }
      )
    })
  }

  /**
   * Calls a stream function on the peer: elements arrive in batches, credit is granted back as the
   * consumer pulls. Ending the consumer early interrupts the remote producer.
   */
  stream(
    fn: Actor.StreamFn.Any,
    payload: unknown,
    window: number,
    ackTimeoutMillis: number,
    onRaced: OnRaced
  ): Stream.Stream<unknown, unknown> {
    return Stream.unwrapScoped(tracedScoped(fn, (trace) => {
      const link = this.link
      let done = false
      const id = link.nextCallId()
      const credit = Math.max(1, Math.floor(window))
      const inbox = new Inbox(link, schemaCodec(fn.element).decode, fn, (n) => {
        if (!done) link.send({ _tag: "Credit", id, n })
      }, credit)
      const error = this.start(id, fn, payload, (exit) => {
        done = true
        link.endpoints.delete(id)
        if (Exit.isSuccess(exit)) inbox.end()
        else inbox.end(exit.cause._tag === "Fail" ? exit.cause.error : new ActorError.TransportClosed({
          actor: link.peer,
          reason: "the stream ended abnormally",
          message: `the stream ${fn.protocol}.${fn.name} of ${format(link.peer)} ended abnormally`
        }))
      }, { onYield: (values) => inbox.push(values) }, trace)
      if (error !== undefined) return Effect.fail(error)
      link.send({ _tag: "Credit", id, n: credit })
      return Effect.as(
        Effect.addFinalizer(() => Effect.suspend(() => done ? Effect.void : this.interruptCall(id, ackTimeoutMillis, onRaced))),
        inbox.stream
      )
    }))
  }

  onAnswer(msg: typeof Message.Success.Type | typeof Message.Failure.Type): void {
    const link = this.link
    const entry = this.pending.get(msg.id)
    if (entry === undefined) {
      return link.hooks.onProtocolError(`${format(link.peer)} answered call ${msg.id}, which is not waiting`)
    }
    this.pending.delete(msg.id)
    const { codec } = entry
    let exit: Exit.Exit<unknown, unknown>
    if (msg._tag === "Success") {
      if (codec.checkSuccess !== undefined && codec.checkSuccess(msg.value)) exit = Exit.succeed(msg.value)
      else {
        const value = codec.decodeSuccess(msg.value)
        exit = Either.isRight(value)
          ? Exit.succeed(value.right)
          : Exit.fail(msgTypeError(link.peer, entry.protocol, entry.name, "success", value.left))
      }
    } else {
      const reason = msg.reason
      if (reason._tag === "Declared") {
        const error = codec.decodeError(reason.value)
        exit = Exit.fail(
          Either.isRight(error) ? error.right : msgTypeError(link.peer, entry.protocol, entry.name, "failure", error.left)
        )
      } else if (reason._tag === "Raised") {
        exit = Exit.fail(reason.error)
      } else {
        exit = Exit.fail(
          new ActorError.ContextCancelled({
            actor: link.peer,
            canceller: reason.canceller,
            message: `${entry.protocol}.${entry.name} in ${format(link.peer)} was cancelled by ${format(reason.canceller)}`
          })
        )
      }
    }
    ended(entry, exit)
    if (entry.onAck !== undefined) entry.onAck(exit)
    else entry.resume(exit)
  }

  failCall(id: number, make: (protocol: string, fn: string) => ActorError.ActorError): boolean {
    const entry = this.pending.get(id)
    if (entry === undefined) return false
    this.pending.delete(id)
    const exit = Exit.fail(make(entry.protocol, entry.name))
    ended(entry, exit)
    ;(entry.onAck ?? entry.resume)(exit)
    return true
  }

  closeAll(error: ActorError.TransportClosed): void {
    for (const entry of this.pending.values()) {
      ended(entry, Exit.fail(error))
      if (entry.onAck !== undefined) entry.onAck(Exit.void)
      else entry.resume(Exit.fail(error))
    }
    this.pending.clear()
  }
}
