import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { guardOf } from "../src/internal/guard.ts"

class Point extends Schema.Class<Point>("Point")({ tag: Schema.Literal("point"), x: Schema.Number }) {}

interface Tree {
  readonly value: number
  readonly children: ReadonlyArray<Tree>
}
const Tree = Schema.Struct({
  value: Schema.Number,
  children: Schema.Array(Schema.suspend((): Schema.Schema<Tree> => Tree))
})

/**
 * A schema as plain data, so a counterexample prints readably. The grammar covers every node the
 * guard compiles itself and a few it must leave to the schema (refinements, a class, a record, a
 * suspended schema, a struct with parse options).
 */
type Desc =
  | {
    readonly _tag:
      | "String"
      | "Number"
      | "Boolean"
      | "Undefined"
      | "Unknown"
      | "Int"
      | "NonEmptyString"
      | "Record"
      | "Class"
      | "Tree"
  }
  | { readonly _tag: "Literal"; readonly value: string | number | boolean | null }
  | { readonly _tag: "Struct"; readonly fields: ReadonlyArray<Field>; readonly strict: boolean }
  | { readonly _tag: "Array"; readonly item: Desc }
  | { readonly _tag: "Tuple"; readonly elements: ReadonlyArray<Desc>; readonly rest: Desc | null }
  | { readonly _tag: "Union"; readonly members: ReadonlyArray<Desc> }
  | { readonly _tag: "NullOr"; readonly type: Desc }

interface Field {
  readonly name: string
  readonly kind: "required" | "optional" | "optionalExact"
  readonly type: Desc
}

const build = (desc: Desc): Schema.Schema.Any => {
  switch (desc._tag) {
    case "String":
      return Schema.String
    case "Number":
      return Schema.Number
    case "Boolean":
      return Schema.Boolean
    case "Undefined":
      return Schema.Undefined
    case "Unknown":
      return Schema.Unknown
    case "Int":
      return Schema.Int
    case "NonEmptyString":
      return Schema.NonEmptyString
    case "Record":
      return Schema.Record({ key: Schema.String, value: Schema.Number })
    case "Class":
      return Point
    case "Tree":
      return Tree
    case "Literal":
      return Schema.Literal(desc.value)
    case "Struct": {
      const fields: Record<string, Schema.Struct.Field> = {}
      for (const field of desc.fields) {
        const type = build(field.type)
        fields[field.name] = field.kind === "required"
          ? type
          : field.kind === "optional"
          ? Schema.optional(type)
          : Schema.optionalWith(type, { exact: true })
      }
      const struct = Schema.Struct(fields)
      return desc.strict ? struct.annotations({ parseOptions: { onExcessProperty: "error" } }) : struct
    }
    case "Array":
      return Schema.Array(build(desc.item))
    case "Tuple": {
      const elements = desc.elements.map(build)
      return desc.rest === null ? Schema.Tuple(...elements) : Schema.Tuple(elements, build(desc.rest))
    }
    case "Union":
      return Schema.Union(...desc.members.map(build))
    case "NullOr":
      return Schema.NullOr(build(desc.type))
  }
}

/** Field names and literals from small pools, so structs, unions and junk values collide often. */
const names = ["a", "b", "_tag", "tag", "x"] as const
const literals = ["a", "b", "point", 0, 1, true, false, null] as const

const keywords = [
  "String",
  "Number",
  "Boolean",
  "Undefined",
  "Unknown",
  "Int",
  "NonEmptyString",
  "Record",
  "Class",
  "Tree"
] as const

const leaf: FastCheck.Arbitrary<Desc> = FastCheck.oneof(
  { arbitrary: FastCheck.constantFrom(...keywords).map((_tag): Desc => ({ _tag })), weight: 3 },
  // types that accept a missing element or a missing key's value
  FastCheck.constantFrom("Undefined" as const, "Unknown" as const).map((_tag): Desc => ({ _tag })),
  { arbitrary: FastCheck.constantFrom(...literals).map((value): Desc => ({ _tag: "Literal", value })), weight: 2 }
)

