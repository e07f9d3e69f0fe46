/**
 * Logs across processes: an actor's `Effect.log*` reaches the root's logger as a structured entry
 * (level, message, annotations with the actor's name@pid, log spans, fiber, date, cause), relayed
 * through the actors between; the root's minimum level holds in every actor.
 */
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as HashMap from "effect/HashMap"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Chatty } from "./fixtures/chatty.ts"
import { checkOrphansAfterEach, fixture } from "./utils/index.ts"
import { runProgram } from "./utils/examples.ts"

checkOrphansAfterEach()

const modules = [fixture("chatty.ts")]

/** a logger that keeps what it is given, and the layer that makes it the application's logger */
const capture = () => {
  const entries: Array<Logger.Logger.Options<unknown>> = []
  const layer = Logger.replace(Logger.defaultLogger, Logger.make((options) => entries.push(options)))
  const text = (o: Logger.Logger.Options<unknown>) => (Array.isArray(o.message) ? o.message : [o.message]).join(" ")
  const annotations = (o: Logger.Logger.Options<unknown>) => Object.fromEntries(HashMap.toEntries(o.annotations))
  const from = (actor: string) => entries.filter((o) => annotations(o)["actor"] === actor)
  return { entries, layer, text, annotations, from }
}

describe("logs across processes", () => {
  it.live("an actor's logs reach the application's logger as structured entries, annotated with the actor", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "chatty", { modules })
        const before = Date.now()
        yield* Portal.call(child, Chatty.say, "hello")
        const actor = `chatty@${child.actor.pid}`
        const mine = logs.from(actor)
        // the default minimum level is Info: the debug line was not sent
        assert.deepStrictEqual(mine.map((o) => [o.logLevel.label, logs.text(o)]), [
          ["INFO", "hello [object Object]"],
          ["WARN", "hello (warning)"],
          ["ERROR", "hello (error)"]
        ])
        const info = mine[0]!
        assert.deepStrictEqual(info.message, ["hello", { detail: 42 }])
        assert.include(logs.annotations(info), { actor, request: "r-1" })
        assert.deepStrictEqual(List.toArray(info.spans).map((s) => s.label), ["saying"])
        assert.match(FiberId.threadName(info.fiberId), /^#\d+$/)
        assert.isAtLeast(info.date.getTime(), before - 1000)
        assert.isAtMost(info.date.getTime(), Date.now())

        // a cause comes rendered, with what failed
        yield* Portal.call(child, Chatty.fail, "the disk is full")
        const failed = logs.from(actor).find((o) => logs.text(o) === "it failed")
        assert.isDefined(failed)
        assert.include(String(failed!.cause._tag === "Die" ? (failed!.cause.defect as Error).stack : ""), "the disk is full")
      })
    ).pipe(Effect.provide(logs.layer))
  })

  it.live("a grandchild's logs are relayed by its parent, still annotated with the grandchild", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "chatty", { modules })
        const grandchild = yield* Portal.call(child, Chatty.relay, "from below")
        const relayed = logs.from(`grandchild@${grandchild}`)
        assert.deepStrictEqual(relayed.map((o) => logs.text(o)), [
          "from below [object Object]",
          "from below (warning)",
          "from below (error)"
        ])
        assert.include(logs.annotations(relayed[0]!), { request: "r-1" })
        assert.deepStrictEqual(logs.from(`chatty@${child.actor.pid}`), [], "the relay adds no entry of its own")
      })
    ).pipe(Effect.provide(logs.layer))
  })

  it.live("the root's minimum log level holds in every actor: below it, nothing arrives", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "chatty", { modules })
        assert.strictEqual(yield* Portal.call(child, Chatty.level, undefined), "ERROR")
        yield* Portal.call(child, Chatty.relay, "quiet")
        assert.deepStrictEqual(logs.entries.map((o) => [o.logLevel.label, logs.text(o)]), [
          ["ERROR", "quiet (error)"]
        ])
      })
    ).pipe(Effect.provide(logs.layer), Logger.withMinimumLogLevel(LogLevel.Error))
  })

  it.live("with Debug as the root's level, the actor's debug lines arrive too", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "chatty", { modules })
        yield* Portal.call(child, Chatty.say, "verbose")
        assert.deepStrictEqual(logs.from(`chatty@${child.actor.pid}`).map((o) => o.logLevel.label), ["DEBUG", "INFO", "WARN", "ERROR"])
      })
    ).pipe(Effect.provide(logs.layer), Logger.withMinimumLogLevel(LogLevel.Debug))
  })
})

