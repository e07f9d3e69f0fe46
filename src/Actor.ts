/**
 * Actors: their identity, the `CurrentActor` service, and protocols declared once with `Schema`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Scope from "effect/Scope"
import type * as ActorError from "./ActorError.js"
import type * as Supervision from "./Supervision.js"
import * as Ids from "./internal/actorId.js"
import { jsonProblem } from "./internal/jsonSafe.js"

/**
 * The identity of an actor: its name (not unique), a unique id and its process id.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 *
 * const id: Actor.ActorId = { name: "worker_0", uid: "k2x9", pid: 4242 }
 * ```
 * @since 0.1.0
 * @category models
 */
export const ActorId: Schema.Schema<Ids.ActorId, Ids.ActorId> = Ids.ActorId

/**
 * @since 0.1.0
 * @category models
 */
export type ActorId = Ids.ActorId

/**
 * How an actor process ended, as its parent saw it: the exit code or the signal, whether the exit
 * was asked for (a cancel, a teardown, or the actor cancelling itself), and a sentence for logs.
 * `Portal.awaitExit` completes with it; supervision events carry it.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 *
 * const crashed = (exit: Actor.ActorExit) => !exit.expected && exit.code !== 0
 * ```
 * @since 0.1.0
 * @category models
 */
export const ActorExit: Schema.Schema<Ids.ActorExit, Ids.ActorExit> = Ids.ActorExit

/**
 * @since 0.1.0
 * @category models
 */
export type ActorExit = Ids.ActorExit

/**
 * Renders an actor id as `name@pid`, the way process titles and logs show it.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 *
 * Actor.format({ name: "worker_0", uid: "k2x9", pid: 4242 }) // "worker_0@4242"
 * ```
 * @since 0.1.0
 * @category utils
 */
export const format: (id: ActorId) => string = Ids.format

/**
 * The actor the current code runs in: its id, its parent, its lifetime scope and a way to cancel
 * itself. Every handler can use it; finalizers added to `scope` run when the actor ends, whether by
 * error, by cancellation or by cancelling itself.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Effect from "effect/Effect"
 *
 * const whoAmI = Effect.map(Actor.CurrentActor, (self) => Actor.format(self.id))
 * ```
 * @since 0.1.0
 * @category services
 */
export class CurrentActor extends Context.Tag("effect-tractor/CurrentActor")<CurrentActor, {
  readonly id: ActorId
  readonly parent: ActorId | undefined
  readonly scope: Scope.Scope
  readonly cancel: Effect.Effect<void>
}>() {}

/**
 * Adds a finalizer to the lifetime of the current actor (tractor's lifetime stack).
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Effect from "effect/Effect"
 *
 * const handler = Actor.addFinalizer(() => Effect.log("actor ends"))
 * ```
 * @since 0.1.0
 * @category services
 */
export const addFinalizer = (
  finalizer: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
): Effect.Effect<void, never, CurrentActor> =>
  Effect.flatMap(CurrentActor, (self) => Scope.addFinalizerExit(self.scope, finalizer))

/**
 * Cancels the current actor: every running call is interrupted, finalizers run, the parent is told
 * and the process exits.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 *
 * const quit = Actor.cancelSelf
 * ```
 * @since 0.1.0
 * @category services
 */
export const cancelSelf: Effect.Effect<void, never, CurrentActor> = Effect.flatMap(CurrentActor, (self) => self.cancel)

// -----------------------------------------------------------------------------
// protocols
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category type ids
 */
export const FnTypeId: unique symbol = Symbol.for("effect-tractor/Actor/Fn")

/**
 * @since 0.1.0
 * @category type ids
 */
export type FnTypeId = typeof FnTypeId

/**
 * Any schema without requirements (including `Schema.Never` and `Schema.Void`).
 *
 * @since 0.1.0
 * @category models
 */
export type AnySchema =
  | Schema.Schema<any, any, never>
  | Schema.Schema<never, never, never>
  | Schema.Schema<any, never, never>
  | Schema.Schema<never, any, never>

/**
 * A request/response function of a protocol, before it is bound to a protocol name.
 *
 * @since 0.1.0
 * @category models
 */
