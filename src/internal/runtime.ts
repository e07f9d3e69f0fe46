/**
 * The actor runtime of one process: who this actor is in its tree, the server it serves every link
 * with, where it accepts peers, and how it reaches the tree's registry (in the root, the registry
 * itself). Nurseries, the registry functions and the child bootstrap read it; nothing else keeps
 * process-wide state about the tree.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as LogLevel from "effect/LogLevel"
import type * as Runtime from "effect/Runtime"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import { type ActorExit, type ActorId, format, makeUid } from "./actorId.js"
import { Caller } from "./caller.js"
import { defaultMaxMessageBytes } from "./framing.js"
import { type Control, Link } from "./link.js"
import type { Peer } from "./peer.js"
import { type Entry, Registry, RegistryProtocol } from "./registry.js"
import { implementations, Server } from "./server.js"
import { build, handlerRuntime } from "./services.js"
import { logWith } from "./logs.js"
import { InspectProtocol, inspectFns } from "./inspect.js"
import * as Transport from "./transport.js"

/** @internal how long an interrupted call on a peer link waits for its ack */
const peerAckMillis = 500

/** after the connection to the registry closed, the first attempt to reconnect; then doubling up to the max */
const rejoinFirstMillis = 100
const rejoinMaxMillis = 2_000

/** an unused connection to a peer stays open this long, for the next portal to it */
const peerIdleMillis = 5_000

/** @internal a peer reached through the registry: a connection of our own to its listener */
export class RemotePeer implements Peer {
  readonly caller: Caller
  readonly cancelAckTimeoutMillis = peerAckMillis
  readonly controlWaiters = new Set<(msg: Control) => void>()
  refs = 0
  /** closes the connection once it has been unused for a while */
  idleTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly id: ActorId,
    readonly link: Link,
    /** the address the connection went to */
    readonly address: Transport.Address
  ) {
    this.caller = new Caller(link)
  }

  /** set once this side asked the actor to cancel: its end is then expected */
  private cancelRequested = false

  awaitExit(): Effect.Effect<ActorExit> {
    return Effect.async<ActorExit>((resume) => {
      const off = this.link.whenClosed((closed) =>
        resume(Effect.succeed({
          actor: this.id,
          code: null,
          signal: null,
          expected: this.cancelRequested,
          reason: closed.reason
        }))
      )
      return Effect.sync(off)
    })
  }

  requestCancel(canceller: ActorId, millis: number): Effect.Effect<void, ActorError.ActorTooSlow> {
    return Effect.async<void, ActorError.ActorTooSlow>((resume) => {
      if (this.link.closedWith !== undefined) return resume(Exit.void)
      this.cancelRequested = true
      const done = (exit: Exit.Exit<void, ActorError.ActorTooSlow>) => {
        clearTimeout(timer)
        this.controlWaiters.delete(onControl)
        resume(exit)
      }
      const onControl = (msg: Control) => {
        if (msg._tag === "CancelAck") done(Exit.void)
      }
      const timer = setTimeout(() =>
        done(Exit.fail(
          new ActorError.ActorTooSlow({
            actor: this.id,
            waitedMillis: millis,
            message: `actor ${format(this.id)} did not acknowledge the cancel request within ${millis} ms: ` +
              `it is busy in synchronous code or stuck (its parent's teardown escalates to signals)`
          })
        )), millis)
      this.controlWaiters.add(onControl)
      this.link.send({ _tag: "Cancel", canceller })
      return Effect.sync(() => done(Exit.void))
    })
  }
}

/** @internal what a tree's actors share: how they reach each other, and the registry */
export interface Settings {
  /** actors with the same host reach each other over Unix sockets, others over TCP */
  readonly host: string
  /** the runtime folder of the socket files */
  readonly directory: string
  readonly key: Transport.TreeKey
  /** where the tree's registry is: in the root by default, or a configured address */
  readonly registry: Transport.Address
  /** where actors also accept peers over TCP (TLS with the tree's key); none: one host only */
  readonly tcpHost: string | undefined
  /** a TCP peer silent this long is down; ticks go every quarter of it */
  readonly tickMillis: number
  readonly maxMessageBytes: number
  readonly limits: Transport.Limits
}