describe("an actor's plain output", () => {
  const printed = (method: "process" | "thread", mode: "prefixed" | "inherit", ...more: Array<string>) =>
    Effect.map(runProgram(Url.fileURLToPath(fixture("root_prints.ts")), { args: [method, mode, ...more] }), (run) => {
      assert.strictEqual(run.exitCode, 0, run.stderr)
      // the root's own last line: its actor's pid (after the actor's unfinished line, when that is not prefixed)
      const [, before, pid] = /^(.*)\{"pid":(\d+)\}$/.exec(run.lines.at(-1)!)!
      const stdout = [...run.lines.slice(0, -1), ...(before !== "" ? [before!] : [])]
      return { stdout, stderr: run.stderr.trimEnd().split("\n"), pid: Number(pid) }
    })

  it.live("stays on the inherited stdout and stderr as it is, by default (an unfinished line runs into what follows)", () =>
    Effect.map(printed("process", "inherit"), ({ stderr, stdout }) => {
      assert.deepStrictEqual(stdout, ["first line", "second line", "no newline yet"])
      assert.deepStrictEqual(stderr, ["to stderr"])
    }))

  it.live("output prefixed: each line led by the actor's name@pid, the last one without its newline too", () =>
    Effect.map(printed("process", "prefixed"), ({ pid, stderr, stdout }) => {
      const p = `[printer@${pid}] `
      assert.deepStrictEqual(stdout, [`${p}first line`, `${p}second line`, `${p}no newline yet`])
      assert.deepStrictEqual(stderr, [`${p}to stderr`])
    }))

  it.live("output prefixed in a thread actor: its lines, led by its name and its process's pid", () =>
    Effect.map(printed("thread", "prefixed"), ({ pid, stderr, stdout }) => {
      const p = `[printer@${pid}] `
      assert.deepStrictEqual(stdout, [`${p}first line`, `${p}second line`, `${p}no newline yet`])
      assert.deepStrictEqual(stderr, [`${p}to stderr`])
    }))

  it.live("output prefixed: an actor's last lines before it exits are all printed before its exit is reported", () =>
    Effect.map(printed("process", "prefixed", "last-words"), ({ pid, stdout }) => {
      const p = `[printer@${pid}] `
      // (the first runs on from the unfinished line the actor printed before)
      const last = stdout.filter((l) => l.endsWith("x".repeat(95)))
      assert.strictEqual(last.length, 500, "every line of its last words")
      assert.isTrue(last.every((l, i) => l.startsWith(p) && l.endsWith(`${String(i).padStart(3, "0")} ${"x".repeat(95)}`)))
    }))

  it.live("output log: the lines reach the application's logger (stdout at Info, stderr at Error, annotated), the last ones before the exit is reported", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "printer", { modules, output: "log", restart: "temporary" })
        const actor = `printer@${child.actor.pid}`
        const lines = (stream: string) =>
          logs.from(actor).filter((o) => logs.annotations(o)["stream"] === stream).flatMap((o) => logs.text(o).split("\n"))
        yield* Portal.call(child, Chatty.print, undefined)
        yield* Effect.suspend(() => lines("stdout").length >= 2 && lines("stderr").length >= 1 ? Effect.void : Effect.fail("not yet")).pipe(
          Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 300 })
        )
        assert.deepStrictEqual(lines("stdout"), ["first line", "second line"])
        assert.deepStrictEqual(lines("stderr"), ["to stderr"])
        assert.isTrue(logs.from(actor).every((o) => o.logLevel.label === (logs.annotations(o)["stream"] === "stdout" ? "INFO" : "ERROR")))
        // its exit is reported (the call fails) once its last lines are logged
        yield* Effect.flip(Portal.call(child, Chatty.lastWords, undefined))
        const last = lines("stdout").slice(2)
        assert.strictEqual(last[0], `no newline yet000 ${"x".repeat(95)}`)
        assert.strictEqual(last.length, 500)
        assert.strictEqual(last.at(-1), `499 ${"x".repeat(95)}`)
      })
    ).pipe(Effect.provide(logs.layer))
  })
})