export interface FnSpec<
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema
> {
  readonly kind: "fn"
  readonly payload: Payload
  readonly success: Success
  readonly error: Error
}

/**
 * @since 0.1.0
 */
export declare namespace FnSpec {
  /**
   * @since 0.1.0
   */
  export type Any = FnSpec<AnySchema, AnySchema, AnySchema>
}

/**
 * A server-stream function: one payload in, a stream of elements out.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamSpec<
  Payload extends AnySchema,
  Element extends AnySchema,
  Error extends AnySchema
> {
  readonly kind: "stream"
  readonly payload: Payload
  readonly element: Element
  readonly error: Error
}

/**
 * @since 0.1.0
 */
export declare namespace StreamSpec {
  /**
   * @since 0.1.0
   */
  export type Any = StreamSpec<AnySchema, AnySchema, AnySchema>
}

/**
 * A dialog (tractor's context): a payload in, a `started` value out, then elements both ways
 * (`parentSends`, `childSends`) and a final `result` or `error`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DialogSpec<
  Payload extends AnySchema,
  Started extends AnySchema,
  ParentSends extends AnySchema,
  ChildSends extends AnySchema,
  Result extends AnySchema,
  Error extends AnySchema
> {
  readonly kind: "dialog"
  readonly payload: Payload
  readonly started: Started
  readonly parentSends: ParentSends
  readonly childSends: ChildSends
  readonly result: Result
  readonly error: Error
}

/**
 * @since 0.1.0
 */
export declare namespace DialogSpec {
  /**
   * @since 0.1.0
   */
  export type Any = DialogSpec<AnySchema, AnySchema, AnySchema, AnySchema, AnySchema, AnySchema>
}

/**
 * Any function declaration of a protocol.
 *
 * @since 0.1.0
 * @category models
 */
export type AnySpec = FnSpec.Any | StreamSpec.Any | DialogSpec.Any

/**
 * What binding a function to its protocol adds: the protocol's name and the function's. Exported
 * so that a value whose type mentions a protocol's functions (a cluster entity, a client) can be
 * exported from a module that emits declarations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bound<Protocol extends string, Name extends string> {
  readonly [FnTypeId]: FnTypeId
  readonly protocol: Protocol
  readonly name: Name
}

/**
 * A request/response function bound to its protocol: `portal.call(Primes.isPrime, 7)` uses it
 * as a typed reference.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fn<
  Protocol extends string,
  Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema
> extends FnSpec<Payload, Success, Error>, Bound<Protocol, Name> {}

/**
 * @since 0.1.0
 */
export declare namespace Fn {
  /**
   * @since 0.1.0
   */
  export type Any = Fn<string, string, AnySchema, AnySchema, AnySchema>
  /**
   * @since 0.1.0
   */
  export type Payload<F> = F extends { readonly payload: infer P extends AnySchema } ? Schema.Schema.Type<P> : never
  /**
   * @since 0.1.0
   */
  export type Success<F> = F extends FnSpec<infer _P, infer S, infer _E> ? Schema.Schema.Type<S> : never
  /**
   * @since 0.1.0
   */
  export type Error<F> = F extends { readonly error: infer E extends AnySchema } ? Schema.Schema.Type<E> : never
}

/**
 * A server-stream function bound to its protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamFn<
  Protocol extends string,
  Name extends string,
  Payload extends AnySchema,
  Element extends AnySchema,
  Error extends AnySchema
> extends StreamSpec<Payload, Element, Error>, Bound<Protocol, Name> {}

/**
 * @since 0.1.0
 */
export declare namespace StreamFn {
  /**
   * @since 0.1.0
   */
  export type Any = StreamFn<string, string, AnySchema, AnySchema, AnySchema>
  /**
   * @since 0.1.0
   */
  export type Element<F> = F extends StreamSpec<infer _P, infer A, infer _E> ? Schema.Schema.Type<A> : never
}

/**
 * A dialog bound to its protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface DialogFn<
  Protocol extends string,
  Name extends string,
  Payload extends AnySchema,
  Started extends AnySchema,
  ParentSends extends AnySchema,
  ChildSends extends AnySchema,
  Result extends AnySchema,
  Error extends AnySchema
> extends DialogSpec<Payload, Started, ParentSends, ChildSends, Result, Error>, Bound<Protocol, Name> {}

/**
 * @since 0.1.0
 */
