/**
 * A portal: the typed client of one running actor. Every call is an `Effect`.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import type * as Stream from "effect/Stream"
import type * as Actor from "./Actor.js"
import { ProtocolTypeId } from "./Actor.js"
import type * as ActorError from "./ActorError.js"
import type * as Supervision from "./Supervision.js"
import * as internalNursery from "./internal/nursery.js"
import * as internal from "./internal/portal.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId as any

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A connection to a running actor, returned by `Nursery.spawn`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Portal {
  readonly [TypeId]: TypeId
  /** The actor behind this portal. */
  readonly actor: Actor.ActorId
}

/**
 * Whether a value is a portal.
 *
 * @example
 * ```ts
 * import * as Portal from "effect-tractor/Portal"
 *
 * Portal.isPortal({}) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isPortal = (u: unknown): u is Portal => Predicate.hasProperty(u, TypeId)

const impl = (portal: Portal) => portal as unknown as internal.PortalImpl

/**
 * Calls a function of a protocol the actor serves. Interrupting the call interrupts the remote
 * handler and waits (bounded by `cancelAckTimeout`) for its acknowledgement.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Portal from "effect-tractor/Portal"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * declare const portal: Portal.Portal
 * const seven = Portal.call(portal, Primes.isPrime, 7) // Effect<boolean, ActorError>
 * ```
 * @since 0.1.0
 * @category calls
 */
export const call: {
  <F extends Actor.Fn.Any>(
    fn: F,
    payload: Actor.Fn.Payload<F>
  ): (self: Portal) => Effect.Effect<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError>
  <F extends Actor.Fn.Any>(
    self: Portal,
    fn: F,
    payload: Actor.Fn.Payload<F>
  ): Effect.Effect<Actor.Fn.Success<F>, Actor.Fn.Error<F> | ActorError.ActorError>
} = dual(3, (self: Portal, fn: Actor.Fn.Any, payload: unknown) => impl(self).call(fn, payload)) as any

/**
 * Calls a stream function: the actor's elements arrive as a `Stream`. The producer never runs
 * ahead of the consumer by more than `window` elements (credit-based flow control, default 2048),
 * and elements travel in batches of up to 512. Ending the stream early (`take`, interruption, scope close)
 * interrupts the remote producer and runs its finalizers; the actor stays up.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Portal from "effect-tractor/Portal"
 * import * as Schema from "effect/Schema"
 * import * as Stream from "effect/Stream"
 *
 * const Counter = Actor.protocol("Counter", { count: Actor.stream({ payload: Schema.Number, element: Schema.Number }) })
 * declare const portal: Portal.Portal
 * const firstTen = Portal.stream(portal, Counter.count, 1_000_000).pipe(Stream.take(10), Stream.runCollect)
 * ```
 * @since 0.1.0
 * @category calls
 */
export const stream = <F extends Actor.StreamFn.Any>(
  self: Portal,
  fn: F,
  payload: Actor.Fn.Payload<F>,
  options?: { readonly window?: number | undefined }
): Stream.Stream<Actor.StreamFn.Element<F>, Actor.Fn.Error<F> | ActorError.ActorError> =>
  impl(self).stream(fn, payload, options?.window) as any

/**
 * Opens a dialog (tractor's `open_context`) and runs `body` with it. The dialog waits for the
 * child's `started` value; inside, `openStream` gives the two-way stream and `result` the child's
 * return value. When the body ends, the dialog waits for the child's result.
 *
 * **Details**
 *
 * - An error on either side reaches the other as that error and interrupts its work in the dialog.
 *   The original error always wins over the cancel it causes.
 * - `dialog.cancel` cancels the child's side; the `ContextCancelled` that comes back is absorbed at
 *   the end of the dialog because this side asked for it. A cancel by the child itself, by a third
 *   actor or through `cancelActor` is raised.
 * - Interrupting the dialog cancels the child's side and waits (bounded) for its acknowledgement.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Portal from "effect-tractor/Portal"
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 * import * as Stream from "effect/Stream"
 *
 * const Ping = Actor.protocol("Ping", {
 *   pingPong: Actor.dialog({ payload: Schema.Number, started: Schema.Number, parentSends: Schema.String, childSends: Schema.String })
 * })
 * declare const portal: Portal.Portal
 * const program = Portal.openDialog(portal, Ping.pingPong, 10, (dialog) =>
 *   Effect.gen(function*() {
 *     const stream = yield* dialog.openStream()
 *     yield* stream.send("ping")
 *     const pong = yield* Stream.runHead(stream.receive)
 *     yield* stream.close
 *   })
 * )
 * ```
 * @since 0.1.0
 * @category calls
 */
