/**
 * Fuzzing the wire where a peer can reach it: random, mutated, schema-invalid and oversized frames
 * written at an actor's socket between valid calls, split anywhere; schema-invalid payloads for
 * every function of every protocol in the examples, at the socket; schema-invalid answers (results,
 * declared errors, stream elements, dialog starts) for the same functions, at the caller. Nothing
 * crashes, each bad frame fails only its own call (typed) or is logged, and no valid frame around
 * it is lost.
 */
import * as Url from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Actor from "../src/Actor.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import { Caller } from "../src/internal/caller.ts"
import { memoryPair } from "../src/internal/connection.ts"
import { openDialog } from "../src/internal/dialog.ts"
import { Link } from "../src/internal/link.ts"
import { servesNothing } from "../src/internal/server.ts"
import * as Transport from "../src/internal/transport.ts"
import { Echo } from "./fixtures/protocols.ts"
import { checkOrphansAfterEach, echoModule } from "./utils/index.ts"
import { tolerateLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

const example = (path: string) => new URL(`../examples/${path}`, import.meta.url)
/** every example module that declares a protocol (the cluster one aside: it needs the cluster packages) */
const exampleModules = [
  "parallelism/primes.ts",
  "parallelism/identify.ts",
  "parallelism/burn_cpu.ts",
  "parallelism/concurrent_actors_primes.ts",
  "streaming/streamer.ts",
  "streaming/ticker.ts",
  "streaming/aggregator.ts",
  "supervision/services.ts",
  "ping_pong.ts",
  "service_discovery.ts"
].map(example)

interface Answer {
  readonly _tag: string
  readonly id?: number
  readonly value?: unknown
  readonly reason?: { readonly _tag: string; readonly error?: { readonly _tag: string; readonly part?: string } }
}

let peers = 0
/**
 * A raw peer of the actor `name`, over its Unix socket after the `Hello` handshake: what it writes
 * goes to the actor as it is; every line the actor answers is collected (a line that is not JSON
 * is kept as `notJson`).
 */
const rawPeer = (name: string) =>
  Effect.gen(function*() {
    const entry = (yield* Effect.orDie(Registry.list)).find((e) => e.name === name)!
    const address = entry.addresses.map(Transport.parseAddress).find((a) => a?.kind === "unix")!
    const peer = yield* Effect.acquireRelease(
      Effect.orDie(Transport.connect(address, { name: "fuzzer", uid: `fz${peers++}`, pid: process.pid }, Transport.makeTreeKey())),
      (peer) => Effect.sync(() => peer.socket.destroy())
    )
    const answers: Array<Answer> = []
    const notJson: Array<string> = []
    let closed = false
    let buffered = ""
    peer.socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        try {
          answers.push(JSON.parse(line))
        } catch {
          notJson.push(line)
        }
      }
    })
    peer.socket.on("close", () => (closed = true))
    peer.socket.resume()
    return {
      answers,
      notJson,
      closed: () => closed,
      write: (chunks: ReadonlyArray<Buffer>) =>
        Effect.promise(async () => {
          for (const chunk of chunks) {
            peer.socket.write(chunk)
            await new Promise((r) => setImmediate(r))
          }
        }),
      /** waits (up to 5 s) until `done` holds */
      until: (done: () => boolean) =>
        Effect.gen(function*() {
          const end = Date.now() + 5000
          while (!done() && Date.now() < end) yield* Effect.sleep("5 millis")
          return done()
        })
    }
  })

const callFrame = (id: number, protocol: string, fn: string, payload?: unknown) =>
  JSON.stringify({ _tag: "Call", id, protocol, fn, ...(payload === undefined ? {} : { payload }) })

// ---------------------------------------------------------------------------
// frames at the socket
// ---------------------------------------------------------------------------

const text = FastCheck.string({ unit: FastCheck.constantFrom("a", "é", "€", "😀", " ", "\"", "\\", "{", "}", "\u0000"), maxLength: 30 })
/** the frame mutations start from: a valid call, with an id below those of the valid calls */
const template = callFrame(101, "Echo", "echo", "abc")
const mutation = FastCheck.tuple(
  FastCheck.constantFrom("delete", "insert", "replace"),
  FastCheck.nat(),
  FastCheck.integer({ min: 32, max: 126 })
)
const mutate = (frame: string, steps: ReadonlyArray<readonly [string, number, number]>) =>
  steps.reduce((s, [op, at, code]) => {
    const i = at % (s.length + 1)
    const c = String.fromCharCode(code)
    return op === "delete" ? s.slice(0, i) + s.slice(i + 1) : op === "insert" ? s.slice(0, i) + c + s.slice(i) : s.slice(0, i) + c + s.slice(i + 1)
  }, frame)
