/**
 * Two hosts on one machine: network namespaces A and B joined by a veth pair. Host A runs the
 * registry of a tree; host B runs a root that joins it over TCP+TLS and spawns actors; a client on
 * host A finds an actor of B by name and calls it, streams from it, opens a dialog with it and
 * cancels another. Then host B's processes are SIGKILLed: the registry drops B's entries and the
 * client's call in flight fails with TransportClosed within the tick period. Traffic between the
 * hosts stays on the veth pair (B's actors are reached at B's address, not over a Unix socket).
 *
 * Needs root and iproute2 (`ip netns`); skipped, with the reason, where they are missing.
 */
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Readline from "node:readline"
import * as Url from "node:url"
import { afterAll, afterEach, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { checkOrphansAfterEach, fixture, isAlive } from "./utils/index.ts"

checkOrphansAfterEach(5000)

const tag = (process.pid % 10000).toString()
const nsA = `et-a-${tag}`
const nsB = `et-b-${tag}`
const vethA = `eta${tag}`
const vethB = `etb${tag}`
const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`
const hostA = `${subnet}.1`
const hostB = `${subnet}.2`
const tickMillis = 1000
const examples = (file: string) => new URL(`../examples/${file}`, import.meta.url)

const sh = (command: string) => ChildProcess.execSync(command, { stdio: ["ignore", "pipe", "pipe"] }).toString()

/** Why this machine cannot run the test, or undefined when it can (it then made the namespaces). */
const unavailable = ((): string | undefined => {
  if (process.platform !== "linux") return "network namespaces are Linux only"
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "creating network namespaces needs root"
  try {
    sh("ip -V")
  } catch {
    return "iproute2 (the ip command) is not installed"
  }
  try {
    sh(`ip netns add ${nsA}`)
    sh(`ip netns add ${nsB}`)
    sh(`ip link add ${vethA} type veth peer name ${vethB}`)
    sh(`ip link set ${vethA} netns ${nsA}`)
    sh(`ip link set ${vethB} netns ${nsB}`)
    sh(`ip -n ${nsA} addr add ${hostA}/24 dev ${vethA}`)
    sh(`ip -n ${nsB} addr add ${hostB}/24 dev ${vethB}`)
    for (const [ns, dev] of [[nsA, vethA], [nsB, vethB]] as const) {
      sh(`ip -n ${ns} link set lo up`)
      sh(`ip -n ${ns} link set ${dev} up`)
    }
    return undefined
  } catch (e) {
    return `network namespaces could not be set up here: ${(e as Error).message.split("\n")[0]}`
  }
})()

afterAll(() => {
  for (const ns of [nsA, nsB]) {
    try {
      sh(`ip netns del ${ns}`)
    } catch {
      // not made
    }
  }
})

const started: Array<ChildProcess.ChildProcess> = []
// before the orphan check of each test (hooks run in reverse order): a failed test leaves nothing
afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {
      // gone
    }
  }
})

/**
 * Starts `script` in namespace `ns` (its own process group). `next(prefix)` resolves the next line
 * of its stdout that starts with `prefix` (its logs go to stdout too).
 */
const inNamespace = (ns: string, script: URL, env: Record<string, string>) => {
  const child = ChildProcess.spawn(
    "ip",
    ["netns", "exec", ns, process.execPath, "--import", "tsx", Url.fileURLToPath(script)],
    { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"], detached: true }
  )
  started.push(child)
  const lines: Array<string> = []
  const waiters: Array<(line: string) => void> = []
  Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!/^(ready|\{)/.test(line)) return
    const waiter = waiters.shift()
    if (waiter !== undefined) waiter(line)
    else lines.push(line)
  })
  const next = (what: string, timeoutMs = 30_000) =>
    Effect.promise(() =>
      new Promise<string>((resolve, reject) => {
        const line = lines.shift()
        if (line !== undefined) return resolve(line)
        const timer = setTimeout(() => reject(new Error(`${what}: no line from ${script.pathname} within ${timeoutMs} ms`)), timeoutMs)
        waiters.push((l) => {
          clearTimeout(timer)
          resolve(l)
        })
      })
    )
  return { child, next }
}

describe.skipIf(unavailable !== undefined)("two hosts (network namespaces)", () => {
  it.live("a client on host A finds an actor of host B by name, talks to it, and sees host B go", () =>
    Effect.gen(function*() {
      const env = {
        EFFECT_TRACTOR_REGISTRY: `tcp:${hostA}:47001`,
        EFFECT_TRACTOR_TREE_KEY: Crypto.randomBytes(32).toString("base64"),
        EFFECT_TRACTOR_TICK_MS: String(tickMillis)
      }
      const registry = inNamespace(nsA, examples("multi_host/registry.ts"), { ...env, EFFECT_TRACTOR_TCP_HOST: hostA })
      assert.strictEqual(yield* registry.next("registry"), "ready: the registry holds root")
      const tree = inNamespace(nsB, fixture("multihost/tree.ts"), { ...env, EFFECT_TRACTOR_TCP_HOST: hostB })
      const pids = (yield* tree.next("tree")).split(" ").slice(1).map(Number)
      assert.strictEqual(pids.length, 3)
      const client = inNamespace(nsA, fixture("multihost/client.ts"), env)
      const first = JSON.parse(yield* client.next("client, first phase"))
      // host B's actor is reached over TCP at host B's address: the traffic stays in the namespaces
      assert.deepStrictEqual(first.via, { kind: "tcp", host: hostB, port: first.via.port })
      assert.strictEqual(first.echoed, "across hosts")
      assert.strictEqual(first.streamed, 5000)
      assert.deepStrictEqual(first.dialog, [42, "yo"])
      assert.deepStrictEqual(first.cancelled, { tag: "ContextCancelled", canceller: "root" })
      assert.includeMembers(first.names, ["service@B", "root@B", "root@A"])

      // host B vanishes
      process.kill(-tree.child.pid!, "SIGKILL")
      const start = Date.now()
      while (pids.some(isAlive) && Date.now() - start < 5000) yield* Effect.sleep("10 millis")
      client.child.stdin!.write("killed\n")
      const second = JSON.parse(yield* client.next("client, second phase"))
      if (process.env["MULTIHOST_VERBOSE"]) console.log(JSON.stringify(second))
      assert.strictEqual(second.call, "TransportClosed")
      assert.isBelow(second.callMs, tickMillis + 500)
      assert.isAtLeast(second.listMs, 0, "host B's entries never left the registry")
      assert.isBelow(second.listMs, tickMillis + 500)
      process.kill(-client.child.pid!, "SIGTERM")
      process.kill(-registry.child.pid!, "SIGTERM")
    }), 60_000)
})

describe.skipIf(unavailable === undefined)("two hosts (network namespaces)", () => {
  it("is skipped here", () => {
    console.warn(`multi-host test skipped: ${unavailable}`)
  })
})
