/**
 * TCP between hosts, and the guard rails of every listener: TLS 1.3 with the tree's key (a peer
 * without it never gets a frame in), handshake deadlines that a slow peer cannot stretch, connection
 * limits, ticks that declare a silent peer down, and registry addresses that are contested or held
 * by something that is not a registry.
 */
import * as Crypto from "node:crypto"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Tls from "node:tls"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as ActorError from "../src/ActorError.ts"
import * as Nursery from "../src/Nursery.ts"
import * as Portal from "../src/Portal.ts"
import * as Registry from "../src/Registry.ts"
import * as TreeRuntime from "../src/internal/runtime.ts"
import * as Transport from "../src/internal/transport.ts"
import { Echo } from "./fixtures/protocols.ts"
import { checkOrphansAfterEach, echoModule, freePort, tempDir } from "./utils/index.ts"
import { expectLogs, tolerateLogs } from "./utils/assertions.ts"

checkOrphansAfterEach()

const roots: Array<TreeRuntime.TreeRuntime> = []
const listeners: Array<Transport.Listener> = []
afterAll(() => {
  for (const root of roots) root.close()
  for (const listener of listeners) listener.close()
})

const root = (options: TreeRuntime.RootOptions) => {
  const runtime = TreeRuntime.makeRoot(options)
  roots.push(runtime)
  return runtime
}

const newKey = () => Crypto.randomBytes(32).toString("base64")
const self = { name: "test", uid: "t", pid: process.pid }

/** a TCP listener of ours on loopback with the given limits; what it refused is collected */
const tcpListener = (limits: Transport.Limits, key = Transport.makeTreeKey()) =>
  Effect.gen(function*() {
    const refused: Array<string> = []
    const accepted: Array<Transport.Accepted> = []
    const listener = yield* Transport.listen(
      { kind: "tcp", host: "127.0.0.1", port: 0 },
      self,
      key,
      (a) => accepted.push(a),
      (why) => refused.push(why),
      limits
    )
    listeners.push(listener)
    return { listener, refused, accepted, key, address: listener.address as { host: string; port: number } }
  })

/** resolves when the socket closes, with how long it stayed open */
const closedAfter = (socket: Net.Socket) =>
  Effect.promise(() =>
    new Promise<number>((resolve) => {
      const start = Date.now()
      socket.on("error", () => {})
      socket.on("close", () => resolve(Date.now() - start))
    })
  )

describe("TCP + TLS", () => {
  it.live("a peer without the tree's key is dropped in the TLS handshake, before any frame, and logged", () =>
    Effect.gen(function*() {
      const { address, refused } = yield* tcpListener(Transport.defaultLimits)
      const outcome = yield* Effect.exit(Transport.connect({ kind: "tcp", ...address }, self, Transport.makeTreeKey(), 2000))
      assert.isTrue(Exit.isFailure(outcome))
      const error = Option.getOrThrow(Cause.failureOption((outcome as Exit.Failure<never, ActorError.TransportClosed>).cause))
      assert.instanceOf(error, ActorError.TransportClosed)
      yield* Effect.sleep("50 millis")
      assert.strictEqual(refused.length, 1, refused.join("\n"))
      assert.include(refused[0]!, "does not have the tree's key")
      // nor can a plain TCP client get a frame in: it is not even TLS
      const plain = Net.connect(address.port, address.host)
      plain.on("connect", () => plain.write(`{"_tag":"Hello","actor":{"name":"x","uid":"x","pid":1},"version":1}\n`))
      let answered = false
      plain.on("data", () => (answered = true))
      yield* closedAfter(plain)
      assert.isFalse(answered)
    }))

  it.live("with the key, the handshake completes and the peer is named", () =>
    Effect.gen(function*() {
      const { accepted, address, key } = yield* tcpListener(Transport.defaultLimits)
      const connected = yield* Transport.connect({ kind: "tcp", ...address }, { name: "client", uid: "c", pid: 7 }, key)
      assert.strictEqual(connected.peer.name, "test")
      assert.strictEqual((connected.socket as Tls.TLSSocket).getProtocol(), "TLSv1.3")
      yield* Effect.sleep("20 millis")
      assert.strictEqual(accepted[0]?.peer.name, "client")
      connected.socket.destroy()
    }))

  it.live("a peer that sends nothing, or a byte at a time, is dropped at the deadline without delaying others", () =>
    Effect.gen(function*() {
      const { address, key, refused } = yield* tcpListener({ handshakeMillis: 400, maxConnections: 100 })
      const silent = Net.connect(address.port, address.host)
      const dribbler = Net.connect(address.port, address.host)
      const timer = setInterval(() => dribbler.writable && dribbler.write(Buffer.from([0x16])), 50)
      const silentClosed = yield* Effect.fork(closedAfter(silent))
      const dribblerClosed = yield* Effect.fork(closedAfter(dribbler))
      // meanwhile an honest peer gets through at once
      const start = Date.now()
      const honest = yield* Transport.connect({ kind: "tcp", ...address }, self, key)
      assert.isBelow(Date.now() - start, 300)
      honest.socket.destroy()
      const silentMs = yield* Fiber.join(silentClosed)
      const dribblerMs = yield* Fiber.join(dribblerClosed)
      clearInterval(timer)
      assert.isAtLeast(silentMs, 350)
      assert.isBelow(silentMs, 2000)
      assert.isBelow(dribblerMs, 2000)
      assert.isAtLeast(refused.length, 1)
    }))

  it.live("connections beyond the listener's limit are refused at once", () =>
    Effect.gen(function*() {
      const { address, key } = yield* tcpListener({ handshakeMillis: 5000, maxConnections: 2 })
      const a = yield* Transport.connect({ kind: "tcp", ...address }, self, key)
      const b = yield* Transport.connect({ kind: "tcp", ...address }, self, key)
      const third = yield* Effect.exit(Transport.connect({ kind: "tcp", ...address }, self, key, 2000))
      assert.isTrue(Exit.isFailure(third))
      a.socket.destroy()
      b.socket.destroy()
    }))

  it.live("ticks: a peer that goes silent (SIGSTOP) is declared down, its calls fail with TransportClosed", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const key = newKey()
      const registry = `tcp:127.0.0.1:${port}`
      const here = root({ name: "here", registry, key, tcpHost: "127.0.0.1", tickMillis: 400 })
      const there = root({ name: "there", registry, key, host: "another-host", tickMillis: 400 })
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const nursery = yield* Nursery.make()
        const child = yield* Nursery.spawn(nursery, "sleepy", { modules: [echoModule] })
        const portal = Option.getOrThrow(
          yield* Effect.provideService(Registry.findActor("sleepy"), TreeRuntime.ActorRuntimeTag, there)
        )
        assert.strictEqual(there.connectionTo(child.actor.uid)?.address.kind, "tcp")
        // quiet but alive: ticks keep the link up well past the period
        yield* Effect.sleep("1 second")
        assert.strictEqual(yield* Portal.call(portal, Echo.echo, "awake"), "awake")
        const call = yield* Effect.fork(Portal.call(portal, Echo.sleep, 60_000))
        yield* Effect.sleep("50 millis")
        process.kill(child.actor.pid, "SIGSTOP")
        const start = Date.now()
        const exit = yield* Fiber.await(call)
        const waited = Date.now() - start
        process.kill(child.actor.pid, "SIGCONT")
        return { exit, waited }
      })).pipe(Effect.provideService(TreeRuntime.ActorRuntimeTag, here))
      assert.isTrue(Exit.isFailure(outcome.exit))
      const error = Option.getOrThrow(Cause.failureOption((outcome.exit as Exit.Failure<unknown, unknown>).cause))
      assert.instanceOf(error, ActorError.TransportClosed)
      assert.include((error as ActorError.TransportClosed).message, "silent for 400 ms")
      assert.isBelow(outcome.waited, 1500)
    }))
})

