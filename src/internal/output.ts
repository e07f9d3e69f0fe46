/**
 * An actor's plain output (what `console` methods and `process.stdout` write), where asked: read
 * from the child's pipes and either written to this process's own streams, each line led by the
 * actor's name, or logged through the application's logger.
 */
import type { Readable, Writable } from "node:stream"

/** @internal what becomes of an actor's stdout and stderr */
export type OutputMode = "inherit" | "prefixed" | "log"

/** @internal the mode a spawn asks for, else the one `EFFECT_TRACTOR_OUTPUT` names */
export const outputModeOf = (option: OutputMode | undefined): OutputMode => {
  if (option !== undefined) return option
  const named = process.env["EFFECT_TRACTOR_OUTPUT"]
  return named === "prefixed" || named === "log" ? named : "inherit"
}

/** @internal the copy of an actor's output */
export interface CopiedOutput {
  /**
   * Runs `k` once every pipe has ended (its last lines written), or after `maxMillis`: a process's
   * last words come before its exit is reported, a grandchild that keeps the pipe open does not
   * hold it up.
   */
  readonly whenEnded: (k: () => void, maxMillis: number) => void
}

/** @internal where the complete lines of a read go (several lines, joined by newlines) */
export interface LinesSink {
  readonly write: (lines: string) => void
  /** the pipe ended: what is held goes now */
  readonly end: () => void
}

/**
 * Reads each pipe and hands its complete lines, a read at a time, to its sink; a last line without
 * its newline is handed over when the pipe ends.
 * @internal
 */
export const copyLines = (pipes: ReadonlyArray<readonly [from: Readable, to: LinesSink]>): CopiedOutput => {
  let open = pipes.length
  const waiting: Array<() => void> = []
  const ended = () => {
    if (--open === 0) for (const k of waiting.splice(0)) k()
  }
  for (const [from, to] of pipes) {
    let rest = ""
    from.setEncoding("utf8")
    from.on("data", (chunk: string) => {
      const text = rest + chunk
      const end = text.lastIndexOf("\n")
      if (end === -1) {
        rest = text
        return
      }
      rest = text.slice(end + 1)
      to.write(text.slice(0, end))
    })
    from.once("close", () => {
      if (rest !== "") to.write(rest)
      rest = ""
      to.end()
      ended()
    })
    // this process's streams outlive the child's
    from.on("error", () => {})
  }
  return {
    whenEnded: (k, maxMillis) => {
      if (open === 0) return k()
      let done = false
      const once = () => {
        if (done) return
        done = true
        clearTimeout(timer)
        k()
      }
      const timer = setTimeout(once, maxMillis)
      waiting.push(once)
    }
  }
}

/** @internal a sink writing each line to `to`, led by `prefix` */
export const prefixed = (to: Writable, prefix: string): LinesSink => ({
  write: (lines) => void to.write(prefix + lines.replaceAll("\n", "\n" + prefix) + "\n"),
  end: () => {}
})

/**
 * A sink that hands `to` the lines that come in one burst (a stack trace Node writes in several
 * parts) as one text: once the pipe has been quiet for `quietMillis`, or holds 64 KiB, or ends.
 * @internal
 */
export const bursts = (to: (text: string) => void, quietMillis: number): LinesSink => {
  let held: Array<string> = []
  let size = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (held.length === 0) return
    const text = held.join("\n")
    held = []
    size = 0
    to(text)
  }
  return {
    write: (lines) => {
      held.push(lines)
      size += lines.length
      if (size >= 65536) return flush()
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(flush, quietMillis)
    },
    end: flush
  }
}
