/**
 * The hand-built frames of the hot path and the hand check of the frequent incoming kinds: the same
 * JSON the `Message` schemas describe, without the schema union's per-frame work. A property test
 * holds them to the schemas (every frame built here decodes to what it was built from).
 */
import * as Schema from "effect/Schema"
import * as Message from "../Message.js"

/** @internal the schema decoder, for the frames the hand check does not take */
export const decodeMessage = Schema.decodeUnknownEither(Message.Message)

const callHeads = new WeakMap<object, readonly [string, string]>()

/** The constant parts of a `Call` frame for one function, in the field order of `Message.Call`. */
const callHead = (spec: { readonly protocol: string; readonly name: string }): readonly [string, string] => {
  let head = callHeads.get(spec)
  if (head === undefined) {
    head = [`{"_tag":"Call","id":`, `,"protocol":${JSON.stringify(spec.protocol)},"fn":${JSON.stringify(spec.name)}`]
    callHeads.set(spec, head)
  }
  return head
}

/**
 * A `Call` frame; `json` is the payload already in JSON (`undefined`: no payload).
 * @internal
 */
export const callFrame = (
  spec: { readonly protocol: string; readonly name: string },
  id: number,
  json: string | undefined,
  trace?: typeof Message.TraceContext.Type | undefined
): string => {
  const head = callHead(spec)
  const body = json === undefined ? `${head[0]}${id}${head[1]}` : `${head[0]}${id}${head[1]},"payload":${json}`
  return trace === undefined ? `${body}}` : `${body},"trace":${JSON.stringify(trace)}}`
}

const isTrace = (u: unknown): boolean =>
  u === undefined ||
  (Array.isArray(u) && u.length === 3 && typeof u[0] === "string" && typeof u[1] === "string" && typeof u[2] === "boolean")

/** @internal a `Success` frame; `json` is the value already in JSON (`undefined`: no value) */
export const successFrame = (id: number, json: string | undefined): string =>
  json === undefined ? `{"_tag":"Success","id":${id}}` : `{"_tag":"Success","id":${id},"value":${json}}`

/** @internal the start of a `Yield` frame; the values in JSON, comma-separated, then `]}` follow */
export const yieldHead = (id: number): string => `{"_tag":"Yield","id":${id},"values":[`

/** @internal a `Yield` frame from values already in JSON */
export const yieldFrame = (head: string, parts: ReadonlyArray<string>): string => `${head}${parts.join(",")}]}`

const isId = (u: unknown): u is number => typeof u === "number"

const isRecord = (u: unknown): boolean => typeof u === "object" && u !== null && !Array.isArray(u)

const isLogSpan = (u: unknown): boolean =>
  Array.isArray(u) && u.length === 2 && typeof u[0] === "string" && typeof u[1] === "number"

/**
 * The frequent message kinds, checked by hand: the same structure the `Message` schemas describe
 * (their unknown-typed fields need no decoding). Anything else, or anything that does not pass,
 * goes through the schemas.
 * @internal
 */
export const fastCheck = (u: unknown): Message.Message | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const m = u as Record<string, unknown>
  switch (m["_tag"]) {
    case "Call":
      return isId(m["id"]) && typeof m["protocol"] === "string" && typeof m["fn"] === "string" && isTrace(m["trace"])
        ? m as typeof Message.Call.Type
        : undefined
    case "Success":
    case "Started":
    case "Interrupt":
    case "Stop":
      return isId(m["id"]) ? m as Message.Message : undefined
    case "Yield":
      return isId(m["id"]) && Array.isArray(m["values"]) ? m as typeof Message.Yield.Type : undefined
    case "Credit":
      return isId(m["id"]) && typeof m["n"] === "number" ? m as typeof Message.Credit.Type : undefined
    case "Log":
      return typeof m["level"] === "string" && Array.isArray(m["message"]) && isRecord(m["annotations"]) &&
          Array.isArray(m["spans"]) && m["spans"].every(isLogSpan) && typeof m["fiber"] === "string" &&
          typeof m["date"] === "number" && (m["cause"] === undefined || typeof m["cause"] === "string")
        ? m as typeof Message.Log.Type
        : undefined
    default:
      return undefined
  }
}

const framePrefix = /^\{"_tag":"(\w+)","id":(\d+)/

/**
 * The kind and call id at the start of a frame that could not be read (malformed or oversized), so
 * the call it belongs to can be answered instead of left waiting.
 * @internal
 */
export const sniff = (prefix: string): { readonly tag: string; readonly id: number } | undefined => {
  const m = framePrefix.exec(prefix.slice(0, 200))
  return m === null ? undefined : { tag: m[1]!, id: Number(m[2]) }
}