export declare namespace DialogFn {
  /**
   * @since 0.1.0
   */
  export type Any = DialogFn<string, string, AnySchema, AnySchema, AnySchema, AnySchema, AnySchema, AnySchema>
  /**
   * @since 0.1.0
   */
  export type Started<F> = F extends { readonly kind: "dialog"; readonly started: infer S extends AnySchema } ?
    Schema.Schema.Type<S>
    : never
  /**
   * @since 0.1.0
   */
  export type ParentSends<F> = F extends { readonly kind: "dialog"; readonly parentSends: infer S extends AnySchema } ?
    Schema.Schema.Type<S>
    : never
  /**
   * @since 0.1.0
   */
  export type ChildSends<F> = F extends { readonly kind: "dialog"; readonly childSends: infer S extends AnySchema } ?
    Schema.Schema.Type<S>
    : never
  /**
   * @since 0.1.0
   */
  export type Result<F> = F extends { readonly kind: "dialog"; readonly result: infer S extends AnySchema } ?
    Schema.Schema.Type<S>
    : never
}

/**
 * Declares a request/response function: schemas for its payload, success and declared error
 * (each optional: `Void`, `Void` and `Never` by default).
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Schema from "effect/Schema"
 *
 * const isPrime = Actor.fn({ payload: Schema.Number, success: Schema.Boolean })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const fn = <
  Payload extends AnySchema = typeof Schema.Void,
  Success extends AnySchema = typeof Schema.Void,
  Error extends AnySchema = typeof Schema.Never
>(options: {
  readonly payload?: Payload | undefined
  readonly success?: Success | undefined
  readonly error?: Error | undefined
}): FnSpec<NoInfer<Payload>, NoInfer<Success>, NoInfer<Error>> => ({
  kind: "fn",
  payload: (options.payload ?? Schema.Void) as Payload,
  success: (options.success ?? Schema.Void) as Success,
  error: (options.error ?? Schema.Never) as Error
})

/**
 * Declares a server-stream function: a payload in, a stream of `element`s out, with credit-based
 * backpressure on the wire.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Schema from "effect/Schema"
 *
 * const count = Actor.stream({ payload: Schema.Number, element: Schema.Number })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const stream = <
  Element extends AnySchema,
  Payload extends AnySchema = typeof Schema.Void,
  Error extends AnySchema = typeof Schema.Never
>(options: {
  readonly payload?: Payload | undefined
  readonly element: Element
  readonly error?: Error | undefined
}): StreamSpec<NoInfer<Payload>, NoInfer<Element>, NoInfer<Error>> => ({
  kind: "stream",
  payload: (options.payload ?? Schema.Void) as Payload,
  element: options.element,
  error: (options.error ?? Schema.Never) as Error
})

/**
 * Declares a dialog: a payload, the `started` value, what each side sends, the result and the
 * declared error (all optional but the ones you use: `Void`, or `Never` for the error).
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Schema from "effect/Schema"
 *
 * const pingPong = Actor.dialog({
 *   payload: Schema.Number,
 *   started: Schema.Number,
 *   parentSends: Schema.String,
 *   childSends: Schema.String,
 *   result: Schema.String
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const dialog = <
  Payload extends AnySchema = typeof Schema.Void,
  Started extends AnySchema = typeof Schema.Void,
  ParentSends extends AnySchema = typeof Schema.Never,
  ChildSends extends AnySchema = typeof Schema.Never,
  Result extends AnySchema = typeof Schema.Void,
  Error extends AnySchema = typeof Schema.Never
>(options: {
  readonly payload?: Payload | undefined
  readonly started?: Started | undefined
  readonly parentSends?: ParentSends | undefined
  readonly childSends?: ChildSends | undefined
  readonly result?: Result | undefined
  readonly error?: Error | undefined
}): DialogSpec<
  NoInfer<Payload>,
  NoInfer<Started>,
  NoInfer<ParentSends>,
  NoInfer<ChildSends>,
  NoInfer<Result>,
  NoInfer<Error>
> => ({
  kind: "dialog",
  payload: (options.payload ?? Schema.Void) as Payload,
  started: (options.started ?? Schema.Void) as Started,
  parentSends: (options.parentSends ?? Schema.Never) as ParentSends,
  childSends: (options.childSends ?? Schema.Never) as ChildSends,
  result: (options.result ?? Schema.Void) as Result,
  error: (options.error ?? Schema.Never) as Error
})

/**
 * @since 0.1.0
 * @category type ids
 */
