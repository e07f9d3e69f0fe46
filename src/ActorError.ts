/**
 * Every error that can cross a process boundary, as `Schema.TaggedError`s sharing one TypeId.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { ActorId } from "./internal/actorId.js"
import * as Ids from "./internal/actorId.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-tractor/ActorError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is one of the errors of this module.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * ActorError.isActorError(new Error("x")) // false
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isActorError = (u: unknown): u is ActorError | SpawnError | DialogMisuse => Predicate.hasProperty(u, TypeId)

const relay = (path: ReadonlyArray<ActorId>) => path.map(Ids.format).join(" -> ")

const RemoteActorErrorBase = Schema.TaggedError<RemoteActorError>("effect-tractor/RemoteActorError")(
  "RemoteActorError",
  {
    source: ActorId,
    relayPath: Schema.Array(ActorId),
    errorTag: Schema.String,
    message: Schema.String,
    remoteStack: Schema.optional(Schema.String),
    errors: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<RemoteActorError, any> => RemoteActorError)))
  }
)

/**
 * A failure that happened in another actor and was not declared by the function's error schema:
 * an undeclared error, a defect, or a group of them. It keeps where it came from (`source`), the
 * actors it crossed on the way back (`relayPath`, source first), the original tag or class name, the
 * message and the remote stack.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 * import * as Effect from "effect/Effect"
 *
 * declare const call: Effect.Effect<string, ActorError.RemoteActorError>
 * const handled = Effect.catchTag(call, "RemoteActorError", (e) => Effect.succeed(`${e.errorTag} in ${e.source.name}`))
 * ```
 * @since 0.1.0
 * @category errors
 */
export class RemoteActorError extends RemoteActorErrorBase {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  static is(u: unknown): u is RemoteActorError {
    return u instanceof RemoteActorError
  }
  /** True when the error crossed more than one actor on its way here (tractor's "inception"). @since 0.1.0 */
  get isInception(): boolean {
    return this.relayPath.length > 1
  }
  constructor(...args: ConstructorParameters<typeof RemoteActorErrorBase>) {
    super(...args)
    // what `Cause.pretty`, loggers and the console print: where the error came from and the
    // remote stack, not the frames of the local decoder that rebuilt it
    Object.defineProperty(this, "stack", {
      value: remoteRendering(this),
      writable: true,
      configurable: true,
      enumerable: false
    })
  }
  /** @since 0.1.0 */
  override toString(): string {
    return `RemoteActorError: ${this.errorTag}: ${this.message} (from ${Ids.format(this.source)}, via ${
      relay(this.relayPath)
    })${this.remoteStack ? `\n  remote stack:\n${this.remoteStack}` : ""}`
  }
}

/** the frames of a stack, without its header (which repeats the message, possibly over several lines) */
const framesOf = (stack: string): Array<string> => {
  const lines = stack.split("\n")
  const first = lines.findIndex((line) => /^\s+at /.test(line))
  return first === -1 ? [] : lines.slice(first)
}

const remoteRendering = (e: RemoteActorError): string => {
  const lines = [
    `RemoteActorError: ${e.message}`,
    `    ${e.errorTag} in actor ${Ids.format(e.source)}, relayed via ${relay(e.relayPath)}`
  ]
  if (e.remoteStack !== undefined) lines.push(...framesOf(e.remoteStack))
  for (const inner of e.errors ?? []) {
    lines.push(`    caused by ${inner.errorTag}: ${inner.message.split("\n")[0]}`)
    if (inner.remoteStack !== undefined) lines.push(...framesOf(inner.remoteStack).map((l) => `  ${l}`))
  }
  return lines.join("\n")
}

/**
 * The remote side of a call or dialog was cancelled by someone other than the caller: by the actor
 * itself, by its parent, or by a third actor. `canceller` names who asked.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const who = (e: ActorError.ContextCancelled) => e.canceller.name
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ContextCancelled extends Schema.TaggedError<ContextCancelled>("effect-tractor/ContextCancelled")(
  "ContextCancelled",
  { actor: ActorId, canceller: ActorId, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  static is(u: unknown): u is ContextCancelled {
    return u instanceof ContextCancelled
  }
}

/**
 * The called protocol is not served by the actor: none of its enabled modules implements it.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const hint = (e: ActorError.ModuleNotEnabled) => `enable the module of ${e.protocol}`
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ModuleNotEnabled extends Schema.TaggedError<ModuleNotEnabled>("effect-tractor/ModuleNotEnabled")(
  "ModuleNotEnabled",
  { actor: ActorId, protocol: Schema.String, fn: Schema.String, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * The protocol is served but has no function of that name (the two sides disagree on the protocol).
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const name = (e: ActorError.UnknownFunction) => `${e.protocol}.${e.fn}`
 * ```
 * @since 0.1.0
 * @category errors
 */
