/**
 * What an actor builds before it serves: the layers of its implementations (once each, one memo
 * map, in the actor's scope) and the handlers an Effect builds, with those services. The child
 * bootstrap runs it before Ready; a root runs it in its layer, with the application's services.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FiberRefs from "effect/FiberRefs"
import * as Layer from "effect/Layer"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Actor from "../Actor.js"
import { type Fns, serveAll, type ServedFn } from "./server.js"

/** @internal what could not be built, and where */
export interface BuildFailure {
  readonly module: string
  /** "the implementation of "P": its layer failed: <first line of the cause>" */
  readonly message: string
  /** the whole cause, rendered */
  readonly rendered: string
}

/**
 * Builds the services and handlers of `found` (each with the module exporting it) on top of `base`.
 * @internal
 */
export const build = (
  found: ReadonlyArray<readonly [string, Actor.Implementation]>,
  base: Context.Context<never>,
  scope: Scope.Scope
): Effect.Effect<Built, BuildFailure> => {
  let module = ""
  let building: Actor.Implementation | undefined
  let phase = "its layer failed"
  return Effect.gen(function*() {
    const memoMap = yield* Layer.makeMemoMap
    let context = base
    for (const [name, implementation] of found) {
      if (implementation.layer === undefined) continue
      module = name
      building = implementation
      const services = yield* Layer.buildWithMemoMap(implementation.layer, memoMap, scope).pipe(Effect.provide(context))
      context = Context.merge(context, services as Context.Context<never>)
    }
    phase = "the effect building its handlers failed"
    const served: Array<readonly [Actor.Implementation, Record<string, ServedFn["handler"]>]> = []
    for (const [name, implementation] of found) {
      module = name
      building = implementation
      const handlers = Effect.isEffect(implementation.handlers)
        ? yield* (implementation.handlers as Effect.Effect<unknown, unknown, never>).pipe(Effect.provide(context))
        : implementation.handlers
      served.push([implementation, handlers as Record<string, ServedFn["handler"]>])
    }
    // what the layers set on the fiber (a tracer, a logger, a log level) holds for the handlers too
    const fiberRefs = yield* Effect.getFiberRefs
    return { context, fiberRefs, fns: serveAll(served) }
  }).pipe(
    Effect.catchAllCause((cause) => {
      const protocol = building === undefined
        ? "an implementation"
        : `the implementation of "${building.protocol[Actor.ProtocolTypeId].name}"`
      const rendered = Cause.pretty(cause)
      return Effect.fail({ module, message: `${protocol}: ${phase}: ${rendered.split("\n")[0]}`, rendered })
    })
  ) as Effect.Effect<Built, BuildFailure>
}

/** @internal what `build` made */
export interface Built {
  readonly context: Context.Context<never>
  /** the fiber's refs once the layers are built */
  readonly fiberRefs: FiberRefs.FiberRefs
  readonly fns: Fns
}

/**
 * The runtime an actor's handlers run in: the built services and fiber refs, and its logs
 * annotated with the actor's `name@pid`.
 * @internal
 */
export const handlerRuntime = (built: Built, title: string): Runtime.Runtime<never> =>
  Effect.runSync(
    Effect.setFiberRefs(built.fiberRefs).pipe(
      Effect.zipRight(Effect.runtime<never>().pipe(Effect.annotateLogs("actor", title), Effect.provide(built.context)))
    )
  )
