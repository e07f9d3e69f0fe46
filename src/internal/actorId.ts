import * as Schema from "effect/Schema"
import { assertSupportedEffect } from "./effectVersion.js"

assertSupportedEffect()

/** @internal */
export const ActorId = Schema.Struct({
  name: Schema.String,
  uid: Schema.String,
  pid: Schema.Number
})

/** @internal */
export interface ActorId extends Schema.Schema.Type<typeof ActorId> {}

/** @internal how an actor process ended, as its parent saw it */
export const ActorExit = Schema.Struct({
  actor: ActorId,
  /** the exit code, or null when a signal ended it (or nothing is known: a lost connection) */
  code: Schema.NullOr(Schema.Number),
  /** the signal that ended it, or null */
  signal: Schema.NullOr(Schema.String),
  /** true when the exit was asked for (a cancel request, a teardown) or announced by the actor */
  expected: Schema.Boolean,
  /** a sentence: "it exited with code 1", "it was killed by SIGKILL", "its connection closed" */
  reason: Schema.String
})

/** @internal */
export interface ActorExit extends Schema.Schema.Type<typeof ActorExit> {}

/** @internal */
export const exitReason = (code: number | null, signal: string | null): string =>
  signal !== null ? `it was killed by ${signal}` : code !== null ? `it exited with code ${code}` : "its connection closed"

/** @internal an exit that needs no restart under a transient policy: asked for, or code 0 */
export const isNormalExit = (exit: ActorExit): boolean => exit.expected || (exit.code === 0 && exit.signal === null)

/** @internal */
export const format = (id: ActorId): string => `${id.name}@${id.pid}`

let counter = 0

/**
 * @internal a short unique id: the making process's id, then time, a counter and a random part,
 * enough to tell actors apart in one tree (the process id leads, before a `-`: a socket file named
 * after an actor whose maker is gone can be told stale)
 */
export const makeUid = (): string =>
  `${process.pid.toString(36)}-${Date.now().toString(36)}${(counter++).toString(36)}${
    Math.floor(Math.random() * 0xffffff).toString(36)
  }`
