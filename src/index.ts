/**
 * effect-tractor: supervision trees on Effect where every actor is an OS process.
 *
 * @since 0.1.0
 */

/**
 * Actor identity, the `CurrentActor` service and protocol declarations.
 *
 * @since 0.1.0
 */
export * as Actor from "./Actor.js"

/**
 * Dialogs: the child's `ActorContext` and the parent's `DialogHandle`.
 *
 * @since 0.1.0
 */
export * as ActorContext from "./ActorContext.js"

/**
 * Running a program of actors: `runMain`, the guard of one-file programs.
 *
 * @since 0.1.0
 */
export * as ActorRuntime from "./ActorRuntime.js"

/**
 * Every error that can cross a process.
 *
 * @since 0.1.0
 */
export * as ActorError from "./ActorError.js"

/**
 * The wire protocol.
 *
 * @since 0.1.0
 */
export * as Message from "./Message.js"

/**
 * Two-way streams and local broadcast.
 *
 * @since 0.1.0
 */
export * as MsgStream from "./MsgStream.js"

/**
 * Nurseries: scopes owning actors and tasks, one-cancels-all.
 *
 * @since 0.1.0
 */
export * as Nursery from "./Nursery.js"

/**
 * Typed clients of running actors.
 *
 * @since 0.1.0
 */
export * as Portal from "./Portal.js"

/**
 * Finding actors by name, from any actor of the tree.
 *
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"

/**
 * Supervision as data: strategies, restart types, intensity and restart delays.
 *
 * @since 0.1.0
 */
export * as Supervision from "./Supervision.js"

/**
 * Worker pools: a function mapped over inputs on a pool of actors.
 *
 * @since 0.1.0
 */
export * as WorkerPool from "./WorkerPool.js"
