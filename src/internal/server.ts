/**
 * The serving side of an actor: one server per actor, shared by every link it serves on. It
 * decodes each call, runs its handler (a fiber per call, none for a handler that returns an exit),
 * and answers with the result or the boxed failure. Cancelling the actor interrupts its work on
 * every link.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import { type ActorId, format } from "./actorId.js"
import { codecOf, type FnCodec, schemaCodec } from "./codec.js"
import { ChildDialog } from "./dialog.js"
import { failureReason, msgTypeError, notEffect, tooLarge } from "./failure.js"
import { Outbox } from "./flow.js"
import { successFrame } from "./frames.js"
import type { Link, ServerSide } from "./link.js"

/** @internal a function this side serves */
export interface ServedFn {
  readonly spec: Actor.AnySpec
  readonly protocol: string
  readonly name: string
  readonly codec: FnCodec
  readonly handler: (payload: unknown, context?: unknown) => unknown
  /** the handler also gets the link the call came over (the library's own protocols only) */
  readonly linked?: true | undefined
}

/** @internal the functions an actor serves, by protocol and name */
export type Fns = ReadonlyMap<string, ReadonlyMap<string, ServedFn>>

/**
 * The handler of a traced call in its server span, a child of the caller's client span (the
 * context the call carried), with the protocol and function as attributes.
 */
const serverSpan = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  protocol: string,
  fn: string,
  [traceId, spanId, sampled]: typeof Message.TraceContext.Type
): Effect.Effect<A, E, R> =>
  Effect.withSpan(effect, `${protocol}.${fn}`, {
    kind: "server",
    captureStackTrace: false,
    parent: Tracer.externalSpan({ traceId, spanId, sampled }),
    attributes: { "rpc.system": "effect-tractor", "rpc.service": protocol, "rpc.method": fn }
  })

/** @internal */
export class Server implements ServerSide {
  /** the links this actor serves on */
  readonly links = new Set<Link>()
  /** set once the whole actor is being cancelled, to the actor that asked */
  canceller: ActorId | undefined

  constructor(
    /** set once the actor's modules are imported (calls before that are refused: nothing is served yet) */
    public fns: Fns = new Map(),
    public runtime: Runtime.Runtime<Actor.CurrentActor> = Runtime.defaultRuntime as unknown as Runtime.Runtime<Actor.CurrentActor>
  ) {}

  attach(link: Link): void {
    this.links.add(link)
  }

  detach(link: Link): void {
    this.links.delete(link)
    for (const f of this.onDetach) f(link)
  }

  /** what runs when a link this server served on closes */
  readonly onDetach: Array<(link: Link) => void> = []

  /** Every call this actor is serving, on every link. */
  running(): Array<Fiber.RuntimeFiber<unknown, unknown>> {
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (const link of this.links) for (const fiber of link.running.values()) fibers.push(fiber)
    return fibers
  }

  onCall(link: Link, msg: typeof Message.Call.Type): void {
    const served = this.fns.get(msg.protocol)?.get(msg.fn)
    if (served === undefined) return link.refuse(msg.id, this.refusal(link.self, msg))
    if (this.canceller !== undefined) {
      link.send({ _tag: "Failure", id: msg.id, reason: { _tag: "Interrupted", canceller: this.canceller } })
      return
    }
    const check = served.codec.checkPayload
    const payload = check !== undefined && check(msg.payload)
      ? Either.right(msg.payload)
      : served.codec.decodePayload(msg.payload)
    if (Either.isLeft(payload)) {
      return link.refuse(msg.id, msgTypeError(link.self, msg.protocol, msg.fn, "payload", payload.left))
    }
    const id = msg.id
    let effect: Effect.Effect<unknown, unknown, Actor.CurrentActor>
    switch (served.spec.kind) {
      case "fn": {
        if (msg.trace !== undefined) {
          // traced: the handler runs in its server span, so it is not called before the span starts
          effect = Effect.suspend(() => {
            const result = served.linked === true ? served.handler(payload.right, link) : served.handler(payload.right)
            return Effect.isEffect(result)
              ? result as Effect.Effect<unknown, unknown, Actor.CurrentActor>
              : notEffect(link.self, served, result, "an Effect")
          })
          break
        }
        let result: unknown
        try {
          result = served.linked === true ? served.handler(payload.right, link) : served.handler(payload.right)
        } catch (defect) {
          result = Exit.die(defect)
        }
        // `Effect.succeed`/`Effect.fail` are already exits: answer without a fiber
        if (Exit.isExit(result)) return this.answer(link, id, served, result)
        if (!Effect.isEffect(result)) return this.answer(link, id, served, notEffect(link.self, served, result, "an Effect"))
        effect = result as Effect.Effect<unknown, unknown, Actor.CurrentActor>
        break
      }
      case "stream": {
        const outbox = new Outbox(link, id, schemaCodec(served.spec.element).encode, served)
        link.endpoints.set(id, { onCredit: (n) => outbox.grant(n) })
        effect = Stream.runForEachChunk(
          Stream.suspend(() => {
            const stream = served.handler(payload.right)
            return Stream.StreamTypeId in Object(stream)
              ? stream as Stream.Stream<unknown, unknown, Actor.CurrentActor>
              : Stream.fromEffect(notEffect(link.self, served, stream, "a Stream"))
          }),
          (chunk) => outbox.send(Chunk.toReadonlyArray(chunk))
        )
        break
      }
      case "dialog": {
        const context = new ChildDialog(link, id, served.spec, served)
        link.endpoints.set(id, context)
        effect = Effect.scoped(
          Effect.suspend(() => {
            const result = served.handler(payload.right, context)
            return Effect.isEffect(result)
              ? result as Effect.Effect<unknown, unknown, Actor.CurrentActor>
              : notEffect(link.self, served, result, "an Effect")
          })
        )
        break
      }
    }
    if (msg.trace !== undefined) effect = serverSpan(effect, msg.protocol, msg.fn, msg.trace)
    const fiber = Runtime.runFork(this.runtime)(effect)
    link.running.set(id, fiber)
    fiber.addObserver((exit) => this.answer(link, id, served, exit))
  }