export const ProtocolTypeId: unique symbol = Symbol.for("effect-tractor/Actor/Protocol")

/**
 * @since 0.1.0
 * @category type ids
 */
export type ProtocolTypeId = typeof ProtocolTypeId

/**
 * The service identifier of a protocol when it is provided through a `Layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service<Name extends string> {
  readonly [ProtocolTypeId]: Name
}

/**
 * What a dialog's body gets on the parent side: the `started` value, the two-way stream, the
 * child's result and a way to cancel the child's side.
 *
 * @since 0.1.0
 * @category models
 */
export interface DialogHandle<Started, ParentSends, ChildSends, Result, E> {
  /** The child's `started` value. */
  readonly started: Started
  /** Opens the one two-way stream of this dialog (the child must open its side to receive). */
  readonly openStream: (
    options?: MsgStreamOptions
  ) => Effect.Effect<MsgStream<ParentSends, ChildSends, E>, ActorError.DialogMisuse>
  /** Waits for the child's return value (or its error). */
  readonly result: Effect.Effect<Result, E | ActorError.ActorError>
  /** Cancels the child's side; the resulting `ContextCancelled` is absorbed at the dialog's end. */
  readonly cancel: Effect.Effect<void>
}

/**
 * Options of a dialog stream: the receive window (credit granted to the peer, default 2048) and
 * what `send` does when the peer has no room left: wait (`"backpressure"`, the default), fail with
 * `StreamOverrun` (`"fail"`), or drop the oldest unsent element (`"dropOldest"`, which holds at most
 * `window` unsent elements).
 *
 * @since 0.1.0
 * @category models
 */
export interface MsgStreamOptions {
  readonly window?: number | undefined
  readonly overrun?: "backpressure" | "fail" | "dropOldest" | undefined
}

/**
 * One side of a two-way stream (tractor's `MsgStream`): `send` elements, `receive` the peer's as a
 * `Stream`, `close` (the peer's receive ends; this is not a cancel).
 *
 * @since 0.1.0
 * @category models
 */
export interface MsgStream<Out, In, E = never> {
  /** Sends one element; waits for room, or fails as the overrun policy says; fails once the dialog ended. */
  readonly send: (value: Out) => Effect.Effect<void, E | ActorError.ActorError | ActorError.DialogMisuse>
  readonly sendAll: (values: Iterable<Out>) => Effect.Effect<void, E | ActorError.ActorError | ActorError.DialogMisuse>
  /** The peer's elements; ends when the peer closes its side, fails with the dialog's failure. */
  readonly receive: Stream.Stream<In, E | ActorError.ActorError>
  readonly close: Effect.Effect<void>
}

/**
 * The child side of a dialog (tractor's `Context`): report `started` once, then open the one
 * two-way stream; `cancel` ends this side (the parent sees `ContextCancelled` naming this actor).
 *
 * @since 0.1.0
 * @category models
 */
export interface ActorContext<Started, ChildSends, ParentSends> {
  readonly started: (value: Started) => Effect.Effect<void, ActorError.DialogMisuse | ActorError.MsgTypeError>
  readonly openStream: (
    options?: MsgStreamOptions
  ) => Effect.Effect<MsgStream<ChildSends, ParentSends>, ActorError.DialogMisuse>
  readonly cancel: Effect.Effect<never>
}

/**
 * The typed client of a protocol: one method per function. Request/response functions return an
 * `Effect`, stream functions a `Stream`, dialogs run a body with the dialog open.
 *
 * @since 0.1.0
 * @category models
 */