/** @internal the default period after which a silent TCP peer is declared down */
export const defaultTickMillis = 15_000

/**
 * The host identity: the host name and the network namespace. Two processes in different network
 * namespaces talk over TCP even on one machine (their traffic stays in their namespaces).
 * @internal
 */
export const hostIdentity = (env: Record<string, string | undefined> = process.env): string => {
  const configured = env["EFFECT_TRACTOR_HOST"]
  if (configured !== undefined && configured !== "") return configured
  let netns = ""
  try {
    netns = Fs.readlinkSync("/proc/self/ns/net")
  } catch {
    // not Linux, or no /proc: the host name alone
  }
  return `${Os.hostname()}${netns === "" ? "" : `/${netns}`}`
}

/** @internal */
export class TreeRuntime {
  /** the links of peers that connected to us */
  readonly accepted = new Set<Link>()
  /** our connections to peers, by uid: one per peer, shared by every portal to it */
  private readonly peers = new Map<string, RemotePeer>()
  private registryLink: Caller | undefined
  private listeners: Array<Transport.Listener> = []
  /** in the root: the registry, served here unless the configured registry address is another's */
  registry: Registry | undefined
  /** what a Cancel from a peer does (a child cancels itself; the root refuses) */
  /**
   * Ends this actor as a crash (its finalizers run, then it exits with code 1, unannounced), for a
   * supervisor inside it that gave up; in a root there is no such thing (undefined).
   */
  crash: ((reason: string) => void) | undefined = undefined

  onPeerCancel: (canceller: ActorId, link: Link) => void = (canceller) =>
    this.warn(`${format(canceller)} asked the root ${format(this.self)} to cancel itself: a root is cancelled by its own program, not by peers`)

  constructor(
    readonly self: ActorId,
    readonly parent: ActorId | undefined,
    readonly server: Server,
    readonly settings: Settings,
    registry: Registry | undefined
  ) {
    this.registry = registry
  }

  get directory(): string {
    return this.settings.directory
  }

  get maxMessageBytes(): number {
    return this.settings.maxMessageBytes
  }

  /** Our Unix socket: where peers on this host connect. */
  get socketAddress(): Transport.Address {
    return { kind: "unix", path: Transport.socketPath(this.settings.directory, this.self.uid) }
  }

  /** whose loggers write this runtime's own warnings (an actor's: its own runtime, logging to its parent) */
  logRuntime: Runtime.Runtime<never> | undefined
  /** whether `logRuntime` was set by who made this runtime (an actor's, or `ActorRuntime.layer`'s) */
  private logRuntimeGiven = false

  /** Who made this runtime says whose loggers write its warnings: `listen` no longer picks them. */
  giveLogRuntime(runtime: Runtime.Runtime<never>): void {
    this.logRuntime = runtime
    this.logRuntimeGiven = true
  }

  warn(message: string): void {
    this.log(LogLevel.Warning, message)
  }

  /** logs `message` through the loggers that write this runtime's own lines (see `logRuntime`) */
  log(level: LogLevel.LogLevel, message: string): void {
    if (this.logRuntime !== undefined) return logWith(this.logRuntime, level, message)
    Effect.runFork(Effect.logWithLevel(level, message).pipe(Effect.annotateLogs("actor", format(this.self))))
  }

  private listenAt(address: Transport.Address): Effect.Effect<Transport.Listener, ActorError.TransportClosed> {
    return Transport.listen(
      address,
      this.self,
      this.settings.key,
      (accepted) => this.accept(accepted),
      (why) => this.warn(why),
      this.settings.limits
    ).pipe(Effect.tap((listener) => Effect.sync(() => this.listeners.push(listener))))
  }

