/**
 * Connections between peers: over Unix domain sockets on one host (the per-user runtime folder,
 * one socket file per actor), over TCP under TLS 1.3 with the tree's pre-shared key across hosts,
 * and the `Hello` handshake that opens every peer connection. What comes after the handshake is an
 * ordinary link (see `link.ts`).
 */
import type * as CryptoModule from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as TlsModule from "node:tls"
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

const transportError = (message: string, code?: string) =>
  new ActorError.TransportClosed({ actor: { name: "?", uid: "", pid: 0 }, reason: code ?? message, message })

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

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Removes the socket files that actors killed with their makers left behind (a `SIGKILL` gives a
 * process no time to remove its own, and then its parent is gone too): a file whose maker process
 * is gone (the process id its name starts with) and that refuses connections. Runs when a root
 * starts, and after a child process exits for the files of what it had spawned (`madeBy`, its pid),
 * in the background; nothing live is touched (a live listener answers, and is never probed while
 * its maker lives).
 * @internal
 */
export const sweepStaleSockets = (directory: string, madeBy?: number): void => {
  let names: Array<string>
  try {
    names = Fs.readdirSync(directory)
  } catch {
    return
  }
  for (const name of names) {
    const m = /^([0-9a-z]+)-[0-9a-z]+\.sock$/.exec(name)
    if (m === null) continue
    const maker = parseInt(m[1]!, 36)
    if ((madeBy !== undefined && maker !== madeBy) || isAlive(maker)) continue
    const path = Path.join(directory, name)
    const probe = Net.connect(path)
    probe.unref()
    probe.on("connect", () => probe.destroy())
    probe.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") removeSocketFile(path)
    })
  }
}

/** @internal a listening socket */
export interface Listener {
  /** where it listens (a TCP port asked as 0 is the one given) */
  readonly address: Address
  readonly close: () => void
}

/** @internal a peer connection after the handshake: who is at the other end, and the bytes after `Hello` */
export interface Accepted {
  readonly peer: ActorId
  readonly connection: Connection
  readonly socket: Net.Socket
  /** the address it came over (for a listener: the listening one) */
  readonly address: Address
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

/** @internal where an actor accepts peers: a Unix socket file on its host, or TCP (always under TLS) */
export type Address =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }

/** @internal `unix:<path>` or `tcp:<host>:<port>` (the form registry entries and settings use) */
export const formatAddress = (address: Address): string =>
  address.kind === "unix" ? `unix:${address.path}` : `tcp:${address.host}:${address.port}`

/** @internal */
export const parseAddress = (text: string): Address | undefined => {
  if (text.startsWith("unix:")) return text.length > 5 ? { kind: "unix", path: text.slice(5) } : undefined
  const m = /^tcp:(.+):(\d{1,5})$/.exec(text)
  if (m === null) return undefined
  const port = Number(m[2])
  return port <= 65535 ? { kind: "tcp", host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port } : undefined
}

/**
 * The key of a tree: every TCP connection between its actors is TLS 1.3 with this pre-shared key
 * (256 bits), on listeners that accept nothing else. It is never logged.
 * @internal
 */
export interface TreeKey {
  readonly key: Buffer
}

/**
 * TLS and crypto load on first use: an actor that never talks TCP does not pay for OpenSSL's
 * initialisation (about 4.5 MB of private memory per actor, measured).
 */
const Tls = (): typeof TlsModule => process.getBuiltinModule("node:tls") as typeof TlsModule
const Crypto = (): typeof CryptoModule => process.getBuiltinModule("node:crypto") as typeof CryptoModule

/** the PSK identity: a label, sent in clear; the key is the secret */
const pskIdentity = "effect-tractor/1"
const tlsOptions = { minVersion: "TLSv1.3", ciphers: "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256" } as const

/** @internal a fresh tree key */
export const makeTreeKey = (): TreeKey => ({ key: Crypto().randomBytes(32) })

/** @internal a tree key from its base64 form (a setting); an error says what is wrong with it */
export const parseTreeKey = (text: string): TreeKey | string => {
  const key = Buffer.from(text.trim(), "base64")
  return key.length === 32 ? { key } : `a tree key is 32 bytes in base64 (44 characters); this one decodes to ${key.length} bytes`
}

/** @internal */
export const formatTreeKey = (key: TreeKey): string => key.key.toString("base64")

/**
 * Listens at `address`. For a Unix socket, a stale file (a killed actor's: nothing accepts on it)
 * is removed and the listen retried; a file something still listens on fails the listen. On TCP,
 * only peers with the tree's key complete the TLS handshake; the others are dropped and logged.
 * Each peer then completes the `Hello` handshake within the limits, or is dropped (and `onRefused`
 * says why).
 * @internal
 */
