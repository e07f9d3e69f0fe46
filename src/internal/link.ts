/**
 * One connection between two actors: frames (see `framing.ts`) multiplexed by call id. The link
 * holds the tables of one connection and dispatches each frame: answers to the calls this side
 * started go to its caller (`caller.ts`), calls from the peer to the actor's server (`server.ts`),
 * stream and dialog traffic to the endpoint of its call. It is the hot path: callbacks, not fibers,
 * per message.
 */
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import { type ActorId, format } from "./actorId.js"
import type { Connection } from "./connection.js"
import { describeParseError, raised, tooLarge } from "./failure.js"
import { decodeMessage, fastCheck, sniff } from "./frames.js"
import { Framing } from "./framing.js"
import { forLink, type LinkMetrics } from "./metrics.js"

export { defaultMaxMessageBytes } from "./framing.js"

/** @internal what a call's messages are delivered to, besides its final answer */
export interface Endpoint {
  onStarted?(value: unknown): void
  onYield?(values: ReadonlyArray<unknown>): void
  onStop?(): void
  onCredit?(n: number): void
  /** the other side failed, or the link broke; true when the endpoint ends the call's fiber itself */
  onAbort?(error: unknown): boolean | void
}

/** @internal the side of a link that started calls: it gets their answers */
export interface CallerSide {
  onAnswer(msg: typeof Message.Success.Type | typeof Message.Failure.Type): void
  /**
   * Fails call `id` with the error `make` builds from its names (its answer could not be read);
   * false when no such call is waiting.
   */
  failCall(id: number, make: (protocol: string, fn: string) => ActorError.ActorError): boolean
  /** The link closed: every waiting call fails with `error`. */
  closeAll(error: ActorError.TransportClosed): void
}

/** @internal what serves the calls that arrive on a link: the actor's one server, shared by its links */
export interface ServerSide {
  onCall(link: Link, msg: typeof Message.Call.Type): void
  attach(link: Link): void
  detach(link: Link): void
}

/** @internal */
export type Control =
  | typeof Message.Hello.Type
  | typeof Message.Ready.Type
  | typeof Message.BootFailed.Type
  | typeof Message.Cancel.Type
  | typeof Message.Cancelling.Type
  | typeof Message.CancelAck.Type

/** @internal */
export interface LinkHooks {
  readonly onControl: (msg: Control) => void
  readonly onProtocolError: (message: string) => void
  /** a log entry of the peer (a child), for this side's logger; ignored when not given */
  readonly onLog?: ((entry: typeof Message.Log.Type) => void) | undefined
  readonly onClose: () => void
  /** when given, the owner decides when the link closes after its connection did */
  readonly onSocketClose?: (() => void) | undefined
}

/**
 * Which end opened the connection: the initiator's calls have odd ids, the acceptor's even ones,
 * so ids never collide across directions.
 * @internal
 */
export type Role = "initiator" | "acceptor"

const noCaller: CallerSide = {
  onAnswer: () => {},
  failCall: () => false,
  closeAll: () => {}
}

/** @internal */
export class Link extends Framing {
  readonly endpoints = new Map<number, Endpoint>()
  /** the calls the peer started that this side is serving, by id */
  readonly running = new Map<number, Fiber.RuntimeFiber<unknown, unknown>>()
  /** who interrupted a served call, when it was not the end of the link */
  readonly interruptedBy = new Map<number, ActorId>()
  /** the calls this side started: set by the caller built on this link */
  caller: CallerSide = noCaller
  private nextId: number
  closedWith: ActorError.TransportClosed | undefined
  /** set while the owner keeps the connection from holding the event loop open (an idle parent side) */
  asleep = false
  /** called when a call starts on a sleeping link: the owner holds the event loop open again */
  wake: () => void = () => {}

  constructor(
    connection: Connection,
    readonly self: ActorId,
    public peer: ActorId,
    maxMessageBytes: number,
    readonly hooks: LinkHooks,
    readonly server: ServerSide,
    role: Role
  ) {
    super(connection, maxMessageBytes)
    this.nextId = role === "initiator" ? 1 : 2
    server.attach(this)
    connection.onClose(() => {
      if (hooks.onSocketClose !== undefined) hooks.onSocketClose()
      else this.close("the connection closed")
    })
  }

  /** A fresh id for a call this side starts. */
  nextCallId(): number {
    const id = this.nextId
    this.nextId += 2
    return id
  }

  /** Queues a frame; returns its size when it is over the limit (and was not sent). */
  send(msg: Message.Encoded): number | undefined {
    return this.sendLine(JSON.stringify(msg))
  }

  // ---------------------------------------------------------------------------
  // dispatch
  // ---------------------------------------------------------------------------

  private metrics: LinkMetrics | undefined