export type Client<Fns extends Record<string, AnySpec>> = {
  readonly [K in keyof Fns]: Fns[K] extends FnSpec.Any ? (
      payload: Fn.Payload<Fns[K]>
    ) => Effect.Effect<Fn.Success<Fns[K]>, Fn.Error<Fns[K]> | ActorError.ActorError>
    : Fns[K] extends StreamSpec.Any ? (
        payload: Fn.Payload<Fns[K]>
      ) => Stream.Stream<StreamFn.Element<Fns[K]>, Fn.Error<Fns[K]> | ActorError.ActorError>
    : Fns[K] extends DialogSpec.Any ? <A, E, R>(
        payload: Fn.Payload<Fns[K]>,
        body: (
          dialog: DialogHandle<
            DialogFn.Started<Fns[K]>,
            DialogFn.ParentSends<Fns[K]>,
            DialogFn.ChildSends<Fns[K]>,
            DialogFn.Result<Fns[K]>,
            Fn.Error<Fns[K]>
          >
        ) => Effect.Effect<A, E, R>
      ) => Effect.Effect<A, E | Fn.Error<Fns[K]> | ActorError.ActorError, R>
    : never
}

type BindSpec<Name extends string, K extends string, S> = S extends FnSpec<infer P, infer R, infer E> ? Fn<Name, K, P, R, E>
  : S extends StreamSpec<infer P, infer A, infer E> ? StreamFn<Name, K, P, A, E>
  : S extends DialogSpec<infer P, infer St, infer PS, infer CS, infer R, infer E> ? DialogFn<Name, K, P, St, PS, CS, R, E>
  : never

/**
 * A protocol: a named set of functions. It is at once a record of typed function references
 * (`Primes.isPrime`) and the `Context.Tag` of its client, so `yield* Primes` works where a layer
 * provides it.
 *
 * @since 0.1.0
 * @category models
 */
export type Protocol<Name extends string, Fns extends Record<string, AnySpec>> =
  & Context.Tag<Service<Name>, Client<Fns>>
  & { readonly [K in keyof Fns & string]: BindSpec<Name, K, Fns[K]> }
  & {
    readonly [ProtocolTypeId]: { readonly name: Name; readonly fns: { readonly [K in keyof Fns]: AnySpec & Bound<Name, string> } }
  }

/**
 * @since 0.1.0
 */
export declare namespace Protocol {
  /**
   * @since 0.1.0
   */
  export type Any = Context.Tag<Service<any>, any> & {
    readonly [ProtocolTypeId]: {
      readonly name: string
      readonly fns: { readonly [K: string]: AnySpec & Bound<string, string> }
    }
  }
  /**
   * @since 0.1.0
   */
  export type Fns<P> = P extends Protocol<infer _N, infer F> ? F : never
  /**
   * @since 0.1.0
   */
  export type Name<P> = P extends Protocol<infer N, infer _F> ? N : never
}

const reserved = new Set(["key", "stack", "of", "context", "pipe", "toJSON", "toString", "Service", "Identifier", "_op"])

/**
 * Declares a protocol: a name, unique in the actor tree, and its functions.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Schema from "effect/Schema"
 *
 * export const Primes = Actor.protocol("Primes", {
 *   isPrime: Actor.fn({ payload: Schema.Number, success: Schema.Boolean })
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const protocol = <const Name extends string, const Fns extends Record<string, AnySpec>>(
  name: Name,
  fns: Fns
): Protocol<Name, Fns> => {
  const tag = Context.GenericTag<Service<Name>, Client<Fns>>(`effect-tractor/Protocol/${name}`)
  const bound: Record<string, AnySpec & Bound<Name, string>> = {}
  for (const key of Object.keys(fns)) {
    if (reserved.has(key)) {
      throw new globalThis.Error(`Actor.protocol("${name}"): "${key}" is a reserved name, rename that function`)
    }
    const spec = fns[key]!
    for (const [part, schema] of Object.entries(spec)) {
      if (part === "kind" || !Schema.isSchema(schema)) continue
      const problem = jsonProblem(schema, `the ${part} of ${name}.${key}`)
      if (problem !== undefined) throw new globalThis.Error(`Actor.protocol("${name}"): ${problem}`)
    }
    bound[key] = { ...spec, [FnTypeId]: FnTypeId, protocol: name, name: key }
  }
  return Object.assign(tag, bound, { [ProtocolTypeId]: { name, fns: bound } }) as any
}

/**
 * Whether a value is a protocol.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 *
 * Actor.isProtocol({}) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isProtocol = (u: unknown): u is Protocol.Any => Predicate.hasProperty(u, ProtocolTypeId)

/**
 * The errors a handler may fail with besides its declared error: errors from calls to other
 * actors, from spawning, from a nested nursery that gave up, and from misusing a dialog. They reach the caller boxed as
 * `RemoteActorError`, relay path extended.
 *
 * @since 0.1.0
 * @category models
 */
