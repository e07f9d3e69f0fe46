/**
 * One trace across processes: a call, a stream or a dialog made inside a span carries its trace
 * context, and the actor runs the handler in a server span whose parent is the caller's client
 * span. Every process traces with OpenTelemetry into its own in-memory exporter; the actors hand
 * back what theirs recorded.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import { type SpanData, Traced, tracing } from "./fixtures/traced.ts"
import { checkOrphansAfterEach, fixture } from "./utils/index.ts"

checkOrphansAfterEach()

const modules = [fixture("traced.ts")]
const SERVER = 1
const CLIENT = 2

const only = (spans: ReadonlyArray<SpanData>, name: string, kind: number, pid: number) => {
  const found = spans.filter((s) => s.name === name && s.kind === kind && s.pid === pid)
  assert.strictEqual(found.length, 1, `one ${name} span of kind ${kind} in ${pid}: ${JSON.stringify(spans, null, 1)}`)
  return found[0]!
}

describe("tracing across processes", () => {
  it.live("a call made in a span continues in the child and in the grandchild: one trace, each span the child of the one before", () => {
    const root = tracing("root")
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "traced", { modules })
        const { pids, spans: grandchildSpans } = yield* Effect.withSpan(Portal.call(child, Traced.hop, 2), "request")
        const childSpans = yield* Portal.call(child, Traced.spans, undefined)
        const [childPid, middlePid, lastPid] = pids as [number, number, number]
        assert.strictEqual(pids.length, 3)
        assert.strictEqual(childPid, child.actor.pid)
        const all = [...root.finished(), ...childSpans, ...grandchildSpans]

        // every span of the request, in four processes, is in one trace
        const request = only(all, "request", 0, process.pid)
        const inTrace = all.filter((s) => s.name !== "Traced.spans")
        assert.deepStrictEqual([...new Set(inTrace.map((s) => s.traceId))], [request.traceId])
        assert.deepStrictEqual(new Set(inTrace.map((s) => s.pid)), new Set([process.pid, childPid, middlePid, lastPid]))

        // root: request -> client Traced.hop
        const rootClient = only(all, "Traced.hop", CLIENT, process.pid)
        assert.strictEqual(rootClient.parentSpanId, request.spanId)
        assert.include(rootClient.attributes, { "rpc.system": "effect-tractor", "rpc.service": "Traced", "rpc.method": "hop" })
        // child: server Traced.hop (parent: the root's client span) -> hop.below -> client Traced.hop
        const childServer = only(all, "Traced.hop", SERVER, childPid)
        assert.strictEqual(childServer.parentSpanId, rootClient.spanId)
        assert.include(childServer.attributes, { "rpc.service": "Traced", "rpc.method": "hop" })
        const below = only(all, "hop.below", 0, childPid)
        assert.strictEqual(below.parentSpanId, childServer.spanId)
        const childClient = only(all, "Traced.hop", CLIENT, childPid)
        assert.strictEqual(childClient.parentSpanId, below.spanId)
        // grandchild, and its own child
        const middleServer = only(all, "Traced.hop", SERVER, middlePid)
        assert.strictEqual(middleServer.parentSpanId, childClient.spanId)
        const middleClient = only(all, "Traced.hop", CLIENT, middlePid)
        const lastServer = only(all, "Traced.hop", SERVER, lastPid)
        assert.strictEqual(lastServer.parentSpanId, middleClient.spanId)
      })
    ).pipe(Effect.provide(root.layer))
  })

  it.live("a server stream and a dialog made in a span continue in the actor; a call made outside any span sends no trace", () => {
    const root = tracing("root")
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "traced", { modules })
        const pid = child.actor.pid
        // no span around it: no trace context on the wire, no span on either side
        yield* Portal.call(child, Traced.hop, 0)
        const counted = yield* Effect.withSpan(Stream.runCollect(Portal.stream(child, Traced.count, 3)), "counting")
        assert.deepStrictEqual([...counted], [1, 2, 3])
        const doubled = yield* Effect.withSpan(
          Portal.openDialog(child, Traced.talk, 5, (dialog) =>
            Effect.gen(function*() {
              const stream = yield* dialog.openStream()
              yield* stream.sendAll([1, 2])
              yield* stream.close
              return [dialog.started, ...yield* Stream.runCollect(stream.receive)]
            })),
          "talking"
        )
        assert.deepStrictEqual(doubled, [5, 2, 4])
        const spans = [...root.finished(), ...yield* Portal.call(child, Traced.spans, undefined)]

        assert.deepStrictEqual(spans.filter((s) => s.name === "Traced.hop"), [], "an untraced call makes no span")
        const counting = only(spans, "counting", 0, process.pid)
        const streamClient = only(spans, "Traced.count", CLIENT, process.pid)
        assert.strictEqual(streamClient.parentSpanId, counting.spanId)
        const streamServer = only(spans, "Traced.count", SERVER, pid)
        assert.strictEqual(streamServer.parentSpanId, streamClient.spanId)
        assert.strictEqual(streamServer.traceId, counting.traceId)

        const talking = only(spans, "talking", 0, process.pid)
        const dialogClient = only(spans, "Traced.talk", CLIENT, process.pid)
        assert.strictEqual(dialogClient.parentSpanId, talking.spanId)
        const dialogServer = only(spans, "Traced.talk", SERVER, pid)
        assert.strictEqual(dialogServer.parentSpanId, dialogClient.spanId)
        assert.strictEqual(dialogServer.traceId, talking.traceId)
      })
    ).pipe(Effect.provide(root.layer))
  })

  it.live("a call through a portal found in the registry (a peer connection, not the parent's link) continues the trace too", () => {
    const root = tracing("root")
    return Nursery.open((nursery) =>
      Effect.gen(function*() {
        const child = yield* Nursery.spawn(nursery, "found", { modules })
        const peer = Option.getOrThrow(yield* Registry.findActor("found"))
        assert.notStrictEqual(peer, child, "a portal of its own, over a peer connection")
        yield* Effect.withSpan(Portal.call(peer, Traced.hop, 0), "lookup")
        const spans = [...root.finished(), ...yield* Portal.call(child, Traced.spans, undefined)]
        const lookup = only(spans, "lookup", 0, process.pid)
        const client = only(spans, "Traced.hop", CLIENT, process.pid)
        assert.strictEqual(client.parentSpanId, lookup.spanId)
        const server = only(spans, "Traced.hop", SERVER, child.actor.pid)
        assert.strictEqual(server.parentSpanId, client.spanId)
        assert.strictEqual(server.traceId, lookup.traceId)
      })
    ).pipe(Effect.scoped, Effect.provide(root.layer))
  })
})
