/**
 * Runs the streaming and dialog examples as subprocesses, the way a reader would
 * (`node --import tsx <file>`), and checks their output, their exit code, and that no process of
 * their tree outlives them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { assertClean, runExample } from "./utils/examples.ts"
import { checkOrphansAfterEach } from "./utils/index.ts"

checkOrphansAfterEach()

describe("examples (streams and dialogs)", () => {
  it.live("rpc_bidir_streaming: started(data + 1), then 10 rounds of ping-pong, then the child's count", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/rpc_bidir_streaming.ts")
      yield* assertClean(run)
      assert.deepStrictEqual(run.lines, [
        "started: 11",
        ...Array.from({ length: 10 }, (_, i) => `ping ${i + 1} -> pong`),
        "rpc_server answered 10 pings"
      ])
      assert.isAtLeast(run.tree.length, 1, "no actor process was seen")
    }))

  it.live("full_fledged_streaming_service: a stream per consumer, and one stream broadcast to three consumers", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/streaming/full_fledged_streaming_service.ts")
      yield* assertClean(run)
      assert.strictEqual(run.lines.length, 7, run.lines.join("\n"))
      const own = /^own stream (\w+): 50 ticks, first ([\d.]+), last ([\d.]+), low ([\d.]+), high ([\d.]+)$/
      const symbols = run.lines.slice(0, 3).map((line) => {
        const m = own.exec(line)
        assert.isNotNull(m, line)
        const [first, last, low, high] = m!.slice(2).map(Number)
        assert.isAtMost(low!, Math.min(first!, last!), line)
        assert.isAtLeast(high!, Math.max(first!, last!), line)
        return m![1]
      })
      assert.deepStrictEqual(symbols, ["ACME", "INITECH", "UMBRELLA"])
      const acmeHigh = own.exec(run.lines[0]!)![5]
      assert.strictEqual(run.lines[3], "broadcast ACME: the counter saw 50 ticks")
      // the broadcast consumer saw the same high as the consumer with its own ACME stream
      assert.strictEqual(run.lines[4], `broadcast ACME: the high-water mark is ${acmeHigh}`)
      assert.match(run.lines[5]!, /^broadcast ACME: the recorder saw \d+ upticks$/)
      assert.strictEqual(run.lines[6], "broadcast ACME matches its own stream: true")
    }))

  it.live("pipeline: root <- aggregator <- two streamers; the root receives 0..999 once each, in order", () =>
    Effect.gen(function*() {
      const run = yield* runExample("examples/streaming/pipeline.ts")
      yield* assertClean(run)
      const rows = run.lines.slice(0, -1)
      assert.strictEqual(rows.length, 50, run.lines.join("\n"))
      const values = rows.flatMap((row) => row.split(" ").map(Number))
      assert.deepStrictEqual(values, Array.from({ length: 1000 }, (_, i) => i))
      assert.strictEqual(run.lines[run.lines.length - 1], "root received 1000 values: 0..999 each once, in order: true")
      // the aggregator and its two streamers
      assert.isAtLeast(run.tree.length, 3, `processes seen: ${run.tree}`)
    }))
})
