/**
 * The hand-built frames of the hot path against the `Message` schemas: every frame built by hand
 * decodes, through the schema union, to exactly what it was built from; and the hand check of the
 * frequent kinds accepts a value exactly when the schemas do, with the same result.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Message from "../../src/Message.ts"
import { callFrame, fastCheck, sniff, successFrame, yieldFrame, yieldHead } from "../../src/internal/frames.ts"

const decode = Schema.decodeUnknownEither(Message.Message)
const decodeFrame = (line: string) => {
  assert.notInclude(line, "\n", "a frame is one line")
  return decode(JSON.parse(line))
}

const id = FastCheck.nat()
const name = FastCheck.string({ unit: "binary", maxLength: 20 })
// values that survive JSON unchanged (what an encoded payload is); no value at all (a Void payload)
// is left out of the frame and decodes as undefined
const json = FastCheck.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const maybe = FastCheck.option(json, { nil: undefined })

describe("hand-built frames", () => {
  const trace = FastCheck.option(FastCheck.tuple(name, name, FastCheck.boolean()), { nil: undefined })

  it.prop("a Call frame decodes to its call, with its trace context when it has one", [id, name, name, maybe, trace], ([id, protocol, fn, payload, trace]) => {
    const line = callFrame({ protocol, name: fn }, id, JSON.stringify(payload), trace)
    const decoded = decodeFrame(line)
    const call = trace === undefined ? { _tag: "Call", id, protocol, fn, payload } : { _tag: "Call", id, protocol, fn, payload, trace }
    assert.deepStrictEqual(decoded, Either.right(call as never))
    assert.deepStrictEqual(sniff(line), { tag: "Call", id })
    assert.deepStrictEqual(fastCheck(JSON.parse(line)), JSON.parse(line))
  })

  it.prop("a Success frame decodes to its answer", [id, maybe], ([id, value]) => {
    const line = successFrame(id, JSON.stringify(value))
    assert.deepStrictEqual(decodeFrame(line), Either.right({ _tag: "Success", id, value } as never))
    assert.deepStrictEqual(sniff(line), { tag: "Success", id })
  })

  it.prop("a Yield frame decodes to its batch", [id, FastCheck.array(json, { maxLength: 20 })], ([id, values]) => {
    const line = yieldFrame(yieldHead(id), values.map((v) => JSON.stringify(v)))
    assert.deepStrictEqual(decodeFrame(line), Either.right({ _tag: "Yield", id, values } as never))
  })

  it("the same function's Call frames share their constant parts but not their ids or payloads", () => {
    const spec = { protocol: "P", name: "f" }
    assert.deepStrictEqual(decodeFrame(callFrame(spec, 1, "1")), Either.right({ _tag: "Call", id: 1, protocol: "P", fn: "f", payload: 1 } as never))
    assert.deepStrictEqual(decodeFrame(callFrame(spec, 3, "[2]")), Either.right({ _tag: "Call", id: 3, protocol: "P", fn: "f", payload: [2] } as never))
  })
})

describe("the hand check", () => {
  const field = FastCheck.oneof(id, FastCheck.double(), name, FastCheck.boolean(), FastCheck.constant(null), FastCheck.array(json, { maxLength: 3 }), json)
  const candidate = FastCheck.record(
    {
      _tag: FastCheck.constantFrom("Call", "Success", "Started", "Interrupt", "Stop", "Yield", "Credit", "Failure", "Nonsense"),
      id: field,
      protocol: field,
      fn: field,
      payload: field,
      trace: FastCheck.oneof(field, FastCheck.tuple(name, name, FastCheck.boolean()), FastCheck.tuple(name, id, FastCheck.boolean())),
      value: field,
      values: field,
      n: field
    },
    { requiredKeys: ["_tag"] }
  )

  it.prop("accepts a value exactly when the schemas decode it to that value", [candidate], ([u]) => {
    const fast = fastCheck(u)
    if (fast === undefined) return // not a kind it takes, or not valid: the schemas decide
    const decoded = decode(u)
    assert.isTrue(Either.isRight(decoded), `the hand check took ${JSON.stringify(u)}, the schemas refuse it`)
    // the schemas drop the fields a kind does not have; the hand check keeps the object as it is
    const kept = Object.fromEntries(Object.keys(decoded.pipe(Either.getOrThrow)).map((k) => [k, (fast as any)[k]]))
    assert.deepStrictEqual(kept, decoded.pipe(Either.getOrThrow) as never)
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("takes every valid frame of the kinds it knows", [candidate], ([u]) => {
    const decoded = decode(u)
    const tag = (u as { _tag: string })._tag
    if (Either.isLeft(decoded) || tag === "Failure" || tag === "Nonsense") return
    assert.isDefined(fastCheck(u), `the schemas take ${JSON.stringify(u)}, the hand check does not`)
  }, { fastCheck: { numRuns: 2000 } })
})