export type Relayable =
  | ActorError.ActorError
  | ActorError.SpawnError
  | ActorError.DialogMisuse
  | Supervision.RestartIntensityExceeded

/**
 * Handlers for every function of a protocol. Each must return an `Effect` (a `Stream` for stream
 * functions): the runtime needs a fiber it can interrupt when a cancel request arrives, so a plain
 * function is a compile error. Besides `CurrentActor` (and a `Scope` in dialogs), handlers may use
 * the services `R`, which the implementation's layer provides in the actor (`Actor.provide`).
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers<P extends Protocol.Any, R = never> = {
  readonly [K in keyof Protocol.Fns<P>]: Protocol.Fns<P>[K] extends FnSpec.Any ? (
      payload: Fn.Payload<Protocol.Fns<P>[K]>
    ) => Effect.Effect<Fn.Success<Protocol.Fns<P>[K]>, Fn.Error<Protocol.Fns<P>[K]> | Relayable, CurrentActor | R>
    : Protocol.Fns<P>[K] extends StreamSpec.Any ? (
        payload: Fn.Payload<Protocol.Fns<P>[K]>
      ) => Stream.Stream<StreamFn.Element<Protocol.Fns<P>[K]>, Fn.Error<Protocol.Fns<P>[K]> | Relayable, CurrentActor | R>
    : Protocol.Fns<P>[K] extends DialogSpec.Any ? (
        payload: Fn.Payload<Protocol.Fns<P>[K]>,
        context: ActorContext<
          DialogFn.Started<Protocol.Fns<P>[K]>,
          DialogFn.ChildSends<Protocol.Fns<P>[K]>,
          DialogFn.ParentSends<Protocol.Fns<P>[K]>
        >
      ) => Effect.Effect<
        DialogFn.Result<Protocol.Fns<P>[K]>,
        Fn.Error<Protocol.Fns<P>[K]> | Relayable,
        CurrentActor | Scope.Scope | R
      >
    : never
}

/**
 * @since 0.1.0
 */
export declare namespace Handlers {
  /**
   * The services some handlers use, besides those the actor always has (`CurrentActor`, and the
   * `Scope` of a dialog).
   *
   * @since 0.1.0
   */
  export type Context<H> = {
    readonly [K in keyof H]: H[K] extends (...args: ReadonlyArray<any>) => Effect.Effect<any, any, infer R> ? R
      : H[K] extends (...args: ReadonlyArray<any>) => Stream.Stream<any, any, infer R> ? R
      : never
  }[keyof H] extends infer R ? Exclude<R, CurrentActor | Scope.Scope> : never
}

/**
 * @since 0.1.0
 * @category type ids
 */
export const ImplementationTypeId: unique symbol = Symbol.for("effect-tractor/Actor/Implementation")

/**
 * @since 0.1.0
 * @category type ids
 */
export type ImplementationTypeId = typeof ImplementationTypeId

/**
 * A protocol together with its handlers. An actor serves every implementation exported by its
 * enabled modules, and nothing else. `R` is what its handlers still need: export only
 * implementations whose `R` is `never`, giving them a layer with `Actor.provide` where they need
 * services.
 *
 * @since 0.1.0
 * @category models
 */
export interface Implementation<P extends Protocol.Any = Protocol.Any, R = never> extends Pipeable {
  readonly [ImplementationTypeId]: ImplementationTypeId
  readonly protocol: P
  /** the handlers, or the effect that builds them in the actor (after its layer) */
  readonly handlers: Handlers<P, any> | Effect.Effect<Handlers<P, any>, unknown, unknown>
  /** what the actor builds, in its own scope, before it reports ready */
  readonly layer: Layer.Layer<any, unknown, unknown> | undefined
  /** @internal */
  readonly _R?: (_: never) => R
}

