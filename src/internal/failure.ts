/**
 * Failures on the wire: the errors the link raises (a value off its schema, a frame over the limit,
 * a handler that returned no Effect), the boxing of anything that failed in a handler for the trip
 * to the caller, and the mapping between a handler's `Cause` and the `Failure` reason.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import type { ActorId } from "./actorId.js"
import type { FnCodec } from "./codec.js"
import { mapStack } from "./sourceMap.js"

/** @internal */
export const msgTypeError = (
  actor: ActorId,
  protocol: string,
  fn: string,
  part: "payload" | "success" | "failure",
  error: ParseResult.ParseError
): ActorError.MsgTypeError =>
  new ActorError.MsgTypeError({
    actor,
    protocol,
    fn,
    part,
    message: `the ${part} of ${protocol}.${fn} does not match its schema: ${describeParseError(error)}`
  })

/** @internal */
export const tooLarge = (actor: ActorId, size: number, limit: number, what: string): ActorError.MessageTooLarge =>
  new ActorError.MessageTooLarge({
    actor,
    size,
    limit,
    message: `${what} is ${size} bytes, over the limit of ${limit} (maxMessageBytes)`
  })

const article = (noun: string) => `${/^[aeiou]/i.test(noun) ? "an" : "a"} ${noun}`

/**
 * A handler that returned something else than it must (possible where nothing type checks, as
 * under tsx).
 * @internal
 */
export const notEffect = (
  self: ActorId,
  served: { readonly protocol: string; readonly name: string },
  value: unknown,
  expected: "an Effect" | "a Stream"
): Exit.Exit<never, ActorError.RemoteActorError> => {
  const what = value === null || value === undefined
    ? String(value)
    : value instanceof Promise || typeof (value as { then?: unknown }).then === "function"
    ? "a Promise (is the handler declared async?)"
    : article(typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value)
  const fix = expected === "a Stream"
    ? "stream handlers must return a Stream (e.g. Stream.fromIterable, Stream.fromAsyncIterable)"
    : "handlers must return an Effect: wrap a value in Effect.succeed, synchronous code in Effect.sync, " +
      "a promise in Effect.promise(() => ...) or Effect.tryPromise"
  return Exit.fail(
    new ActorError.RemoteActorError({
      source: self,
      relayPath: [],
      errorTag: "InvalidHandlerResult",
      message: `the handler of ${served.protocol}.${served.name} returned ${what}, not ${expected}: ${fix}`
    })
  )
}

/** @internal */
export const encodeActorError = Schema.encodeSync(ActorError.ActorErrorSchema)

/** @internal */
export const describeParseError = (e: ParseResult.ParseError): string => {
  const text = ParseResult.TreeFormatter.formatErrorSync(e)
  // the wire is JSON: NaN and ±Infinity are sent as null
  return /Expected (number|Finite|.*number.*), actual null/.test(text)
    ? `${text}\n(the wire is JSON, which has no NaN or Infinity: a number that is not finite arrives as null; ` +
      `refuse them at the sender with Schema.Finite, or send them as strings with Schema.NumberFromString)`
    : text
}

const errorTagOf = (u: unknown): string => {
  if (typeof u === "object" && u !== null) {
    if ("_tag" in u && typeof u._tag === "string") return u._tag
    if (u instanceof Error) return u.name
    return u.constructor?.name ?? "Object"
  }
  return typeof u
}

const messageOf = (u: unknown): string => {
  if (u instanceof Error) return u.message
  if (typeof u === "object" && u !== null && "message" in u && typeof u.message === "string") return u.message
  try {
    return typeof u === "string" ? u : JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const stackOf = (u: unknown): string | undefined =>
  u instanceof Error && typeof u.stack === "string" ? mapStack(u.stack) : undefined

/**
 * Boxes anything that failed in `self` for the trip to the caller. A `RemoteActorError` relayed
 * from further down keeps its source and gets `self` appended to its relay path.
 * @internal
 */
export const box = (self: ActorId, u: unknown): ActorError.RemoteActorError => {
  if (u instanceof ActorError.RemoteActorError) {
    return new ActorError.RemoteActorError({
      source: u.source,
      relayPath: [...u.relayPath, self],
      errorTag: u.errorTag,
      message: u.message,
      ...(u.remoteStack !== undefined ? { remoteStack: u.remoteStack } : {}),
      ...(u.errors !== undefined ? { errors: u.errors } : {})
    })
  }
  const stack = stackOf(u)
  return new ActorError.RemoteActorError({
    source: self,
    relayPath: [self],
    errorTag: errorTagOf(u),
    message: messageOf(u),
    ...(stack !== undefined ? { remoteStack: stack } : {})
  })
}

/**
 * The wire reason for a failed handler. Declared errors travel as themselves; a single undeclared
 * failure or defect is boxed; several (a parallel cause) become one `RemoteActorError` whose
 * `errors` keep every one of them.
 * @internal
 */
export const failureReason = (
  self: ActorId,
  canceller: ActorId,
  served: { readonly protocol: string; readonly name: string; readonly codec: FnCodec },
  cause: Cause.Cause<unknown>
): typeof Message.FailureReason.Encoded => {
  const codec = served.codec
  const failures = Chunk.toReadonlyArray(Cause.failures(cause))
  const defects = Chunk.toReadonlyArray(Cause.defects(cause))
  const all = [...failures, ...defects]
  if (all.length === 0) return { _tag: "Interrupted", canceller }
  if (all.length === 1 && failures.length === 1 && codec.isError(failures[0])) {
    const encoded = codec.encodeError(failures[0])
    if (Either.isRight(encoded)) return { _tag: "Declared", value: encoded.right }
    return raised(
      new ActorError.MsgTypeError({
        actor: self,
        protocol: served.protocol,
        fn: served.name,
        part: "failure",
        message: `the declared error of ${served.protocol}.${served.name} could not be encoded: ${
          describeParseError(encoded.left)
        }`
      })
    )
  }
  const only = all[0]
  // an error this actor's own wire raised (a frame too large, a value off its schema) keeps its type
  if (
    all.length === 1 && (only instanceof ActorError.MessageTooLarge || only instanceof ActorError.MsgTypeError) &&
    only.actor.uid === self.uid
  ) return raised(only)
  if (all.length === 1) return raised(box(self, only))
  const errors = all.map((u) => box(self, u))
  return raised(
    new ActorError.RemoteActorError({
      source: self,
      relayPath: [self],
      errorTag: "MultipleErrors",
      message: `${errors.length} errors: ${errors.map((e) => `${e.errorTag}: ${e.message}`).join("; ")}`,
      errors
    })
  )
}

/** @internal */
export const raised = (error: ActorError.ActorError | ActorError.SpawnError): typeof Message.FailureReason.Encoded => ({
  _tag: "Raised",
  error: encodeActorError(error)
})

/** @internal the first failure of a cause, if any (for error messages) */
export const firstFailure = (cause: Cause.Cause<unknown>): unknown =>
  Option.getOrUndefined(Cause.failureOption(cause)) ?? Option.getOrUndefined(Cause.dieOption(cause))
