import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as ActorError from "../src/ActorError.ts"
import * as Message from "../src/Message.ts"
import { checkOrphansAfterEach } from "./utils/index.ts"

checkOrphansAfterEach()

const encode = Schema.encodeSync(Message.Message)
const decode = Schema.decodeUnknownEither(Message.Message)

/** Every message kind of the union, read from the schema itself, and whether it carries a call id. */
const kinds = (Message.Message.ast as SchemaAST.Union).types.map((member) => {
  const fields = (member as SchemaAST.TypeLiteral).propertySignatures
  const tag = fields.find((f) => f.name === "_tag")!.type as SchemaAST.Literal
  return { tag: tag.literal as string, hasId: fields.some((f) => f.name === "id") }
})
const tags: ReadonlyArray<string> = kinds.map((k) => k.tag)
const multiplexed = new Set(kinds.filter((k) => k.hasId).map((k) => k.tag))

/**
 * Whether a value survives JSON unchanged: no NaN, infinities, -0 or undefined, only plain
 * objects and arrays, no `__proto__` keys. `Schema.Number` and `Schema.Unknown` arbitraries produce
 * all of those, and JSON cannot carry them; the wire protocol is JSON, so they are out of scope.
 */
const jsonSafe = (u: unknown): boolean => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return true
    case "number":
      return Number.isFinite(u) && !Object.is(u, -0)
    case "object": {
      if (u === null) return true
      if (Array.isArray(u)) return u.every((x, i) => i in u && jsonSafe(x))
      const proto = Object.getPrototypeOf(u)
      if (proto !== Object.prototype && proto !== null) return false
      return Object.keys(u).every((k) => k !== "__proto__" && jsonSafe((u as Record<string, unknown>)[k])) &&
        Object.getOwnPropertySymbols(u).length === 0
    }
    default:
      return false
  }
}

/** Every message kind, with call ids constrained to non-negative integers (as the link allocates them). */
const validMessage: FastCheck.Arbitrary<Message.Message> = Arbitrary.make(Message.Message)
  .chain((msg) =>
    "id" in msg ? FastCheck.nat().map((id) => ({ ...msg, id }) as Message.Message) : FastCheck.constant(msg)
  )
  .filter((msg) => jsonSafe(encode(msg)))

/** What a frame of `msg` looks like on the wire. */
const frame = (msg: Message.Message): string => JSON.stringify(encode(msg))

const roundTrip = (msg: Message.Message) => decode(JSON.parse(frame(msg)))

describe("Message", () => {
  it("generates every message kind, so the properties below cover the whole protocol", () => {
    assert.includeMembers([...tags], ["Ready", "BootFailed", "Call", "Success", "Failure", "Interrupt", "Cancel", "CancelAck"])
    assert.includeMembers([...multiplexed], ["Call", "Success", "Failure", "Interrupt"])
    const seen = new Set(FastCheck.sample(validMessage, { numRuns: 3000, seed: 42 }).map((msg) => msg._tag))
    assert.sameMembers([...seen], [...tags])
  })

  it.prop("every valid message round-trips through its JSON frame to an equal value", [validMessage], ([msg]) => {
    const decoded = roundTrip(msg)
    assert.isTrue(Either.isRight(decoded), Either.isLeft(decoded) ? ParseResult.TreeFormatter.formatErrorSync(decoded.left) : "")
    const value = Either.getOrThrow(decoded)
    assert.deepStrictEqual(value, msg)
    // the encoded forms agree too: nothing was lost or invented on the way
    assert.deepStrictEqual(encode(value), encode(msg))
  }, { fastCheck: { numRuns: 300 } })

  it.prop("errors inside Failure frames come back as instances of their classes", [
    Arbitrary.make(ActorError.ActorErrorSchema).filter((e) => jsonSafe(Schema.encodeSync(ActorError.ActorErrorSchema)(e))),
    FastCheck.nat()
  ], ([error, id]) => {
    const msg: Message.Message = { _tag: "Failure", id, reason: { _tag: "Raised", error } }
    const decoded = Either.getOrThrow(roundTrip(msg))
    assert.strictEqual(decoded._tag, "Failure")
    if (decoded._tag === "Failure" && decoded.reason._tag === "Raised") {
      assert.strictEqual(decoded.reason.error.constructor, error.constructor)
      assert.isTrue(ActorError.isActorError(decoded.reason.error))
      assert.deepStrictEqual(decoded.reason.error, error)
    } else {
      assert.fail(`expected a Raised failure, got ${JSON.stringify(decoded)}`)
    }
  }, { fastCheck: { numRuns: 200 } })

  it.prop("a frame is one line that starts with its tag, then its call id for multiplexed kinds", [validMessage], ([msg]) => {
    const line = frame(msg)
    assert.notInclude(line, "\n")
    const prefix = multiplexed.has(msg._tag) ? `{"_tag":"${msg._tag}","id":${(msg as { id: number }).id}` : `{"_tag":"${msg._tag}"`
    assert.isTrue(line.startsWith(prefix), `${line.slice(0, 80)} does not start with ${prefix}`)
  }, { fastCheck: { numRuns: 200 } })

  it.prop("decoding any value gives a typed result and never throws", [FastCheck.anything({ withNullPrototype: true })], ([u]) => {
    const decoded = decode(u)
    if (Either.isLeft(decoded)) {
      assert.instanceOf(decoded.left, ParseResult.ParseError)
    } else {
      // only values that carry a message tag can decode at all
      assert.include(tags, (u as { _tag: string })._tag)
    }
  }, { fastCheck: { numRuns: 500 } })

  it.prop("a line of random text is never a message", [FastCheck.string({ unit: "binary", maxLength: 200 })], ([text]) => {
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // not JSON: the link reports it before decoding; decoding the raw text must fail too
    }
    const decoded = decode(parsed)
    assert.isTrue(Either.isLeft(decoded), `decoded ${JSON.stringify(text)}`)
  }, { fastCheck: { numRuns: 500 } })

  it.prop("an object with an unknown _tag is rejected whatever its other fields", [
    FastCheck.string().filter((s) => !tags.includes(s)),
    FastCheck.dictionary(FastCheck.string(), FastCheck.jsonValue()),
    FastCheck.nat()
  ], ([tag, fields, id]) => {
    const decoded = decode({ ...fields, id, _tag: tag })
    assert.isTrue(Either.isLeft(decoded))
    if (Either.isLeft(decoded)) assert.instanceOf(decoded.left, ParseResult.ParseError)
  }, { fastCheck: { numRuns: 300 } })

  it.prop("a valid frame with a field removed or its id corrupted is rejected", [
    validMessage,
    FastCheck.oneof(
      FastCheck.constant("drop _tag" as const),
      FastCheck.constant("string id" as const),
      FastCheck.constant("null id" as const)
    )
  ], ([msg, mutation]) => {
    const encoded = { ...(JSON.parse(frame(msg)) as Record<string, unknown>) }
    if (mutation === "drop _tag") delete encoded["_tag"]
    else if ("id" in encoded) encoded["id"] = mutation === "string id" ? String(encoded["id"]) : null
    else delete encoded["_tag"]
    assert.isTrue(Either.isLeft(decode(encoded)), `decoded ${JSON.stringify(encoded).slice(0, 200)}`)
  }, { fastCheck: { numRuns: 200 } })
})
