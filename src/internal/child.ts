/**
 * The child bootstrap: the first code an actor process runs. It connects to its parent over fd 3,
 * imports exactly the enabled modules, serves the protocols they implement, reports ready, and
 * guards against becoming an orphan.
 */
import * as net from "node:net"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import * as Actor from "../Actor.js"
import type { ActorId } from "./actorId.js"
import { setChildEntry } from "./bundle.js"
import type { OrphanGuard } from "./deathSignal.js"
import { fromSocket } from "./connection.js"
import { Link } from "./link.js"
import { collect, type Fns, Server } from "./server.js"
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
}

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
  try {
    process.title = `${spec.name}@${process.pid}`
  } catch {
    // a title is a nicety for ps/pstree
  }
  // Ctrl-C in a terminal reaches the whole process group: the root handles it for the tree.
  process.on("SIGINT", () => {})

  const socket = new net.Socket({ fd: 3, readable: true, writable: true })
  let shutdown: (canceller: ActorId, ack: boolean) => void = () => process.exit(0)
  const server = new Server()
  const link = new Link(fromSocket(socket), self, spec.parent, spec.maxMessageBytes, {
    onControl: (msg) => {
      if (msg._tag === "Cancel") shutdown(msg.canceller, true)
    },
    onProtocolError: (message) => Effect.runFork(Effect.logWarning(message).pipe(Effect.annotateLogs("actor", title))),
    onClose: () => shutdown(spec.parent, false)
  }, server, "acceptor")
  const title = `${spec.name}@${process.pid}`

  const loaded: Array<readonly [string, Record<string, unknown>]> = []
  let fns: Fns
  let current = ""
  markActorProcess()
  try {
    for (const [name, load] of modules) {
      current = name
      loaded.push([name, await load()])
    }
    current = ""
    fns = collect(loaded)
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e))
    link.send({
      _tag: "BootFailed",
      module: current,
      message: error.message,
      ...(error.stack !== undefined ? { stack: mapStack(error.stack) } : {})
    })
    return link.end(() => process.exit(1))
  }

  const scope = Effect.runSync(Scope.make())
  const service = Actor.CurrentActor.of({
    id: self,
    parent: spec.parent,
    scope,
    cancel: Effect.sync(() => shutdown(self, true))
  })
  const runtime = Effect.runSync(
    Effect.runtime<Actor.CurrentActor>().pipe(
      Effect.annotateLogs("actor", title),
      Effect.provideService(Actor.CurrentActor, service)
    )
  )
  server.fns = fns
  server.runtime = runtime

  let stopping = false
  shutdown = (canceller, ack) => {
    if (stopping) return
    stopping = true
    server.canceller = canceller
    const fibers = server.running()
    Effect.runFork(
      Fiber.interruptAll(fibers).pipe(
        Effect.zipRight(Scope.close(scope, canceller.uid === self.uid ? Exit.void : Exit.interrupt(FiberId.none)))
      )
    ).addObserver(() => {
      if (ack) link.send({ _tag: "CancelAck", canceller })
      link.end(() => process.exit(0))
    })
  }
  process.on("SIGTERM", () => shutdown(spec.parent, true))

  link.send({ _tag: "Ready", actor: self, protocols: [...fns.keys()] })
  link.flush()
  if (spec.guard === "watchdog") startWatchdog()
}
