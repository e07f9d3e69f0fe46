/**
 * A byte-level connection: what the link's framing needs of a socket, and no more. The link knows
 * no socket, so one link works over fd 3 to a child, over Unix or TCP sockets, and over the
 * in-memory pair that tests the protocol without processes.
 */
import type * as net from "node:net"

/** @internal */
export interface Connection {
  /** Sets the receiver of incoming bytes (one receiver per connection). */
  readonly onData: (receive: (chunk: Buffer) => void) => void
  /** Sets what runs once the connection has closed, from either side or by an error. */
  readonly onClose: (closed: () => void) => void
  /** Whether bytes can still be sent. */
  readonly writable: () => boolean
  readonly write: (data: string) => void
  /** Sends the last bytes and closes this side; `done` runs once they are handed on. */
  readonly end: (data: string, done: () => void) => void
  /** Closes at once, dropping what was not sent. Idempotent. */
  readonly destroy: () => void
  /** Whether the connection holds the event loop open (a socket's ref/unref). */
  readonly ref: () => void
  readonly unref: () => void
}

/**
 * A connection over a connected socket (fd 3, a Unix or a TCP socket). `initial` is what was read
 * from it already (after a handshake): it is received first, before any later bytes.
 * @internal
 */
export const fromSocket = (socket: net.Socket, initial?: Buffer): Connection => ({
  onData: (receive) => {
    if (initial !== undefined && initial.length > 0) queueMicrotask(() => receive(initial))
    socket.on("data", receive)
    // a socket paused after a handshake flows again once it has a receiver
    socket.resume()
  },
  onClose: (closed) => {
    // an error is always followed by close: the link learns of both through close
    socket.on("error", () => {})
    socket.on("close", closed)
  },
  writable: () => !socket.destroyed && socket.writable,
  write: (data) => {
    socket.write(data)
  },
  end: (data, done) => {
    socket.end(data, done)
  },
  destroy: () => {
    if (!socket.destroyed) socket.destroy()
  },
  ref: () => {
    socket.ref()
  },
  unref: () => {
    socket.unref()
  }
})

/** @internal what a message port (a worker, or the parent port in a worker) offers */
export interface Port {
  postMessage(value: unknown): void
  on(event: "message", listener: (value: unknown) => void): unknown
  on(event: "exit" | "close", listener: () => void): unknown
  ref(): void
  unref(): void
}

/**
 * A connection over a worker thread's message port: frames travel as strings, a `null` message
 * says the sender has ended. `closes` is the event that ends the other side for good (`exit` of a
 * worker, `close` of the parent port).
 * @internal
 */
export const fromPort = (port: Port, closes: "exit" | "close" = "exit"): Connection => {
  let open = true
  let closed = (): void => {}
  const close = () => {
    if (!open) return
    open = false
    closed()
  }
  port.on(closes, close)
  return {
    onData: (receive) => {
      port.on("message", (value) => {
        if (value === null) close()
        else if (typeof value === "string" && open) receive(Buffer.from(value))
      })
    },
    onClose: (f) => {
      closed = f
    },
    writable: () => open,
    write: (data) => {
      if (open && data !== "") port.postMessage(data)
    },
    end: (data, done) => {
      if (open) {
        if (data !== "") port.postMessage(data)
        port.postMessage(null)
      }
      done()
      close()
    },
    destroy: () => {
      if (open) port.postMessage(null)
      close()
    },
    ref: () => port.ref(),
    unref: () => port.unref()
  }
}

/**
 * Two connected in-memory ends: what one writes, the other receives on a later turn of the event
 * loop, in order, as the bytes a socket would deliver. `end` delivers the last bytes, then closes
 * both ends; `destroy` closes both at once.
 * @internal
 */
export const memoryPair = (): readonly [Connection, Connection] => {
  const make = () => ({
    receive: (_: Buffer): void => {},
    closed: (): void => {},
    open: true
  })
  const sides = [make(), make()] as const
  const closeBoth = () => {
    for (const side of sides) {
      if (!side.open) continue
      side.open = false
      setImmediate(side.closed)
    }
  }
  const end = (i: 0 | 1): Connection => {
    const self = sides[i]
    const other = sides[i === 0 ? 1 : 0]
    const deliver = (data: string) => {
      if (data === "") return
      const bytes = Buffer.from(data)
      setImmediate(() => {
        if (other.open) other.receive(bytes)
      })
    }
    return {
      onData: (receive) => {
        self.receive = receive
      },
      onClose: (closed) => {
        self.closed = closed
      },
      writable: () => self.open,
      write: deliver,
      end: (data, done) => {
        deliver(data)
        setImmediate(() => {
          closeBoth()
          done()
        })
      },
      destroy: closeBoth,
      ref: () => {},
      unref: () => {}
    }
  }
  return [end(0), end(1)]
}