const { desc } = FastCheck.letrec<{ desc: Desc; field: Field }>((tie) => ({
  desc: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    FastCheck.record({
      _tag: FastCheck.constant("Struct" as const),
      fields: FastCheck.uniqueArray(tie("field"), { maxLength: 4, selector: (f) => f.name }),
      strict: FastCheck.boolean()
    }),
    FastCheck.record({ _tag: FastCheck.constant("Array" as const), item: tie("desc") }),
    FastCheck.record({
      _tag: FastCheck.constant("Tuple" as const),
      elements: FastCheck.array(tie("desc"), { maxLength: 3 }),
      rest: FastCheck.option(tie("desc"), { nil: null })
    }),
    FastCheck.record({
      _tag: FastCheck.constant("Union" as const),
      members: FastCheck.array(tie("desc"), { minLength: 1, maxLength: 3 })
    }),
    FastCheck.record({ _tag: FastCheck.constant("NullOr" as const), type: tie("desc") })
  ),
  field: FastCheck.record({
    name: FastCheck.constantFrom(...names),
    kind: FastCheck.constantFrom("required", "optional", "optionalExact"),
    type: tie("desc")
  })
}))

/** JSON-ish junk, plus what JSON cannot carry (undefined, NaN, -0, infinities, class instances, functions). */
const { junk } = FastCheck.letrec<{ junk: unknown }>((tie) => ({
  junk: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    {
      arbitrary: FastCheck.constantFrom<unknown>(
        null,
        undefined,
        Number.NaN,
        -0,
        Infinity,
        1.5,
        -1,
        "",
        ...literals
      ),
      weight: 4
    },
    FastCheck.string({ maxLength: 3 }),
    FastCheck.double(),
    FastCheck.integer(),
    FastCheck.constant(new Point({ tag: "point", x: 1 })),
    FastCheck.constant(() => 1),
    { arbitrary: FastCheck.array(tie("junk"), { maxLength: 4 }), weight: 2 },
    {
      arbitrary: FastCheck.dictionary(FastCheck.constantFrom(...names, "value", "children"), tie("junk"), {
        maxKeys: 4
      }),
      weight: 2
    }
  )
}))

/** What a value inside a valid one is most often swapped for. */
const specials = FastCheck.constantFrom<unknown>(undefined, null, Number.NaN, -0, "", 0, false, [], {})

/**
 * A value close to `value`: one key or element dropped, added, replaced (often by a special value),
 * the array cut short, the object's keys moved to its prototype, or the container's kind changed.
 */
const nearMiss = (value: unknown): FastCheck.Arbitrary<unknown> => {
  if (Array.isArray(value)) {
    const changes: Array<FastCheck.Arbitrary<unknown>> = [
      junk.map((extra) => [...value, extra]),
      FastCheck.constant({ ...value })
    ]
    if (value.length > 0) {
      const index = FastCheck.nat(value.length - 1)
      changes.push(
        index.map((i) => value.filter((_, j) => j !== i)),
        index.map((i) => value.slice(0, i)),
        FastCheck.tuple(index, specials).map(([i, x]) => value.map((y, j) => j === i ? x : y)),
        index.chain((i) =>
          FastCheck.oneof(junk, nearMiss(value[i])).map((x) => value.map((y, j) => j === i ? x : y))
        )
      )
    }
    return FastCheck.oneof(...changes)
  }
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record)
    const changes: Array<FastCheck.Arbitrary<unknown>> = [
      FastCheck.tuple(FastCheck.constantFrom(...names), junk).map(([k, extra]) => ({ ...record, [k]: extra })),
      FastCheck.constant(Object.values(record)),
      // not for class instances: see the known divergence below
      ...(Object.getPrototypeOf(record) === Object.prototype ? [FastCheck.constant(Object.create(record))] : [])
    ]
    if (keys.length > 0) {
      const key = FastCheck.constantFrom(...keys)
      changes.push(
        key.map((k) => {
          const { [k]: _, ...rest } = record
          return rest
        }),
        FastCheck.tuple(key, specials).map(([k, x]) => ({ ...record, [k]: x })),
        key.chain((k) => FastCheck.oneof(junk, nearMiss(record[k])).map((x) => ({ ...record, [k]: x })))
      )
    }
    return FastCheck.oneof(...changes)
  }
  return junk
}

