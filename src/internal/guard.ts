/**
 * Guards compiled from a schema's AST: plain JavaScript checks for the shapes that travel most
 * (structs, arrays, tuples, unions, literals, primitives), with the exact answer of `Schema.is`
 * (`exact: true`). Any other node (refinements, declarations, suspended schemas, parse-option
 * annotations) is checked by `Schema.is` for that node alone, so the result is always the same.
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/** @internal */
export type Guard = (u: unknown) => boolean

const always: Guard = () => true
const isString: Guard = (u) => typeof u === "string"
const isNumber: Guard = (u) => typeof u === "number"
const isBoolean: Guard = (u) => typeof u === "boolean"
const isUndefined: Guard = (u) => u === undefined
const isNotNullable: Guard = (u) => u !== null && u !== undefined
const hasOwn = Object.prototype.hasOwnProperty

/** a node whose parsing depends on annotations is left to the schema's own parser */
const annotated = (ast: SchemaAST.AST): boolean =>
  ast.annotations[SchemaAST.ParseOptionsAnnotationId] !== undefined ||
  ast.annotations[SchemaAST.ConcurrencyAnnotationId] !== undefined ||
  ast.annotations[SchemaAST.BatchingAnnotationId] !== undefined ||
  ast.annotations[SchemaAST.DecodingFallbackAnnotationId] !== undefined

/**
 * A union is compiled only when all its members are: `Schema.is` narrows a union's members by
 * their literal fields first (as own keys), which agrees with the members' own checks for the
 * shapes compiled here but not, say, for a class instance (checked with `instanceof`).
 */
const plain = (ast: SchemaAST.AST): boolean => {
  if (annotated(ast)) return false
  switch (ast._tag) {
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "UndefinedKeyword":
    case "UnknownKeyword":
    case "AnyKeyword":
    case "VoidKeyword":
    case "Literal":
      return true
    case "TypeLiteral":
      return ast.indexSignatures.length === 0 && ast.propertySignatures.every((ps) => plain(ps.type))
    case "TupleType":
      return ast.rest.length <= 1 && ast.elements.every((e) => !e.isOptional && plain(e.type)) &&
        ast.rest.every((r) => plain(r.type))
    case "Union":
      return ast.types.every(plain)
    default:
      return false
  }
}

const delegate = (ast: SchemaAST.AST): Guard => {
  const is = ParseResult.is(Schema.make(ast))
  return (u) => is(u)
}

const struct = (ast: SchemaAST.TypeLiteral): Guard => {
  if (ast.propertySignatures.length === 0) return isNotNullable
  const names = ast.propertySignatures.map((ps) => ps.name)
  const optional = ast.propertySignatures.map((ps) => ps.isOptional)
  const guards = ast.propertySignatures.map((ps) => compile(ps.type))
  const n = names.length
  return (u) => {
    if (typeof u !== "object" || u === null || Array.isArray(u)) return false
    const o = u as Record<PropertyKey, unknown>
    for (let i = 0; i < n; i++) {
      const name = names[i]!
      if (!hasOwn.call(o, name)) {
        if (optional[i]) continue
        return false
      }
      if (!guards[i]!(o[name])) return false
    }
    return true
  }
}

const tuple = (ast: SchemaAST.TupleType): Guard | undefined => {
  // optional elements and elements after the rest are rare on a wire: left to the schema
  if (ast.rest.length > 1 || ast.elements.some((e) => e.isOptional)) return undefined
  const elements = ast.elements.map((e) => compile(e.type))
  const rest = ast.rest.length === 1 ? compile(ast.rest[0]!.type) : undefined
  const n = elements.length
  return (u) => {
    if (!Array.isArray(u)) return false
    const len = u.length
    if (len < n || (rest === undefined && len > n)) return false
    for (let i = 0; i < n; i++) if (!elements[i]!(u[i])) return false
    if (rest !== undefined) for (let i = n; i < len; i++) if (!rest(u[i])) return false
    return true
  }
}

const union = (ast: SchemaAST.Union): Guard => {
  const members = ast.types.map(compile)
  const n = members.length
  return (u) => {
    for (let i = 0; i < n; i++) if (members[i]!(u)) return true
    return false
  }
}

const compile = (ast: SchemaAST.AST): Guard => {
  if (annotated(ast)) return delegate(ast)
  switch (ast._tag) {
    case "StringKeyword":
      return isString
    case "NumberKeyword":
      return isNumber
    case "BooleanKeyword":
      return isBoolean
    case "UndefinedKeyword":
      return isUndefined
    case "UnknownKeyword":
    case "AnyKeyword":
    case "VoidKeyword":
      return always
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "TypeLiteral":
      return ast.indexSignatures.length === 0 ? struct(ast) : delegate(ast)
    case "TupleType":
      return tuple(ast) ?? delegate(ast)
    case "Union":
      return ast.types.every(plain) ? union(ast) : delegate(ast)
    default:
      return delegate(ast)
  }
}

/**
 * The guard of a schema's type side: the same answer as `Schema.is(schema)`, faster for the
 * common shapes.
 * @internal
 */
export const guardOf = (schema: Schema.Schema.Any): Guard => compile(SchemaAST.typeAST(schema.ast))