/** the largest frame the fuzzed actor accepts */
const limit = 64 * 1024
const badFrame: FastCheck.Arbitrary<Buffer> = FastCheck.oneof(
  // bytes, UTF-8 or not
  FastCheck.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 10))),
  // a valid frame with a few characters deleted, inserted or replaced
  FastCheck.array(mutation, { minLength: 1, maxLength: 3 }).map((steps) => Buffer.from(mutate(template, steps))),
  // a valid frame cut short
  FastCheck.nat({ max: template.length - 1 }).map((n) => Buffer.from(template.slice(0, n))),
  // any JSON
  FastCheck.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
  // well-formed but wrong: a schema-invalid payload, an unknown function or protocol, odd ids, answers nobody waits for
  FastCheck.constantFrom(
    callFrame(103, "Echo", "echo", 42),
    callFrame(105, "Echo", "nothing"),
    callFrame(107, "Nope", "echo", "x"),
    callFrame(-1, "Echo", "echo", "negative id"),
    callFrame(1.5, "Echo", "echo", "fractional id"),
    `{"_tag":"Call","id":"109","protocol":"Echo","fn":"echo","payload":"a string id"}`,
    `{"_tag":"Success","id":111,"value":1}`,
    `{"_tag":"Failure","id":113,"reason":{"_tag":"Declared","value":1}}`,
    `{"_tag":"Yield","id":115,"values":[1]}`,
    `{"_tag":"Credit","id":117,"n":5}`,
    `{"_tag":"Interrupt","id":119}`,
    `{"_tag":"Stop","id":121}`,
    `{"_tag":"Started","id":123,"value":null}`,
    `{"_tag":"Tick"}`,
    `{"_tag":"Hello","actor":{"name":"again","uid":"again","pid":1},"version":1}`,
    `{"_tag":"Log","level":"INFO"}`,
    "{",
    "null"
  ).map((s) => Buffer.from(s)),
  // over the actor's frame limit
  FastCheck.constant(Buffer.from(callFrame(125, "Echo", "echo", "x".repeat(limit + 10))))
)
type Item = { readonly valid: string } | { readonly bad: Buffer }
const script = FastCheck.array(
  FastCheck.oneof(text.map((valid): Item => ({ valid })), badFrame.map((bad): Item => ({ bad }))),
  { minLength: 1, maxLength: 16 }
)
const cuts = FastCheck.array(FastCheck.nat(), { maxLength: 10 })

/** the valid calls' ids: odd, and above any id a bad frame can carry (3 digits, 3 mutations at most) */
const firstValidId = 1_000_001

describe("frames at the socket", () => {
  it.live("random, mutated, truncated, oversized and misdirected frames between valid calls, split anywhere: every valid call is answered once, with its value; the actor stays up", () =>
    Effect.gen(function*() {
      const nursery = yield* Nursery.make({ maxMessageBytes: limit })
      const actor = yield* Nursery.spawn(nursery, "fuzzed", { modules: [echoModule] })
      const pid = actor.actor.pid
      let runs = 0
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(script, cuts, async (items, at) => {
            runs++
            await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
              const peer = yield* rawPeer("fuzzed")
              const expected = new Map<number, string>()
              const lines = [...items, { valid: "last" } as Item].map((item) => {
                if ("bad" in item) return item.bad
                const id = firstValidId + 2 * expected.size
                expected.set(id, item.valid)
                return Buffer.from(callFrame(id, "Echo", "echo", item.valid))
              })
              const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]))
              const points = [...new Set(at.map((n) => n % bytes.length))].sort((a, b) => a - b)
              const chunks = [0, ...points, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1]!, end))
              yield* peer.write(chunks.filter((c) => c.length > 0))
              const answered = (id: number) => peer.answers.some((a) => a.id === id)
              const all = yield* peer.until(() => [...expected.keys()].every(answered))
              assert.isTrue(all, `unanswered valid calls: ${[...expected.keys()].filter((id) => !answered(id)).join(", ")}`)
              for (const [id, value] of expected) {
                const mine = peer.answers.filter((a) => a.id === id)
                assert.strictEqual(mine.length, 1, `call ${id} answered ${mine.length} times`)
                assert.deepStrictEqual(mine[0], { _tag: "Success", id, value })
              }
              for (const a of peer.answers) {
                // a bad frame's answer is a success (a mutation that stayed valid) or a failure, for its own id
                if (expected.has(a.id as number)) continue
                assert.isTrue(typeof a.id === "number" && a.id < firstValidId, `an answer nobody asked for: ${JSON.stringify(a).slice(0, 200)}`)
                assert.include(["Success", "Failure"], a._tag, JSON.stringify(a).slice(0, 200))
              }
              assert.deepStrictEqual(peer.notJson, [], "lines from the actor that are not JSON")
              assert.isFalse(peer.closed(), "the actor closed the connection")
            })))
          }),
          { numRuns: 200 }
        )
      )
      assert.strictEqual(runs, 200)
      // the same process, still serving
      assert.strictEqual(actor.actor.pid, pid)
      assert.strictEqual(yield* Portal.call(actor, Echo.echo, "after the fuzz"), "after the fuzz")
    }).pipe(
      Effect.scoped,
      tolerateLogs(/malformed frame|over maxMessageBytes|which is not waiting|not a call|unknown|Hello|protocol error|frame/)
    ), 120_000)
})

