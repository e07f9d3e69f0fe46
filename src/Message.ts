/**
 * The wire protocol: every message kind two actors exchange, as one `Schema` union.
 *
 * **Details**
 *
 * A frame is one message as JSON on one line (newline-delimited, no newline can occur inside JSON
 * text). Frames travel over a dedicated socket pair between parent and child (fd 3 in the child),
 * or over a Unix socket between peers, and a sender batches all frames of one event-loop tick into
 * one write. Calls are multiplexed by
 * `id` (unique per connection and direction). A dialog per call:
 *
 * - boot: child `Ready` (or `BootFailed`), once;
 * - between peers (an actor found by name): `Hello` both ways first, the connecting side first;
 *   over TCP (always TLS 1.3 with the tree's key) both sides send `Tick`s while the link is open;
 * - call: caller `Call` -> callee `Success` | `Failure` (exactly one);
 * - cancel one call: caller `Interrupt` -> callee ends the handler and answers the call with
 *   `Failure(Interrupted)` (or its real outcome if it finished first): the answer is the ack;
 * - cancel the actor: `Cancel` -> callee says `Cancelling` at once, ends every call, runs its
 *   finalizers, answers `CancelAck` and exits. A `CancelAck` nobody asked for announces a self-cancel.
 * - server stream: `Call` + `Credit` -> `Yield`* -> `Success` | `Failure`; the callee never has more
 *   elements in flight than the caller granted (`Credit`), and a `Yield` carries a batch.
 * - dialog: `Call` -> `Started` (or `Failure`) -> `Yield`/`Credit`/`Stop` both ways -> `Success` |
 *   `Failure`. A caller whose own side failed sends `Abort` with its error.
 *
 * Ids are odd for calls the parent starts and even for calls the child starts, so every message
 * about a call names it unambiguously in both directions.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ActorErrorSchema } from "./ActorError.js"
import { ActorId } from "./internal/actorId.js"

const CallId = Schema.Number

/**
 * Both ways, first on a connection between peers (not on a parent's link to its child): who is at
 * this end. The side that connected sends it and waits for the other's before anything else.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const hello = Message.Hello.make({ actor: { name: "a", uid: "u", pid: 1 }, version: 1 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Hello = Schema.TaggedStruct("Hello", { actor: ActorId, version: Schema.Number })

/**
 * Either way, on TCP connections between peers, a few times per tick period: the sender is alive.
 * A peer that sends nothing for the whole period is declared down.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const tick = Message.Tick.make({})
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Tick = Schema.TaggedStruct("Tick", {})

/**
 * Child -> parent, once: the actor is up and serves these protocols, reachable by peers at
 * `addresses` (an actor that serves nothing has none).
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const ready: typeof Message.Ready.Type = {
 *   _tag: "Ready",
 *   actor: { name: "a", uid: "u", pid: 1 },
 *   protocols: ["Primes"],
 *   addresses: ["unix:/run/user/1000/effect-tractor/u.sock"]
 * }
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Ready = Schema.TaggedStruct("Ready", {
  actor: ActorId,
  protocols: Schema.Array(Schema.String),
  addresses: Schema.optional(Schema.Array(Schema.String))
})

/**
 * Child -> parent, instead of `Ready`: an enabled module failed to import (`phase` absent), or the
 * services of an implementation it exports could not be built (`phase: "services"`: its layer, or
 * the Effect building its handlers, failed).
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const failed = Message.BootFailed.make({ module: "./m.ts", message: "boom" })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const BootFailed = Schema.TaggedStruct("BootFailed", {
  module: Schema.String,
  message: Schema.String,
  stack: Schema.optional(Schema.String),
  phase: Schema.optional(Schema.Literal("services"))
})

/**
 * The trace context of a call made inside a span: `[traceId, spanId, sampled]` of the caller's
 * client span. The actor runs the handler in a server span whose parent it is.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 * import * as Schema from "effect/Schema"
 *
 * const trace = Schema.decodeUnknownSync(Message.TraceContext)(["4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true])
 * ```
 * @since 0.1.0
 * @category messages
 */
export const TraceContext = Schema.Tuple(Schema.String, Schema.String, Schema.Boolean)

/**
 * Caller -> callee: run `protocol.fn(payload)` as a new task (`trace`: made inside a span).
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const call = Message.Call.make({ id: 1, protocol: "Primes", fn: "isPrime", payload: 7 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Call = Schema.TaggedStruct("Call", {
  id: CallId,
  protocol: Schema.String,
  fn: Schema.String,
  payload: Schema.Unknown,
  trace: Schema.optional(TraceContext)
})

/**
 * Callee -> caller: the call succeeded with `value` (encoded with the function's success schema).
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const ok = Message.Success.make({ id: 1, value: true })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Success = Schema.TaggedStruct("Success", { id: CallId, value: Schema.Unknown })

/**
 * Why a call failed: its declared error (encoded with the function's error schema), an error of
 * the `ActorError` module (undeclared failures arrive boxed as `RemoteActorError`), or an
 * interruption together with who asked for it.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const declared: typeof Message.FailureReason.Encoded = { _tag: "Declared", value: { _tag: "NotFound" } }
 * ```
 * @since 0.1.0
 * @category messages
 */