export class UnknownFunction extends Schema.TaggedError<UnknownFunction>("effect-tractor/UnknownFunction")(
  "UnknownFunction",
  { actor: ActorId, protocol: Schema.String, fn: Schema.String, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * A message did not match its schema: the payload of a call (`part: "payload"`), a result
 * (`"success"`/`"failure"`), or the envelope itself (`"frame"`). Only that call fails.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const where = (e: ActorError.MsgTypeError) => e.part
 * ```
 * @since 0.1.0
 * @category errors
 */
export class MsgTypeError extends Schema.TaggedError<MsgTypeError>("effect-tractor/MsgTypeError")(
  "MsgTypeError",
  {
    actor: ActorId,
    protocol: Schema.String,
    fn: Schema.String,
    part: Schema.Literal("payload", "success", "failure", "frame"),
    message: Schema.String
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * A message was larger than the configured `maxMessageBytes` and was not sent (or was dropped on
 * arrival). Raise the limit on the nursery or spawn, or send less.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const over = (e: ActorError.MessageTooLarge) => e.size - e.limit
 * ```
 * @since 0.1.0
 * @category errors
 */
export class MessageTooLarge extends Schema.TaggedError<MessageTooLarge>("effect-tractor/MessageTooLarge")(
  "MessageTooLarge",
  { actor: ActorId, size: Schema.Number, limit: Schema.Number, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * The connection to the actor closed while a call was waiting: the process exited or crashed.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const how = (e: ActorError.TransportClosed) => e.reason
 * ```
 * @since 0.1.0
 * @category errors
 */
export class TransportClosed extends Schema.TaggedError<TransportClosed>("effect-tractor/TransportClosed")(
  "TransportClosed",
  {
    actor: ActorId,
    reason: Schema.String,
    message: Schema.String,
    /** the exit code of the actor's process, when it exited (children only) */
    exitCode: Schema.optional(Schema.Number),
    /** the signal that ended the actor's process, when one did (children only) */
    signal: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * The actor did not acknowledge a cancel request within the bound; supervisors escalate to signals.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const ms = (e: ActorError.ActorTooSlow) => e.waitedMillis
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ActorTooSlow extends Schema.TaggedError<ActorTooSlow>("effect-tractor/ActorTooSlow")(
  "ActorTooSlow",
  { actor: ActorId, waitedMillis: Schema.Number, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * No actor of that name was registered in time (`Registry.waitForActor` with a timeout).
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const which = (e: ActorError.ActorNotFound) => `${e.name} after ${e.waitedMillis} ms`
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ActorNotFound extends Schema.TaggedError<ActorNotFound>("effect-tractor/ActorNotFound")(
  "ActorNotFound",
  { name: Schema.String, waitedMillis: Schema.Number, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * The registry of the tree cannot be reached: it was never started (no tree runs in this process),
 * its address is held by something that is not a registry, or the connection to it failed.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const where = (e: ActorError.RegistryUnavailable) => e.address
 * ```
 * @since 0.1.0
 * @category errors
 */
export class RegistryUnavailable extends Schema.TaggedError<RegistryUnavailable>("effect-tractor/RegistryUnavailable")(
  "RegistryUnavailable",
  { address: Schema.String, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * A dialog was used out of order: `started` twice, a stream opened before `started`, a second
 * stream, or a send after close. The message says which.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const what = (e: ActorError.DialogMisuse) => e.message
 * ```
 * @since 0.1.0
 * @category errors
 */
export class DialogMisuse extends Schema.TaggedError<DialogMisuse>("effect-tractor/DialogMisuse")(
  "DialogMisuse",
  { actor: ActorId, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * A stream send found no room at the receiver and the stream's overrun policy is `"fail"`.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const receiver = (e: ActorError.StreamOverrun) => e.actor.name
 * ```
 * @since 0.1.0
 * @category errors
 */
export class StreamOverrun extends Schema.TaggedError<StreamOverrun>("effect-tractor/StreamOverrun")(
  "StreamOverrun",
  { actor: ActorId, message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * An actor could not be started: a module was not found, failed to build or to import (`module`
 * names it), the process exited before it was ready, it did not report ready in time, or the spawn
 * was refused (a closed nursery, a cap on the number of actors, a spawn from an actor module's top
 * level). `actorName` is the name it was to have.
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 *
 * const culprit = (e: ActorError.SpawnError) => e.module ?? e.actorName
 * ```
 * @since 0.1.0
 * @category errors
 */
export class SpawnError extends Schema.TaggedError<SpawnError>("effect-tractor/SpawnError")(
  "SpawnError",
  {
    actorName: Schema.String,
    module: Schema.optional(Schema.String),
    message: Schema.String,
    remoteStack: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * Every error a call to another actor can fail with, besides the function's declared error.
 *
 * @since 0.1.0
 * @category models
 */
export type ActorError =
  | RemoteActorError
  | ContextCancelled
  | ModuleNotEnabled
  | UnknownFunction
  | MsgTypeError
  | MessageTooLarge
  | TransportClosed
  | ActorTooSlow
  | StreamOverrun

/**
 * The schema of every error that crosses the wire as itself (not boxed).
 *
 * @example
 * ```ts
 * import * as ActorError from "effect-tractor/ActorError"
 * import * as Schema from "effect/Schema"
 *
 * const decode = Schema.decodeUnknownEither(ActorError.ActorErrorSchema)
 * ```
 * @since 0.1.0
 * @category schemas
 */
export const ActorErrorSchema: Schema.Schema<
  ActorError | SpawnError | DialogMisuse | ActorNotFound | RegistryUnavailable,
  any
> = Schema.Union(
  RemoteActorError,
  ContextCancelled,
  ModuleNotEnabled,
  UnknownFunction,
  MsgTypeError,
  MessageTooLarge,
  TransportClosed,
  ActorTooSlow,
  StreamOverrun,
  DialogMisuse,
  SpawnError,
  ActorNotFound,
  RegistryUnavailable
)
