/**
 * Actors: their identity, the `CurrentActor` service, and protocols declared once with `Schema`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as ActorError from "./ActorError.js"
import * as Ids from "./internal/actorId.js"

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
 * A function of a protocol: its protocol name, its own name, and the schemas of its payload,
 * success and declared error. `portal.call(Primes.isPrime, 7)` uses it as a typed reference.
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
> extends FnSpec<Payload, Success, Error> {
  readonly [FnTypeId]: FnTypeId
  readonly protocol: Protocol
  readonly name: Name
}

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
  export type Payload<F> = F extends FnSpec<infer P, infer _S, infer _E> ? Schema.Schema.Type<P> : never
  /**
   * @since 0.1.0
   */
  export type Success<F> = F extends FnSpec<infer _P, infer S, infer _E> ? Schema.Schema.Type<S> : never
  /**
   * @since 0.1.0
   */
  export type Error<F> = F extends FnSpec<infer _P, infer _S, infer E> ? Schema.Schema.Type<E> : never
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
}): FnSpec<Payload, Success, Error> => ({
  payload: (options.payload ?? Schema.Void) as Payload,
  success: (options.success ?? Schema.Void) as Success,
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
 * The typed client of a protocol: one method per function, each returning an `Effect` that fails
 * with the declared error or an `ActorError`.
 *
 * @since 0.1.0
 * @category models
 */
export type Client<Fns extends Record<string, FnSpec.Any>> = {
  readonly [K in keyof Fns]: (
    payload: Fn.Payload<Fns[K]>
  ) => Effect.Effect<Fn.Success<Fns[K]>, Fn.Error<Fns[K]> | ActorError.ActorError>
}

/**
 * A protocol: a named set of functions. It is at once a record of typed function references
 * (`Primes.isPrime`) and the `Context.Tag` of its client, so `yield* Primes` works where a layer
 * provides it.
 *
 * @since 0.1.0
 * @category models
 */
export type Protocol<Name extends string, Fns extends Record<string, FnSpec.Any>> =
  & Context.Tag<Service<Name>, Client<Fns>>
  & {
    readonly [K in keyof Fns & string]: Fns[K] extends FnSpec<infer P, infer S, infer E> ? Fn<Name, K, P, S, E> : never
  }
  & {
    readonly [ProtocolTypeId]: { readonly name: Name; readonly fns: { readonly [K in keyof Fns]: Fn.Any } }
  }

/**
 * @since 0.1.0
 */
export declare namespace Protocol {
  /**
   * @since 0.1.0
   */
  export type Any = Protocol<string, any>
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
export const protocol = <const Name extends string, const Fns extends Record<string, FnSpec.Any>>(
  name: Name,
  fns: Fns
): Protocol<Name, Fns> => {
  const tag = Context.GenericTag<Service<Name>, Client<Fns>>(`effect-tractor/Protocol/${name}`)
  const bound: Record<string, Fn.Any> = {}
  for (const key of Object.keys(fns)) {
    if (reserved.has(key)) {
      throw new globalThis.Error(`Actor.protocol("${name}"): "${key}" is a reserved name, rename that function`)
    }
    bound[key] = { ...fns[key]!, [FnTypeId]: FnTypeId, protocol: name, name: key }
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
 * actors and from spawning. They reach the caller boxed as `RemoteActorError`, relay path extended.
 *
 * @since 0.1.0
 * @category models
 */
export type Relayable = ActorError.ActorError | ActorError.SpawnError

/**
 * Handlers for every function of a protocol. Each must return an `Effect`: the runtime needs a
 * fiber it can interrupt when a cancel request arrives (a plain function is a compile error).
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers<P extends Protocol.Any> = {
  readonly [K in keyof Protocol.Fns<P>]: (
    payload: Fn.Payload<Protocol.Fns<P>[K]>
  ) => Effect.Effect<Fn.Success<Protocol.Fns<P>[K]>, Fn.Error<Protocol.Fns<P>[K]> | Relayable, CurrentActor>
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
 * enabled modules, and nothing else.
 *
 * @since 0.1.0
 * @category models
 */
export interface Implementation<P extends Protocol.Any = Protocol.Any> {
  readonly [ImplementationTypeId]: ImplementationTypeId
  readonly protocol: P
  readonly handlers: Handlers<P>
}

/**
 * Implements a protocol. Export the result from a module and enable that module on spawn.
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
export const serve = <P extends Protocol.Any>(protocol: P, handlers: Handlers<P>): Implementation<P> => ({
  [ImplementationTypeId]: ImplementationTypeId,
  protocol,
  handlers
})

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
