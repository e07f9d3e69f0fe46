/**
 * The parent's side of one child actor: the OS process, its link, the ready handshake and the
 * teardown ladder (cancel request -> grace -> SIGTERM -> second period -> SIGKILL -> reap).
 */
import * as ChildProcess from "node:child_process"
import type * as net from "node:net"
import type { Readable } from "node:stream"
import * as WorkerThreads from "node:worker_threads"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Runtime from "effect/Runtime"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ActorError from "../ActorError.js"
import { type ActorExit, type ActorId, exitReason, format } from "./actorId.js"
import { childEntry } from "./bundle.js"
import { type InspectSpec, type Spec, specVariable, type TreeSpec } from "./child.js"
import { guardedCommand } from "./deathSignal.js"
import { type Connection, fromPort, fromSocket } from "./connection.js"
import { Caller } from "./caller.js"
import { type Control, Link } from "./link.js"
import { logWith, minimumLevelOf, replay } from "./logs.js"
import { escalated } from "./metrics.js"
import { setLiveChildren } from "./inspect.js"
import { bursts, copyLines, type OutputMode, outputModeOf, prefixed } from "./output.js"
import type { Peer } from "./peer.js"
import { servesNothing } from "./server.js"
import { mapStack } from "./sourceMap.js"

/** @internal resolved timing and limits of one child */
export interface Settings {
  /** how long the actor has after the cancel request (Infinity: as long as it takes) */
  readonly graceMillis: number
  /** skip the cancel request and the periods: SIGKILL at once (a `brutal` shutdown) */
  readonly brutal?: boolean | undefined
  readonly termMillis: number
  readonly readyTimeoutMillis: number
  readonly cancelAckTimeoutMillis: number
  readonly maxMessageBytes: number
}

/** @internal */
export interface StartOptions {
  /** the node arguments that start the child (see `Bundle.entryFor`) */
  readonly entry: ReadonlyArray<string>
  readonly name: string
  readonly uid: string
  readonly parent: ActorId
  readonly settings: Settings
  readonly env?: Record<string, string | undefined> | undefined
  readonly execArgv?: ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
  /** an OS process (default), or a worker thread of this process */
  readonly method?: "process" | "thread" | undefined
  /** a thread's memory limits */
  readonly resourceLimits?: WorkerThreads.ResourceLimits | undefined
  /** the actor's inspector, when it is debugged */
  readonly inspect?: InspectSpec | undefined
  /** what becomes of the actor's stdout and stderr (default: inherited as they are) */
  readonly output?: OutputMode | undefined
  /** what the child's runtime shares with the tree (its settings, the key in base64) */
  readonly tree: TreeSpec
  /**
   * the runtime of the fiber that spawned it: its loggers write the child's log entries (and this
   * side's warnings about it), and its minimum log level is the child's
   */
  readonly runtime?: Runtime.Runtime<never> | undefined
}

/** how long an exit waits for the last of a prefixed output (a grandchild may hold the pipe open) */
const outputDrainMillis = 200
/** the quiet after which a burst of an actor's output lines is logged as one entry */
const outputQuietMillis = 10

const loaderFlags = /^(--import|--loader|--experimental-loader|--require|-r)(=|$)/

/**
 * The child's environment: the parent's, minus loader flags in NODE_OPTIONS. A child runs a
 * bundled entry with plain `node`; a loader would only slow it down (and must be asked for
 * explicitly through `execArgv`).
 */
const childEnv = (base: Record<string, string | undefined>, spec: Spec) => {
  const env: Record<string, string | undefined> = { ...base }
  const nodeOptions = env["NODE_OPTIONS"]
  if (nodeOptions !== undefined) {
    const kept: Array<string> = []
    const parts = nodeOptions.split(/\s+/).filter((s) => s !== "")
    for (let i = 0; i < parts.length; i++) {
      const m = loaderFlags.exec(parts[i]!)
      if (m === null) kept.push(parts[i]!)
      else if (m[2] === "") i++
    }
    env["NODE_OPTIONS"] = kept.join(" ")
  }
  env[specVariable] = JSON.stringify(spec)
  return env
}

/**
 * Idle actors do not hold the event loop open: a program that ends its main with a nursery still
 * open (a scope never closed) is not kept alive by its actors' connections. Every half second the
 * actors with nothing in flight are unreferenced; a call on one references it again at once. When
 * the loop has nothing else left, the open nurseries are named in a warning and their actors torn
 * down through the ladder before the process exits.
 */