  private answer(link: Link, id: number, served: ServedFn, exit: Exit.Exit<unknown, unknown>): void {
    link.running.delete(id)
    link.endpoints.delete(id)
    const canceller = link.interruptedBy.get(id) ?? this.canceller ?? link.self
    link.interruptedBy.delete(id)
    if (Exit.isSuccess(exit)) {
      let wire: unknown = exit.value
      if (served.codec.checkSuccess === undefined || !served.codec.checkSuccess(wire)) {
        const value = served.codec.encodeSuccess(exit.value)
        if (Either.isLeft(value)) {
          return link.refuse(id, msgTypeError(link.self, served.protocol, served.name, "success", value.left))
        }
        wire = value.right
      }
      let json: string
      try {
        json = JSON.stringify(wire)
      } catch (e) {
        // a value its schema accepts but JSON cannot hold (a cycle, a BigInt): the call fails, typed
        return link.refuse(
          id,
          new ActorError.MsgTypeError({
            actor: link.self,
            protocol: served.protocol,
            fn: served.name,
            part: "success",
            message: `the success of ${served.protocol}.${served.name} cannot be sent as JSON (${(e as Error).message}): ` +
              `return a value of the encoded form of its schema`
          })
        )
      }
      const size = link.sendLine(successFrame(id, json))
      if (size !== undefined) {
        link.refuse(id, tooLarge(link.self, size, link.maxMessageBytes, `the result of ${served.protocol}.${served.name}`))
      }
      return
    }
    const reason = failureReason(link.self, canceller, served, exit.cause)
    const size = link.send({ _tag: "Failure", id, reason })
    if (size !== undefined) link.refuse(id, tooLarge(link.self, size, link.maxMessageBytes, "an error"))
  }

  private refusal(self: ActorId, msg: typeof Message.Call.Type): ActorError.ActorError {
    const protocol = this.fns.get(msg.protocol)
    if (protocol === undefined) {
      // the library's own protocol (the tree view) is not the user's to enable
      const served = [...this.fns.keys()].filter((p) => p !== "effect-tractor/Inspect")
      return new ActorError.ModuleNotEnabled({
        actor: self,
        protocol: msg.protocol,
        fn: msg.fn,
        message: `${format(self)} does not serve protocol "${msg.protocol}" (called ${msg.protocol}.${msg.fn}): ` +
          `enable a module that exports its implementation in the actor's \`modules\`` +
          ` (it serves ${served.length === 0 ? "nothing" : served.map((p) => `"${p}"`).join(", ")})`
      })
    }
    return new ActorError.UnknownFunction({
      actor: self,
      protocol: msg.protocol,
      fn: msg.fn,
      message: `${format(self)} serves "${msg.protocol}" but it has no function "${msg.fn}" ` +
        `(it has: ${[...protocol.keys()].join(", ")}): the two sides disagree on the protocol`
    })
  }
}

/** @internal a server of nothing (a side that only calls): every call is refused with ModuleNotEnabled */
export const servesNothing = (): Server => new Server()

/**
 * The implementations among `modules`' exports, each with the module that exports it. A protocol
 * implemented by two different implementations is an error.
 * @internal
 */
export const implementations = (
  modules: ReadonlyArray<readonly [string, Record<string, unknown>]>
): Array<readonly [string, Actor.Implementation]> => {
  const found: Array<readonly [string, Actor.Implementation]> = []
  const owner = new Map<string, [string, Actor.Implementation]>()
  for (const [name, exports] of modules) {
    for (const value of Object.values(exports)) {
      if (!Actor.isImplementation(value)) continue
      const protocol = value.protocol[Actor.ProtocolTypeId]
      const seen = owner.get(protocol.name)
      if (seen !== undefined) {
        if (seen[1] === value) continue
        throw new Error(`protocol "${protocol.name}" is implemented twice: in ${seen[0]} and in ${name}`)
      }
      owner.set(protocol.name, [name, value])
      found.push([name, value])
    }
  }
  return found
}

/**
 * The functions served by implementations, with their handlers (built already where an
 * implementation builds them with an Effect).
 * @internal
 */
export const serveAll = (
  served: ReadonlyArray<readonly [Actor.Implementation, Record<string, ServedFn["handler"]>]>
): Fns => {
  const fns = new Map<string, Map<string, ServedFn>>()
  for (const [implementation, handlers] of served) {
    const protocol = implementation.protocol[Actor.ProtocolTypeId]
    const fnsOf = new Map<string, ServedFn>()
    for (const [fnName, fn] of Object.entries(protocol.fns)) {
      const handler = handlers[fnName]
      if (handler === undefined) continue
      fnsOf.set(fnName, { spec: fn, protocol: protocol.name, name: fnName, codec: codecOf(fn), handler })
    }
    fns.set(protocol.name, fnsOf)
  }
  return fns
}