export const openDialog = <F extends Actor.DialogFn.Any, A, E, R>(
  self: Portal,
  fn: F,
  payload: Actor.Fn.Payload<F>,
  body: (
    dialog: Actor.DialogHandle<
      Actor.DialogFn.Started<F>,
      Actor.DialogFn.ParentSends<F>,
      Actor.DialogFn.ChildSends<F>,
      Actor.DialogFn.Result<F>,
      Actor.Fn.Error<F>
    >
  ) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | Actor.Fn.Error<F> | ActorError.ActorError, R> =>
  impl(self).dialog(fn, payload, body as any) as any

/**
 * The typed client of a protocol on this actor: one method per function.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Portal from "effect-tractor/Portal"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * declare const portal: Portal.Portal
 * const primes = Portal.client(portal, Primes)
 * const seven = primes.isPrime(7)
 * ```
 * @since 0.1.0
 * @category calls
 */
export const client: {
  <P extends Actor.Protocol.Any>(protocol: P): (self: Portal) => Actor.Client<Actor.Protocol.Fns<P>>
  <P extends Actor.Protocol.Any>(self: Portal, protocol: P): Actor.Client<Actor.Protocol.Fns<P>>
} = dual(2, (self: Portal, protocol: Actor.Protocol.Any) => impl(self).client(protocol)) as any

/**
 * Asks the actor to cancel itself: it interrupts every call, runs its finalizers, acknowledges and
 * exits. Fails with `ActorTooSlow` when no acknowledgement arrives in time (default 0.5 s); the
 * nursery's teardown then escalates to signals.
 *
 * @example
 * ```ts
 * import * as Portal from "effect-tractor/Portal"
 *
 * declare const portal: Portal.Portal
 * const stop = Portal.cancelActor(portal, { timeout: "1 second" })
 * ```
 * @since 0.1.0
 * @category lifecycle
 */
export const cancelActor = (
  self: Portal,
  options?: { readonly timeout?: Duration.DurationInput | undefined }
): Effect.Effect<void, ActorError.ActorTooSlow> =>
  impl(self).cancelActor(
    options?.timeout === undefined ? undefined : Duration.toMillis(Duration.decode(options.timeout))
  )

/**
 * Waits until the actor behind the portal is gone and completes with how it ended (OTP's
 * `monitor`, Akka's `watch`): for a child, its exit code or signal; for an actor found by name,
 * the end of the connection. A portal to a supervised child watches its current incarnation.
 *
 * @example
 * ```ts
 * import * as Portal from "effect-tractor/Portal"
 * import * as Effect from "effect/Effect"
 *
 * declare const portal: Portal.Portal
 * const report = Effect.map(Portal.awaitExit(portal), (exit) => `${exit.actor.name}: ${exit.reason}`)
 * ```
 * @since 0.1.0
 * @category lifecycle
 */
export const awaitExit = (self: Portal): Effect.Effect<Actor.ActorExit> => impl(self).awaitExit()

/**
 * A layer that spawns an actor serving `protocol` and provides its typed client as the protocol's
 * service, so application code can `yield* Primes`. The actor lives as long as the layer. With a
 * `supervision` policy (and a `restart` type, `permanent` by default) the actor is supervised: it
 * is restarted when it crashes and the client reaches whichever incarnation is current. Layers
 * compose into a tree of services; as with any layer, one value is built once however many
 * layers use it.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Portal from "effect-tractor/Portal"
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 *
 * const Primes = Actor.protocol("Primes", { isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean }) })
 * const PrimesLive = Portal.layer(Primes, { modules: [new URL("./primes.js", import.meta.url)] })
 * const program = Effect.flatMap(Primes, (primes) => primes.isPrime(7))
 * const runnable = Effect.provide(program, PrimesLive)
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = <P extends Actor.Protocol.Any>(
  protocol: P,
  options: internalNursery.SpawnOptions & {
    readonly name?: string | undefined
    readonly supervision?: Supervision.Policy | undefined
  }
): Layer.Layer<Actor.Service<Actor.Protocol.Name<P>>, ActorError.SpawnError> =>
  Layer.scoped(
    protocol as unknown as Context.Tag<Actor.Service<Actor.Protocol.Name<P>>, unknown>,
    Effect.gen(function*() {
      const nursery = yield* internalNursery.make(options)
      const portal = yield* internalNursery.spawn(nursery, options.name ?? protocol[ProtocolTypeId].name, options)
      return portal.client(protocol)
    })
  )
