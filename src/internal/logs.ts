/**
 * Logs across processes: an actor's log entries travel up the tree as `Log` messages and are
 * written by the root's loggers, as if logged there, with the actor's annotations, spans, fiber and
 * date. Each actor logs through a logger that sends to its parent; a parent that is itself an
 * actor sends what it receives on, unchanged. Entries below the root's minimum level are never
 * sent: every actor starts with the root's level.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
import * as Runtime from "effect/Runtime"
import type * as Message from "../Message.js"

/** @internal */
export type Entry = typeof Message.Log.Type

const levels: Record<string, LogLevel.LogLevel> = Object.fromEntries(
  LogLevel.allLevels.map((level) => [level.label, level])
)

/** @internal a level from its label (an unknown label: Info) */
export const levelOf = (label: string): LogLevel.LogLevel => levels[label] ?? LogLevel.Info

/**
 * A value as JSON can carry it: what `JSON.stringify` would write, with errors as their name,
 * message and stack, bigints as strings, and cycles cut.
 */
const toJson = (value: unknown): unknown => {
  const seen = new WeakSet<object>()
  const replace = (_key: string, v: unknown): unknown => {
    if (typeof v === "bigint") return `${v}n`
    if (typeof v === "symbol" || typeof v === "function") return String(v)
    if (v instanceof Error) return { name: v.name, message: v.message, ...(v.stack !== undefined ? { stack: v.stack } : {}) }
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[Circular]"
      seen.add(v)
    }
    return v
  }
  try {
    const text = JSON.stringify(value, replace)
    return text === undefined ? null : JSON.parse(text)
  } catch {
    return String(value)
  }
}

/** @internal one entry for the wire, from what Effect hands a logger */
export const encode = (options: Logger.Logger.Options<unknown>): Entry => {
  const messages = Array.isArray(options.message) ? options.message : [options.message]
  const annotations: Record<string, unknown> = {}
  for (const [key, value] of options.annotations) annotations[key] = toJson(value)
  const spans: Array<readonly [string, number]> = []
  for (const span of options.spans) spans.push([span.label, span.startTime])
  const entry: Entry = {
    _tag: "Log",
    level: options.logLevel.label,
    message: messages.map(toJson),
    annotations,
    spans,
    fiber: FiberId.threadName(options.fiberId),
    date: options.date.getTime()
  }
  return Cause.isEmpty(options.cause) ? entry : { ...entry, cause: Cause.pretty(options.cause, { renderErrorCause: true }) }
}

/** @internal the logger of an actor: every entry goes to its parent */
export const linkLogger = (send: (entry: Entry) => void): Logger.Logger<unknown, void> =>
  Logger.make((options) => send(encode(options)))

/** An error that renders as the cause an actor logged. */
class LoggedCause extends Error {
  constructor(rendered: string) {
    super(rendered.split("\n")[0] ?? rendered)
    this.name = "LoggedCause"
    this.stack = rendered
  }
}

const fiberIdOf = (thread: string): FiberId.FiberId => {
  const id = Number(thread.replace(/^#/, ""))
  return Number.isInteger(id) ? FiberId.make(id, 0) : FiberId.none
}

/**
 * Writes an entry received from a child with the loggers of `runtime` (the fiber that spawned it),
 * unless it is below that fiber's minimum level.
 * @internal
 */
export const replay = (entry: Entry, runtime: Runtime.Runtime<never>): void => {
  const refs = runtime.fiberRefs
  const logLevel = levelOf(entry.level)
  if (LogLevel.greaterThan(FiberRefs.getOrDefault(refs, FiberRef.currentMinimumLogLevel), logLevel)) return
  const loggers = FiberRefs.getOrDefault(refs, FiberRef.currentLoggers)
  if (HashSet.size(loggers) === 0) return
  const options: Logger.Logger.Options<unknown> = {
    fiberId: fiberIdOf(entry.fiber),
    logLevel,
    message: entry.message.length === 1 ? entry.message[0] : entry.message,
    cause: entry.cause === undefined ? Cause.empty : Cause.die(new LoggedCause(entry.cause)),
    context: refs,
    spans: List.fromIterable(entry.spans.map(([label, startTime]) => LogSpan.make(label, startTime))),
    annotations: HashMap.fromIterable(Object.entries(entry.annotations)),
    date: new Date(entry.date)
  }
  for (const logger of loggers) logger.log(options)
}

/**
 * The runtime of an actor's code, logging to its parent: the default logger is replaced by one
 * that sends (a logger the actor's own layers installed stays), and the minimum level is the
 * root's.
 * @internal
 */
export const sendingToParent = <R>(
  runtime: Runtime.Runtime<R>,
  send: (entry: Entry) => void,
  minimumLevel: string | undefined
): Runtime.Runtime<R> => {
  const loggers = FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentLoggers)
  let refs = runtime.fiberRefs
  if (HashSet.has(loggers, Logger.defaultLogger)) {
    refs = FiberRefs.updateAs(refs, {
      fiberId: FiberId.none,
      fiberRef: FiberRef.currentLoggers,
      value: loggers.pipe(HashSet.remove(Logger.defaultLogger), HashSet.add(linkLogger(send)))
    })
  }
  if (minimumLevel !== undefined) {
    refs = FiberRefs.updateAs(refs, {
      fiberId: FiberId.none,
      fiberRef: FiberRef.currentMinimumLogLevel,
      value: levelOf(minimumLevel)
    })
  }
  return Runtime.make({ context: runtime.context, runtimeFlags: runtime.runtimeFlags, fiberRefs: refs })
}

/** @internal the label of the minimum log level of a runtime */
export const minimumLevelOf = (runtime: Runtime.Runtime<never>): string =>
  FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentMinimumLogLevel).label

/** @internal logs `message` at `level` with the loggers of `runtime` */
export const logWith = (runtime: Runtime.Runtime<never>, level: LogLevel.LogLevel, message: string): void => {
  Runtime.runFork(runtime)(Effect.logWithLevel(level, message))
}
