/**
 * Running a program of actors: `runMain`, the entry point of a tree, which is also the guard that
 * lets one module hold the protocol, its implementation and the main program; and the runtime of a
 * tree's root as a `Layer`: where its registry is, and whether its actors talk across hosts.
 *
 * @since 0.1.0
 */
import * as WorkerThreads from "node:worker_threads"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Actor from "./Actor.js"
import type * as ActorError from "./ActorError.js"
import * as inspect from "./internal/inspect.js"
import * as internal from "./internal/main.js"
import * as runtime from "./internal/runtime.js"
import * as Portal from "./Portal.js"

/**
 * @since 0.1.0
 */
export declare namespace runMain {
  /**
   * @since 0.1.0
   */
  export interface Options<R = never> {
    /** Do not log the failure of the program (default: logged with its cause, remote stacks included). */
    readonly disableErrorReporting?: boolean | undefined
    /** Keep Effect's default logger instead of the pretty one. */
    readonly disablePrettyLogger?: boolean | undefined
    /** Decides the exit code (default: 1 for a failure, 0 for success or Ctrl-C). */
    readonly teardown?: ((exit: Exit.Exit<unknown, unknown>, onExit: (code: number) => void) => void) | undefined
  }
}

/**
 * Runs `effect` as the main program of the process, like `NodeRuntime.runMain`: SIGINT (Ctrl-C) and
 * SIGTERM interrupt it, so every nursery tears its actors down through the ladder and every
 * finalizer runs, in the root and in the actors; a failure is logged with its cause and sets exit
 * code 1.
 *
 * **Details**
 *
 * In an actor process `runMain` does nothing. An actor imports its enabled modules to find the
 * implementations they export, so a module that is both an actor module and the main program
 * (`modules: [import.meta.url]`) must not run its main when an actor imports it: `runMain` is this
 * library's `if __name__ == "__main__"`.
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Nursery from "effect-tractor/Nursery"
 * import * as Effect from "effect/Effect"
 *
 * const main = Nursery.open((nursery) => Effect.log(`nursery of ${nursery.actor.name}`))
 *
 * ActorRuntime.runMain(main)
 * ```
 * @since 0.1.0
 * @category running
 */
export const runMain: {
  (options?: runMain.Options): <A, E>(effect: Effect.Effect<A, E>) => void
  <A, E>(effect: Effect.Effect<A, E>, options?: runMain.Options): void
} = dual(
  (args) => Effect.isEffect(args[0]),
  internal.runMain
) as any

/**
 * Whether this process is an actor spawned by effect-tractor (as opposed to the root of a tree).
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 *
 * const role = ActorRuntime.isActorProcess() ? "actor" : "root"
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isActorProcess: () => boolean = internal.isActorProcess

/**
 * The runtime of a tree's root: its identity, its registry (served or joined) and its transports.
 * Without a layer, the root makes one on first use from the environment (`EFFECT_TRACTOR_REGISTRY`,
 * `EFFECT_TRACTOR_TREE_KEY`, `EFFECT_TRACTOR_TCP_HOST`, `EFFECT_TRACTOR_TICK_MS`).
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * const RootLive: Layer.Layer<ActorRuntime.ActorRuntime> = ActorRuntime.layer()
 * const program = Effect.provide(Effect.void, RootLive)
 * ```
 * @since 0.1.0
 * @category models
 */
export class ActorRuntime extends runtime.ActorRuntimeTag {}

/**
 * @since 0.1.0
 */
export declare namespace layer {
  /**
   * @since 0.1.0
   */
  export interface Options<R = never> {
    /** The root's name in the registry (default `root`). */
    readonly name?: string | undefined
    /**
     * The tree's registry: `unix:<path>` or `tcp:<host>:<port>`. The first root to take the address
     * serves the registry there; a root that finds it held by the registry of its tree joins it
     * (with the same key). Default: served by this root on its own Unix socket.
     */
    readonly registry?: string | undefined
    /** The tree key (32 bytes in base64), the same on every host; required for a TCP registry. */
    readonly key?: Redacted.Redacted<string> | undefined
    /** Where this root and its actors also accept peers over TCP (TLS 1.3 with the key). */
    readonly tcpHost?: string | undefined
    /** A TCP peer silent for this long is down (default 15 seconds). */
    readonly tickPeriod?: Duration.DurationInput | undefined
    /**
     * What the root serves to its tree, like any actor: its actors find it by its name. Its
     * handlers (and their layers and builders) may use the application's services: they become
     * the layer's requirements.
     */
    readonly serve?: ReadonlyArray<Actor.Implementation<any, R>> | undefined
  }
}