  /**
   * The root's registry: served here when its address is ours, or free (the first root to take a
   * configured address serves it); joined when another registry of the tree holds it.
   */
  private readonly startRegistry: Effect.Effect<Transport.Address | undefined, ActorError.RegistryUnavailable> =
    Effect.suspend(() => {
      const address = this.settings.registry
      if (this.registry === undefined) return Effect.succeed(undefined)
      if (address.kind === "unix" && address.path === (this.socketAddress as { path: string }).path) {
        return Effect.succeed(undefined)
      }
      return this.listenAt(address).pipe(
        Effect.map((listener): Transport.Address | undefined => listener.address),
        Effect.catchAll((error) => {
          // held here (in use), or on another host (not our address): the registry of our tree is
          // there to join, or something else is (a clear error)
          if (error.reason !== "EADDRINUSE" && error.reason !== "EADDRNOTAVAIL") {
            return Effect.fail(this.unavailable(error.message))
          }
          return Transport.connect(address, this.self, this.settings.key, this.settings.limits.handshakeMillis).pipe(
            Effect.mapError((e) =>
              this.unavailable(
                `it is held by something that is not a registry of this tree (${e.message}): ` +
                  `another program listens there, or the tree keys differ`
              )
            ),
            Effect.map((accepted) => {
              this.registry = undefined
              this.adoptRegistryLink(accepted)
              return undefined
            })
          )
        })
      )
    })

  /** the first listen's outcome, shared by every later one */
  private listening: Deferred.Deferred<ReadonlyArray<string>, ActorError.TransportClosed | ActorError.RegistryUnavailable> | undefined

  /**
   * The first caller starts the work in a fiber of its own and every caller waits for its outcome:
   * a caller that gives up (a timeout, an interrupted fiber) stops waiting, not the work, whose
   * outcome would otherwise be kept as an interruption that every later caller meets.
   */
  private readonly listenOnce: Effect.Effect<ReadonlyArray<string>, ActorError.TransportClosed | ActorError.RegistryUnavailable> =
    Effect.suspend(() => {
      const started = this.listening
      if (started !== undefined) return Deferred.await(started)
      const outcome = Deferred.unsafeMake<ReadonlyArray<string>, ActorError.TransportClosed | ActorError.RegistryUnavailable>(
        FiberId.none
      )
      this.listening = outcome
      return Effect.zipRight(
        Effect.forkDaemon(Effect.flatMap(Effect.exit(this.listenWork), (exit) => Deferred.done(outcome, exit))),
        Deferred.await(outcome)
      )
    })

  private readonly listenWork: Effect.Effect<ReadonlyArray<string>, ActorError.TransportClosed | ActorError.RegistryUnavailable> =
    Effect.gen(this, function*() {
      const registryAt = yield* this.startRegistry
      const addresses = [Transport.formatAddress((yield* this.listenAt(this.socketAddress)).address)]
      const tcpHost = this.settings.tcpHost
      if (registryAt !== undefined && registryAt.kind === "tcp") addresses.push(Transport.formatAddress(registryAt))
      else if (tcpHost !== undefined) {
        addresses.push(Transport.formatAddress((yield* this.listenAt({ kind: "tcp", host: tcpHost, port: 0 })).address))
      }
      if (this.parent === undefined) {
        yield* Effect.ignore(this.register({
          name: this.self.name,
          id: this.self,
          host: this.settings.host,
          addresses,
          protocols: [...this.server.fns.keys()].filter((p) => p !== InspectProtocol[Actor.ProtocolTypeId].name)
        }))
      }
      this.addresses = addresses
      return addresses
    })

  /**
   * Starts accepting peers, once (later uses wait for the first): our Unix socket, our TCP port
   * when the tree spans hosts, and in the root the registry, with the root registered in it.
   * Returns where peers reach us.
   */
  readonly listen: Effect.Effect<ReadonlyArray<string>, ActorError.TransportClosed | ActorError.RegistryUnavailable> =
    Effect.zipRight(
      // a root that no application runtime was given (one made by a first spawn) writes its
      // warnings with the loggers of the fiber that last had it listen: the application's
      Effect.map(Effect.runtime<never>(), (runtime) => {
        if (!this.logRuntimeGiven) this.logRuntime = runtime
      }),
      this.listenOnce
    )

