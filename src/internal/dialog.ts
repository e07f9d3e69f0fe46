/**
 * Dialogs (tractor's contexts): a task pair across two actors with a `started` handshake, one
 * two-way stream with credit-based flow control, and a final result. Both sides are here.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import { format } from "./actorId.js"
import { type Caller, traced } from "./caller.js"
import { schemaCodec } from "./codec.js"
import { box, encodeActorError, firstFailure, msgTypeError } from "./failure.js"
import { defaultWindow, Inbox, type Names, Outbox, type Wire } from "./flow.js"
import type { Endpoint, Link } from "./link.js"
import { Signal } from "./signal.js"

/** how long a handler whose connection broke has to react to its failing stream */
const brokenLinkGraceMillis = 500

const misuse = (wire: Wire, names: Names, what: string) =>
  new ActorError.DialogMisuse({
    actor: wire.self,
    message: `dialog ${names.protocol}.${names.name}: ${what}`
  })

/** Opens the local side of the dialog stream: grants the peer its window, returns a MsgStream. */
const openSide = (
  wire: Wire,
  id: number,
  names: Names,
  sendSchema: Actor.AnySchema,
  receiveSchema: Actor.AnySchema,
  options: Actor.MsgStreamOptions | undefined,
  pendingCredit: number
) => {
  const window = Math.max(1, Math.floor(options?.window ?? defaultWindow))
  const outbox = new Outbox(wire, id, schemaCodec(sendSchema as any).encode, names, options?.overrun, window)
  const inbox = new Inbox(
    wire,
    schemaCodec(receiveSchema as any).decode,
    names,
    (n) => wire.send({ _tag: "Credit", id, n }),
    window
  )
  wire.send({ _tag: "Credit", id, n: window })
  if (pendingCredit > 0) outbox.grant(pendingCredit)
  const stream: Actor.MsgStream<unknown, unknown> = {
    send: (value) => outbox.send([value]),
    sendAll: (values) => outbox.send([...values]),
    receive: inbox.stream as any,
    close: Effect.sync(() => outbox.close())
  }
  return { outbox, inbox, stream }
}

/** The local end of a dialog's one stream, shared by both sides: credit, elements, stop, failure. */
abstract class DialogEnd implements Endpoint {
  protected side: ReturnType<typeof openSide> | undefined
  private credit = 0
  private stopped = false
  private failure: unknown = undefined
  private sendFailure: unknown = undefined

  constructor(readonly link: Link, readonly id: number, readonly names: Names) {}

  protected open(send: Actor.AnySchema, receive: Actor.AnySchema, options: Actor.MsgStreamOptions | undefined) {
    if (this.side !== undefined) return Effect.fail(misuse(this.link, this.names, "a dialog has one stream only"))
    this.side = openSide(this.link, this.id, this.names, send, receive, options, this.credit)
    if (this.failure !== undefined) this.side.inbox.end(this.failure)
    else if (this.stopped) this.side.inbox.end()
    if (this.sendFailure !== undefined) this.side.outbox.fail(this.sendFailure)
    return Effect.succeed(this.side.stream)
  }

  /** No more elements will come: the stream's receive ends (with `error` when given). */
  protected end(error?: unknown, sendError: unknown = error) {
    if (error !== undefined) this.failure ??= error
    else this.stopped = true
    this.side?.inbox.end(error)
    if (sendError !== undefined) {
      this.sendFailure ??= sendError
      this.side?.outbox.fail(sendError)
    }
  }

  onCredit(n: number) {
    if (this.side !== undefined) this.side.outbox.grant(n)
    else this.credit += n
  }
  onYield(values: ReadonlyArray<unknown>) {
    if (this.draining) {
      this.link.send({ _tag: "Credit", id: this.id, n: values.length })
      return
    }
    this.side?.inbox.push(values)
  }
  onStop() {
    this.end()
  }

  private draining = false

  /**
   * Nobody will read this end any more: what the peer still sends is discarded and credited back at
   * once (what was queued too), so a peer blocked on its window can reach its result.
   */
  protected drain() {
    if (this.draining) return
    this.draining = true
    const queued = this.side?.inbox.discard() ?? 0
    const n = this.side === undefined ? defaultWindow : queued
    if (n > 0) this.link.send({ _tag: "Credit", id: this.id, n })
  }
}

/** @internal the child (callee) side of a dialog: the `ActorContext` its handler gets */
export class ChildDialog extends DialogEnd implements Actor.ActorContext<unknown, unknown, unknown> {
  private startedSent = false

