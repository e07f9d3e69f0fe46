/**
 * Credit-based flow control for the streams of one call: an `Outbox` never has more elements in
 * flight than its peer granted, an `Inbox` grants credit back as its consumer pulls. Elements
 * travel in batches (`Yield`), credit in counts (`Credit`), so a stream of small values is not a
 * round trip per element.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Stream from "effect/Stream"
import type * as Actor from "../Actor.js"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import { type ActorId, format } from "./actorId.js"
import { describeParseError } from "./failure.js"
import { yieldFrame, yieldHead } from "./frames.js"
import { creditStall } from "./metrics.js"
import { Signal } from "./signal.js"

/** @internal the default receive window, in elements */
export const defaultWindow = 2048

/** @internal the most elements in one `Yield`: a window holds several batches, so both sides work at once */
export const maxBatch = 512

/** @internal what a flow needs from its link */
export interface Wire {
  readonly self: ActorId
  readonly peer: ActorId
  send(msg: Message.Encoded): number | undefined
  sendLine(line: string): number | undefined
  /** runs `f` before the next frame is queued or the tick's frames are written */
  defer(f: () => void): void
  readonly maxMessageBytes: number
}

/** @internal */
export interface Names {
  readonly protocol: string
  readonly name: string
}

const msgTypeError = (actor: ActorId, names: Names, part: "payload", error: ParseResult.ParseError) =>
  new ActorError.MsgTypeError({
    actor,
    protocol: names.protocol,
    fn: names.name,
    part,
    message: `an element of ${names.protocol}.${names.name} does not match its schema: ${describeParseError(error)}`
  })

/** @internal the sending half of a stream */
export class Outbox {
  private credit = 0
  private failure: unknown = undefined
  private closed = false
  private stopPending = false
  private readonly signal = new Signal()
  private readonly buffer: Array<unknown> = []

  constructor(
    readonly wire: Wire,
    readonly id: number,
    readonly encode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>,
    readonly names: Names,
    readonly overrun: NonNullable<Actor.MsgStreamOptions["overrun"]> = "backpressure",
    readonly bufferSize = defaultWindow
  ) {}

  grant(n: number): void {
    this.credit += n
    if (this.buffer.length > 0) this.drain()
    this.wake()
  }