  private get linkMetrics(): LinkMetrics {
    return this.metrics ??= forLink(this.peer.name)
  }

  protected override onWrote(data: string, frames: number): void {
    this.linkMetrics.sent(Buffer.byteLength(data), frames)
  }

  protected override onRead(bytes: number): void {
    this.linkMetrics.received(bytes)
  }

  protected onLine(line: string): void {
    this.linkMetrics.framesReceived(1)
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (e) {
      return this.badFrame(line, `not JSON (${(e as Error).message})`)
    }
    let msg = fastCheck(value)
    if (msg === undefined) {
      const decoded = decodeMessage(value)
      if (decoded._tag === "Left") return this.badFrame(line, describeParseError(decoded.left))
      msg = decoded.right
    }
    switch (msg._tag) {
      case "Call":
        return this.server.onCall(this, msg)
      case "Success":
      case "Failure":
        return this.caller.onAnswer(msg)
      case "Interrupt": {
        const fiber = this.running.get(msg.id)
        if (fiber !== undefined) {
          this.interruptedBy.set(msg.id, this.peer)
          fiber.unsafeInterruptAsFork(FiberId.none)
        }
        return
      }
      case "Yield":
        return this.endpoints.get(msg.id)?.onYield?.(msg.values)
      case "Credit":
        return this.endpoints.get(msg.id)?.onCredit?.(msg.n)
      case "Stop":
        return this.endpoints.get(msg.id)?.onStop?.()
      case "Started":
        return this.endpoints.get(msg.id)?.onStarted?.(msg.value)
      case "Abort":
        this.endpoints.get(msg.id)?.onAbort?.(msg.error)
        return
      case "Tick":
        return
      case "Log":
        return this.hooks.onLog?.(msg)
      default:
        return this.hooks.onControl(msg)
    }
  }

  /** Answers a call with a failure: an error of this side's wire, as a `Raised` reason. */
  refuse(id: number, error: ActorError.ActorError): void {
    this.send({ _tag: "Failure", id, reason: raised(error) })
  }

  private badFrame(line: string, why: string): void {
    const frame = sniff(line)
    const message = `malformed frame from ${format(this.peer)}: ${why}`
    if (frame !== undefined) {
      if (frame.tag === "Call") {
        return this.refuse(frame.id, new ActorError.MsgTypeError({ actor: this.self, protocol: "", fn: "", part: "frame", message }))
      }
      if (frame.tag === "Success" || frame.tag === "Failure") {
        const error = (protocol: string, fn: string) =>
          new ActorError.MsgTypeError({ actor: this.peer, protocol, fn, part: "frame", message })
        if (this.caller.failCall(frame.id, error)) return
      }
    }
    this.hooks.onProtocolError(message)
  }

  protected onOversized(prefix: string): void {
    const frame = sniff(prefix)
    const limit = this.maxMessageBytes
    if (frame !== undefined) {
      if (frame.tag === "Call") return this.refuse(frame.id, tooLarge(this.self, limit + 1, limit, "a call"))
      if (this.caller.failCall(frame.id, () => tooLarge(this.peer, limit + 1, limit, "a frame"))) return
    }
    this.hooks.onProtocolError(`a frame from ${format(this.peer)} is over the limit of ${limit} bytes and was dropped`)
  }

  // ---------------------------------------------------------------------------
  // closing
  // ---------------------------------------------------------------------------

  /** Fails every waiting call with one `TransportClosed` and interrupts every served call. */
  /** Runs `f` once the link has closed (at once if it has). Returns what unregisters it. */
  whenClosed(f: (closed: ActorError.TransportClosed) => void): () => void {
    if (this.closedWith !== undefined) {
      f(this.closedWith)
      return () => {}
    }
    this.closeWaiters.add(f)
    return () => this.closeWaiters.delete(f)
  }

  private readonly closeWaiters = new Set<(closed: ActorError.TransportClosed) => void>()

  close(reason: string, error?: ActorError.TransportClosed): void {
    if (this.closedWith !== undefined) return
    const closed = error ?? new ActorError.TransportClosed({
      actor: this.peer,
      reason,
      message: `lost ${format(this.peer)}: ${reason}`
    })
    this.closedWith = closed
    this.sealed = true
    this.caller.closeAll(closed)
    const ending = new Set<number>()
    for (const [id, endpoint] of this.endpoints) if (endpoint.onAbort?.(closed) === true) ending.add(id)
    this.endpoints.clear()
    for (const [id, fiber] of this.running) if (!ending.has(id)) fiber.unsafeInterruptAsFork(FiberId.none)
    this.server.detach(this)
    this.connection.destroy()
    this.hooks.onClose()
    for (const f of this.closeWaiters) f(closed)
    this.closeWaiters.clear()
  }
}