/**
 * Implements a protocol. Export the result from a module and enable that module on spawn. The
 * handlers may be given as they are, or as an Effect that builds them once, when the actor starts
 * (it may use the services of the implementation's layer: a database client, `Config`).
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 *
 * const Echo = Actor.protocol("Echo", { echo: Actor.fn({ payload: Schema.String, success: Schema.String }) })
 * export const EchoLive = Actor.serve(Echo, { echo: (text) => Effect.succeed(text) })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const serve: {
  <P extends Protocol.Any, const H extends Handlers<P, any>>(
    protocol: P,
    handlers: H
  ): Implementation<P, Handlers.Context<H>>
  <P extends Protocol.Any, H extends Handlers<P, any>, E, R>(
    protocol: P,
    build: Effect.Effect<H, E, R>
  ): Implementation<P, Handlers.Context<H> | Exclude<R, CurrentActor>>
} = (protocol: Protocol.Any, handlers: unknown): Implementation<any, any> =>
  makeImplementation(protocol, handlers as Implementation["handlers"], undefined)

const ImplementationProto = {
  [ImplementationTypeId]: ImplementationTypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const makeImplementation = (
  protocol: Protocol.Any,
  handlers: Implementation["handlers"],
  layer: Implementation["layer"]
): Implementation<any, any> => Object.assign(Object.create(ImplementationProto), { protocol, handlers, layer })

/**
 * Types handlers against their protocol and returns them as they are: where an Effect builds the
 * handlers, return `Actor.handlers(P, { ... })` and each payload is typed from the protocol.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Effect from "effect/Effect"
 * import * as Ref from "effect/Ref"
 * import * as Schema from "effect/Schema"
 *
 * const Counter = Actor.protocol("Counter", { add: Actor.fn({ payload: Schema.Number, success: Schema.Number }) })
 * export const CounterLive = Actor.serve(
 *   Counter,
 *   Effect.gen(function*() {
 *     const total = yield* Ref.make(0)
 *     return Actor.handlers(Counter, { add: (n) => Ref.updateAndGet(total, (t) => t + n) })
 *   })
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const handlers = <P extends Protocol.Any, const H extends Handlers<P, any>>(_protocol: P, handlers: H): H =>
  handlers

/**
 * Gives an implementation the services its handlers (or the effect building them) use: the actor
 * builds `layer` in its own scope before it reports ready, and closes it when it ends. A layer that
 * fails makes the spawn fail with `SpawnError`. Several calls stack: a later layer may feed an
 * earlier one.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Context from "effect/Context"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Schema from "effect/Schema"
 *
 * class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}
 * const Greeter = Actor.protocol("Greeter", { greet: Actor.fn({ payload: Schema.String, success: Schema.String }) })
 *
 * export const GreeterLive = Actor.serve(Greeter, {
 *   greet: (name) => Effect.map(Greeting, (greeting) => `${greeting}, ${name}`)
 * }).pipe(Actor.provide(Layer.succeed(Greeting, "Hello")))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const provide: {
  <ROut, E, RIn>(
    layer: Layer.Layer<ROut, E, RIn>
  ): <P extends Protocol.Any, R>(self: Implementation<P, R>) => Implementation<P, Exclude<R, ROut> | Exclude<RIn, CurrentActor>>
  <P extends Protocol.Any, R, ROut, E, RIn>(
    self: Implementation<P, R>,
    layer: Layer.Layer<ROut, E, RIn>
  ): Implementation<P, Exclude<R, ROut> | Exclude<RIn, CurrentActor>>
} = dual(
  2,
  (self: Implementation<any, any>, layer: Layer.Layer<any, unknown, unknown>): Implementation<any, any> =>
    // the new layer feeds the one the implementation already had; the actor gets both
    makeImplementation(self.protocol, self.handlers, self.layer === undefined ? layer : Layer.provideMerge(self.layer, layer))
)

/**
 * Whether a value is a protocol implementation.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 *
 * Actor.isImplementation({}) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isImplementation = (u: unknown): u is Implementation => Predicate.hasProperty(u, ImplementationTypeId)
