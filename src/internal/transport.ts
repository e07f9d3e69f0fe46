/**
 * Connections between peers over Unix domain sockets: the per-user runtime folder, one listening
 * socket file per actor, and the `Hello` handshake that opens every peer connection. What comes
 * after the handshake is an ordinary link (see `link.ts`).
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ActorError from "../ActorError.js"
import type * as Message from "../Message.js"
import { type ActorId, format } from "./actorId.js"
import { type Connection, fromSocket } from "./connection.js"

/** @internal the version of the peer protocol a `Hello` announces */
export const peerProtocolVersion = 1

/** @internal limits every listener enforces before a peer is trusted with a link */
export interface Limits {
  /** a peer that has not completed its `Hello` in this time is dropped */
  readonly handshakeMillis: number
  /** connections beyond this many are refused at once */
  readonly maxConnections: number
}

/** @internal */
export const defaultLimits: Limits = { handshakeMillis: 5_000, maxConnections: 1024 }

/** a `Hello` is small: a first line longer than this is not one, and is not buffered further */
const maxHelloBytes = 4096

/** Unix socket paths are limited to 107 bytes on Linux (108 with the terminating NUL). */
const maxSocketPath = 107

const transportError = (message: string) =>
  new ActorError.TransportClosed({ actor: { name: "?", uid: "", pid: 0 }, reason: message, message })

/**
 * The per-user runtime folder for socket files: `$XDG_RUNTIME_DIR/effect-tractor` where that is
 * set, else `effect-tractor-<uid>` in the temporary folder. Created owner-only (0700); a folder
 * that exists but belongs to another user, or is open to others, is refused (another user could
 * otherwise put sockets in our place).
 * @internal
 */
export const runtimeDirectory = (env: Record<string, string | undefined> = process.env): string => {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0
  const base = env["EFFECT_TRACTOR_RUNTIME_DIR"] ??
    (env["XDG_RUNTIME_DIR"] !== undefined && env["XDG_RUNTIME_DIR"] !== ""
      ? Path.join(env["XDG_RUNTIME_DIR"], "effect-tractor")
      : Path.join(Os.tmpdir(), `effect-tractor-${uid}`))
  Fs.mkdirSync(base, { recursive: true, mode: 0o700 })
  const stat = Fs.statSync(base)
  if (stat.uid !== uid) {
    throw new Error(`the runtime folder ${base} belongs to user ${stat.uid}, not to this user (${uid}): remove it, or set XDG_RUNTIME_DIR`)
  }
  if ((stat.mode & 0o077) !== 0) Fs.chmodSync(base, 0o700)
  return base
}

/** @internal the socket file of one actor: its uid is unique in the tree, and short */
export const socketPath = (directory: string, uid: string): string => {
  const path = Path.join(directory, `${uid}.sock`)
  if (Buffer.byteLength(path) > maxSocketPath) {
    throw new Error(
      `the socket path ${path} is over the ${maxSocketPath}-byte limit of Unix sockets: ` +
        `set XDG_RUNTIME_DIR (or EFFECT_TRACTOR_RUNTIME_DIR) to a shorter folder`
    )
  }
  return path
}

/** @internal removes a socket file if it is there */
export const removeSocketFile = (path: string): void => {
  try {
    Fs.unlinkSync(path)
  } catch {
    // already gone
  }
}

/** @internal a listening socket and what it accepts */
export interface Listener {
  readonly address: string
  readonly close: () => void
}

/** @internal a peer connection after the handshake: who is at the other end, and the bytes after `Hello` */
export interface Accepted {
  readonly peer: ActorId
  readonly connection: Connection
  readonly socket: Net.Socket
}

const helloLine = (self: ActorId) =>
  JSON.stringify({ _tag: "Hello", actor: self, version: peerProtocolVersion } satisfies typeof Message.Hello.Encoded) + "\n"

/**
 * A `Hello`, checked by hand (the shape of `Message.Hello`): the first frame of every connection,
 * where the schema union's first decode in a fresh actor costs more than the rest of the handshake.
 * @internal
 */
export const checkHello = (u: unknown): typeof Message.Hello.Type | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const m = u as Record<string, unknown>
  const actor = m["actor"] as Record<string, unknown> | null | undefined
  return m["_tag"] === "Hello" && typeof m["version"] === "number" && typeof actor === "object" && actor !== null &&
      typeof actor["name"] === "string" && typeof actor["uid"] === "string" && typeof actor["pid"] === "number"
    ? { _tag: "Hello", version: m["version"], actor: { name: actor["name"], uid: actor["uid"], pid: actor["pid"] } }
    : undefined
}

/**
 * Reads the first line of `socket` as a `Hello`, within `deadline` (an absolute time: a peer that
 * sends one byte a second does not get more time for it). What arrived after the line is handed to
 * the connection, before any later bytes.
 */
