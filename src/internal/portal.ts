/**
 * A portal: the typed client side of one child actor.
 */
import * as Effect from "effect/Effect"
import type * as Actor from "../Actor.js"
import { ProtocolTypeId } from "../Actor.js"
import type * as ActorError from "../ActorError.js"
import type * as Stream from "effect/Stream"
import { openDialog } from "./dialog.js"
import { defaultWindow } from "./flow.js"
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

  stream(fn: Actor.StreamFn.Any, payload: unknown, window?: number): Stream.Stream<unknown, unknown> {
    const settings = this.process.options.settings
    return this.process.link.stream(fn, payload, window ?? defaultWindow, settings.cancelAckTimeoutMillis, this.onRaced)
  }

  dialog(
    fn: Actor.DialogFn.Any,
    payload: unknown,
    body: (dialog: Actor.DialogHandle<unknown, unknown, unknown, unknown, unknown>) => Effect.Effect<unknown, unknown, unknown>
  ): Effect.Effect<unknown, unknown, unknown> {
    return openDialog(this.process.link, fn, payload, body, this.process.options.settings.cancelAckTimeoutMillis)
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
    return this.process.requestCancel(
      this.process.options.parent,
      timeoutMillis ?? this.process.options.settings.cancelAckTimeoutMillis
    )
  }

  toJSON() {
    return { _id: "Portal", actor: this.actor }
  }
}
