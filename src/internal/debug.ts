/**
 * Debugging an actor: its Node inspector on 127.0.0.1, the URL logged with the actor's name (to
 * the root's logger, like every log of the actor), optionally waiting for the debugger before the
 * modules load, and optionally keeping a crashed actor alive, inspector open, for a while.
 */
import * as Inspector from "node:inspector"
import * as LogLevel from "effect/LogLevel"

/** @internal what a debugged actor does with its inspector */
export interface InspectSpec {
  /** 0: a free port */
  readonly port: number
  /** wait for a debugger before loading the modules */
  readonly pauseOnStart: boolean
  /** how long a crashed actor stays, inspector open, before it exits (0: it exits at once) */
  readonly keepOnCrashMillis: number
}

/** @internal how the bootstrap logs and pushes its frames out (before blocking) */
export interface Say {
  readonly log: (level: LogLevel.LogLevel, message: string) => void
  readonly flush: () => void
}

/**
 * Opens the inspector of a process actor; returns its URL (undefined when it could not open, or
 * for a thread, which is debugged through its process's inspector).
 * @internal
 */
export const openInspector = (spec: InspectSpec, title: string, thread: boolean, say: Say): string | undefined => {
  if (thread) {
    say.log(
      LogLevel.Warning,
      `${title} is a thread actor: it is debugged through its process's inspector (start the root with --inspect); ` +
        `its inspect option is ignored`
    )
    return undefined
  }
  try {
    Inspector.open(spec.port, "127.0.0.1", false)
  } catch (e) {
    say.log(LogLevel.Warning, `the inspector of ${title} could not open on port ${spec.port}: ${(e as Error).message}`)
    return undefined
  }
  const url = Inspector.url()
  if (url === undefined) return undefined
  const port = new URL(url).port
  say.log(
    LogLevel.Info,
    `debugger for ${title}: ${url} (Chrome: chrome://inspect, Configure, add 127.0.0.1:${port}; ` +
      `VS Code: "Attach" to port ${port})${spec.pauseOnStart ? "; waiting for it before loading the modules" : ""}`
  )
  if (spec.pauseOnStart) {
    say.flush()
    Inspector.waitForDebugger()
  }
  return url
}

/**
 * A crash (an uncaught exception or rejection) of a debugged actor: logged, then the actor stays
 * `keepOnCrashMillis` with its inspector open before it exits with code 1.
 * @internal
 */
export const keepOnCrash = (spec: InspectSpec, title: string, url: string, say: Say, onKeep: () => void): void => {
  if (spec.keepOnCrashMillis <= 0) return
  let crashed = false
  const crash = (what: string) => (error: unknown) => {
    if (crashed) return
    crashed = true
    onKeep()
    const text = error instanceof Error ? error.stack ?? error.message : String(error)
    say.log(
      LogLevel.Error,
      `${title} crashed (${what}): ${text}\nits inspector stays open at ${url} for ${spec.keepOnCrashMillis} ms, then it exits`
    )
    say.flush()
    setTimeout(() => process.exit(1), spec.keepOnCrashMillis)
  }
  process.on("uncaughtException", crash("uncaught exception"))
  process.on("unhandledRejection", crash("unhandled rejection"))
}
