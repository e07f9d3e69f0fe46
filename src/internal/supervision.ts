/**
 * The supervision decision, as a pure function: given the policy, the children in start order,
 * the recent restarts and one child's exit, what happens next. The supervisor fiber of a nursery
 * feeds it one event at a time and carries the decision out; nothing else decides.
 */
import { type ActorExit, isNormalExit } from "./actorId.js"

/** @internal */
export type Strategy = "oneForOne" | "oneForAll" | "restForOne"

/** @internal */
export type Restart = "permanent" | "transient" | "temporary"

/** @internal what the decision needs of a policy */
export interface Rules {
  /** `oneCancelsAll`: the nursery's default; the first crash fails the nursery with that crash */
  readonly kind: "supervise" | "oneCancelsAll"
  readonly strategy: Strategy
  readonly maxRestarts: number
  readonly periodMillis: number
}

/** @internal a child as the decision sees it */
export interface Child {
  readonly name: string
  readonly restart: Restart
}

/** @internal */
export type Decision =
  /** the child is not restarted and no sibling is touched: forget it */
  | { readonly _tag: "Remove" }
  /**
   * stop `stop` (in that order: reverse start order), then start `start` (in start order, the
   * exited child included); temporary siblings are stopped, never started again
   */
  | {
    readonly _tag: "Restart"
    readonly stop: ReadonlyArray<string>
    readonly start: ReadonlyArray<string>
    readonly history: ReadonlyArray<number>
  }
  /** more than `maxRestarts` restarts within the period: stop everything and fail */
  | { readonly _tag: "GiveUp"; readonly history: ReadonlyArray<number> }

/**
 * The restarts still inside the window ending at `now`, with one more at `now`; `exceeded` when
 * they are more than `maxRestarts` (OTP: more than MaxR restarts within MaxT).
 *
 * @internal
 */
export const window = (
  rules: Pick<Rules, "maxRestarts" | "periodMillis">,
  history: ReadonlyArray<number>,
  now: number
): { readonly history: ReadonlyArray<number>; readonly exceeded: boolean } => {
  const kept = history.filter((at) => at > now - rules.periodMillis)
  kept.push(now)
  return { history: kept, exceeded: kept.length > rules.maxRestarts }
}

/** Whether an exit calls for a restart of a child with this restart type. */
const needsRestart = (rules: Rules, restart: Restart, exit: ActorExit): boolean => {
  if (restart === "temporary") return false
  // the default policy: an exit the tree asked for is never a failure, any other one is
  if (rules.kind === "oneCancelsAll") return !exit.expected
  return restart === "permanent" || !isNormalExit(exit)
}

/**
 * What to do when `child` (one of `children`, in start order) exited with `exit` at `now`, given
 * the times of the restarts so far.
 *
 * @internal
 */
export const decide = (
  rules: Rules,
  children: ReadonlyArray<Child>,
  history: ReadonlyArray<number>,
  child: string,
  exit: ActorExit,
  now: number
): Decision => {
  const index = children.findIndex((c) => c.name === child)
  if (index < 0) return { _tag: "Remove" }
  if (!needsRestart(rules, children[index]!.restart, exit)) return { _tag: "Remove" }
  const next = window(rules, history, now)
  if (next.exceeded) return { _tag: "GiveUp", history: next.history }
  const affected = rules.strategy === "oneForOne"
    ? [children[index]!]
    : rules.strategy === "oneForAll"
    ? children
    : children.slice(index)
  return {
    _tag: "Restart",
    stop: affected.filter((c) => c.name !== child).map((c) => c.name).reverse(),
    start: affected.filter((c) => c.name === child || c.restart !== "temporary").map((c) => c.name),
    history: next.history
  }
}
