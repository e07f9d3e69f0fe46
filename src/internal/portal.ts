/**
 * A portal: the typed client side of one peer actor.
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as Actor from "../Actor.js"
import { ProtocolTypeId } from "../Actor.js"
import type * as ActorError from "../ActorError.js"
import type { ActorId } from "./actorId.js"
import type { OnRaced } from "./caller.js"
import { openDialog } from "./dialog.js"
import { defaultWindow } from "./flow.js"
import type { Peer } from "./peer.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-tractor/Portal")

/** @internal */
export class PortalImpl {
  readonly [TypeId] = TypeId
  private readonly clients = new Map<string, unknown>()
  constructor(
    readonly peer: Peer,
    readonly onRaced: OnRaced,
    /** who asks when this portal cancels the actor: the parent, or the actor that found it */
    readonly canceller: ActorId
  ) {}

  get actor(): ActorId {
    return this.peer.id
  }

  call(fn: Actor.Fn.Any, payload: unknown): Effect.Effect<unknown, unknown> {
    return this.peer.caller.call(fn, payload, this.peer.cancelAckTimeoutMillis, this.onRaced)
  }

  stream(fn: Actor.StreamFn.Any, payload: unknown, window?: number): Stream.Stream<unknown, unknown> {
    return this.peer.caller.stream(fn, payload, window ?? defaultWindow, this.peer.cancelAckTimeoutMillis, this.onRaced)
  }

  dialog(
    fn: Actor.DialogFn.Any,
    payload: unknown,
    body: (dialog: Actor.DialogHandle<unknown, unknown, unknown, unknown, unknown>) => Effect.Effect<unknown, unknown, unknown>
  ): Effect.Effect<unknown, unknown, unknown> {
    return openDialog(this.peer.caller, fn, payload, body, this.peer.cancelAckTimeoutMillis)
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
    return this.peer.requestCancel(this.canceller, timeoutMillis ?? this.peer.cancelAckTimeoutMillis)
  }

  toJSON() {
    return { _id: "Portal", actor: this.actor }
  }
}