// ---------------------------------------------------------------------------
// the examples' schemas
// ---------------------------------------------------------------------------

type Spec = Actor.AnySpec & {
  readonly protocol: string
  readonly name: string
  readonly kind: "fn" | "stream" | "dialog"
  readonly payload: Schema.Schema.Any
}

/**
 * Every function of every protocol the example modules declare. Two of them hold a main program
 * too, which `runMain` runs unless it is in an actor: while they load here, this process says it is
 * one (the flag every copy of the library reads), so importing them declares and runs nothing.
 */
const exampleSpecs = Effect.promise(async () => {
  const specs: Array<Spec> = []
  const state = (globalThis as Record<symbol, { actor: boolean } | undefined>)[Symbol.for("effect-tractor/actor-process")]!
  const was = state.actor
  state.actor = true
  try {
    for (const url of exampleModules) {
      const module: Record<string, unknown> = await import(Url.fileURLToPath(url))
      for (const value of Object.values(module)) {
        const protocol = (value as { [Actor.ProtocolTypeId]?: { fns?: Record<string, Spec> } } | null)?.[Actor.ProtocolTypeId]
        if (protocol?.fns !== undefined && typeof protocol.fns === "object") specs.push(...Object.values(protocol.fns))
      }
    }
  } finally {
    state.actor = was
  }
  return specs
})

/** JSON values the schema's decoding refuses (as the wire carries it: its encoded side) */
const invalidFor = (schema: Schema.Schema.Any, seed: number, count = 8): Array<unknown> => {
  const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown, never>)
  const candidates = FastCheck.sample(
    FastCheck.oneof(FastCheck.jsonValue({ maxDepth: 2 }), FastCheck.constantFrom(null, 0, -1, "", "x", [], {}, true, 1e308)),
    { numRuns: 200, seed }
  )
  return candidates.filter((u) => Either.isLeft(decode(u))).slice(0, count)
}

