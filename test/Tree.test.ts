/**
 * The live tree: the root describes every actor below it (names, pids, parents, kinds, protocols,
 * addresses, calls in flight, uptime, memory), any actor its own subtree, through a portal from
 * its parent or from the registry; and the text view.
 */
import * as ChildProcess from "node:child_process"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as ActorRuntime from "../src/ActorRuntime.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import { Traced } from "./fixtures/traced.ts"
import { checkOrphansAfterEach, fixture, isAlive } from "./utils/index.ts"

checkOrphansAfterEach()

const modules = [fixture("traced.ts")]

describe("the live tree", () => {
  it.live("the root describes its whole tree; an actor found by name its subtree; the text view shows it", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const top = yield* Nursery.spawn(nursery, "top", { modules })
        yield* Nursery.spawn(nursery, "side", { modules, spawnMethod: "thread" })
        // top holds a chain of two actors below it, with one call in flight in each
        const holding = yield* Effect.fork(Portal.call(top, Traced.hold, 2))
        yield* Effect.sleep("1500 millis")
        const tree = yield* ActorRuntime.tree
        assert.strictEqual(tree.kind, "root")
        assert.strictEqual(tree.pid, process.pid)
        assert.isUndefined(tree.parent)
        assert.deepStrictEqual(tree.children.map((c) => [c.name, c.kind]), [["top", "process"], ["side", "thread"]])
        const [topNode, sideNode] = tree.children as [ActorRuntime.TreeNode, ActorRuntime.TreeNode]
        assert.strictEqual(topNode.pid, top.actor.pid)
        assert.strictEqual(topNode.parent, `${tree.name}@${process.pid}`)
        assert.deepStrictEqual(topNode.protocols, ["Traced"])
        assert.isTrue(topNode.addresses.some((a) => a.startsWith("unix:")), String(topNode.addresses))
        assert.strictEqual(topNode.callsInFlight, 1)
        assert.isAbove(topNode.uptimeMillis, 1000)
        assert.isAbove(topNode.rssMb, 5)
        assert.strictEqual(sideNode.pid, process.pid, "a thread actor is in this process")
        assert.strictEqual(sideNode.callsInFlight, 0)
        // a thread's uptime is its own, not its process's
        assert.isAbove(sideNode.uptimeMillis, 1000)
        assert.isBelow(sideNode.uptimeMillis, tree.uptimeMillis - 50)
        // the chain below top
        const held1 = topNode.children[0]!
        const held0 = held1.children[0]!
        assert.deepStrictEqual([held1.name, held0.name], ["held_1", "held_0"])
        assert.strictEqual(held1.parent, `top@${top.actor.pid}`)
        assert.strictEqual(held0.parent, `held_1@${held1.pid}`)
        assert.deepStrictEqual(held0.children, [])
        assert.strictEqual(held0.callsInFlight, 1)
        for (const pid of [held1.pid, held0.pid]) assert.isTrue(isAlive(pid))

        // the same subtree, from a portal found by name
        const found = Option.getOrThrow(yield* Registry.findActor("held_1"))
        const sub = yield* ActorRuntime.treeOf(found)
        assert.strictEqual(sub.pid, held1.pid)
        assert.deepStrictEqual(sub.children.map((c) => c.pid), [held0.pid])

        const text = ActorRuntime.renderTree(tree)
        const lines = text.split("\n")
        assert.strictEqual(lines.length, 5, text)
        assert.match(lines[0]!, new RegExp(`^${tree.name}@${process.pid}  root · up \\d+`))
        assert.match(lines[1]!, new RegExp(`^├─ top@${top.actor.pid}  process · up \\d+s · [\\d.]+ MB · 1 in flight · serves Traced · at unix:`))
        assert.match(lines[2]!, new RegExp(`^│  └─ held_1@${held1.pid}  process`))
        assert.match(lines[3]!, new RegExp(`^│     └─ held_0@${held0.pid}  process`))
        assert.match(lines[4]!, new RegExp(`^└─ side@${process.pid}  thread · up \\d+s · 0 in flight · serves Traced`))
        yield* Fiber.interrupt(holding)
      })
    ))

  it.live("effect-tractor tree prints this host's actor processes under their root, with uptime and memory", () =>
    Nursery.open((nursery) =>
      Effect.gen(function*() {
        const a = yield* Nursery.spawn(nursery, "cli_a", { modules })
        const b = yield* Nursery.spawn(nursery, "cli_b", { modules })
        const holding = yield* Effect.fork(Portal.call(b, Traced.hold, 1))
        yield* Effect.sleep("1000 millis")
        const cli = Url.fileURLToPath(new URL("../dist/bin/effect-tractor.js", import.meta.url))
        const out = ChildProcess.execFileSync(process.execPath, [cli, "tree"], { encoding: "utf8" })
        const lines = out.split("\n")
        const at = lines.findIndex((l) => l.startsWith(`root ${process.pid}: `))
        assert.isAtLeast(at, 0, out)
        const mine = lines.slice(at + 1, at + 4)
        assert.match(mine[0]!, new RegExp(`^├─ cli_a@${a.actor.pid}  up \\d+s · [\\d.]+ MB$`), out)
        assert.match(mine[1]!, new RegExp(`^└─ cli_b@${b.actor.pid}  up \\d+s · [\\d.]+ MB$`), out)
        assert.match(mine[2]!, /^   └─ held_0@\d+  up \d+s/, out)
        const usage = ChildProcess.spawnSync(process.execPath, [cli, "forest"], { encoding: "utf8" })
        assert.strictEqual(usage.status, 2)
        assert.match(usage.stderr, /^usage: effect-tractor tree/)
        yield* Fiber.interrupt(holding)
      })
    ))
})
