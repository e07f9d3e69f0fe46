/**
 * A portal: the typed client side of one peer actor.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Actor from "../Actor.js"
import { ProtocolTypeId } from "../Actor.js"
import type * as ActorError from "../ActorError.js"
import type { ActorExit, ActorId } from "./actorId.js"
import type { OnRaced, TraceContext } from "./caller.js"
import { openDialog } from "./dialog.js"
import { defaultWindow } from "./flow.js"
import type { Peer } from "./peer.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-tractor/Portal")

/**
 * @internal a supervised child's place in its nursery: its portal talks to whichever incarnation
 * is current, and waits (bounded) while the child restarts
 */
export interface Slot {
  /** the running incarnation, or the next one once it is ready; fails when none will come in time */
  readonly current: Effect.Effect<Peer, ActorError.TransportClosed>
  /** the latest incarnation, alive or not */
  readonly latest: () => Peer
  /** the running incarnation if a call may go to it now, without waiting */
  readonly usable: () => Peer | undefined
}

/** @internal */
export class PortalImpl {
  readonly [TypeId] = TypeId
  private readonly clients = new Map<string, unknown>()
  constructor(
    /** the peer; for a slot portal, its first incarnation */
    readonly peer: Peer,
    readonly onRaced: OnRaced,
    /** who asks when this portal cancels the actor: the parent, or the actor that found it */
    readonly canceller: ActorId,
    readonly slot?: Slot | undefined
  ) {}

  get actor(): ActorId {
    return this.slot === undefined ? this.peer.id : this.slot.latest().id
  }

  call(
    fn: Actor.Fn.Any,
    payload: unknown,
    onStuck?: (peer: Peer) => void,
    trace?: TraceContext | false
  ): Effect.Effect<unknown, unknown> {
    if (this.slot !== undefined) {
      return Effect.flatMap(this.slot.current, (peer) => this.callOn(peer, fn, payload, onStuck, trace))
    }
    return this.callOn(this.peer, fn, payload, onStuck, trace)
  }

  /** the peer a call may go to now, without waiting (undefined while a supervised child restarts) */
  usableNow(): Peer | undefined {
    return this.slot === undefined ? this.peer : this.slot.usable()
  }

  callOn(peer: Peer, fn: Actor.Fn.Any, payload: unknown, onStuck?: (peer: Peer) => void, trace?: TraceContext | false) {
    const stuck = onStuck === undefined ? undefined : () => onStuck(peer)
    return peer.caller.call(fn, payload, peer.cancelAckTimeoutMillis, this.onRaced, stuck, trace)
  }


  stream(fn: Actor.StreamFn.Any, payload: unknown, window?: number): Stream.Stream<unknown, unknown> {
    if (this.slot !== undefined) {
      return Stream.unwrap(Effect.map(
        this.slot.current,
        (peer) => peer.caller.stream(fn, payload, window ?? defaultWindow, peer.cancelAckTimeoutMillis, this.onRaced)
      ))
    }
    return this.peer.caller.stream(fn, payload, window ?? defaultWindow, this.peer.cancelAckTimeoutMillis, this.onRaced)
  }

  dialog(
    fn: Actor.DialogFn.Any,
    payload: unknown,
    body: (dialog: Actor.DialogHandle<unknown, unknown, unknown, unknown, unknown>) => Effect.Effect<unknown, unknown, unknown>
  ): Effect.Effect<unknown, unknown, unknown> {
    if (this.slot !== undefined) {
      return Effect.flatMap(
        this.slot.current,
        (peer) => openDialog(peer.caller, fn, payload, body, peer.cancelAckTimeoutMillis)
      )
    }
    return openDialog(this.peer.caller, fn, payload, body, this.peer.cancelAckTimeoutMillis)
  }

  /** Completes with the exit of the incarnation current now (a monitor). */
  awaitExit(): Effect.Effect<ActorExit> {
    return (this.slot === undefined ? this.peer : this.slot.latest()).awaitExit()
  }

  client(protocol: Actor.Protocol.Any): unknown {
    const meta = protocol[ProtocolTypeId]
    let client = this.clients.get(meta.name)
    if (client === undefined) {
      const methods: Record<string, (payload: unknown, body?: any) => unknown> = {}
      for (const [name, fn] of Object.entries(meta.fns)) {
        methods[name] = fn.kind === "fn"
          ? (payload) => this.call(fn as Actor.Fn.Any, payload)
          : fn.kind === "stream"
          ? (payload) => this.stream(fn as Actor.StreamFn.Any, payload)
          : (payload, body) => this.dialog(fn as Actor.DialogFn.Any, payload, body)
      }
      client = methods
      this.clients.set(meta.name, client)
    }
    return client
  }

  cancelActor(timeoutMillis?: number): Effect.Effect<void, ActorError.ActorTooSlow> {
    const peer = this.slot === undefined ? this.peer : this.slot.latest()
    return peer.requestCancel(this.canceller, timeoutMillis ?? peer.cancelAckTimeoutMillis)
  }

  toJSON() {
    return { _id: "Portal", actor: this.actor }
  }
}