const readHello = (
  socket: Net.Socket,
  handshakeMillis: number,
  done: (result: { readonly peer: ActorId; readonly rest: Buffer } | string) => void
) => {
  let buffered: Buffer = Buffer.alloc(0)
  let finished = false
  const finish = (result: { readonly peer: ActorId; readonly rest: Buffer } | string) => {
    if (finished) return
    finished = true
    clearTimeout(timer)
    // what arrives next waits for the link's receiver (fromSocket resumes the socket)
    socket.pause()
    socket.removeListener("data", onData)
    socket.removeListener("close", onClose)
    done(result)
  }
  const timer = setTimeout(() => finish(`no Hello within ${handshakeMillis} ms`), handshakeMillis)
  timer.unref()
  const onClose = () => finish("the connection closed during the handshake")
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    const nl = buffered.indexOf(10)
    if (nl === -1) {
      if (buffered.length > maxHelloBytes) finish(`a first line of over ${maxHelloBytes} bytes is not a Hello`)
      return
    }
    let value: unknown
    try {
      value = JSON.parse(buffered.toString("utf8", 0, nl))
    } catch {
      return finish("the first line is not JSON")
    }
    const hello = checkHello(value)
    if (hello === undefined) return finish("the first frame is not a Hello")
    if (hello.version !== peerProtocolVersion) {
      return finish(`the peer speaks version ${hello.version} of the peer protocol, this side ${peerProtocolVersion}`)
    }
    finish({ peer: hello.actor, rest: buffered.subarray(nl + 1) })
  }
  socket.on("data", onData)
  socket.on("close", onClose)
}

/**
 * Listens on the socket file `path`. A stale file (a killed actor's: nothing accepts on it) is
 * removed and the listen retried; a file something still listens on fails the listen. Each
 * accepted peer completes the handshake within the limits, or is dropped (and `onRefused` says why).
 * @internal
 */
export const listen = (
  path: string,
  self: ActorId,
  onPeer: (accepted: Accepted) => void,
  onRefused: (why: string) => void,
  limits: Limits = defaultLimits
): Effect.Effect<Listener, ActorError.TransportClosed> =>
  Effect.async<Listener, ActorError.TransportClosed>((resume) => {
    const server = Net.createServer({ pauseOnConnect: false }, (socket) => {
      socket.on("error", () => {})
      readHello(socket, limits.handshakeMillis, (result) => {
        if (typeof result === "string") {
          onRefused(`a connection to ${format(self)} was dropped: ${result}`)
          return socket.destroy()
        }
        socket.write(helloLine(self))
        onPeer({ peer: result.peer, connection: fromSocket(socket, result.rest), socket })
      })
    })
    server.maxConnections = limits.maxConnections
    const listener: Listener = {
      address: path,
      close: () => {
        server.close()
        removeSocketFile(path)
      }
    }
    let retried = false
    const attempt = () => server.listen(path)
    server.on("listening", () => {
      server.unref()
      resume(Exit.succeed(listener))
    })
    server.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" && !retried) {
        retried = true
        // in use, or stale: only a live listener answers a connect
        const probe = Net.connect(path)
        probe.on("connect", () => {
          probe.destroy()
          resume(Exit.fail(transportError(`${path} is held by a live listener: another actor, or a process that is not ours, listens there`)))
        })
        probe.on("error", () => {
          removeSocketFile(path)
          attempt()
        })
        return
      }
      resume(Exit.fail(transportError(`cannot listen on ${path}: ${error.message}`)))
    })
    attempt()
  })

/**
 * Connects to the peer listening on `path` and completes the handshake: our `Hello`, then theirs,
 * within `handshakeMillis`.
 * @internal
 */
export const connect = (
  path: string,
  self: ActorId,
  handshakeMillis: number = defaultLimits.handshakeMillis
): Effect.Effect<Accepted, ActorError.TransportClosed> =>
  Effect.async<Accepted, ActorError.TransportClosed>((resume) => {
    const socket = Net.connect(path)
    let connected = false
    const onError = (error: NodeJS.ErrnoException) => {
      if (connected) return
      resume(Exit.fail(transportError(`cannot connect to ${path}: ${error.code ?? error.message}`)))
    }
    socket.once("error", onError)
    socket.on("connect", () => {
      connected = true
      socket.on("error", () => {})
      socket.write(helloLine(self))
      readHello(socket, handshakeMillis, (result) => {
        if (typeof result === "string") {
          socket.destroy()
          return resume(Exit.fail(transportError(`the handshake with ${path} failed: ${result}`)))
        }
        resume(Exit.succeed({ peer: result.peer, connection: fromSocket(socket, result.rest), socket }))
      })
    })
    return Effect.sync(() => socket.destroy())
  })
