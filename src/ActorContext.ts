/**
 * Dialogs (tractor's `Context`): a task pair across two actors. The child side gets an
 * `ActorContext` (`started`, `openStream`, `cancel`); the parent side runs a body with a
 * `DialogHandle` (`started`, `openStream`, `result`, `cancel`) through `Portal.openDialog`.
 *
 * @since 0.1.0
 */
import type * as Actor from "./Actor.js"

/**
 * The child side of a dialog, given to a dialog handler: call `started` exactly once, then open
 * the one two-way stream; `cancel` ends this side (the parent sees `ContextCancelled` naming this
 * actor as the canceller).
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import type * as ActorContext from "effect-tractor/ActorContext"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const echo = (context: ActorContext.ActorContext<void, string, string>) =>
 *   Effect.gen(function*() {
 *     yield* context.started(undefined)
 *     const stream = yield* context.openStream()
 *     yield* Stream.runForEach(stream.receive, stream.send)
 *   })
 * ```
 * @since 0.1.0
 * @category models
 */
export type ActorContext<Started, ChildSends, ParentSends> = Actor.ActorContext<Started, ChildSends, ParentSends>

/**
 * The parent side of a dialog, given to the body of `Portal.openDialog`.
 *
 * @example
 * ```ts
 * import type * as ActorContext from "effect-tractor/ActorContext"
 * import * as Effect from "effect/Effect"
 *
 * const body = (dialog: ActorContext.DialogHandle<number, string, string, string, never>) =>
 *   Effect.gen(function*() {
 *     const stream = yield* dialog.openStream()
 *     yield* stream.send("ping")
 *     yield* stream.close
 *     return yield* dialog.result
 *   })
 * ```
 * @since 0.1.0
 * @category models
 */
export type DialogHandle<Started, ParentSends, ChildSends, Result, E> = Actor.DialogHandle<
  Started,
  ParentSends,
  ChildSends,
  Result,
  E
>
