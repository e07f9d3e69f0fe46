/**
 * Compiled, cached codecs per protocol function: an encoder, a decoder and a guard per schema,
 * built once.
 */
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import type * as Actor from "../Actor.js"
import { guardOf } from "./guard.js"

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
    codec = SchemaAST.isVoidKeyword(s.ast)
      // Void has no wire form: whatever a handler returns (a timer, a circular object) is not sent
      ? { check: (u) => u === undefined, encode: () => Either.right(undefined), decode: () => Either.right(undefined), is }
      : identity
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
