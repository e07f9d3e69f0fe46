/**
 * The kernel's orphan guard: on Linux, a child started through `setpriv --pdeathsig KILL` (from
 * util-linux) gets SIGKILL from the kernel the moment its parent dies, even when it is blocked in
 * synchronous code, at no cost to the child. Where `setpriv` is missing (other systems, minimal
 * images) the child guards itself with a watchdog thread instead (see `watchdog.ts`).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"

/** @internal how a child is guarded against outliving its parent */
export type OrphanGuard = "kernel" | "watchdog"

/** @internal set to `watchdog` to use the watchdog thread even where the kernel guard works */
export const guardVariable = "EFFECT_TRACTOR_ORPHAN_GUARD"

let setpriv: string | null | undefined

/** the path of a `setpriv` that accepts `--pdeathsig`, checked once per process */
const findSetpriv = (): string | null => {
  if (setpriv !== undefined) return setpriv
  setpriv = null
  if (process.platform !== "linux") return setpriv
  for (const candidate of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    if (!Fs.existsSync(candidate)) continue
    const probe = ChildProcess.spawnSync(candidate, ["--pdeathsig", "KILL", "--", "true"], {
      stdio: "ignore",
      timeout: 2000
    })
    if (probe.status === 0) {
      setpriv = candidate
      break
    }
  }
  return setpriv
}

/**
 * The command that starts `node` with `args` as a guarded child, and which guard it has.
 * @internal
 */
export const guardedCommand = (
  env: Record<string, string | undefined>,
  args: ReadonlyArray<string>
): { readonly command: string; readonly args: ReadonlyArray<string>; readonly guard: OrphanGuard } => {
  const path = env[guardVariable] === "watchdog" ? null : findSetpriv()
  return path === null
    ? { command: process.execPath, args, guard: "watchdog" }
    : { command: path, args: ["--pdeathsig", "KILL", "--", process.execPath, ...args], guard: "kernel" }
}