  constructor(link: Link, id: number, readonly spec: Actor.DialogSpec.Any, names: Names) {
    super(link, id, names)
  }

  readonly started = (value: unknown): Effect.Effect<void, ActorError.DialogMisuse | ActorError.MsgTypeError> =>
    Effect.suspend((): Effect.Effect<void, ActorError.DialogMisuse | ActorError.MsgTypeError> => {
      if (this.startedSent) return Effect.fail(misuse(this.link, this.names, "`started` was called twice"))
      const encoded = schemaCodec(this.spec.started as any).encode(value)
      if (Either.isLeft(encoded)) {
        return Effect.fail(msgTypeError(this.link.self, this.names.protocol, this.names.name, "success", encoded.left))
      }
      this.startedSent = true
      this.link.send({ _tag: "Started", id: this.id, value: encoded.right })
      return Effect.void
    })

  readonly openStream = (options?: Actor.MsgStreamOptions) =>
    Effect.suspend(() => {
      if (!this.startedSent) return Effect.fail(misuse(this.link, this.names, "the stream was opened before `started`"))
      return this.open(this.spec.childSends, this.spec.parentSends, options)
    })

  /** Cancels this side of the dialog from any fiber of the handler: the handler's fiber ends. */
  readonly cancel: Effect.Effect<never> = Effect.suspend(() => {
    this.link.running.get(this.id)?.unsafeInterruptAsFork(FiberId.none)
    return Effect.interrupt
  })

  /**
   * The parent's side failed (or the link broke): that error reaches our stream, our work stops. A
   * broken link first fails the handler's own `send`/`receive` with `TransportClosed`, so it can
   * react; a handler still running after the grace period is interrupted.
   */
  onAbort(error: unknown): boolean {
    this.end(error)
    const fiber = this.link.running.get(this.id)
    if (fiber === undefined) return false
    if (!this.link.interruptedBy.has(this.id)) this.link.interruptedBy.set(this.id, this.link.peer)
    if (error instanceof ActorError.TransportClosed) {
      setTimeout(() => fiber.unsafeInterruptAsFork(FiberId.none), brokenLinkGraceMillis).unref()
    } else fiber.unsafeInterruptAsFork(FiberId.none)
    return true
  }
}

/** @internal the parent (caller) side of a dialog */
class ParentDialog extends DialogEnd {
  startedValue: { readonly value: unknown } | undefined
  final: Exit.Exit<unknown, unknown> | undefined
  cancelCalled = false
  private readonly signal = new Signal()
  body: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** the remote failure that interrupted the body, if any */
  remoteFailure: unknown = undefined

  constructor(
    link: Link,
    id: number,
    readonly fn: Actor.DialogFn.Any,
    /** how long a body whose connection broke has to react to its failing stream before it is interrupted */
    readonly graceMillis: number
  ) {
    super(link, id, fn)
  }

  private wake() {
    this.signal.wake()
  }

  private until<A>(ready: () => A | undefined): Effect.Effect<A> {
    return Effect.suspend(() => {
      const value = ready()
      if (value !== undefined) return Effect.succeed(value)
      return this.signal.wait.pipe(Effect.zipRight(this.until(ready)))
    })
  }

  onStarted(value: unknown) {
    const decoded = schemaCodec(this.fn.started as any).decode(value)
    if (Either.isLeft(decoded)) {
      const error = msgTypeError(this.link.peer, this.fn.protocol, this.fn.name, "success", decoded.left)
      // the child must not run on for a dialog we cannot hold
      this.link.send({ _tag: "Abort", id: this.id, error: encodeActorError(error) })
      this.settle(Exit.fail(error))
      return
    }
    this.startedValue = { value: decoded.right }
    this.wake()
  }

  isOurCancel(error: unknown): boolean {
    return this.cancelCalled && ActorError.ContextCancelled.is(error) && error.canceller.uid === this.link.self.uid
  }

  /** The child's final answer. A failure ends our stream with it and interrupts the body. */
  settle(exit: Exit.Exit<unknown, unknown>) {
    if (this.final !== undefined) return
    this.final = exit
    this.link.endpoints.delete(this.id)
    if (Exit.isFailure(exit)) {
      const error = exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
      this.end(error)
      this.interruptBody()
    } else {
      this.end(undefined, misuse(this.link, this.fn, "the child has already returned"))
    }
    this.wake()
  }

