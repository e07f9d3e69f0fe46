/**
 * A portal: the typed client side of one child actor.
 */
import * as Effect from "effect/Effect"
import type * as Actor from "../Actor.js"
import { ProtocolTypeId } from "../Actor.js"
import type * as ActorError from "../ActorError.js"
import type { ActorId } from "./actorId.js"
import type { ActorProcess } from "./actorProcess.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-tractor/Portal")

/** @internal how a portal reports a remote failure that raced with its interruption */
export type OnRaced = (error: unknown) => void

/** @internal */
export class PortalImpl {
  readonly [TypeId] = TypeId
  private readonly clients = new Map<string, unknown>()
  constructor(readonly process: ActorProcess, readonly onRaced: OnRaced) {}

  get actor(): ActorId {
    return this.process.id
  }

  call(fn: Actor.Fn.Any, payload: unknown): Effect.Effect<unknown, unknown> {
    return this.process.link.call(fn, payload, this.process.options.settings.cancelAckTimeoutMillis, this.onRaced)
  }

  client(protocol: Actor.Protocol.Any): unknown {
    const meta = protocol[ProtocolTypeId]
    let client = this.clients.get(meta.name)
    if (client === undefined) {
      const methods: Record<string, (payload: unknown) => Effect.Effect<unknown, unknown>> = {}
      for (const [name, fn] of Object.entries(meta.fns)) methods[name] = (payload) => this.call(fn, payload)
      client = methods
      this.clients.set(meta.name, client)
    }
    return client
  }

  cancelActor(timeoutMillis?: number): Effect.Effect<void, ActorError.ActorTooSlow> {
    return this.process.requestCancel(
      this.process.options.parent,
      timeoutMillis ?? this.process.options.settings.cancelAckTimeoutMillis
    )
  }

  toJSON() {
    return { _id: "Portal", actor: this.actor }
  }
}