const live = new Set<ActorProcess>()
let sweeper: ReturnType<typeof setInterval> | undefined

const idle = (child: ActorProcess) =>
  child.ready && !child.stopping && child.caller.pending.size === 0 && child.link.endpoints.size === 0 &&
  child.link.running.size === 0

const sweep = () => {
  for (const child of live) {
    if (idle(child)) child.unref()
    else child.ref()
  }
}

const leaked = () => {
  const open = [...live].filter((child) => !child.stopping)
  if (open.length === 0) return
  const owners = new Map<string, Array<string>>()
  for (const child of open) {
    const owner = format(child.options.parent)
    owners.set(owner, [...(owners.get(owner) ?? []), format(child.id)])
  }
  const which = [...owners].map(([owner, actors]) => `a nursery of ${owner} (actors ${actors.join(", ")})`).join("; ")
  Effect.runFork(
    Effect.logWarning(
      `the program is ending with ${which} still open: its scope was never closed (use Nursery.open, ` +
        `or close the Scope the nursery was made in); tearing its actors down`
    ).pipe(
      Effect.zipRight(Effect.forEach(open, (child) => child.teardown(), { concurrency: "unbounded", discard: true }))
    )
  )
}

// the tree view lists them
setLiveChildren(() => [...live])

const track = (child: ActorProcess) => {
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, 500)
    sweeper.unref()
    process.on("beforeExit", leaked)
  }
  live.add(child)
}

const untrack = (child: ActorProcess) => {
  live.delete(child)
  if (live.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper)
    sweeper = undefined
    process.removeListener("beforeExit", leaked)
  }
}

/** @internal */
export class ActorProcess implements Peer {
  readonly id: ActorId
  /** the OS process, or the worker thread, the actor runs in */
  private readonly host: {
    readonly pid: number
    readonly kill: (signal: NodeJS.Signals) => void
    readonly ref: () => void
    readonly unref: () => void
  }
  /** a thread actor's hard stop: reported as SIGKILL, its moral equivalent */
  private terminated = false
  readonly link: Link
  readonly caller: Caller
  exitInfo: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined
  /** true once an exit is expected: a cancel was requested or announced */
  stopping = false
  /** true once the actor said it is cancelling (its event loop runs: it can run its finalizers) */
  cancelling = false
  ready = false
  /** what the child said when it was ready: what it serves, and where peers reach it */
  served: { readonly protocols: ReadonlyArray<string>; readonly addresses: ReadonlyArray<string> } = {
    protocols: [],
    addresses: []
  }
  teardownFiber: Fiber.RuntimeFiber<void> | undefined
  /** called once the actor is gone after it was ready, with the error its pending calls got */
  onGone: (error: ActorError.TransportClosed) => void = () => {}
  onExit: () => void = () => {}
  /** called in the very callback that makes the actor ready */
  onReady: () => void = () => {}
  private readonly exitWaiters = new Set<() => void>()
  private readonly controlWaiters = new Set<(msg: Control) => void>()
  private spawnError: Error | undefined

  /** whose loggers write this child's logs */
  readonly runtime: Runtime.Runtime<never>