export const listen = (
  address: Address,
  self: ActorId,
  key: TreeKey,
  onPeer: (accepted: Accepted) => void,
  onRefused: (why: string) => void,
  limits: Limits = defaultLimits
): Effect.Effect<Listener, ActorError.TransportClosed> =>
  Effect.async<Listener, ActorError.TransportClosed>((resume) => {
    // where it listens: a TCP port asked as 0 is known once it listens
    let bound: Address = address
    const whereBound = () => formatAddress(bound)
    const onSocket = (socket: Net.Socket, deadline: number) => {
      const where = whereBound()
      socket.on("error", () => {})
      // frames are batched per tick already: Nagle's algorithm would only add its delay
      if (address.kind === "tcp") socket.setNoDelay(true)
      readHello(socket, Math.max(1, deadline - Date.now()), (result) => {
        if (typeof result === "string") {
          onRefused(`a connection to ${format(self)} at ${where} was dropped: ${result}`)
          return socket.destroy()
        }
        socket.write(helloLine(self))
        onPeer({ peer: result.peer, connection: fromSocket(socket, result.rest), socket, address })
      })
    }
    let server: Net.Server
    if (address.kind === "unix") {
      server = Net.createServer((socket) => onSocket(socket, Date.now() + limits.handshakeMillis))
    } else {
      const started = new WeakMap<Net.Socket, number>()
      const tlsServer = Tls().createServer({
        ...tlsOptions,
        handshakeTimeout: limits.handshakeMillis,
        // PSK only: no certificate, so a peer without the key cannot connect at all
        pskCallback: (_socket, identity) => (identity === pskIdentity ? key.key : null)
      }, (socket) => onSocket(socket, (started.get(socket) ?? Date.now()) + limits.handshakeMillis))
      tlsServer.on("connection", (raw: Net.Socket) => started.set(raw, Date.now()))
      tlsServer.on("tlsClientError", (error: NodeJS.ErrnoException, socket) => {
        const from = socket.remoteAddress ?? "?"
        // a handshake that timed out leaves its socket open: it is closed here, whatever the error
        socket.destroy()
        const parts = error.message.split(":")
        const at = parts.indexOf("SSL routines")
        const reason = at >= 0 && parts[at + 2] !== undefined ? parts[at + 2] : error.message
        const why = error.code === "ERR_SSL_SSLV3_ALERT_ILLEGAL_PARAMETER" || /psk|PSK|alert/.test(error.message)
          ? "it does not have the tree's key"
          : /timeout/i.test(error.message)
          ? `no TLS handshake within ${limits.handshakeMillis} ms`
          : `not a TLS 1.3 peer of this tree (${reason})`
        onRefused(
          `a connection to ${format(self)} at ${whereBound()} from ${from} was dropped before any frame: ${why}`
        )
      })
      server = tlsServer
    }
    server.maxConnections = limits.maxConnections
    const listener: Listener = {
      get address() {
        return bound
      },
      close: () => {
        server.close()
        if (address.kind === "unix") removeSocketFile(address.path)
      }
    }
    let retried = false
    const attempt = () => address.kind === "unix" ? server.listen(address.path) : server.listen(address.port, address.host)
    server.on("listening", () => {
      server.unref()
      const info = server.address()
      if (address.kind === "tcp" && info !== null && typeof info === "object") bound = { ...address, port: info.port }
      resume(Exit.succeed(listener))
    })
    server.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" && address.kind === "unix" && !retried) {
        retried = true
        // in use, or stale: only a live listener answers a connect
        const probe = Net.connect(address.path)
        probe.on("connect", () => {
          probe.destroy()
          resume(Exit.fail(transportError(`${formatAddress(address)} is held by a live listener: another actor, or a process that is not ours, listens there`, "EADDRINUSE")))
        })
        probe.on("error", () => {
          removeSocketFile(address.path)
          attempt()
        })
        return
      }
      resume(Exit.fail(transportError(`cannot listen at ${formatAddress(address)}: ${error.message}`, error.code)))
    })
    attempt()
  })

/**
 * Connects to the peer at `address` and completes the handshake (TLS with the tree's key on TCP,
 * then our `Hello` and theirs) within `handshakeMillis`.
 * @internal
 */
export const connect = (
  address: Address,
  self: ActorId,
  key: TreeKey,
  handshakeMillis: number = defaultLimits.handshakeMillis
): Effect.Effect<Accepted, ActorError.TransportClosed> =>
  Effect.async<Accepted, ActorError.TransportClosed>((resume) => {
    const where = formatAddress(address)
    const deadline = Date.now() + handshakeMillis
    const socket: Net.Socket = address.kind === "unix"
      ? Net.connect(address.path)
      : Tls().connect({
        ...tlsOptions,
        host: address.host,
        port: address.port,
        pskCallback: () => ({ identity: pskIdentity, psk: key.key }),
        checkServerIdentity: () => undefined
      })
    if (address.kind === "tcp") socket.setNoDelay(true)
    let settled = false
    const fail = (why: string, code?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resume(Exit.fail(transportError(`cannot connect to ${where}: ${why}`, code)))
    }
    const timer = setTimeout(() => fail(`no handshake within ${handshakeMillis} ms`), handshakeMillis)
    socket.on("error", (error: NodeJS.ErrnoException) => fail(error.code ?? error.message, error.code))
    socket.on("close", () => fail("the connection closed during the handshake"))
    socket.once(address.kind === "unix" ? "connect" : "secureConnect", () => {
      socket.write(helloLine(self))
      readHello(socket, Math.max(1, deadline - Date.now()), (result) => {
        if (settled) return
        if (typeof result === "string") return fail(`the handshake failed: ${result}`)
        settled = true
        clearTimeout(timer)
        socket.removeAllListeners("close")
        socket.removeAllListeners("error")
        // errors after the handshake reach the link as a close (see fromSocket)
        socket.on("error", () => {})
        resume(Exit.succeed({ peer: result.peer, connection: fromSocket(socket, result.rest), socket, address }))
      })
    })
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      socket.destroy()
    })
  })