export const FailureReason = Schema.Union(
  Schema.TaggedStruct("Declared", { value: Schema.Unknown }),
  Schema.TaggedStruct("Raised", { error: ActorErrorSchema }),
  Schema.TaggedStruct("Interrupted", { canceller: ActorId })
)

/**
 * Callee -> caller: the call failed.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const failed: typeof Message.Failure.Encoded = {
 *   _tag: "Failure",
 *   id: 1,
 *   reason: { _tag: "Interrupted", canceller: { name: "root", uid: "u", pid: 1 } }
 * }
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Failure = Schema.TaggedStruct("Failure", { id: CallId, reason: FailureReason })

/**
 * Caller -> callee: interrupt the handler of call `id`. Its answer (`Failure(Interrupted)`, or the
 * real outcome if it won the race) is the acknowledgement.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const stop = Message.Interrupt.make({ id: 1 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Interrupt = Schema.TaggedStruct("Interrupt", { id: CallId })

/**
 * Parent -> child: cancel the whole actor (every call, its nurseries, its finalizers), then exit.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const cancel = Message.Cancel.make({ canceller: { name: "root", uid: "u", pid: 1 } })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Cancel = Schema.TaggedStruct("Cancel", { canceller: ActorId })

/**
 * Child -> parent, at once when a cancel begins (asked for, or its own): the actor heard it and is
 * running its finalizers. An actor that never says so within the grace period is stuck in
 * synchronous code, and its parent's teardown goes straight to SIGKILL.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const heard = Message.Cancelling.make({ canceller: { name: "root", uid: "u", pid: 1 } })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Cancelling = Schema.TaggedStruct("Cancelling", { canceller: ActorId })

/**
 * Child -> parent: the actor finished cancelling (asked by `canceller`) and is exiting.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const ack = Message.CancelAck.make({ canceller: { name: "root", uid: "u", pid: 1 } })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const CancelAck = Schema.TaggedStruct("CancelAck", { canceller: ActorId })

/**
 * Callee -> caller, once per dialog: the callee's first value (tractor's `started`).
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const started = Message.Started.make({ id: 1, value: 11 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Started = Schema.TaggedStruct("Started", { id: CallId, value: Schema.Unknown })

/**
 * Either way: a batch of stream elements of call `id`, each encoded with its element schema.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const batch = Message.Yield.make({ id: 1, values: [1, 2, 3] })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Yield = Schema.TaggedStruct("Yield", { id: CallId, values: Schema.Array(Schema.Unknown) })

/**
 * Either way: the sender closed its stream of call `id` (a graceful end, not a cancel).
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const stop = Message.Stop.make({ id: 1 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Stop = Schema.TaggedStruct("Stop", { id: CallId })

/**
 * Either way: the receiver of a stream of call `id` can take `n` more elements.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const credit = Message.Credit.make({ id: 1, n: 64 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Credit = Schema.TaggedStruct("Credit", { id: CallId, n: Schema.Number })

/**
 * Caller -> callee: the caller's side of dialog `id` failed with `error`; the callee's work in the
 * dialog is interrupted.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * declare const error: ActorError.RemoteActorError
 * const abort = Message.Abort.make({ id: 1, error })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Abort = Schema.TaggedStruct("Abort", { id: CallId, error: ActorErrorSchema })

/**
 * Child -> parent: one log entry of the child (or, relayed, of an actor below it), for the root's
 * logger. `message` is the logged values as JSON; `annotations` include the actor's `name@pid`;
 * `spans` are the log spans as `[label, startMillis]`; `cause`, when there is one, is rendered.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 *
 * const entry = Message.Log.make({
 *   level: "INFO",
 *   message: ["working"],
 *   annotations: { actor: "worker@4242" },
 *   spans: [],
 *   fiber: "#12",
 *   date: Date.now()
 * })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Log = Schema.TaggedStruct("Log", {
  level: Schema.String,
  message: Schema.Array(Schema.Unknown),
  annotations: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  spans: Schema.Array(Schema.Tuple(Schema.String, Schema.Number)),
  fiber: Schema.String,
  date: Schema.Number,
  cause: Schema.optional(Schema.String)
})

/**
 * Every message kind.
 *
 * @example
 * ```ts
 * import * as Message from "effect-tractor/Message"
 * import * as Schema from "effect/Schema"
 *
 * const decode = Schema.decodeUnknownEither(Message.Message)
 * decode({ _tag: "Interrupt", id: 3 })
 * ```
 * @since 0.1.0
 * @category messages
 */
export const Message = Schema.Union(
  Hello,
  Tick,
  Ready,
  BootFailed,
  Call,
  Success,
  Failure,
  Interrupt,
  Cancel,
  Cancelling,
  CancelAck,
  Started,
  Yield,
  Stop,
  Credit,
  Abort,
  Log
)

/**
 * @since 0.1.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Encoded = typeof Message.Encoded