  /** where peers reach us, once listening */
  addresses: ReadonlyArray<string> = []

  /**
   * Ends every connection to and from peers after what is queued on them (the answers of calls
   * just interrupted, say), closes the listeners, and calls `done` once all is handed on (at most
   * 200 ms later).
   */
  end(done: () => void): void {
    this.closeListeners()
    const links = this.connections()
    let left = links.length + 1
    const timer = setTimeout(() => {
      left = 0
      done()
    }, 200)
    const one = () => {
      if (--left === 0) {
        clearTimeout(timer)
        done()
      }
    }
    for (const link of links) link.end(one)
    one()
  }

  /** set once the runtime is closed: registry functions then fail with RegistryUnavailable */
  closed = false

  /** Closes the listeners (the socket file goes) and every connection to and from peers. */
  close(): void {
    this.closed = true
    this.closeListeners()
    for (const link of this.connections()) link.close("the actor is closing")
  }

  private closeListeners(): void {
    for (const listener of this.listeners) listener.close()
    this.listeners = []
  }

  /** Every connection to and from peers, the registry's included. */
  private connections(): Array<Link> {
    const links = [...this.accepted, ...[...this.peers.values()].map((peer) => peer.link)]
    if (this.registryLink !== undefined) links.push(this.registryLink.link)
    return links
  }

  /** TCP links tick: a peer silent for `tickMillis` is down, its calls fail with TransportClosed. */
  private watch(link: Link, address: Transport.Address): void {
    if (address.kind !== "tcp") return
    const period = this.settings.tickMillis
    let seen = link.received
    let silentSince = Date.now()
    const timer = setInterval(() => {
      if (link.closedWith !== undefined) return clearInterval(timer)
      if (link.received !== seen) {
        seen = link.received
        silentSince = Date.now()
      } else if (Date.now() - silentSince >= period) {
        clearInterval(timer)
        return link.close(`${format(link.peer)} was silent for ${period} ms (no tick): it is down, or unreachable`)
      }
      link.send({ _tag: "Tick" })
    }, Math.max(1, Math.floor(period / 4)))
    timer.unref()
  }

  private accept(accepted: Transport.Accepted): void {
    const link: Link = new Link(accepted.connection, this.self, accepted.peer, this.maxMessageBytes, {
      onControl: (msg) => {
        if (msg._tag === "Cancel") this.onPeerCancel(msg.canceller, link)
      },
      onProtocolError: (message) => this.warn(message),
      onClose: () => this.accepted.delete(link)
    }, this.server, "acceptor")
    new Caller(link)
    this.accepted.add(link)
    this.watch(link, accepted.address)
    // peers that connected do not keep this process alive: its own work does
    link.connection.unref()
  }

  // ---------------------------------------------------------------------------
  // the registry, local or over a connection
  // ---------------------------------------------------------------------------

  private unavailable(why: string): ActorError.RegistryUnavailable {
    const address = Transport.formatAddress(this.settings.registry)
    return new ActorError.RegistryUnavailable({
      address,
      message: `the registry at ${address} cannot be reached: ${why}`
    })
  }

  private adoptRegistryLink(accepted: Transport.Accepted): Caller {
    const link = new Link(accepted.connection, this.self, accepted.peer, this.maxMessageBytes, {
      onControl: () => {},
      onProtocolError: (message) => this.warn(message),
      onClose: () => this.rejoin(rejoinFirstMillis)
    }, this.server, "initiator")
    this.watch(link, accepted.address)
    // a background connection: it holds the event loop open only while a registry call is waiting
    link.connection.unref()
    const caller = new Caller(link)
    this.registryLink = caller
    // a registry that came back (restarted, or reachable again) knows nothing of what we had
    // registered in it: that goes first on the new connection, before the call that opened it
    for (const entry of this.remembered.values()) {
      Effect.runFork(Effect.ignore(caller.call(RegistryProtocol.register, entry, peerAckMillis, () => {})))
    }
    return caller
  }

