/**
 * The child bootstrap: the first code an actor process runs. It connects to its parent over fd 3,
 * imports exactly the enabled modules, serves the protocols they implement, reports ready, and
 * guards against becoming an orphan.
 */
import * as net from "node:net"
import * as WorkerThreads from "node:worker_threads"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Runtime from "effect/Runtime"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import * as Actor from "../Actor.js"
import type { ActorId } from "./actorId.js"
import { setChildEntry } from "./bundle.js"
import type { OrphanGuard } from "./deathSignal.js"
import { fromPort, fromSocket } from "./connection.js"
import { Caller } from "./caller.js"
import { Link } from "./link.js"
import { ActorRuntimeTag, setProcessRuntime, type Settings, TreeRuntime } from "./runtime.js"
import { defaultLimits, formatAddress, formatTreeKey, makeTreeKey, parseAddress, parseTreeKey } from "./transport.js"
import { implementations, Server } from "./server.js"
import { build, handlerRuntime } from "./services.js"
import { logWith, sendingToParent } from "./logs.js"
import { inspectFns } from "./inspect.js"
import { type InspectSpec, keepOnCrash, openInspector } from "./debug.js"
import { markActorProcess } from "./main.js"
import { mapStack } from "./sourceMap.js"
import { startWatchdog } from "./watchdog.js"

/** @internal what the parent tells the child, through the environment */
export interface Spec {
  readonly name: string
  readonly uid: string
  readonly parent: ActorId
  readonly maxMessageBytes: number
  readonly childEntry: string
  /** `kernel`: started through `setpriv --pdeathsig`; `watchdog`: this process guards itself */
  readonly guard: OrphanGuard
  /** what the child's runtime shares with the tree */
  readonly tree: TreeSpec
  /** the minimum log level of the fiber that spawned it (the root's, down the tree) */
  readonly logLevel?: string | undefined
  /** its inspector, when it is debugged */
  readonly inspect?: InspectSpec | undefined
  /** its stdout and stderr are pipes its parent reads (to prefix or log each line) */
  readonly pipedOutput?: true | undefined
}

export type { InspectSpec } from "./debug.js"

/** @internal the settings of a tree, as they travel to a child (the key in base64) */
export interface TreeSpec {
  readonly host: string
  readonly directory: string
  readonly key: string
  readonly registry: string
  readonly tcpHost: string | undefined
  readonly tickMillis: number
}

/** @internal */
export const treeSpec = (settings: Settings): TreeSpec => ({
  host: settings.host,
  directory: settings.directory,
  key: formatTreeKey(settings.key),
  registry: formatAddress(settings.registry),
  tcpHost: settings.tcpHost,
  tickMillis: settings.tickMillis
})

/** @internal */
export const specVariable = "EFFECT_TRACTOR_SPEC"

/** @internal the enabled modules, each with a thunk importing it (bundled by the spawner) */
export type Modules = ReadonlyArray<readonly [name: string, load: () => Promise<Record<string, unknown>>]>

