/**
 * The link's frame decoder over a real Unix socket in this process: answers for pending calls,
 * with junk lines between them, split into arbitrary chunks (inside multi-byte characters too),
 * each chunk written only once the previous one was read. Every call settles exactly once with
 * its own value, in order; every junk line is reported once; nothing crashes or hangs.
 */
import * as Net from "node:net"
import * as Path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import { fromSocket } from "../../src/internal/connection.ts"
import { Caller } from "../../src/internal/caller.ts"
import { Link } from "../../src/internal/link.ts"
import { servesNothing } from "../../src/internal/server.ts"
import { Echo } from "../fixtures/protocols.ts"
import { tempDir } from "../utils/index.ts"

const self = { name: "root", uid: "r", pid: process.pid }
const peer = { name: "peer", uid: "p", pid: 0 }
const path = Path.join(tempDir("effect-tractor-framing-"), "s")
let accepted: (socket: Net.Socket) => void = () => {}
const server = Net.createServer((socket) => accepted(socket))

beforeAll(() => new Promise<void>((resolve) => server.listen(path, resolve)))
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

/**
 * A fresh link per run (a failing run must not leave state behind for the next): the link owns
 * the accepted end of a new connection; `feed` writes chunks from the other end, each once
 * everything before it has been read by the link's socket.
 */
const connection = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ link: Link; caller: Caller; problems: Array<string>; feed: (chunks: ReadonlyArray<Buffer>) => Promise<void>; writer: Net.Socket }>(
      (resolve) => {
        const problems: Array<string> = []
        let received = 0
        const writer = Net.connect(path)
        writer.on("data", () => {}) // the calls the link sends: not looked at
        accepted = (socket) => {
          const link = new Link(fromSocket(socket), self, peer, 4096, {
            onControl: () => {},
            onProtocolError: (message) => problems.push(message),
            onClose: () => {}
          }, servesNothing(), "initiator")
          socket.on("data", (chunk: Buffer) => (received += chunk.length))
          const feed = async (chunks: ReadonlyArray<Buffer>) => {
            for (const chunk of chunks) {
              const target = received + chunk.length
              writer.write(chunk)
              while (received < target) await new Promise((r) => setImmediate(r))
            }
          }
          resolve({ link, caller: new Caller(link), problems, feed, writer })
        }
      }
    )
  ),
  ({ link, writer }) =>
    Effect.sync(() => {
      writer.destroy()
      link.connection.destroy()
    })
)

/** starts a call of Echo.echo and returns its id */
const start = (caller: Caller, settle: (exit: Exit.Exit<unknown, unknown>) => void): number => {
  const id = caller.link.nextCallId()
  assert.isUndefined(caller.start(id, Echo.echo, "x", settle))
  return id
}

const text = FastCheck.string({ unit: FastCheck.constantFrom("a", "é", "€", "😀", " ", "\"", "\\", "{", "}"), maxLength: 40 })
// lines that are not frames: no newline, and not the start of an answer frame
const junk = FastCheck.oneof(
  text.map((t) => `junk ${t}`),
  FastCheck.constant("{"),
  FastCheck.constant("null"),
  FastCheck.constant("[1,2,3]"),
  FastCheck.constant(`{"_tag":"Nonsense"}`),
  text.map((t) => `{"no":${JSON.stringify(t)}}`)
)
const script = FastCheck.array(FastCheck.tuple(text, FastCheck.array(junk, { maxLength: 2 })), { minLength: 1, maxLength: 12 })
const cuts = FastCheck.array(FastCheck.nat(), { maxLength: 8 })

describe("framing", () => {
  it.live.prop("answers split anywhere, with junk between them, settle every call once, in order", [script, cuts], ([answers, at]) =>
    Effect.gen(function*() {
      const { caller, feed, problems } = yield* connection
      const settled: Array<readonly [number, unknown]> = []
      const ids = answers.map(([value], i) => {
        const id = start(caller, (exit) => settled.push([i, Exit.isSuccess(exit) ? exit.value : exit]))
        return [id, value] as const
      })
      const lines = ids.flatMap(([id, value], i) => [
        JSON.stringify({ _tag: "Success", id, value }),
        ...answers[i]![1]
      ])
      const bytes = Buffer.from(lines.join("\n") + "\n")
      const points = [...new Set(at.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b)
      const chunks = [0, ...points].map((from, i) => bytes.subarray(from, [...points, bytes.length][i])).filter((c) =>
        c.length > 0
      )
      yield* Effect.promise(() => feed(chunks))
      assert.deepStrictEqual(settled, answers.map(([value], i) => [i, value] as const))
      assert.strictEqual(problems.length, answers.reduce((n, [, j]) => n + j.length, 0), problems.join("\n"))
      assert.strictEqual(caller.pending.size, 0)
    }).pipe(Effect.scoped), { fastCheck: { numRuns: 200 } })

  it.live("a frame over the limit, split across reads, is dropped and reported once; the next frame is read", () =>
    Effect.scoped(Effect.gen(function*() {
      const { caller, feed, problems } = yield* connection
      const settled: Array<unknown> = []
      const id = start(caller, (exit) => settled.push(Exit.isSuccess(exit) ? exit.value : exit))
      const big = Buffer.from(`junk ${"é".repeat(3000)}\n`) // 6 kB against a 4 kB limit
      const next = Buffer.from(JSON.stringify({ _tag: "Success", id, value: "after" }) + "\n")
      yield* Effect.promise(() => feed([big.subarray(0, 1000), big.subarray(1000, 5000), Buffer.concat([big.subarray(5000), next])]))
      assert.deepStrictEqual(settled, ["after"])
      assert.strictEqual(problems.length, 1)
      assert.include(problems[0]!, "over the limit of 4096 bytes")
    })))
})