  /**
   * What this runtime registered in a registry of another process, by uid. A registration lives as
   * long as the connection it came over; when that connection closes while this runtime lives, the
   * entries are registered again as soon as the registry answers (a restarted registry starts empty).
   */
  private readonly remembered = new Map<string, Entry>()
  private rejoinTimer: ReturnType<typeof setTimeout> | undefined

  /** Reconnects to the registry after `millis` (doubling up to 2 s) while there is something to restore. */
  private rejoin(millis: number): void {
    if (this.closed || this.remembered.size === 0 || this.rejoinTimer !== undefined) return
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = undefined
      if (this.closed || this.remembered.size === 0) return
      Effect.runFork(Effect.catchAll(this.registryCaller(), () => Effect.sync(() => this.rejoin(Math.min(2 * millis, rejoinMaxMillis)))))
    }, millis)
    // a registry that is down does not keep this process alive
    this.rejoinTimer.unref()
  }

  private registryCalls = 0

  private registryCaller(): Effect.Effect<Caller, ActorError.RegistryUnavailable> {
    return Effect.suspend(() => {
      const open = this.registryLink
      if (open !== undefined && open.link.closedWith === undefined) return Effect.succeed(open)
      return Transport.connect(this.settings.registry, this.self, this.settings.key, this.settings.limits.handshakeMillis).pipe(
        Effect.mapError((e) => this.unavailable(e.message)),
        Effect.map((accepted) => this.adoptRegistryLink(accepted))
      )
    })
  }

  /** In a root, the registry is decided (served or joined) before its first use. */
  private ready(): Effect.Effect<void, ActorError.RegistryUnavailable> {
    if (this.parent !== undefined) return Effect.void
    // not `listen`: a registry lookup is no reason to take the caller's loggers for the root's warnings
    return Effect.asVoid(Effect.catchTag(this.listenOnce, "TransportClosed", (e) => Effect.fail(this.unavailable(e.message))))
  }

  private remote<A>(fn: { readonly protocol: string; readonly name: string; readonly kind: "fn" } & object, payload: unknown) {
    return Effect.flatMap(this.registryCaller(), (caller) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          if (this.registryCalls++ === 0) caller.link.connection.ref()
        }),
        () =>
          caller.call(fn as never, payload, peerAckMillis, () => {}).pipe(
            Effect.mapError((e) => this.unavailable(String((e as { message?: unknown }).message ?? e)))
          ),
        () =>
          Effect.sync(() => {
            if (--this.registryCalls === 0) caller.link.connection.unref()
          })
      )) as Effect.Effect<A, ActorError.RegistryUnavailable>
  }

  private op<A>(
    local: (registry: Registry) => Effect.Effect<A>,
    fn: { readonly protocol: string; readonly name: string; readonly kind: "fn" } & object,
    payload: unknown,
    waitReady = true
  ): Effect.Effect<A, ActorError.RegistryUnavailable> {
    if (this.closed) {
      return Effect.fail(this.unavailable(`the actor runtime of ${format(this.self)} is closed (its layer's scope ended)`))
    }
    return Effect.zipRight(
      waitReady ? this.ready() : Effect.void,
      Effect.suspend(() => {
        const registry = this.registry
        return registry !== undefined ? local(registry) : this.remote<A>(fn, payload)
      })
    )
  }

  register(entry: Entry): Effect.Effect<void, ActorError.RegistryUnavailable> {
    // the root registers itself while it starts: that one does not wait for the start
    const own = entry.id.uid === this.self.uid
    return this.op((r) => Effect.sync(() => r.register(entry, "local")), RegistryProtocol.register, entry, !own).pipe(
      // a registry of another process may restart: what we registered there is kept, to register
      // again (also when this attempt failed: the registry is down, it will be back)
      Effect.ensuring(Effect.sync(() => {
        if (this.registry !== undefined || this.closed) return
        this.remembered.set(entry.id.uid, entry)
        const open = this.registryLink
        if (open === undefined || open.link.closedWith !== undefined) this.rejoin(rejoinFirstMillis)
      }))
    )
  }

  unregister(uid: string): Effect.Effect<void, ActorError.RegistryUnavailable> {
    return Effect.suspend(() => {
      this.remembered.delete(uid)
      return this.op((r) => Effect.sync(() => r.unregister(uid)), RegistryProtocol.unregister, uid)
    })
  }

  find(name: string): Effect.Effect<ReadonlyArray<Entry>, ActorError.RegistryUnavailable> {
    return this.op((r) => Effect.sync(() => r.find(name)), RegistryProtocol.find, name)
  }

  wait(name: string, timeoutMillis: number): Effect.Effect<Option.Option<Entry>, ActorError.RegistryUnavailable> {
    return this.op((r) => r.wait(name, timeoutMillis), RegistryProtocol.wait, { name, timeoutMillis })
  }

  readonly list: Effect.Effect<ReadonlyArray<Entry>, ActorError.RegistryUnavailable> = Effect.suspend(() =>
    this.op((r) => Effect.sync(() => r.list()), RegistryProtocol.list, undefined)
  )

  // ---------------------------------------------------------------------------
  // peers
  // ---------------------------------------------------------------------------

  /** The addresses of `entry` in the order to try: its Unix socket on our host, then TCP. */
  private addressesOf(entry: Entry): ReadonlyArray<Transport.Address> {
    const parsed = entry.addresses.map(Transport.parseAddress).filter((a): a is Transport.Address => a !== undefined)
    const local = entry.host === this.settings.host
    return [
      ...(local ? parsed.filter((a) => a.kind === "unix") : []),
      ...parsed.filter((a) => a.kind === "tcp" && (a.host === "127.0.0.1" || a.host === "::1" || a.host === "localhost") && local),
      ...parsed.filter((a) => a.kind === "tcp" && !(local && (a.host === "127.0.0.1" || a.host === "::1" || a.host === "localhost")))
    ]
  }

  private connectAny(
    addresses: ReadonlyArray<Transport.Address>,
    errors: Array<string> = []
  ): Effect.Effect<Transport.Accepted, ActorError.TransportClosed> {
    const [first, ...rest] = addresses
    if (first === undefined) {
      return Effect.fail(
        new ActorError.TransportClosed({
          actor: this.self,
          reason: "unreachable",
          message: `no address answered: ${errors.length === 0 ? "none is reachable from this host" : errors.join("; ")}`
        })
      )
    }
    return Effect.catchAll(
      Transport.connect(first, this.self, this.settings.key, this.settings.limits.handshakeMillis),
      (e) => this.connectAny(rest, [...errors, e.message])
    )
  }

  /**
   * A connection to the actor of `entry`, shared with every other portal to it, held open (and
   * holding the event loop) while the scope lasts. A dead address fails with `TransportClosed`.
   */
  peer(entry: Entry): Effect.Effect<RemotePeer, ActorError.TransportClosed, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        const open = this.peers.get(entry.id.uid)
        if (open !== undefined && open.link.closedWith === undefined) return Effect.succeed(open)
        return Effect.map(this.connectAny(this.addressesOf(entry)), (accepted) => {
          let peer: RemotePeer | undefined = undefined
          const link = new Link(accepted.connection, this.self, entry.id, this.maxMessageBytes, {
            onControl: (msg) => {
              for (const waiter of peer?.controlWaiters ?? []) waiter(msg)
            },
            onProtocolError: (message) => this.warn(message),
            onClose: () => {
              if (this.peers.get(entry.id.uid) === peer) this.peers.delete(entry.id.uid)
            }
          }, this.server, "initiator")
          peer = new RemotePeer(accepted.peer, link, accepted.address)
          this.peers.set(entry.id.uid, peer)
          this.watch(link, accepted.address)
          return peer
        })
      }).pipe(Effect.tap((peer) =>
        Effect.sync(() => {
          if (peer.idleTimer !== undefined) clearTimeout(peer.idleTimer)
          peer.idleTimer = undefined
          if (peer.refs++ === 0) peer.link.connection.ref()
        })
      )),
      (peer) =>
        Effect.sync(() => {
          if (--peer.refs > 0) return
          // unused: it no longer holds the event loop open, and closes unless found again soon
          peer.link.connection.unref()
          peer.idleTimer = setTimeout(() => this.disconnect(peer), peerIdleMillis)
          peer.idleTimer.unref()
        })
    )
  }

  /** Closes our connection to a peer (the peer's portals fail with TransportClosed). */
  disconnect(peer: RemotePeer): void {
    if (peer.idleTimer !== undefined) clearTimeout(peer.idleTimer)
    if (this.peers.get(peer.id.uid) === peer) this.peers.delete(peer.id.uid)
    peer.link.close("the connection was closed by this side")
  }

  /** Our open connection to the actor `uid`, if any. */
  connectionTo(uid: string): RemotePeer | undefined {
    return this.peers.get(uid)
  }
}

