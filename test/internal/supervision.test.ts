/**
 * The supervision decision, by property: for any children, strategy, intensity and sequence of
 * exits at any times, the set restarted is the strategy's, temporary children never start again,
 * siblings stop in reverse start order, and the supervisor gives up exactly when the window holds
 * more than `maxRestarts` restarts (checked against a model written independently: a count over
 * the full list of restart times).
 */
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import type { ActorExit } from "../../src/internal/actorId.ts"
import { type Child, decide, type Restart, type Rules, type Strategy } from "../../src/internal/supervision.ts"

const strategy = FastCheck.constantFrom<Strategy>("oneForOne", "oneForAll", "restForOne")
const restart = FastCheck.constantFrom<Restart>("permanent", "transient", "temporary")
const children = FastCheck.array(restart, { minLength: 1, maxLength: 6 }).map((restarts) =>
  restarts.map((restart, i): Child => ({ name: `c${i}`, restart }))
)
const rules = FastCheck.record({
  kind: FastCheck.constant("supervise" as const),
  strategy,
  maxRestarts: FastCheck.integer({ min: 0, max: 5 }),
  periodMillis: FastCheck.integer({ min: 1, max: 5000 })
})
/** how an exit looks: asked for, a clean code 0, or a crash (code or signal) */
const exitKind = FastCheck.constantFrom("expected", "zero", "code", "signal")
const exitOf = (kind: string): ActorExit => ({
  actor: { name: "x", uid: "u", pid: 1 },
  code: kind === "signal" ? null : kind === "code" ? 3 : 0,
  signal: kind === "signal" ? "SIGKILL" : null,
  expected: kind === "expected",
  reason: kind
})
const events = FastCheck.array(
  FastCheck.record({ child: FastCheck.nat(5), kind: exitKind, gap: FastCheck.integer({ min: 0, max: 3000 }) }),
  { maxLength: 30 }
)

const normal = (kind: string) => kind === "expected" || kind === "zero"
const restarts = (r: Restart, kind: string) => r === "permanent" || (r === "transient" && !normal(kind))

describe("the supervision decision", () => {
  it.prop("restarts what the strategy says, and gives up exactly when the window overflows", [
    rules,
    children,
    events
  ], ([rules, initial, events]) => {
    let live: Array<Child> = [...initial]
    let history: ReadonlyArray<number> = []
    const all: Array<number> = [] // the model: every restart time, never forgotten
    let now = 0
    for (const event of events) {
      now += event.gap
      const child = live[event.child % Math.max(live.length, 1)]
      if (child === undefined) break
      const decision = decide(rules, live, history, child.name, exitOf(event.kind), now)
      if (!restarts(child.restart, event.kind)) {
        assert.strictEqual(decision._tag, "Remove", `${child.restart} child, ${event.kind} exit`)
        live = live.filter((c) => c !== child)
        continue
      }
      all.push(now)
      const inWindow = all.filter((at) => at > now - rules.periodMillis).length
      if (inWindow > rules.maxRestarts) {
        assert.strictEqual(decision._tag, "GiveUp", `${inWindow} restarts in the window, max ${rules.maxRestarts}`)
        return
      }
      assert.strictEqual(decision._tag, "Restart", `${inWindow} restarts in the window, max ${rules.maxRestarts}`)
      if (decision._tag !== "Restart") return
      history = decision.history
      const index = live.indexOf(child)
      const affected = rules.strategy === "oneForOne"
        ? [child]
        : rules.strategy === "oneForAll"
        ? live
        : live.slice(index)
      // the exited child and its non-temporary affected siblings start again, in start order
      assert.deepStrictEqual(
        decision.start,
        affected.filter((c) => c === child || c.restart !== "temporary").map((c) => c.name)
      )
      // every affected sibling stops first, the last started first
      assert.deepStrictEqual(decision.stop, affected.filter((c) => c !== child).map((c) => c.name).reverse())
      // temporary siblings that were stopped are gone
      const stoppedForGood = new Set(decision.stop.filter((name) => !decision.start.includes(name)))
      for (const name of stoppedForGood) assert.strictEqual(live.find((c) => c.name === name)?.restart, "temporary")
      live = live.filter((c) => !stoppedForGood.has(c.name))
    }
  })

  it.prop("the default policy never restarts: a crash gives up at once, an exit that was asked for is forgotten", [
    children,
    exitKind
  ], ([children, kind]) => {
    const oneCancelsAll: Rules = { kind: "oneCancelsAll", strategy: "oneForAll", maxRestarts: 0, periodMillis: 5000 }
    for (const child of children) {
      const decision = decide(oneCancelsAll, children, [], child.name, exitOf(kind), 0)
      const fails = child.restart !== "temporary" && kind !== "expected"
      assert.strictEqual(decision._tag, fails ? "GiveUp" : "Remove", `${child.restart} child, ${kind} exit`)
    }
  })

  it("a window of one restart per period: the second restart inside the period gives up, one after it does not", () => {
    const rules: Rules = { kind: "supervise", strategy: "oneForOne", maxRestarts: 1, periodMillis: 1000 }
    const kids: Array<Child> = [{ name: "a", restart: "permanent" }]
    const first = decide(rules, kids, [], "a", exitOf("code"), 0)
    assert.strictEqual(first._tag, "Restart")
    const history = first._tag === "Restart" ? first.history : []
    assert.strictEqual(decide(rules, kids, history, "a", exitOf("code"), 999)._tag, "GiveUp")
    assert.strictEqual(decide(rules, kids, history, "a", exitOf("code"), 1000)._tag, "Restart")
  })
})