  /** The peer is gone or failed: every pending and later send fails with `error`. */
  fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error
    this.wake()
  }

  private wake() {
    this.signal.wake()
  }

  send(values: ReadonlyArray<unknown>): Effect.Effect<void, ActorError.ActorError | ActorError.DialogMisuse> {
    return Effect.suspend(() => {
      if (this.failure !== undefined) return Effect.fail(this.failure as ActorError.ActorError)
      if (this.closed) {
        return Effect.fail(
          new ActorError.DialogMisuse({
            actor: this.wire.self,
            message: `send on the closed stream of ${this.names.protocol}.${this.names.name}`
          })
        )
      }
      const encoded = new Array<unknown>(values.length)
      for (let i = 0; i < values.length; i++) {
        const e = this.encode(values[i])
        if (Either.isLeft(e)) return Effect.fail(msgTypeError(this.wire.self, this.names, "payload", e.left))
        encoded[i] = e.right
      }
      return this.push(encoded, 0)
    })
  }

  // elements sent in one tick leave together: each is stringified once, here, and the tick's
  // batch becomes as few `Yield` frames as the frame limit and `maxBatch` allow
  private parts: Array<string> = []
  private scheduled = false

  private emit(values: ReadonlyArray<unknown>): ActorError.MessageTooLarge | undefined {
    const max = this.wire.maxMessageBytes
    for (const value of values) {
      const json = JSON.stringify(value) ?? "null"
      if ((json.length + 64) * 3 > max) {
        const size = Buffer.byteLength(json) + 64
        if (size > max) {
          return new ActorError.MessageTooLarge({
            actor: this.wire.self,
            size,
            limit: max,
            message: `an element of ${this.names.protocol}.${this.names.name} is ${size} bytes as a frame, ` +
              `over the limit of ${max} (maxMessageBytes)`
          })
        }
      }
      this.parts.push(json)
    }
    if (!this.scheduled && this.parts.length > 0) {
      this.scheduled = true
      this.wire.defer(this.flushParts)
    }
    return undefined
  }

  private readonly flushParts = (): void => {
    this.scheduled = false
    const parts = this.parts
    this.parts = []
    const head = yieldHead(this.id)
    const budget = Math.floor(this.wire.maxMessageBytes / 3) - head.length - 2
    let start = 0
    let chars = 0
    for (let i = 0; i < parts.length; i++) {
      const n = parts[i]!.length + 1
      if (i > start && (i - start >= maxBatch || chars + n > budget)) {
        this.wire.sendLine(yieldFrame(head, parts.slice(start, i)))
        start = i
        chars = 0
      }
      chars += n
    }
    if (start < parts.length) this.wire.sendLine(yieldFrame(head, start === 0 ? parts : parts.slice(start)))
  }

  private push(
    encoded: ReadonlyArray<unknown>,
    offset: number
  ): Effect.Effect<void, ActorError.ActorError | ActorError.DialogMisuse> {
    while (offset < encoded.length) {
      if (this.failure !== undefined) return Effect.fail(this.failure as ActorError.ActorError)
      if (this.credit > 0) {
        const n = Math.min(this.credit, encoded.length - offset, maxBatch)
        this.credit -= n
        const tooLarge = this.emit(n === encoded.length ? encoded : encoded.slice(offset, offset + n))
        if (tooLarge !== undefined) return Effect.fail(tooLarge)
        offset += n
        continue
      }
      switch (this.overrun) {
        case "fail":
          return Effect.fail(
            new ActorError.StreamOverrun({
              actor: this.wire.peer,
              message: `${format(this.wire.peer)} has no room for more elements of ${this.names.protocol}.${this.names.name} ` +
                `(overrun policy "fail")`
            })
          )
        case "dropOldest": {
          for (let i = offset; i < encoded.length; i++) this.buffer.push(encoded[i])
          if (this.buffer.length > this.bufferSize) this.buffer.splice(0, this.buffer.length - this.bufferSize)
          return Effect.void
        }
        default: {
          const rest = offset
          creditStall(this.names.protocol, this.names.name)
          return this.signal.wait.pipe(Effect.zipRight(Effect.suspend(() => this.push(encoded, rest))))
        }
      }
    }
    return Effect.void
  }

  private drain() {
    while (this.credit > 0 && this.buffer.length > 0) {
      const n = Math.min(this.credit, this.buffer.length)
      this.credit -= n
      this.emit(this.buffer.splice(0, n))
    }
    if (this.stopPending && this.buffer.length === 0) {
      this.stopPending = false
      if (this.failure === undefined) this.wire.send({ _tag: "Stop", id: this.id })
    }
  }

  /** Sends `Stop` once, after any elements still buffered (`dropOldest`): the peer's receive ends. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.failure !== undefined) return
    if (this.buffer.length > 0) this.stopPending = true
    else this.wire.send({ _tag: "Stop", id: this.id })
  }
}

/** @internal the receiving half of a stream */
export class Inbox {
  private readonly chunks: Array<ReadonlyArray<unknown>> = []
  private ended = false
  private error: unknown = undefined
  private readonly signal = new Signal()

  private owed = 0
  private readonly threshold: number

  constructor(
    readonly wire: Wire,
    readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>,
    readonly names: Names,
    readonly grant: (n: number) => void,
    window: number
  ) {
    // credit goes back in quarters of the window, not a frame per batch; a sender that ran out of
    // credit has had all of it consumed, which is always at least a quarter
    this.threshold = Math.max(1, Math.floor(window / 4))
  }

  private giveBack(n: number) {
    this.owed += n
    if (this.owed >= this.threshold) {
      const owed = this.owed
      this.owed = 0
      this.grant(owed)
    }
  }

  push(values: ReadonlyArray<unknown>): void {
    if (this.ended) return
    const decoded = new Array<unknown>(values.length)
    for (let i = 0; i < values.length; i++) {
      const d = this.decode(values[i])
      if (Either.isLeft(d)) return this.end(msgTypeError(this.wire.peer, this.names, "payload", d.left))
      decoded[i] = d.right
    }
    if (decoded.length > 0) this.chunks.push(decoded)
    this.wake()
  }

  /** No more elements: a graceful end, or a failure when `error` is given. */
  end(error?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = error
    this.wake()
  }

  /** Drops what is queued and returns how many elements that was (their credit is the caller's). */
  discard(): number {
    let n = 0
    for (const chunk of this.chunks) n += chunk.length
    this.chunks.length = 0
    return n
  }

  private wake() {
    this.signal.wake()
  }

  readonly pull: Effect.Effect<Chunk.Chunk<unknown>, Option.Option<unknown>> = Effect.suspend(() => {
    const chunk = this.chunks.shift()
    if (chunk !== undefined) {
      if (!this.ended) this.giveBack(chunk.length)
      return Effect.succeed(Chunk.unsafeFromArray(chunk as Array<unknown>))
    }
    if (this.ended) return Effect.fail(this.error === undefined ? Option.none() : Option.some(this.error))
    return this.signal.wait.pipe(Effect.zipRight(this.pull))
  })

  readonly stream: Stream.Stream<unknown, unknown> = Stream.repeatEffectChunkOption(this.pull)
}