describe("registry addresses", () => {
  it.live("two roots racing for one registry address: one serves it, the other joins, both see both", () =>
    Effect.gen(function*() {
      const registry = `unix:${Path.join(tempDir("effect-tractor-race-"), "registry.sock")}`
      const a = root({ name: "a", registry })
      const b = root({ name: "b", registry })
      yield* Effect.all([Effect.orDie(a.listen), Effect.orDie(b.listen)], { concurrency: "unbounded" })
      assert.strictEqual([a, b].filter((r) => r.registry !== undefined).length, 1, "exactly one registry")
      for (const r of [a, b]) {
        const names = (yield* Effect.orDie(r.list)).map((e) => e.name)
        assert.sameMembers(names, ["a", "b"])
      }
    }).pipe(tolerateLogs(/was dropped: the connection closed during the handshake/)))

  it.live("a registry address held by something that is not a registry fails with a clear error, not a hang", () =>
    Effect.gen(function*() {
      const path = Path.join(tempDir("effect-tractor-foreign-"), "taken.sock")
      const foreign = Net.createServer((socket) => {
        socket.on("error", () => {})
        socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")
      })
      yield* Effect.promise(() => new Promise<void>((resolve) => foreign.listen(path, resolve)))
      const r = root({ name: "late", registry: `unix:${path}` })
      const start = Date.now()
      const error = yield* Effect.flip(r.list)
      foreign.close()
      assert.instanceOf(error, ActorError.RegistryUnavailable)
      assert.include(error.message, "not a registry of this tree")
      assert.isBelow(Date.now() - start, 2000)
    }))

  it.live("a TCP registry needs the key, and a bad key is refused with what is wrong", () =>
    Effect.sync(() => {
      assert.throws(() => TreeRuntime.makeRoot({ registry: "tcp:127.0.0.1:1" }), /EFFECT_TRACTOR_TREE_KEY/)
      assert.throws(() => TreeRuntime.makeRoot({ registry: "tcp:127.0.0.1:1", key: "c2hvcnQ=" }), /32 bytes/)
      assert.throws(() => TreeRuntime.makeRoot({ registry: "http://x" }), /neither unix:<path> nor tcp:<host>:<port>/)
    }))

  it.live("a root joining with the wrong key is told the registry is not one of its tree", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const registry = `tcp:127.0.0.1:${port}`
      const owner = root({ name: "owner", registry, key: newKey() })
      yield* Effect.orDie(owner.listen)
      const intruder = root({ name: "intruder", registry, key: newKey() })
      const error = yield* Effect.flip(intruder.list)
      assert.instanceOf(error, ActorError.RegistryUnavailable)
      assert.include(error.message, "the tree keys differ")
      assert.notInclude((yield* Effect.orDie(owner.list)).map((e) => e.name).join(), "intruder")
    }).pipe(expectLogs(/dropped before any frame: it does not have the tree.s key/)))
})