  constructor(readonly options: StartOptions) {
    this.runtime = options.runtime ?? Runtime.defaultRuntime
    const env = { ...process.env, ...options.env }
    const thread = options.method === "thread"
    const output = outputModeOf(options.output)
    const command = thread ? undefined : guardedCommand(env, [...(options.execArgv ?? []), ...options.entry])
    const spec: Spec = {
      name: options.name,
      uid: options.uid,
      parent: options.parent,
      maxMessageBytes: options.settings.maxMessageBytes,
      childEntry: childEntry(),
      // a thread dies with its process: nothing to guard
      guard: command?.guard ?? "kernel",
      tree: options.tree,
      logLevel: minimumLevelOf(this.runtime),
      ...(options.inspect !== undefined ? { inspect: options.inspect } : {}),
      ...(output !== "inherit" ? { pipedOutput: true as const } : {})
    }
    let connection: Connection
    if (command === undefined) {
      // the same node arguments (the launcher, which loads the bundle from its code cache, or the
      // bundle alone), run by a worker thread of this process
      const [main, ...rest] = options.entry
      const worker = new WorkerThreads.Worker(main!, {
        argv: rest,
        env: childEnv(env, spec),
        execArgv: [...(options.execArgv ?? [])],
        ...(output !== "inherit" ? { stdout: true, stderr: true } : {}),
        ...(options.resourceLimits !== undefined ? { resourceLimits: options.resourceLimits } : {})
      })
      this.host = {
        pid: process.pid,
        // a thread has no signals: the hard step terminates it (SIGTERM leaves it its finalizers)
        kill: (signal) => {
          if (signal === "SIGTERM") return
          this.terminated = true
          void worker.terminate()
        },
        ref: () => worker.ref(),
        unref: () => worker.unref()
      }
      const copied = output !== "inherit" ? this.copyOutput(worker.stdout, worker.stderr, output, process.pid) : undefined
      worker.on("error", (e) => {
        // an uncaught exception ends the thread (code 1): its parent reports it (a process reports its own)
        this.spawnError = e
        logWith(this.runtime, LogLevel.Error, `actor ${format(this.id)} (a thread) crashed: ${mapStack(e.stack ?? e.message)}`)
      })
      worker.on("exit", (code) => {
        const mark = () => this.markExited(this.terminated ? null : code, this.terminated ? "SIGKILL" : null)
        copied === undefined ? mark() : copied.whenEnded(mark, outputDrainMillis)
      })
      connection = fromPort(worker)
    } else {
      const proc = ChildProcess.spawn(command.command, command.args, {
        stdio: output !== "inherit" ? ["inherit", "pipe", "pipe", "pipe"] : ["inherit", "inherit", "inherit", "pipe"],
        env: childEnv(env, spec),
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        windowsHide: true
      })
      this.host = {
        pid: proc.pid ?? -1,
        kill: (signal) => {
          try {
            proc.kill(signal)
          } catch {
            // already gone
          }
        },
        ref: () => {
          proc.ref()
          ;(proc.stdout as net.Socket | null)?.ref()
          ;(proc.stderr as net.Socket | null)?.ref()
        },
        unref: () => {
          proc.unref()
          // the output pipes would hold the event loop open as well
          ;(proc.stdout as net.Socket | null)?.unref()
          ;(proc.stderr as net.Socket | null)?.unref()
        }
      }
      const copied = proc.stdout !== null && proc.stderr !== null && output !== "inherit"
        ? this.copyOutput(proc.stdout, proc.stderr, output, proc.pid ?? -1)
        : undefined
      proc.on("error", (e) => {
        this.spawnError = e
        if (proc.pid === undefined) this.markExited(null, null)
      })
      proc.on("exit", (code, signal) =>
        copied === undefined
          ? this.markExited(code, signal)
          : copied.whenEnded(() => this.markExited(code, signal), outputDrainMillis))
      connection = fromSocket(proc.stdio[3] as net.Socket)
    }
    this.id = { name: options.name, uid: options.uid, pid: this.host.pid }
    this.link = new Link(connection, options.parent, this.id, options.settings.maxMessageBytes, {
      onControl: (msg) => {
        if (msg._tag === "CancelAck") this.stopping = true
        if (msg._tag === "Cancelling") this.cancelling = true
        for (const waiter of this.controlWaiters) waiter(msg)
      },
      onProtocolError: (message) => logWith(this.runtime, LogLevel.Warning, message),
      onLog: (entry) => replay(entry, this.runtime),
      onClose: () => {},
      onSocketClose: () => this.whenExited(() => this.closeLink())
    }, servesNothing(), "initiator")
    this.caller = new Caller(this.link)
    this.link.wake = () => this.ref()
    track(this)
  }

  /**
   * The actor's output, read from its pipes: each line led by `[name@pid] ` on this process's
   * streams, or logged with the loggers of the fiber that spawned it (stdout at Info, stderr at
   * Error), the lines of one burst (a stack trace) in one entry, annotated with the actor and the stream.
   */
  private copyOutput(stdout: Readable, stderr: Readable, mode: "prefixed" | "log", pid: number) {
    const title = `${this.options.name}@${pid}`
    if (mode === "prefixed") {
      return copyLines([[stdout, prefixed(process.stdout, `[${title}] `)], [stderr, prefixed(process.stderr, `[${title}] `)]])
    }
    const log = (level: LogLevel.LogLevel, stream: string) =>
      bursts((lines) =>
        Runtime.runFork(this.runtime)(
          Effect.logWithLevel(level, lines).pipe(Effect.annotateLogs({ actor: title, stream }))
        ), outputQuietMillis)
    return copyLines([[stdout, log(LogLevel.Info, "stdout")], [stderr, log(LogLevel.Error, "stderr")]])
  }

  get cancelAckTimeoutMillis(): number {
    return this.options.settings.cancelAckTimeoutMillis
  }

