/**
 * Debugging an actor: `inspect` opens its Node inspector and logs the URL (to the root's logger)
 * with the actor's name; a debugger connected to it with the inspector protocol sets a breakpoint
 * on a line of the bundle that the source map places on the TypeScript line of the handler, and
 * the actor pauses there.
 */
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import WebSocket from "ws"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import { Chatty } from "./fixtures/chatty.ts"
import { checkOrphansAfterEach, fixture } from "./utils/index.ts"

checkOrphansAfterEach()

const modules = [fixture("chatty.ts")]

/** the application's log lines, as text */
const capture = () => {
  const lines: Array<string> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.make((o) => lines.push((Array.isArray(o.message) ? o.message : [o.message]).join(" ")))
  )
  return { lines, layer }
}

/** A client of the inspector protocol: requests by id, events by method. */
const connect = (url: string) =>
  Effect.async<{
    readonly send: (method: string, params?: object) => Effect.Effect<any>
    readonly next: (method: string, match?: (params: any) => boolean) => Effect.Effect<any>
    readonly close: () => void
  }, Error>((resume) => {
    const socket = new WebSocket(url)
    let id = 0
    const replies = new Map<number, (result: unknown) => void>()
    const events: Array<{ method: string; params: any }> = []
    const waiting: Array<() => void> = []
    socket.on("message", (data) => {
      const msg = JSON.parse(String(data))
      if (msg.id !== undefined) replies.get(msg.id)?.(msg.result ?? msg.error)
      else {
        events.push(msg)
        for (const wake of waiting.splice(0)) wake()
      }
    })
    socket.on("error", (e) => resume(Effect.fail(e)))
    socket.on("open", () =>
      resume(Effect.succeed({
        send: (method, params = {}) =>
          Effect.async((done) => {
            const n = ++id
            replies.set(n, (result) => done(Effect.succeed(result)))
            socket.send(JSON.stringify({ id: n, method, params }))
          }),
        next: (method, match = () => true) =>
          Effect.async((done) => {
            const look = () => {
              const i = events.findIndex((e) => e.method === method && match(e.params))
              if (i === -1) return waiting.push(look)
              done(Effect.succeed(events.splice(i, 1)[0]!.params))
            }
            look()
          }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`no ${method} event`) }), Effect.orDie),
        close: () => socket.close()
      })))
  })

const urlIn = (lines: ReadonlyArray<string>, name: string) => {
  const line = lines.find((l) => l.startsWith(`debugger for ${name}@`))
  assert.isDefined(line, lines.join("\n"))
  return /(ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(line!)![1]!
}

describe("debugging an actor", () => {
  it.live("inspect: the logged URL takes a debugger; a breakpoint on the handler's line (by the source map) pauses the actor there", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const actor = yield* Nursery.spawn(nursery, "debuggee", { modules, inspect: true, output: "log" })
        const url = urlIn(logs.lines, `debuggee`)
        assert.include(logs.lines.find((l) => l.startsWith("debugger for") && l.includes(url))!, "chrome://inspect")
        const debug = yield* connect(url)
        yield* debug.send("Debugger.enable")
        // the bundle the actor runs, with its source map beside it
        const script = yield* debug.next("Debugger.scriptParsed", (p) => /effect-tractor\/[0-9a-f]+\.cjs$/.test(p.url))
        assert.isNotEmpty(script.sourceMapURL)
        const bundleFile = script.url.startsWith("file:") ? Url.fileURLToPath(script.url) : script.url
        // the handler's `n + 1`, as esbuild wrote it (minified: `poke:n=>sync(()=>n+1)`)
        const bundle = Fs.readFileSync(bundleFile, "utf8").split("\n")
        const at = /poke:(\w+)=>\w+\(\(\)=>(\1\+1)\)/
        const generatedLine = bundle.findIndex((l) => at.test(l))
        assert.isAtLeast(generatedLine, 1, "the handler's line in the bundle")
        const found = at.exec(bundle[generatedLine]!)!
        const column = found.index + found[0].indexOf(found[2]!)
        // the source map puts that line on the handler's line of the TypeScript fixture
        const map = new Module.SourceMap(JSON.parse(Fs.readFileSync(`${bundleFile}.map`, "utf8")))
        const origin = map.findEntry(generatedLine, column) as { originalSource?: string; originalLine?: number }
        const tsLines = Fs.readFileSync(Url.fileURLToPath(fixture("chatty.ts")), "utf8").split("\n")
        assert.match(String(origin.originalSource), /fixtures\/chatty\.ts$/)
        assert.include(tsLines[origin.originalLine!]!, "// inspect-me")

        const set = yield* debug.send("Debugger.setBreakpointByUrl", { url: script.url, lineNumber: generatedLine, columnNumber: column })
        assert.isNotEmpty(set.breakpointId)
        const call = yield* Effect.fork(Portal.call(actor, Chatty.poke, 41))
        const paused = yield* debug.next("Debugger.paused")
        assert.strictEqual(paused.callFrames[0].location.lineNumber, generatedLine)
        assert.approximately(paused.callFrames[0].location.columnNumber, column, 6)
        yield* debug.send("Debugger.resume")
        assert.strictEqual(yield* Fiber.join(call), 42)
        debug.close()
      })
    ).pipe(Effect.provide(logs.layer))
  })
})

