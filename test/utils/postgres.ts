/**
 * A throwaway Postgres for the tests that need one (Debian's `postgresql` package): a fresh data
 * folder, a loopback port and a socket folder of its own, started as the `postgres` user when the
 * tests run as root (Postgres refuses root), stopped and removed with the scope.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { freePort } from "./net.ts"

const binDir = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!Fs.existsSync(root)) return undefined
  const versions = Fs.readdirSync(root).filter((v) => Fs.existsSync(Path.join(root, v, "bin", "postgres"))).sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? Path.join(root, versions[0]!, "bin") : undefined
}

const asRoot = process.getuid?.() === 0

const postgresUser = (): { uid: number; gid: number } | undefined => {
  const line = Fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"))
  if (line === undefined) return undefined
  const [, , uid, gid] = line.split(":")
  return { uid: Number(uid), gid: Number(gid) }
}

/** Why Postgres cannot be started here, or undefined when it can. */
export const postgresMissing = (): string | undefined => {
  if (binDir() === undefined) return "no Postgres server here (Debian: apt-get install postgresql)"
  if (asRoot && postgresUser() === undefined) return "running as root and there is no postgres user to run the server as"
  return undefined
}

/** the command, run as the postgres user when we are root (setpriv execs it: no process in between) */
const command = (bin: string, args: ReadonlyArray<string>): [string, Array<string>] => {
  if (!asRoot) return [bin, [...args]]
  const user = postgresUser()!
  return ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", bin, ...args]]
}

/** A running Postgres for this scope: its connection URL. */
export const postgres: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function*() {
    const bin = binDir()!
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-tractor-pg-"))
    const data = Path.join(dir, "data")
    if (asRoot) {
      const { gid, uid } = postgresUser()!
      Fs.chownSync(dir, uid, gid)
    }
    const [initdb, initArgs] = command(Path.join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
    const init = ChildProcess.spawnSync(initdb, initArgs, { encoding: "utf8" })
    if (init.status !== 0) return yield* Effect.dieMessage(`initdb failed: ${init.stderr}`)
    const port = yield* freePort
    const [server, serverArgs] = command(Path.join(bin, "postgres"), [
      "-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-k", dir,
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"
    ])
    const proc = ChildProcess.spawn(server, serverArgs, { stdio: ["ignore", "ignore", "pipe"] })
    let log = ""
    proc.stderr!.on("data", (chunk) => (log += chunk))
    // ready once it says so
    yield* Effect.async<void>((resume) => {
      const timer = setTimeout(() => resume(Effect.dieMessage(`Postgres did not start in 20 s:\n${log}`)), 20_000)
      const look = () => {
        if (/ready to accept connections/.test(log)) {
          clearTimeout(timer)
          proc.stderr!.off("data", look)
          resume(Effect.void)
        }
      }
      proc.stderr!.on("data", look)
      proc.once("exit", (code) => {
        clearTimeout(timer)
        resume(Effect.dieMessage(`Postgres exited with code ${code}:\n${log}`))
      })
    })
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, proc, dir }
  }),
  ({ dir, proc }) =>
    Effect.async<void>((resume) => {
      const done = () => {
        Fs.rmSync(dir, { recursive: true, force: true })
        resume(Effect.void)
      }
      if (proc.exitCode !== null || proc.signalCode !== null) return done()
      proc.once("exit", done)
      // fast shutdown: the backends are told to end, then it exits
      proc.kill("SIGINT")
    })
).pipe(Effect.map(({ url }) => url))