describe("the examples' schemas", () => {
  it.live("a schema-invalid payload sent to any function of any example protocol fails that call with MsgTypeError (payload), typed", () =>
    Effect.gen(function*() {
      const specs = yield* exampleSpecs
      assert.isAtLeast(specs.length, 12, "the examples' functions")
      const nursery = yield* Nursery.make()
      const actor = yield* Nursery.spawn(nursery, "examples", { modules: exampleModules })
      const peer = yield* rawPeer("examples")
      const sent = new Map<number, string>()
      let id = 1
      for (const [i, spec] of specs.entries()) {
        for (const payload of invalidFor(spec.payload, i + 1)) {
          sent.set(id, `${spec.protocol}.${spec.name} with ${JSON.stringify(payload)}`)
          yield* peer.write([Buffer.from(callFrame(id, spec.protocol, spec.name, payload) + "\n")])
          id += 2
        }
      }
      assert.isAtLeast(sent.size, 50, "invalid payloads tried")
      const all = yield* peer.until(() => peer.answers.length >= sent.size)
      assert.isTrue(all, `answered ${peer.answers.length} of ${sent.size}`)
      for (const answer of peer.answers) {
        const what = sent.get(answer.id!)
        assert.isDefined(what, `an answer nobody asked for: ${JSON.stringify(answer).slice(0, 200)}`)
        assert.strictEqual(answer._tag, "Failure", what)
        assert.strictEqual(answer.reason?._tag, "Raised", what)
        assert.strictEqual(answer.reason?.error?._tag, "MsgTypeError", what)
        assert.strictEqual(answer.reason?.error?.part, "payload", what)
      }
      assert.isFalse(peer.closed())
      // and it serves on, in the same process
      const pid = actor.actor.pid
      const isPrime = specs.find((spec) => spec.protocol === "Primes" && spec.name === "isPrime")!
      assert.strictEqual(yield* Portal.call(actor, isPrime as Actor.Fn.Any, 7), true)
      assert.strictEqual(actor.actor.pid, pid)
    }).pipe(Effect.scoped), 60_000)

  it.live("a schema-invalid answer (result, declared error, stream element, dialog start) to any example function fails that call with MsgTypeError, typed", () =>
    Effect.gen(function*() {
      const specs = yield* exampleSpecs
      let checked = 0
      for (const [i, spec] of specs.entries()) {
        const parts: Array<readonly [string, Schema.Schema.Any | undefined]> = spec.kind === "fn"
          ? [["success", (spec as { success?: Schema.Schema.Any }).success], ["error", (spec as { error?: Schema.Schema.Any }).error]]
          : spec.kind === "stream"
          ? [["element", (spec as { element?: Schema.Schema.Any }).element]]
          : [["started", (spec as { started?: Schema.Schema.Any }).started]]
        for (const [part, schema] of parts) {
          if (schema === undefined) continue
          for (const bad of invalidFor(schema, 1000 + i, 4)) {
            const answer = (id: number) =>
              part === "success"
                ? { _tag: "Success", id, value: bad }
                : part === "error"
                ? { _tag: "Failure", id, reason: { _tag: "Declared", value: bad } }
                : part === "element"
                ? { _tag: "Yield", id, values: [bad] }
                : { _tag: "Started", id, value: bad }
            const exit = yield* answeredWith(spec, answer)
            const what = `${spec.protocol}.${spec.name}: ${part} ${JSON.stringify(bad)}`
            assert.isTrue(Exit.isFailure(exit), `${what} succeeded`)
            const error = Cause.failureOption((exit as Exit.Failure<unknown, unknown>).cause)
            assert.isTrue(Option.isSome(error), `${what}: ${Cause.pretty((exit as Exit.Failure<unknown, unknown>).cause)}`)
            assert.strictEqual((error as Option.Some<{ _tag: string }>).value._tag, "MsgTypeError", what)
            checked++
          }
        }
      }
      assert.isAtLeast(checked, 30, "invalid answers tried")
    }), 60_000)
})

/**
 * Starts `spec` (with a valid payload) on a caller whose peer answers its call with `answer(id)`,
 * and returns how the call (or stream, or dialog) ended.
 */
const answeredWith = (spec: Spec, answer: (id: number) => unknown) =>
  Effect.gen(function*() {
    const [ours, theirs] = memoryPair()
    const link = new Link(ours, { name: "caller", uid: "c", pid: process.pid }, { name: "fake", uid: "f", pid: 0 }, 1 << 20, {
      onControl: () => {},
      onProtocolError: () => {},
      onClose: () => {}
    }, servesNothing(), "initiator")
    const caller = new Caller(link)
    let buffered = ""
    theirs.onData((chunk) => {
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf("\n")) !== -1) {
        const frame = JSON.parse(buffered.slice(0, nl))
        buffered = buffered.slice(nl + 1)
        if (frame._tag === "Call") theirs.write(JSON.stringify(answer(frame.id)) + "\n")
      }
    })
    theirs.onClose(() => {})
    const payload = FastCheck.sample(Arbitrary.make(spec.payload as Schema.Schema<unknown, unknown, never>), { numRuns: 1, seed: 7 })[0]
    const run: Effect.Effect<unknown, unknown> = spec.kind === "fn"
      ? caller.call(spec as Actor.Fn.Any, payload, 100, () => {})
      : spec.kind === "stream"
      ? Stream.runDrain(caller.stream(spec as Actor.StreamFn.Any, payload, 16, 100, () => {}))
      : openDialog(caller, spec as Actor.DialogFn.Any, payload, () => Effect.void, 100) as Effect.Effect<unknown, unknown>
    const exit = yield* Effect.exit(Effect.timeout(run, 2000))
    link.connection.destroy()
    return exit
  })