describe("debugging an actor from its start", () => {
  it.live("pauseOnStart: the actor waits for a debugger before it loads its modules, then serves", () => {
    const logs = capture()
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const spawning = yield* Effect.fork(
          Nursery.spawn(nursery, "paused", { modules, inspect: { pauseOnStart: true }, output: "log" })
        )
        // the URL is logged while the actor waits
        const url = yield* Effect.suspend(() =>
          logs.lines.some((l) => l.startsWith("debugger for paused@")) ? Effect.succeed(urlIn(logs.lines, "paused")) : Effect.fail("not yet")
        ).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 }), Effect.orDie)
        assert.include(logs.lines.find((l) => l.startsWith("debugger for") && l.includes(url))!, "waiting for it")
        // it waits: no ready yet, however long
        yield* Effect.sleep("1 second")
        assert.isNull(spawning.unsafePoll())
        const debug = yield* connect(url)
        yield* debug.send("Runtime.runIfWaitingForDebugger")
        const actor = yield* Fiber.join(spawning)
        assert.strictEqual(yield* Portal.call(actor, Chatty.poke, 1), 2)
        debug.close()
      })
    ).pipe(Effect.provide(logs.layer))
  })
})

describe("a crash under the debugger", () => {
  it.live("keepOnCrash: a crashed actor stays with its inspector open for the time given, then ends as a crash", () => {
    const logs = capture()
    let crashedAt = 0
    let pid = 0
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const actor = yield* Nursery.spawn(nursery, "fragile", { modules, inspect: { keepOnCrash: "1500 millis" }, output: "log" })
        pid = actor.actor.pid
        const url = urlIn(logs.lines, "fragile")
        yield* Portal.call(actor, Chatty.crash, undefined)
        const crashed = yield* Effect.suspend(() => {
          const line = logs.lines.find((l) => l.startsWith(`fragile@${pid} crashed (uncaught exception)`))
          return line === undefined ? Effect.fail("not yet") : Effect.succeed(line)
        }).pipe(Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 500 }), Effect.orDie)
        crashedAt = Date.now()
        assert.include(crashed, "the actor fell over")
        assert.include(crashed, `its inspector stays open at ${url} for 1500 ms`)
        // the crashed actor can be examined: its inspector evaluates in it
        const debug = yield* connect(url)
        const evaluated = yield* debug.send("Runtime.evaluate", { expression: "process.pid" })
        assert.strictEqual(evaluated.result.value, pid)
        debug.close()
        return yield* Effect.never
      })
    ).pipe(
      Effect.provide(logs.layer),
      Effect.exit,
      Effect.map((exit) => {
        // then it ends, and its nursery sees a crash (the ladder continues from there)
        assert.isTrue(exit._tag === "Failure", String(exit))
        assert.isAtLeast(Date.now() - crashedAt, 1000, "it stayed for its time")
        if (exit._tag === "Failure") assert.include(Cause.pretty(exit.cause), `fragile@${pid} is gone: it exited with code 1`)
      })
    )
  })
})