/** @internal the actor runtime, as a service: provided to an actor's handlers, or by the application */
export class ActorRuntimeTag extends Context.Tag("effect-tractor/ActorRuntime")<ActorRuntimeTag, TreeRuntime>() {}

/**
 * A root runtime as a scoped resource: its listeners close (and its socket file goes) with the scope.
 * @internal
 */
export const scopedRoot = (options: RootOptions): Effect.Effect<TreeRuntime, never, Scope.Scope> =>
  Effect.gen(function*() {
    const root = yield* Effect.acquireRelease(
      Effect.sync(() => makeRoot(options)),
      (runtime) => Effect.sync(() => runtime.close())
    )
    // the root's own warnings go through the application's loggers
    root.giveLogRuntime(yield* Effect.runtime<never>())
    const serve = options.serve ?? []
    if (serve.length === 0) return root
    // the root's handlers, their layers and builders run with the application's services
    const app = yield* Effect.context<never>()
    const base = Context.merge(app, root.server.runtime.context as Context.Context<never>)
    const found = implementations([["the root's implementations", { ...serve }]])
    if (found.some(([, i]) => i.protocol[Actor.ProtocolTypeId].name === RegistryProtocol[Actor.ProtocolTypeId].name)) {
      return yield* Effect.dieMessage("the root serves the registry already")
    }
    const built = yield* build(found, base, yield* Effect.scope).pipe(
      Effect.orDieWith((failure) => new Error(`the root cannot serve ${failure.message}`))
    )
    root.server.fns = new Map([...root.server.fns, ...built.fns])
    root.server.runtime = handlerRuntime(built, format(root.self)) as Runtime.Runtime<Actor.CurrentActor>
    return root
  })