/** A schema with values to check against it: valid ones, near misses of valid ones, and junk. */
const cases = desc.chain((d) => {
  const schema = build(d)
  const valid = Arbitrary.make(schema) as FastCheck.Arbitrary<unknown>
  return FastCheck.tuple(
    FastCheck.constant(d),
    FastCheck.array(FastCheck.oneof(valid, valid.chain(nearMiss), junk), { minLength: 1, maxLength: 8 })
  )
})

/** Checks both `Schema.is` and `guardOf` against the expected answer. */
const agree = (schema: Schema.Schema.Any, value: unknown, expected: boolean) => {
  assert.strictEqual(Schema.is(schema)(value), expected, `Schema.is on ${FastCheck.stringify(value)}`)
  assert.strictEqual(guardOf(schema)(value), expected, `guardOf on ${FastCheck.stringify(value)}`)
}

describe("Guard", () => {
  describe("gives the answer of Schema.is", () => {
    it.prop("for random schemas and values", [cases], ([[d, values]]) => {
      const schema = build(d)
      const is = Schema.is(schema)
      const guard = guardOf(schema)
      for (const value of values) assert.strictEqual(guard(value), is(value), `on ${FastCheck.stringify(value)}`)
    }, { fastCheck: { numRuns: 1000 } })

    it("on values that pass and values that fail, often enough for the property to mean something", () => {
      let pass = 0
      let fail = 0
      for (const [d, values] of FastCheck.sample(cases, { numRuns: 500, seed: 42 })) {
        const is = Schema.is(build(d))
        for (const value of values) is(value) ? pass++ : fail++
      }
      const total = pass + fail
      assert.isAbove(pass / total, 0.25, `${pass} of ${total} values pass`)
      assert.isAbove(fail / total, 0.25, `${fail} of ${total} values fail`)
    })
  })

  describe("structs", () => {
    const S = Schema.Struct({ a: Schema.String, b: Schema.optional(Schema.Number) })

    it("rejects arrays, even one that has the keys", () => {
      agree(S, [], false)
      agree(S, Object.assign(["x"], { a: "x" }), false)
      agree(Schema.Struct({ a: Schema.optional(Schema.String) }), [], false)
    })

    it("accepts a missing optional key but not a missing required one", () => {
      agree(S, { a: "x" }, true)
      agree(S, { b: 1 }, false)
      agree(S, {}, false)
    })

    it("requires a key whose type accepts undefined to be present", () => {
      agree(Schema.Struct({ a: Schema.Undefined }), {}, false)
      agree(Schema.Struct({ a: Schema.Undefined }), { a: undefined }, true)
      agree(Schema.Struct({ a: Schema.Unknown }), {}, false)
    })

    it("accepts an optional key set to undefined only when the field is not exact", () => {
      agree(S, { a: "x", b: undefined }, true)
      agree(Schema.Struct({ a: Schema.optionalWith(Schema.Number, { exact: true }) }), { a: undefined }, false)
      agree(Schema.Struct({ a: Schema.optionalWith(Schema.Number, { exact: true }) }), {}, true)
    })

    it("ignores an extra key unless the struct's parse options forbid it", () => {
      agree(S, { a: "x", z: 1 }, true)
      agree(S.annotations({ parseOptions: { onExcessProperty: "error" } }), { a: "x", z: 1 }, false)
      agree(S.annotations({ parseOptions: { onExcessProperty: "error" } }), { a: "x" }, true)
    })

    it("does not take inherited keys for own ones", () => {
      agree(S, Object.create({ a: "x" }), false)
      // every object inherits `constructor`
      agree(Schema.Struct({ constructor: Schema.Unknown }), {}, false)
    })

    it("Schema.Struct({}) accepts any value but null and undefined", () => {
      const Empty = Schema.Struct({})
      for (const value of [0, "", false, [], {}, () => 1, Number.NaN]) agree(Empty, value, true)
      agree(Empty, null, false)
      agree(Empty, undefined, false)
    })
  })

  describe("tuples and arrays", () => {
    it("rejects a tuple with too many or too few elements", () => {
      const T = Schema.Tuple(Schema.String, Schema.Number)
      agree(T, ["a", 1], true)
      agree(T, ["a", 1, 2], false)
      agree(T, ["a"], false)
      agree(T, { 0: "a", 1: 1, length: 2 }, false)
      // a missing element is not an undefined one
      agree(Schema.Tuple(Schema.String, Schema.Undefined), ["a"], false)
      agree(Schema.Tuple(Schema.String, Schema.Undefined), ["a", undefined], true)
    })

    it("checks the rest element after the fixed ones", () => {
      const T = Schema.Tuple([Schema.String], Schema.Number)
      agree(T, ["a"], true)
      agree(T, ["a", 1, 2], true)
      agree(T, ["a", 1, "2"], false)
      agree(T, [], false)
      agree(Schema.Array(Schema.Number), [1, Number.NaN], true)
      agree(Schema.Array(Schema.Number), [1, "2"], false)
    })
  })

  describe("unions and literals", () => {
    it("accepts what any member accepts, tagged or not", () => {
      const U = Schema.Union(
        Schema.Struct({ _tag: Schema.Literal("a"), n: Schema.Number }),
        Schema.Struct({ _tag: Schema.Literal("b"), s: Schema.String }),
        Schema.Number
      )
      agree(U, { _tag: "a", n: 1 }, true)
      agree(U, { _tag: "b", s: "x" }, true)
      agree(U, { _tag: "a", s: "x" }, false)
      agree(U, { _tag: "c" }, false)
      agree(U, 1, true)
      agree(U, "1", false)
    })

    it("compares literals by identity", () => {
      agree(Schema.Literal(1), 1, true)
      agree(Schema.Literal(1), "1", false)
      agree(Schema.Literal(null), null, true)
      agree(Schema.Literal(null), undefined, false)
      agree(Schema.NullOr(Schema.String), null, true)
      agree(Schema.NullOr(Schema.String), undefined, false)
      agree(Schema.Undefined, null, false)
      agree(Schema.Number, Number.NaN, true)
    })
  })

  describe("nodes left to the schema", () => {
    it("checks refinements, classes, records and suspended schemas as Schema.is does", () => {
      agree(Schema.Int, 1, true)
      agree(Schema.Int, 1.5, false)
      agree(Schema.Struct({ n: Schema.Int }), { n: 1.5 }, false)
      agree(Point, new Point({ tag: "point", x: 1 }), true)
      agree(Point, { tag: "point", x: 1 }, false)
      agree(Schema.Record({ key: Schema.String, value: Schema.Number }), { a: 1, b: "2" }, false)
      agree(Tree, { value: 1, children: [{ value: 2, children: [] }] }, true)
      agree(Tree, { value: 1, children: [{ value: "2", children: [] }] }, false)
    })

    // Inside a union, `Schema.is` first narrows the members by their literal fields and needs them
    // as own keys, while a class alone only asks for `instanceof`: such a union is left to the schema.
    it("rejects a class instance without its own literal field inside a union as Schema.is does", () => {
      const inherited = Object.create(new Point({ tag: "point", x: 1 }))
      agree(Point, inherited, true)
      agree(Schema.Union(Point, Schema.String), inherited, false)
    })

    // `Schema.is` applies a node's `decodingFallback` annotation (it parses with `isDecoding`):
    // such nodes are left to the schema.
    it("applies a decodingFallback annotation as Schema.is does", () => {
      const Fallback = Schema.String.annotations({ decodingFallback: () => Either.right("fallback") })
      agree(Fallback, 42, true)
      agree(Schema.Struct({ a: Fallback }), { a: 42 }, true)
    })
  })
})
