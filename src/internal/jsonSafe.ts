/**
 * The wire is JSON: a value crosses as the encoded side of its schema, through `JSON.stringify`.
 * Schemas whose encoded side JSON cannot carry (a `Date`, a `Uint8Array`, a `bigint`, a symbol, a
 * class instance) are refused where the protocol is declared, naming the field and the JSON-safe
 * schema to use instead, rather than failing at the first call.
 */
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

const instead: Record<string, string> = {
  DateFromSelf: "Schema.Date (an ISO string on the wire) or Schema.DateFromNumber",
  ValidDateFromSelf: "Schema.Date (an ISO string on the wire) or Schema.DateFromNumber",
  Uint8ArrayFromSelf: "Schema.Uint8ArrayFromBase64 (or Schema.Uint8Array, an array of numbers)",
  BigIntFromSelf: "Schema.BigInt (a string on the wire)",
  BigDecimalFromSelf: "Schema.BigDecimal (a string on the wire)",
  DurationFromSelf: "Schema.Duration",
  URLFromSelf: "Schema.URL",
  SymbolFromSelf: "Schema.Symbol (a string on the wire)"
}

const fieldPath = (path: ReadonlyArray<PropertyKey>) =>
  path.length === 0 ? "" : ` at ${path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("")}`

const refuse = (ast: SchemaAST.AST, what: string, path: ReadonlyArray<PropertyKey>): string => {
  const id = Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(ast))
  const fix = (id !== undefined ? instead[id] : undefined) ??
    (ast._tag === "BigIntKeyword" || ast._tag === "Literal"
      ? instead["BigIntFromSelf"]
      : ast._tag === "SymbolKeyword" || ast._tag === "UniqueSymbol"
      ? instead["SymbolFromSelf"]
      : "a schema whose encoded side is JSON: strings, finite numbers, booleans, null, arrays and plain objects " +
        "(a Schema.transform from one of those, or the non-FromSelf variant of this schema)")
  return `${what}${fieldPath(path)} is ${id ?? String(ast)}, whose encoded value JSON cannot carry (the wire is JSON): use ${fix}`
}

/** @internal the first part of `schema` that cannot cross the JSON wire, described, or `undefined` */
export const jsonProblem = (schema: Schema.Schema.Any, what: string): string | undefined => {
  const seen = new Set<SchemaAST.AST>()
  let unfolding = 0
  const go = (ast: SchemaAST.AST, path: ReadonlyArray<PropertyKey>): string | undefined => {
    if (seen.has(ast)) return undefined
    seen.add(ast)
    switch (ast._tag) {
      case "Declaration":
      case "BigIntKeyword":
      case "SymbolKeyword":
      case "UniqueSymbol":
        return refuse(ast, what, path)
      case "Literal":
        return typeof ast.literal === "bigint" ? refuse(ast, what, path) : undefined
      case "Refinement":
        return go(ast.from, path)
      case "Transformation":
        return go(ast.from, path)
      case "Suspend": {
        // a recursive schema unfolds into new nodes each time: one unfolding shows every part of it
        if (unfolding >= 2) return undefined
        unfolding++
        const problem = go(ast.f(), path)
        unfolding--
        return problem
      }
      case "Union": {
        for (const member of ast.types) {
          const problem = go(member, path)
          if (problem !== undefined) return problem
        }
        return undefined
      }
      case "TupleType": {
        for (let i = 0; i < ast.elements.length; i++) {
          const problem = go(ast.elements[i]!.type, [...path, i])
          if (problem !== undefined) return problem
        }
        for (const rest of ast.rest) {
          const problem = go(rest.type, [...path, 0])
          if (problem !== undefined) return problem
        }
        return undefined
      }
      case "TypeLiteral": {
        for (const property of ast.propertySignatures) {
          if (typeof property.name === "symbol") return refuse(ast, what, [...path, property.name])
          const problem = go(property.type, [...path, property.name])
          if (problem !== undefined) return problem
        }
        for (const index of ast.indexSignatures) {
          const problem = go(index.type, [...path, "*"])
          if (problem !== undefined) return problem
        }
        return undefined
      }
      default:
        return undefined
    }
  }
  return go(SchemaAST.encodedAST(schema.ast), [])
}
