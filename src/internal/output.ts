/**
 * An actor's plain output (what `console` methods and `process.stdout` write), prefixed line by line with its name
 * where asked: read from the child's pipes, written to this process's own streams.
 */
import type { Readable, Writable } from "node:stream"

/** @internal the prefixed copy of an actor's output */
export interface PrefixedOutput {
  /**
   * Runs `k` once every pipe has ended (its last lines written), or after `maxMillis`: a process's
   * last words are printed before its exit is reported, a grandchild that keeps the pipe open does
   * not hold it up.
   */
  readonly whenEnded: (k: () => void, maxMillis: number) => void
}

/**
 * Copies each `from` to its `to`, each line led by `prefix`; a last line without its newline is
 * written when the pipe ends.
 * @internal
 */
export const prefixLines = (
  pipes: ReadonlyArray<readonly [from: Readable, to: Writable]>,
  prefix: string
): PrefixedOutput => {
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
      to.write(prefix + text.slice(0, end).replaceAll("\n", "\n" + prefix) + "\n")
    })
    from.once("close", () => {
      if (rest !== "") to.write(prefix + rest + "\n")
      rest = ""
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