/** @internal */
export const main = async (modules: Modules): Promise<void> => {
  const spec: Spec = JSON.parse(process.env[specVariable]!)
  delete process.env[specVariable]
  setChildEntry(spec.childEntry)
  const self: ActorId = { name: spec.name, uid: spec.uid, pid: process.pid }
  // a thread actor shares its process: no title of its own, no signals, the parent port for a link
  const thread = !WorkerThreads.isMainThread
  const title = thread ? `${spec.name}@${process.pid}:${WorkerThreads.threadId}` : `${spec.name}@${process.pid}`
  if (!thread) {
    try {
      process.title = title
    } catch {
      // a title is a nicety for ps/pstree
    }
    // Ctrl-C in a terminal reaches the whole process group: the root handles it for the tree.
    process.on("SIGINT", () => {})
  }

  const connection = thread
    ? fromPort(WorkerThreads.parentPort!, "close")
    : fromSocket(new net.Socket({ fd: 3, readable: true, writable: true }))
  let shutdown: (canceller: ActorId, requester?: Link) => void = () => process.exit(0)
  // until the actor's runtime is built: the default runtime, annotated with the actor, logging to the parent
  let logRuntime: Runtime.Runtime<never> = sendingToParent(
    Effect.runSync(Effect.runtime<never>().pipe(Effect.annotateLogs("actor", title))),
    (entry) => link.send(entry),
    spec.logLevel
  )
  const server = new Server()
  const link = new Link(connection, self, spec.parent, spec.maxMessageBytes, {
    onControl: (msg) => {
      if (msg._tag === "Cancel") shutdown(msg.canceller)
    },
    onProtocolError: (message) => logWith(logRuntime, LogLevel.Warning, message),
    onClose: () => shutdown(spec.parent)
  }, server, "acceptor")
  new Caller(link)
  const key = parseTreeKey(spec.tree.key)
  const tree = new TreeRuntime(self, spec.parent, server, {
    host: spec.tree.host,
    directory: spec.tree.directory,
    key: typeof key === "string" ? makeTreeKey() : key,
    registry: parseAddress(spec.tree.registry) ?? { kind: "unix", path: spec.tree.registry },
    tcpHost: spec.tree.tcpHost,
    tickMillis: spec.tree.tickMillis,
    maxMessageBytes: spec.maxMessageBytes,
    limits: defaultLimits
  }, undefined)
  setProcessRuntime(tree)
  tree.giveLogRuntime(logRuntime)
  // output its parent reads goes through a socket: written synchronously, so that what a process
  // prints just before it exits (`process.exit`, a crash) is never left in a queue
  if (spec.pipedOutput === true && !thread) {
    for (const stream of [process.stdout, process.stderr]) {
      ;(stream as unknown as { _handle?: { setBlocking?: (on: boolean) => void } })._handle?.setBlocking?.(true)
    }
  }
  // a debugged actor opens its inspector before it loads anything (pauseOnStart: and waits there)
  let keeping = false
  if (spec.inspect !== undefined) {
    const say = { log: (level: LogLevel.LogLevel, message: string) => logWith(logRuntime, level, message), flush: () => link.flush() }
    const url = openInspector(spec.inspect, title, thread, say)
    if (url !== undefined) keepOnCrash(spec.inspect, title, url, say, () => (keeping = true))
  }
  // a crash outside any fiber is reported as one of its log lines, with its stack in the sources:
  // Node's own report prints the bundle's line (minified: up to the whole bundle) and its positions
  if (!thread && process.listenerCount("uncaughtException") === 0) {
    let crashed = false
    const crash = (what: string) => (error: unknown) => {
      if (crashed) return
      crashed = true
      const text = error instanceof Error ? mapStack(error.stack ?? `${error.name}: ${error.message}`) : String(error)
      const report = `${title} crashed (${what}): ${text}`
      if (link.closedWith === undefined) logWith(logRuntime, LogLevel.Error, report)
      else process.stderr.write(`${report}\n`)
      // the exit Node gives an uncaught exception, once the report is handed on (or after a second)
      setTimeout(() => process.exit(1), 1000)
      link.end(() => process.exit(1))
    }
    process.on("uncaughtException", crash("uncaught exception"))
    process.on("unhandledRejection", crash("unhandled rejection"))
  }
  tree.onPeerCancel = (canceller, requester) => shutdown(canceller, requester)
  process.on("exit", () => tree.close())

  const loaded: Array<readonly [string, Record<string, unknown>]> = []
  let found: ReturnType<typeof implementations>
  let current = ""
  markActorProcess()
  const bootFailed = (module: string, message: string, stack: string | undefined, services?: true) => {
    link.send({
      _tag: "BootFailed",
      module,
      message,
      ...(stack !== undefined ? { stack: mapStack(stack) } : {}),
      ...(services ? { phase: "services" as const } : {})
    })
  }
  try {
    for (const [name, load] of modules) {
      current = name
      loaded.push([name, await load()])
    }
    current = ""
    found = implementations(loaded)
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e))
    bootFailed(current, error.message, error.stack)
    return link.end(() => process.exit(1))
  }

  const scope = Effect.runSync(Scope.make())
  const service = Actor.CurrentActor.of({
    id: self,
    parent: spec.parent,
    scope,
    cancel: Effect.sync(() => shutdown(self))
  })
  const base = Context.make(Actor.CurrentActor, service).pipe(Context.add(ActorRuntimeTag, tree))

  // the implementations' layers, built once each in the actor's scope (closed when it ends), then
  // the handlers that an Effect builds, with those services: all before the actor reports ready
  // plain handlers, the usual case, are served without waiting a turn of the event loop
  const plain = found.every(([, i]) => i.layer === undefined && !Effect.isEffect(i.handlers))
  const building = build(found, base as Context.Context<never>, scope)
  // built with the loggers that send to the parent: what a layer forks (a background fiber) logs there too
  const built = plain ? Runtime.runSyncExit(logRuntime)(building) : await Runtime.runPromiseExit(logRuntime)(building)
  if (built._tag === "Failure") {
    const failure = Cause.failureOption(built.cause)
    if (failure._tag === "Some") bootFailed(failure.value.module, failure.value.message, failure.value.rendered, true)
    else bootFailed("", Cause.pretty(built.cause), undefined, true)
    // what the layers built so far opened, they close
    await Effect.runPromise(Scope.close(scope, built))
    return link.end(() => process.exit(1))
  }
  // the actor's logs go to its parent, for the root's logger
  const runtime = sendingToParent(
    handlerRuntime(built.value, title),
    (entry) => link.send(entry),
    spec.logLevel
  ) as Runtime.Runtime<Actor.CurrentActor>
  logRuntime = runtime as Runtime.Runtime<never>
  tree.giveLogRuntime(logRuntime)
  const fns = built.value.fns
  // every actor also describes itself and its children for the tree view
  server.fns = new Map([...fns, ...inspectFns(tree, thread ? "thread" : "process")])
  server.runtime = runtime

  let stopping = false
  shutdown = (canceller, requester) => {
    // a crashed actor kept for its debugger stays until its time is up
    if (stopping || keeping) return
    stopping = true
    // the parent learns at once that this actor heard it: its teardown then waits for the finalizers
    link.send({ _tag: "Cancelling", canceller })
    link.flush()
    server.canceller = canceller
    Effect.runFork(
      Fiber.interruptAll(server.running()).pipe(
        Effect.zipRight(Scope.close(scope, canceller.uid === self.uid ? Exit.void : Exit.interrupt(FiberId.none)))
      )
    ).addObserver(() => {
      // the parent learns that this exit is a cancel, not a crash; a peer that asked gets its ack
      link.send({ _tag: "CancelAck", canceller })
      if (requester !== undefined && requester !== link) {
        requester.send({ _tag: "CancelAck", canceller })
        requester.flush()
      }
      // what the interrupted calls answered reaches every peer before the connections close
      tree.end(() => link.end(() => process.exit(0)))
    })
  }
  if (!thread) process.on("SIGTERM", () => shutdown(spec.parent))
  // a supervisor in this actor gave up: the actor ends as OTP's supervisor process does, abnormally,
  // so that its own parent's supervision sees a crash
  tree.crash = (reason) => {
    if (stopping) return
    stopping = true
    tree.warn(`${title} ends: ${reason}`)
    Effect.runFork(
      Fiber.interruptAll(server.running()).pipe(Effect.zipRight(Scope.close(scope, Exit.fail(reason))))
    ).addObserver(() => tree.end(() => link.end(() => process.exit(1))))
  }

  // an actor that serves something accepts peers before it is ready: found by name, it answers
  let addresses: ReadonlyArray<string> = []
  if (fns.size > 0) {
    const listening = await Effect.runPromise(Effect.either(tree.listen))
    if (listening._tag === "Right") addresses = listening.right
    else tree.warn(`${title} is not reachable by peers: ${listening.left.message}`)
  }
  link.send({ _tag: "Ready", actor: self, protocols: [...fns.keys()], ...(addresses.length > 0 ? { addresses } : {}) })
  link.flush()
  if (spec.guard === "watchdog") startWatchdog()
}