  /**
   * A remote failure interrupts the body's work in the dialog (unless it is the cancel we asked for).
   * A broken connection first fails the body's own `send`/`receive` with `TransportClosed`, so it
   * can react; a body still running after the grace period is interrupted.
   */
  interruptBody() {
    const final = this.final
    const body = this.body
    if (body === undefined || final === undefined || Exit.isSuccess(final)) return
    const error = final.cause._tag === "Fail" ? final.cause.error : final.cause
    if (this.isOurCancel(error) || this.remoteFailure !== undefined) return
    this.remoteFailure = error
    if (error instanceof ActorError.TransportClosed) {
      setTimeout(() => body.unsafeInterruptAsFork(FiberId.none), this.graceMillis).unref()
    } else body.unsafeInterruptAsFork(FiberId.none)
  }

  /**
   * The body is done: our side of the stream is closed, as leaving tractor's stream block does, and
   * what the child still sends is drained until its result arrives.
   */
  closeSide() {
    if (this.side !== undefined) this.side.outbox.close()
    else if (this.final === undefined) this.link.send({ _tag: "Stop", id: this.id })
    if (this.final === undefined) this.drain()
  }

  readonly awaitStarted = this.until(() =>
    this.startedValue !== undefined ? Exit.succeed(this.startedValue.value) : this.final
  ).pipe(Effect.flatten)

  readonly awaitFinal = this.until(() => this.final).pipe(Effect.flatten)

  handle(): Actor.DialogHandle<unknown, unknown, unknown, unknown, unknown> {
    return {
      started: this.startedValue!.value,
      openStream: (options) => Effect.suspend(() => this.open(this.fn.parentSends, this.fn.childSends, options)),
      result: this.awaitFinal as Effect.Effect<unknown, any>,
      cancel: Effect.sync(() => {
        if (this.final !== undefined || this.cancelCalled) return
        this.cancelCalled = true
        this.link.send({ _tag: "Interrupt", id: this.id })
      })
    }
  }

  /** Waits for the final answer up to `millis` (after a cancel or an abort). */
  waitFinal(millis: number): Effect.Effect<void> {
    return this.until(() => this.final).pipe(Effect.timeoutOption(millis), Effect.asVoid)
  }
}

/** @internal */
export const openDialog = (
  caller: Caller,
  fn: Actor.DialogFn.Any,
  payload: unknown,
  body: (dialog: Actor.DialogHandle<unknown, unknown, unknown, unknown, unknown>) => Effect.Effect<unknown, unknown, unknown>,
  ackTimeoutMillis: number
): Effect.Effect<unknown, unknown, unknown> =>
  traced(fn, (trace) => Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const link = caller.link
      const id = link.nextCallId()
      const state = new ParentDialog(link, id, fn, ackTimeoutMillis)
      const error = caller.start(id, fn, payload, (exit) => state.settle(exit), state, trace)
      if (error !== undefined) return yield* Effect.fail(error)
      const cancelRemote = Effect.suspend(() => {
        if (state.final !== undefined) return Effect.void
        link.send({ _tag: "Interrupt", id })
        return state.waitFinal(ackTimeoutMillis)
      })
      const abortRemote = (error: unknown) =>
        Effect.suspend(() => {
          if (state.final !== undefined) return Effect.void
          link.send({ _tag: "Abort", id, error: encodeActorError(box(link.self, error)) })
          return state.waitFinal(ackTimeoutMillis)
        })

      const started = yield* Effect.exit(restore(state.awaitStarted))
      if (Exit.isFailure(started)) {
        if (state.final === undefined) yield* cancelRemote
        return yield* started
      }

      const fiber = yield* Effect.fork(restore(body(state.handle())))
      state.body = fiber
      // the child may have failed in the same batch as its `started`
      state.interruptBody()
      const outcome = yield* Effect.exit(restore(Fiber.join(fiber)))
      if (Exit.isSuccess(outcome)) {
        state.closeSide()
        const final = yield* Effect.exit(restore(state.awaitFinal))
        if (Exit.isSuccess(final)) return outcome.value
        if (final.cause._tag === "Fail" && state.isOurCancel(final.cause.error)) return outcome.value
        if (state.final === undefined) yield* cancelRemote
        return yield* final
      }
      if (fiber.unsafePoll() === null) {
        // we were interrupted from outside while the body runs: stop it, cancel the child
        yield* Fiber.interrupt(fiber)
        yield* cancelRemote
        return yield* outcome
      }
      if (state.remoteFailure !== undefined) return yield* Effect.fail(state.remoteFailure)
      const first = firstFailure(outcome.cause)
      if (first !== undefined) yield* abortRemote(first)
      else yield* cancelRemote
      return yield* outcome
    })
  )).pipe(Effect.annotateLogs("dialog", `${fn.protocol}.${fn.name}@${format(caller.link.peer)}`))