let processRuntime: TreeRuntime | undefined

/** @internal the child bootstrap sets the runtime of an actor process */
export const setProcessRuntime = (runtime: TreeRuntime): void => {
  processRuntime = runtime
}

/** @internal how a root is set up (an application's layer, or the environment) */
export interface RootOptions {
  readonly name?: string | undefined
  /** the host identity (default: host name and network namespace) */
  readonly host?: string | undefined
  /** the registry's address (`unix:<path>` or `tcp:<host>:<port>`): served here if free, joined if held */
  readonly registry?: string | undefined
  /** the tree key in base64; required to join a registry over TCP */
  readonly key?: string | undefined
  /** where actors also accept peers over TCP */
  readonly tcpHost?: string | undefined
  readonly tickMillis?: number | undefined
  /** what the root serves to the actors of its tree, besides the registry (found under its name) */
  readonly serve?: ReadonlyArray<Actor.Implementation> | undefined
}

/** @internal the root options read from the environment (EFFECT_TRACTOR_*) */
export const envOptions = (env: Record<string, string | undefined> = process.env): RootOptions => ({
  registry: env["EFFECT_TRACTOR_REGISTRY"] || undefined,
  key: env["EFFECT_TRACTOR_TREE_KEY"] || undefined,
  tcpHost: env["EFFECT_TRACTOR_TCP_HOST"] || undefined,
  tickMillis: env["EFFECT_TRACTOR_TICK_MS"] ? Number(env["EFFECT_TRACTOR_TICK_MS"]) : undefined
})

