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

/** @internal */
export const format = (id: ActorId): string => `${id.name}@${id.pid}`

let counter = 0

/** @internal a short unique id: process id, time and a counter, enough to tell actors apart in one tree */
export const makeUid = (): string =>
  `${process.pid.toString(36)}${Date.now().toString(36)}${(counter++).toString(36)}${
    Math.floor(Math.random() * 0xffffff).toString(36)
  }`
