/**
 * Framing over a byte connection: newline-delimited frames, batched per event-loop tick on the way
 * out, split and size-checked on the way in. It knows no message kind: a subclass gets each whole
 * line (`onLine`) and the start of each frame over the size limit (`onOversized`).
 */
import type { Connection } from "./connection.js"

/**
 * Frames queued in one tick are written together at its end, except that the first this many go
 * out as soon as they are queued: with many calls in flight the peer then works on them while this
 * side is still producing the rest (measured, 100 in flight: ~125k calls/s without, ~135k writing
 * every 24 frames, ~149k writing the first 16 once per tick).
 */
const eagerFrames = 16

/** @internal */
export const defaultMaxMessageBytes = 64 * 1024 * 1024

/** @internal */
export abstract class Framing {
  private queue: Array<string> = []
  private flushScheduled = false
  private wroteEarly = false
  private deferred: Array<() => void> = []
  private runningDeferred = false
  private partial: Array<Buffer> = []
  private partialBytes = 0
  private discarding: string | undefined
  /** set once nothing more may be sent */
  protected sealed = false
  /** how many chunks have arrived (a peer that sends nothing for a while is silent) */
  received = 0

  constructor(readonly connection: Connection, readonly maxMessageBytes: number) {
    connection.onData((chunk) => this.onData(chunk))
  }

  /** One whole frame, without its newline (never empty). */
  protected abstract onLine(line: string): void
  /** A frame over `maxMessageBytes` was dropped unread; `prefix` is its first 200 characters. */
  protected abstract onOversized(prefix: string): void

  // ---------------------------------------------------------------------------
  // sending
  // ---------------------------------------------------------------------------

  /** Queues one frame; returns its size when it is over the limit (and was not sent). */
  sendLine(line: string): number | undefined {
    if (line.length * 3 > this.maxMessageBytes) {
      const size = Buffer.byteLength(line)
      if (size > this.maxMessageBytes) return size
    }
    if (this.sealed) return undefined
    // frames deferred earlier (a stream's batch) go first: the order of sends is the order on the wire
    if (this.deferred.length > 0 && !this.runningDeferred) this.runDeferred()
    this.queue.push(line)
    // in a long burst the first frames go out at once, so the peer starts on them while we make the
    // rest (once per tick: more early writes cost more than the overlap gives)
    if (this.queue.length >= eagerFrames && !this.wroteEarly) {
      this.wroteEarly = true
      this.write()
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flush)
    }
    return undefined
  }

  /** Runs `f` before the next frame is queued, or at the end of the tick (a stream's batch). */
  defer(f: () => void): void {
    this.deferred.push(f)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flush)
    }
  }

  private runDeferred(): void {
    this.runningDeferred = true
    while (this.deferred.length > 0) {
      const deferred = this.deferred
      this.deferred = []
      for (const f of deferred) f()
    }
    this.runningDeferred = false
  }

  /** Writes what is queued now (it is also written at the end of the tick). */
  readonly flush = (): void => {
    this.flushScheduled = false
    this.wroteEarly = false
    this.runDeferred()
    if (this.queue.length > 0) this.write()
  }

  private write(): void {
    const frames = this.queue.length
    const data = frames === 1 ? this.queue[0] + "\n" : this.queue.join("\n") + "\n"
    this.queue = []
    if (this.connection.writable()) {
      this.connection.write(data)
      this.onWrote(data, frames)
    }
  }

  /** after each write to the connection (for the link's metrics) */
  protected onWrote(_data: string, _frames: number): void {}
  /** after each chunk read from the connection */
  protected onRead(_bytes: number): void {}

  /** Flushes, then ends the connection; `done` runs once the data is handed on. */
  end(done: () => void): void {
    this.runDeferred()
    const data = this.queue.length > 0 ? this.queue.join("\n") + "\n" : ""
    this.queue = []
    if (!this.connection.writable()) return done()
    this.connection.end(data, done)
  }

  // ---------------------------------------------------------------------------
  // receiving
  // ---------------------------------------------------------------------------

  /**
   * Splits the byte stream into frames at newline bytes (JSON text never contains a raw newline)
   * and checks each frame's size in bytes before decoding it. A frame over the limit is never
   * buffered: its bytes are skipped up to the next newline.
   */
  private onData(chunk: Buffer): void {
    this.received++
    this.onRead(chunk.length)
    const max = this.maxMessageBytes
    let start = 0
    if (this.discarding !== undefined) {
      const nl = chunk.indexOf(10)
      if (nl === -1) return
      this.onOversized(this.discarding)
      this.discarding = undefined
      start = nl + 1
    }
    let nl = chunk.indexOf(10, start)
    if (nl !== -1 && this.partialBytes > 0) {
      const size = this.partialBytes + (nl - start)
      this.partial.push(chunk.subarray(start, nl))
      const frame = Buffer.concat(this.partial, size)
      this.partial = []
      this.partialBytes = 0
      if (size > max) this.onOversized(frame.toString("utf8", 0, 200))
      else this.onLine(frame.toString("utf8"))
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (nl !== -1 && chunk.length <= max) {
      // every frame of this chunk is within the limit: one string for all of them
      const last = chunk.lastIndexOf(10)
      if (last > nl) {
        this.onLines(chunk.toString("utf8", start, last))
        start = last + 1
        nl = -1
      }
    }
    while (nl !== -1) {
      if (nl - start > max) this.onOversized(chunk.toString("utf8", start, start + 200))
      else if (nl > start) this.onLine(chunk.toString("utf8", start, nl))
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start)
      if (this.partialBytes + rest.length > max) {
        const head = this.partial.length > 0 ? this.partial[0]! : rest
        this.discarding = head.toString("utf8", 0, Math.min(200, head.length))
        this.partial = []
        this.partialBytes = 0
      } else {
        this.partial.push(rest)
        this.partialBytes += rest.length
      }
    }
  }

  /** Frames separated by newlines, decoded from bytes at once (one string, one slice per frame). */
  private onLines(text: string): void {
    let start = 0
    let nl = text.indexOf("\n")
    while (nl !== -1) {
      if (nl > start) this.onLine(text.slice(start, nl))
      start = nl + 1
      nl = text.indexOf("\n", start)
    }
    if (start < text.length) this.onLine(text.slice(start))
  }
}