/**
 * @internal the runtime of a root, serving the registry (what else it serves, `scopedRoot` builds);
 * a setting that cannot work throws, saying which and why
 */
export const makeRoot = (options: Omit<RootOptions, "serve">): TreeRuntime => {
  const self: ActorId = { name: options.name ?? "root", uid: makeUid(), pid: process.pid }
  const registry = new Registry()
  const server = new Server(new Map(registry.fns()))
  server.onDetach.push((link) => registry.dropOwner(link))
  const directory = Transport.runtimeDirectory()
  Transport.sweepStaleSockets(directory)
  let key: Transport.TreeKey
  if (options.key !== undefined) {
    const parsed = Transport.parseTreeKey(options.key)
    if (typeof parsed === "string") throw new Error(`EFFECT_TRACTOR_TREE_KEY: ${parsed}`)
    key = parsed
  } else key = Transport.makeTreeKey()
  let address: Transport.Address = { kind: "unix", path: Transport.socketPath(directory, self.uid) }
  if (options.registry !== undefined) {
    const parsed = Transport.parseAddress(options.registry)
    if (parsed === undefined) {
      throw new Error(`the registry address "${options.registry}" is neither unix:<path> nor tcp:<host>:<port>`)
    }
    if (parsed.kind === "tcp" && options.key === undefined) {
      throw new Error(
        `a registry over TCP (${options.registry}) needs the tree key on every host: ` +
          `set EFFECT_TRACTOR_TREE_KEY (32 random bytes in base64, e.g. \`openssl rand -base64 32\`)`
      )
    }
    address = parsed
  }
  const runtime = new TreeRuntime(self, undefined, server, {
    host: options.host ?? hostIdentity(),
    directory,
    key,
    registry: address,
    tcpHost: options.tcpHost,
    tickMillis: options.tickMillis ?? defaultTickMillis,
    maxMessageBytes: defaultMaxMessageBytes,
    limits: Transport.defaultLimits
  }, registry)
  // the root describes its tree as every actor does
  server.fns = new Map([...server.fns, ...inspectFns(runtime, "root")])
  // the root's own handlers run as an actor's do: they know their actor, and its runtime
  const scope = Effect.runSync(Scope.make())
  server.runtime = Effect.runSync(
    Effect.runtime<Actor.CurrentActor>().pipe(
      Effect.annotateLogs("actor", format(self)),
      Effect.provideService(Actor.CurrentActor, Actor.CurrentActor.of({
        id: self,
        parent: undefined,
        scope,
        cancel: Effect.sync(() => runtime.warn(`the root ${format(self)} is cancelled by its own program, not by a handler`))
      })),
      Effect.provideService(ActorRuntimeTag, runtime)
    )
  )
  return runtime
}

/** The runtime of a root without a layer: made on first use, from the environment. */
const rootRuntime = (): TreeRuntime => {
  if (processRuntime === undefined) {
    const made = makeRoot(envOptions())
    processRuntime = made
    // nothing closes it but the end of the process: its socket file goes then (SIGINT and SIGTERM
    // under runMain end the process through an exit too)
    process.once("exit", () => made.close())
  }
  return processRuntime
}

/** @internal this process's runtime, unless the application provides one */
export const current: Effect.Effect<TreeRuntime> = Effect.map(
  Effect.serviceOption(ActorRuntimeTag),
  Option.getOrElse(rootRuntime)
)
