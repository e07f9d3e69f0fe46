/**
 * Compiled, cached codecs per protocol function, and the mapping between a handler's `Cause` and
 * the `Failure` reason on the wire.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import type * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import type { ActorId } from "./actorId.js"
import { guardOf } from "./guard.js"
import { mapStack } from "./sourceMap.js"

/** @internal */
export interface FnCodec {
  /** for schemas without transformations: the wire form is the value, a guard suffices (no allocation) */
  readonly checkPayload: ((u: unknown) => boolean) | undefined
  readonly checkSuccess: ((u: unknown) => boolean) | undefined
  readonly encodePayload: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodePayload: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeSuccess: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodeSuccess: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly isError: (u: unknown) => boolean
  readonly encodeError: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodeError: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

const parseOptions = { errors: "first" as const, onExcessProperty: "ignore" as const }

/** @internal an encoder, a decoder and a guard for one schema, compiled once */
export interface SchemaCodec {
  /** present when the schema has no transformations: then a value is its own wire form */
  readonly check: ((u: unknown) => boolean) | undefined
  readonly encode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly is: (u: unknown) => boolean
}

const schemaCache = new WeakMap<object, SchemaCodec>()

/** @internal */
export const schemaCodec = (schema: Actor.AnySchema): SchemaCodec => {
  let codec = schemaCache.get(schema)
  if (codec === undefined) {
    const s = schema as Schema.Schema<any, any>
    const is = guardOf(s)
    const encode = Schema.encodeUnknownEither(s, parseOptions)
    const decode = Schema.decodeUnknownEither(s, parseOptions)
    // without transformations the wire form is the value itself: checking it is enough, no copy
    const identity = SchemaAST.typeAST(s.ast) === SchemaAST.encodedAST(s.ast)
    codec = identity
      ? {
        check: is,
        encode: (u) => (is(u) ? Either.right(u) : encode(u)),
        decode: (u) => (is(u) ? Either.right(u) : decode(u)),
        is
      }
      : { check: undefined, encode, decode, is }
    schemaCache.set(schema, codec)
  }
  return codec
}

const cache = new WeakMap<object, FnCodec>()

/** @internal the codecs of a function of any kind; `success` is a dialog's result, `Void` for a stream */
export const codecOf = (spec: Actor.AnySpec): FnCodec => {
  let codec = cache.get(spec)
  if (codec === undefined) {
    const s = spec as unknown as Record<string, Actor.AnySchema>
    const payload = schemaCodec(s["payload"]!)
    const success = schemaCodec(spec.kind === "fn" ? s["success"]! : spec.kind === "dialog" ? s["result"]! : Schema.Void)
    const error = schemaCodec(s["error"]!)
    codec = {
      checkPayload: payload.check,
      checkSuccess: success.check,
      encodePayload: payload.encode,
      decodePayload: payload.decode,
      encodeSuccess: success.encode,
      decodeSuccess: success.decode,
      isError: error.is,
      encodeError: error.encode,
      decodeError: error.decode
    }
    cache.set(spec, codec)
  }
  return codec
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