/**
 * Sets up the root of a tree: nurseries, `Registry` functions and spawned actors under this layer
 * use it. Its listeners close, and its socket file goes, when the layer's scope closes.
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Registry from "effect-tractor/Registry"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.map(Registry.list, (entries) => entries.map((e) => e.name))
 *
 * const runnable = program.pipe(Effect.provide(ActorRuntime.layer({ name: "service-root" })))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = <R = never>(options: layer.Options<R> = {}): Layer.Layer<ActorRuntime, never, R> =>
  Layer.scoped(
    ActorRuntime,
    runtime.scopedRoot({
      name: options.name,
      registry: options.registry,
      key: options.key === undefined ? undefined : Redacted.value(options.key),
      tcpHost: options.tcpHost,
      serve: options.serve as ReadonlyArray<Actor.Implementation> | undefined,
      tickMillis: options.tickPeriod === undefined
        ? undefined
        : Duration.toMillis(Duration.decode(options.tickPeriod))
    })
  )

/**
 * One actor of the live tree, with the actors below it: who it is, what it serves and where, how
 * many calls it is serving, how long it has run and its process's memory. A child that did not
 * answer is listed with what its parent knows, and `unreachable` says why.
 *
 * @example
 * ```ts
 * import type * as ActorRuntime from "effect-tractor/ActorRuntime"
 *
 * const count = (node: ActorRuntime.TreeNode): number =>
 *   1 + node.children.reduce((n, child) => n + count(child), 0)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface TreeNode {
  readonly name: string
  readonly pid: number
  readonly uid: string
  /** `name@pid` of its parent; absent for a root */
  readonly parent?: string | undefined
  readonly kind: "root" | "process" | "thread"
  readonly protocols: ReadonlyArray<string>
  readonly addresses: ReadonlyArray<string>
  /** calls, streams and dialogs it is serving now */
  readonly callsInFlight: number
  readonly uptimeMillis: number
  /** the resident memory of its process in MB (a thread shares its process's) */
  readonly rssMb: number
  readonly children: ReadonlyArray<TreeNode>
  readonly unreachable?: string | undefined
}

/**
 * The live tree below this process: the root's whole tree in the root, an actor's subtree in an
 * actor. Every actor answers for itself and asks its children (2 s each at most).
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Console from "effect/Console"
 * import * as Effect from "effect/Effect"
 *
 * const show = Effect.flatMap(ActorRuntime.tree, (tree) => Console.log(ActorRuntime.renderTree(tree)))
 * ```
 * @since 0.1.0
 * @category inspection
 */
export const tree: Effect.Effect<TreeNode> = Effect.flatMap(runtime.current, (tree) =>
  inspect.describe(
    tree,
    tree.parent === undefined ? "root" : WorkerThreads.isMainThread ? "process" : "thread",
    () => tree.server.running().length
  ))

/**
 * The live subtree of the actor behind a portal (a child, or one found by name in the registry).
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Registry from "effect-tractor/Registry"
 * import * as Effect from "effect/Effect"
 * import * as Option from "effect/Option"
 *
 * const below = Registry.findActor("daemon").pipe(
 *   Effect.flatMap(Option.match({ onNone: () => Effect.succeed(undefined), onSome: ActorRuntime.treeOf }))
 * )
 * ```
 * @since 0.1.0
 * @category inspection
 */
export const treeOf = (portal: Portal.Portal): Effect.Effect<TreeNode, ActorError.ActorError> =>
  Portal.call(portal, inspect.InspectProtocol.describe, undefined)

/**
 * The tree as text, one actor per line under its parent: `name@pid  kind · up 3m02s · 41.2 MB ·
 * 0 in flight · serves P · at unix:/…`.
 *
 * @example
 * ```ts
 * import * as ActorRuntime from "effect-tractor/ActorRuntime"
 * import * as Effect from "effect/Effect"
 *
 * const text = Effect.map(ActorRuntime.tree, ActorRuntime.renderTree)
 * ```
 * @since 0.1.0
 * @category inspection
 */
export const renderTree: (node: TreeNode) => string = inspect.render
