/**
 * Finding actors by name: every actor of a tree that serves protocols is registered under its name
 * once it is ready, and any actor of the tree (or its root) can find it and talk to it through a
 * portal of its own, as its parent does.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Actor from "./Actor.js"
import * as ActorError from "./ActorError.js"
import { format } from "./internal/actorId.js"
import { PortalImpl } from "./internal/portal.js"
import type { Entry as InternalEntry } from "./internal/registry.js"
import * as TreeRuntime from "./internal/runtime.js"
import type * as Portal from "./Portal.js"

/**
 * One registered actor: its name, its id, where peers reach it, and the protocols it serves.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly name: string
  readonly id: Actor.ActorId
  /** its host: the host name and network namespace (actors of one host talk over Unix sockets) */
  readonly host: string
  /** where peers reach it: `unix:<path>`, and `tcp:<host>:<port>` when the tree spans hosts */
  readonly addresses: ReadonlyArray<string>
  readonly protocols: ReadonlyArray<string>
}

/** a peer's failure that answered our own interrupt: the caller had given up, so it is only worth a debug line */
const raced = (runtime: TreeRuntime.TreeRuntime) => (error: unknown) =>
  runtime.log(LogLevel.Debug, `a call to a peer failed while it was being interrupted: ${String(error)}`)

/**
 * Connects to the first entry that answers; an entry whose actor is gone is removed from the
 * registry on the way (a dead address).
 */
const connectFirst = (
  runtime: TreeRuntime.TreeRuntime,
  entries: ReadonlyArray<InternalEntry>
): Effect.Effect<Option.Option<Portal.Portal>, never, Scope.Scope> =>
  Effect.suspend(() => {
    const [first, ...rest] = entries
    if (first === undefined) return Effect.succeed(Option.none())
    return runtime.peer(first).pipe(
      Effect.map((peer) => Option.some(new PortalImpl(peer, raced(runtime), runtime.self) as unknown as Portal.Portal)),
      Effect.catchAll(() =>
        Effect.zipRight(
          Effect.ignore(runtime.unregister(first.id.uid)),
          connectFirst(runtime, rest)
        )
      )
    )
  })

/**
 * A portal to an actor registered under `name`, if there is one: calls, streams, dialogs and
 * `cancelActor` work as on a child's portal (the canceller is the actor that asks). The connection
 * is shared by every portal to that actor and held while the scope lasts. Names need not be
 * unique: with several actors of one name, the first that answers is taken.
 *
 * @example
 * ```ts
 * import * as Registry from "effect-tractor/Registry"
 * import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
 * import * as Option from "effect/Option"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const found = yield* Registry.findActor("cache")
 *   return Option.isSome(found) ? "found" : "no such actor"
 * }))
 * ```
 * @since 0.1.0
 * @category finding
 */
export const findActor = (
  name: string
): Effect.Effect<Option.Option<Portal.Portal>, ActorError.RegistryUnavailable, Scope.Scope> =>
  Effect.flatMap(
    TreeRuntime.current,
    (runtime) => Effect.flatMap(runtime.find(name), (entries) => connectFirst(runtime, entries))
  )

/**
 * A portal to an actor registered under `name`, waiting for one to register if there is none yet;
 * fails with `ActorNotFound` after `timeout` (default: wait as long as it takes).
 *
 * @example
 * ```ts
 * import * as Portal from "effect-tractor/Portal"
 * import * as Registry from "effect-tractor/Registry"
 * import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const cache = yield* Registry.waitForActor("cache", { timeout: "5 seconds" })
 *   return Portal.isPortal(cache)
 * }))
 * ```
 * @since 0.1.0
 * @category finding
 */
export const waitForActor = (
  name: string,
  options?: { readonly timeout?: Duration.DurationInput | undefined }
): Effect.Effect<Portal.Portal, ActorError.ActorNotFound | ActorError.RegistryUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const tree = yield* TreeRuntime.current
    const millis = options?.timeout === undefined ? Infinity : Duration.toMillis(Duration.decode(options.timeout))
    const deadline = Date.now() + millis
    while (true) {
      const left = deadline - Date.now()
      const entry = yield* tree.wait(name, Number.isFinite(left) ? Math.max(0, left) : 2 ** 31 - 1)
      if (Option.isNone(entry)) {
        if (Date.now() < deadline) continue
        return yield* new ActorError.ActorNotFound({
          name,
          waitedMillis: millis,
          message: `no actor named "${name}" registered within ${millis} ms in the tree of ${format(tree.self)}`
        })
      }
      const portal = yield* connectFirst(tree, [entry.value])
      if (Option.isSome(portal)) return portal.value
      // its actor was gone (the dead entry is removed): wait for the next
    }
  })

/**
 * Every registered actor of the tree: names, ids (with pids), addresses and the protocols served.
 *
 * @example
 * ```ts
 * import * as Registry from "effect-tractor/Registry"
 * import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
 *
 * const names = Effect.map(Registry.list, (entries) => entries.map((e) => e.name))
 * ```
 * @since 0.1.0
 * @category finding
 */
export const list: Effect.Effect<ReadonlyArray<Entry>, ActorError.RegistryUnavailable> = Effect.flatMap(
  TreeRuntime.current,
  (runtime) => runtime.list
)
