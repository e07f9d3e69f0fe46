/**
 * The actor runtime of one process: who this actor is in its tree, the server it serves every link
 * with, where it accepts peers, and how it reaches the tree's registry (in the root, the registry
 * itself). Nurseries, the registry functions and the child bootstrap read it; nothing else keeps
 * process-wide state about the tree.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as ActorError from "../ActorError.js"
import { type ActorId, format, makeUid } from "./actorId.js"
import { Caller } from "./caller.js"
import { defaultMaxMessageBytes } from "./framing.js"
import { type Control, Link } from "./link.js"
import type { Peer } from "./peer.js"
import { type Entry, Registry, RegistryProtocol } from "./registry.js"
import { Server } from "./server.js"
import * as Transport from "./transport.js"

/** @internal how long an interrupted call on a peer link waits for its ack */
const peerAckMillis = 500

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

  constructor(readonly id: ActorId, readonly link: Link) {
    this.caller = new Caller(link)
  }

  requestCancel(canceller: ActorId, millis: number): Effect.Effect<void, ActorError.ActorTooSlow> {
    return Effect.async<void, ActorError.ActorTooSlow>((resume) => {
      if (this.link.closedWith !== undefined) return resume(Exit.void)
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

/** @internal */
export class TreeRuntime {
  /** the links of peers that connected to us */
  readonly accepted = new Set<Link>()
  /** our connections to peers, by uid: one per peer, shared by every portal to it */
  private readonly peers = new Map<string, RemotePeer>()
  private registryLink: Caller | undefined
  /** what a Cancel from a peer does (a child cancels itself; the root refuses) */
  onPeerCancel: (canceller: ActorId, link: Link) => void = (canceller) =>
    this.warn(`${format(canceller)} asked the root ${format(this.self)} to cancel itself: a root is cancelled by its own program, not by peers`)

  constructor(
    readonly self: ActorId,
    readonly parent: ActorId | undefined,
    readonly server: Server,
    readonly directory: string,
    /** where the tree's registry listens (in the root: our own address) */
    readonly registryAddress: string,
    /** the registry itself, in the process that serves it */
    readonly registry: Registry | undefined,
    readonly maxMessageBytes: number = defaultMaxMessageBytes
  ) {}

  /** Our own address: where peers connect. */
  get address(): string {
    return Transport.socketPath(this.directory, this.self.uid)
  }

  warn(message: string): void {
    Effect.runFork(Effect.logWarning(message).pipe(Effect.annotateLogs("actor", format(this.self))))
  }

  private listener: Transport.Listener | undefined

  /**
   * Starts accepting peers, once (later uses wait for the first): the socket file is created, and
   * the actor registered under its name where it registers itself (the root).
   */
  readonly listen: Effect.Effect<string, ActorError.TransportClosed> = Effect.runSync(Effect.cached(
    Effect.suspend(() =>
      Transport.listen(this.address, this.self, (accepted) => this.accept(accepted), (why) => this.warn(why))
    ).pipe(
      Effect.tap((listener) =>
        Effect.sync(() => {
          this.listener = listener
          this.registry?.register(rootEntry(this, listener.address), "local")
        })
      ),
      Effect.map((listener) => listener.address)
    )
  ))

  /** Closes the listener and removes its socket file. */
  close(): void {
    this.listener?.close()
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
  }

  // ---------------------------------------------------------------------------
  // the registry, local or over a connection
  // ---------------------------------------------------------------------------

  private unavailable(why: string): ActorError.RegistryUnavailable {
    return new ActorError.RegistryUnavailable({
      address: this.registryAddress,
      message: `the registry at ${this.registryAddress} cannot be reached: ${why}`
    })
  }

  private registryCaller(): Effect.Effect<Caller, ActorError.RegistryUnavailable> {
    return Effect.suspend(() => {
      const open = this.registryLink
      if (open !== undefined && open.link.closedWith === undefined) return Effect.succeed(open)
      return Transport.connect(this.registryAddress, this.self).pipe(
        Effect.mapError((e) => this.unavailable(e.reason)),
        Effect.map((accepted) => {
          const link = new Link(accepted.connection, this.self, accepted.peer, this.maxMessageBytes, {
            onControl: () => {},
            onProtocolError: (message) => this.warn(message),
            onClose: () => {}
          }, this.server, "initiator")
          this.registryLink = new Caller(link)
          return this.registryLink
        })
      )
    })
  }

  private remote<A>(fn: { readonly protocol: string; readonly name: string; readonly kind: "fn" } & object, payload: unknown) {
    return Effect.flatMap(this.registryCaller(), (caller) =>
      caller.call(fn as never, payload, peerAckMillis, () => {}).pipe(
        Effect.mapError((e) => this.unavailable(String((e as { message?: unknown }).message ?? e)))
      )) as Effect.Effect<A, ActorError.RegistryUnavailable>
  }

  register(entry: Entry): Effect.Effect<void, ActorError.RegistryUnavailable> {
    const registry = this.registry
    if (registry !== undefined) return Effect.sync(() => registry.register(entry, "local"))
    return this.remote(RegistryProtocol.register, entry)
  }

  unregister(uid: string): Effect.Effect<void, ActorError.RegistryUnavailable> {
    const registry = this.registry
    if (registry !== undefined) return Effect.sync(() => registry.unregister(uid))
    return this.remote(RegistryProtocol.unregister, uid)
  }

  find(name: string): Effect.Effect<ReadonlyArray<Entry>, ActorError.RegistryUnavailable> {
    const registry = this.registry
    if (registry !== undefined) return Effect.sync(() => registry.find(name))
    return this.remote(RegistryProtocol.find, name)
  }

  wait(name: string, timeoutMillis: number): Effect.Effect<Option.Option<Entry>, ActorError.RegistryUnavailable> {
    const registry = this.registry
    if (registry !== undefined) return registry.wait(name, timeoutMillis)
    return this.remote(RegistryProtocol.wait, { name, timeoutMillis })
  }

  readonly list: Effect.Effect<ReadonlyArray<Entry>, ActorError.RegistryUnavailable> = Effect.suspend(() => {
    const registry = this.registry
    if (registry !== undefined) return Effect.sync(() => registry.list())
    return this.remote(RegistryProtocol.list, undefined)
  })

  // ---------------------------------------------------------------------------
  // peers
  // ---------------------------------------------------------------------------

  /**
   * A connection to the actor of `entry`, shared with every other portal to it, held open (and
   * holding the event loop) while the scope lasts. A dead address fails with `TransportClosed`.
   */
  peer(entry: Entry): Effect.Effect<RemotePeer, ActorError.TransportClosed, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        const open = this.peers.get(entry.id.uid)
        if (open !== undefined && open.link.closedWith === undefined) return Effect.succeed(open)
        return Effect.map(Transport.connect(entry.address, this.self), (accepted) => {
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
          peer = new RemotePeer(accepted.peer, link)
          this.peers.set(entry.id.uid, peer)
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

let processRuntime: TreeRuntime | undefined

/** @internal the child bootstrap sets the runtime of an actor process */
export const setProcessRuntime = (runtime: TreeRuntime): void => {
  processRuntime = runtime
}

/**
 * The runtime of a root: made on first use (the first nursery, or the first registry function).
 * The root serves the registry; it listens once something asks for its address.
 */
const rootRuntime = (): TreeRuntime => {
  if (processRuntime === undefined) {
    const self: ActorId = { name: "root", uid: makeUid(), pid: process.pid }
    const registry = new Registry()
    const server = new Server(registry.fns())
    server.onDetach.push((link) => registry.dropOwner(link))
    const directory = Transport.runtimeDirectory()
    processRuntime = new TreeRuntime(self, undefined, server, directory, Transport.socketPath(directory, self.uid), registry)
  }
  return processRuntime
}

/** @internal this process's runtime, unless the application provides one */
export const current: Effect.Effect<TreeRuntime> = Effect.map(
  Effect.serviceOption(ActorRuntimeTag),
  Option.getOrElse(rootRuntime)
)

/** @internal the root's registry entry (once it listens) */
export const rootEntry = (runtime: TreeRuntime, address: string): Entry => ({
  name: runtime.self.name,
  id: runtime.self,
  address,
  protocols: [...runtime.server.fns.keys()]
})