  /** Holds the event loop open while this actor has work in flight or is starting or stopping. */
  ref(): void {
    if (!this.link.asleep) return
    this.link.asleep = false
    this.host.ref()
    this.link.connection.ref()
  }

  /** Lets the event loop end while this actor is idle. */
  unref(): void {
    if (this.link.asleep || this.exitInfo !== undefined) return
    this.link.asleep = true
    this.host.unref()
    this.link.connection.unref()
  }

  /** How the process ended, once it has (see `awaitExit`). */
  exit(): ActorExit | undefined {
    const info = this.exitInfo
    if (info === undefined) return undefined
    return {
      actor: this.id,
      code: info.code,
      signal: info.signal,
      expected: this.stopping,
      reason: this.spawnError !== undefined && info.code === null && info.signal === null
        ? `it could not start: ${this.spawnError.message}`
        : exitReason(info.code, info.signal)
    }
  }

  /** Completes with the structured exit once the process has exited (a monitor). */
  awaitExit(): Effect.Effect<ActorExit> {
    return Effect.async<ActorExit>((resume) => {
      const onExit = () => resume(Effect.succeed(this.exit()!))
      this.whenExited(onExit)
      return Effect.sync(() => this.exitWaiters.delete(onExit))
    })
  }

  private markExited(code: number | null, signal: NodeJS.Signals | null) {
    if (this.exitInfo !== undefined) return
    this.exitInfo = { code, signal }
    untrack(this)
    for (const waiter of this.exitWaiters) waiter()
    this.exitWaiters.clear()
    // the socket normally closes with the process; a descendant holding fd 3 must not keep us waiting
    setTimeout(() => this.closeLink(), 200).unref()
    this.onExit()
  }

  private whenExited(f: () => void) {
    if (this.exitInfo !== undefined) return f()
    this.exitWaiters.add(f)
  }

  private closeLink() {
    if (this.link.closedWith !== undefined) return
    const info = this.exitInfo
    const reason = info === undefined ? "its connection closed" : exitReason(info.code, info.signal)
    const error = new ActorError.TransportClosed({
      actor: this.id,
      reason,
      message: `actor ${format(this.id)} is gone: ${reason}`,
      ...(info?.code !== undefined && info.code !== null ? { exitCode: info.code } : {}),
      ...(info?.signal !== undefined && info.signal !== null ? { signal: info.signal } : {})
    })
    this.link.close(reason, error)
    if (this.ready) this.onGone(error)
  }

  /** Waits for the ready handshake. */
  awaitReady(): Effect.Effect<void, ActorError.SpawnError> {
    return Effect.async<void, ActorError.SpawnError>((resume) => {
      const fail = (message: string, module?: string, stack?: string) =>
        resume(Exit.fail(
          new ActorError.SpawnError({
            actorName: this.options.name,
            message,
            ...(module !== undefined && module !== "" ? { module } : {}),
            ...(stack !== undefined ? { remoteStack: stack } : {})
          })
        ))
      // (no timer at all for an actor that waits for its debugger: setTimeout would read Infinity as 1 ms)
      const timer = Number.isFinite(this.options.settings.readyTimeoutMillis)
        ? setTimeout(
          () =>
            done(() =>
              fail(
                `actor "${this.options.name}" was not ready within ${this.options.settings.readyTimeoutMillis} ms ` +
                  `(readyTimeout): its modules may take that long to import, or block; raise readyTimeout on the spawn or nursery`
              )
            ),
          this.options.settings.readyTimeoutMillis
        )
        : undefined
      const onControl = (msg: Control) => {
        if (msg._tag === "Ready") {
          done(() => {
            this.ready = true
            this.served = { protocols: msg.protocols, addresses: msg.addresses ?? [] }
            this.onReady()
            resume(Exit.void)
          })
        } else if (msg._tag === "BootFailed") {
          done(() =>
            fail(
              msg.phase === "services"
                ? `actor "${this.options.name}" could not start the services of ${msg.module}: ${msg.message}`
                : `actor "${this.options.name}" failed to import ${msg.module}: ${msg.message}`,
              msg.module,
              msg.stack
            )
          )
        }
      }
      const onExit = () =>
        done(() =>
          fail(
            `actor "${this.options.name}" exited before it was ready (${
              this.spawnError?.message ?? `code ${this.exitInfo?.code}, signal ${this.exitInfo?.signal}`
            })`
          )
        )
      let finished = false
      const done = (f: () => void) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        this.controlWaiters.delete(onControl)
        this.exitWaiters.delete(onExit)
        f()
      }
      this.controlWaiters.add(onControl)
      this.whenExited(onExit)
      return Effect.sync(() => done(() => {}))
    })
  }

  /** Resolves `true` once the process has exited, or `false` after `millis`. */
  waitExit(millis: number): Effect.Effect<boolean> {
    return Effect.async<boolean>((resume) => {
      if (this.exitInfo !== undefined) return resume(Exit.succeed(true))
      const onExit = () => {
        if (timer !== undefined) clearTimeout(timer)
        resume(Exit.succeed(true))
      }
      const timer = Number.isFinite(millis)
        ? setTimeout(() => {
          this.exitWaiters.delete(onExit)
          resume(Exit.succeed(false))
        }, millis)
        : undefined
      this.exitWaiters.add(onExit)
      return Effect.sync(() => {
        if (timer !== undefined) clearTimeout(timer)
        this.exitWaiters.delete(onExit)
      })
    })
  }

  /** Sends a cancel request and waits for its ack (or the exit) up to `millis`. */
  requestCancel(canceller: ActorId, millis: number): Effect.Effect<void, ActorError.ActorTooSlow> {
    return Effect.async<void, ActorError.ActorTooSlow>((resume) => {
      if (this.exitInfo !== undefined) return resume(Exit.void)
      this.stopping = true
      this.ref()
      let finished = false
      const done = (exit: Exit.Exit<void, ActorError.ActorTooSlow>) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        this.controlWaiters.delete(onControl)
        this.exitWaiters.delete(onExit)
        resume(exit)
      }
      const onControl = (msg: Control) => {
        if (msg._tag === "CancelAck") done(Exit.void)
      }
      const onExit = () => done(Exit.void)
      const timer = setTimeout(() =>
        done(Exit.fail(
          new ActorError.ActorTooSlow({
            actor: this.id,
            waitedMillis: millis,
            message: `actor ${format(this.id)} did not acknowledge the cancel request within ${millis} ms ` +
              `(cancelAckTimeout, or the timeout given to cancelActor): it is busy in synchronous code or stuck; ` +
              `the nursery's teardown escalates to signals`
          })
        )), millis)
      this.controlWaiters.add(onControl)
      this.exitWaiters.add(onExit)
      this.link.send({ _tag: "Cancel", canceller })
      return Effect.sync(() => done(Exit.void))
    })
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exitInfo !== undefined) return
    this.host.kill(signal)
  }

  /**
   * The teardown ladder. Idempotent: concurrent callers share one run.
   */
  teardown(options?: { readonly graceMillis?: number | undefined }): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.teardownFiber !== undefined) return Fiber.await(this.teardownFiber)
      if (this.exitInfo !== undefined) return Effect.void
      return Effect.forkDaemon(this.ladder(options?.graceMillis)).pipe(
        Effect.tap((fiber) => {
          this.teardownFiber = fiber
        }),
        Effect.flatMap(Fiber.await)
      )
    }).pipe(Effect.asVoid)
  }

  /** `grace`: this teardown's grace period, instead of the spawn's */
  private ladder(grace?: number): Effect.Effect<void> {
    const { brutal, termMillis } = this.options.settings
    const graceMillis = grace ?? this.options.settings.graceMillis
    return Effect.gen(this, function*() {
      this.stopping = true
      if (this.exitInfo !== undefined) return
      this.ref()
      if (brutal === true) {
        this.kill("SIGKILL")
        return yield* this.waitExit(Infinity)
      }
      this.link.send({ _tag: "Cancel", canceller: this.options.parent })
      this.link.flush()
      if (yield* this.waitExit(graceMillis)) return
      if (!this.cancelling) {
        // it never heard the request: stuck in synchronous code, it could run no finalizer anyway
        escalated("kill_unacknowledged")
        yield* Effect.logWarning(
          `actor ${format(this.id)} did not acknowledge the cancel request within ${graceMillis} ms ` +
            `(stuck in synchronous code?): SIGKILL`
        )
        this.kill("SIGKILL")
        return yield* this.waitExit(Infinity)
      }
      escalated("term")
      yield* Effect.logDebug(`actor ${format(this.id)} still alive ${graceMillis} ms after the cancel request: SIGTERM`)
      this.kill("SIGTERM")
      if (yield* this.waitExit(termMillis)) return
      escalated("kill_after_term")
      yield* Effect.logWarning(`actor ${format(this.id)} still alive ${termMillis} ms after SIGTERM: SIGKILL`)
      this.kill("SIGKILL")
      yield* this.waitExit(Infinity)
    })
  }
}
