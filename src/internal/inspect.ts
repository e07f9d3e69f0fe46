/**
 * The live tree: every actor serves `describe`, which says who it is (name, pid, parent, kind,
 * protocols, addresses, calls in flight, uptime, memory) and asks its children the same, so a
 * description taken anywhere covers the subtree below it. A child that does not answer in time is
 * listed with what its parent knows and why it is missing.
 */
import * as WorkerThreads from "node:worker_threads"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Actor from "../Actor.js"
import { type ActorId, format } from "./actorId.js"
import { codecOf } from "./codec.js"
import type { Fns, ServedFn } from "./server.js"

/**
 * When this actor started, on the clock of `performance.now()`: a process's clock starts with it,
 * a worker thread shares its process's, so a thread counts from when its code was loaded
 */
const startedAt = WorkerThreads.isMainThread ? 0 : performance.now()

/** @internal one actor of the tree, with the actors below it */
export interface TreeNode {
  readonly name: string
  readonly pid: number
  readonly uid: string
  /** `name@pid` of its parent; absent for a root */
  readonly parent?: string | undefined
  readonly kind: "root" | "process" | "thread"
  readonly protocols: ReadonlyArray<string>
  readonly addresses: ReadonlyArray<string>
  /** calls, streams and dialogs it is serving now (this description's own call left out) */
  readonly callsInFlight: number
  readonly uptimeMillis: number
  /** the resident memory of its process (a thread shares its process's) */
  readonly rssMb: number
  readonly children: ReadonlyArray<TreeNode>
  /** set when it did not answer: why (its other fields are what its parent knows) */
  readonly unreachable?: string | undefined
}

/** @internal */
export const TreeNodeSchema: Schema.Schema<TreeNode> = Schema.Struct({
  name: Schema.String,
  pid: Schema.Number,
  uid: Schema.String,
  parent: Schema.optional(Schema.String),
  kind: Schema.Literal("root", "process", "thread"),
  protocols: Schema.Array(Schema.String),
  addresses: Schema.Array(Schema.String),
  callsInFlight: Schema.Number,
  uptimeMillis: Schema.Number,
  rssMb: Schema.Number,
  children: Schema.Array(Schema.suspend((): Schema.Schema<TreeNode> => TreeNodeSchema)),
  unreachable: Schema.optional(Schema.String)
})

/** @internal the protocol every actor serves for the tree view */
export const InspectProtocol = Actor.protocol("effect-tractor/Inspect", {
  describe: Actor.fn({ success: TreeNodeSchema })
})

const childTimeoutMillis = 2000

/** @internal what the tree view reads of a child (an ActorProcess) */
export interface ChildLike {
  readonly ready: boolean
  readonly exitInfo: unknown
  readonly id: ActorId
  readonly options: { readonly method?: "process" | "thread" | undefined }
  readonly served: { readonly protocols: ReadonlyArray<string>; readonly addresses: ReadonlyArray<string> }
  readonly cancelAckTimeoutMillis: number
  readonly caller: {
    call(fn: Actor.Fn.Any, payload: unknown, ackTimeoutMillis: number, onRaced: (e: unknown) => void): Effect.Effect<unknown, unknown>
  }
}

/** @internal what the tree view reads of this process's runtime (a TreeRuntime) */
export interface TreeLike {
  readonly self: ActorId
  readonly parent: ActorId | undefined
  readonly addresses: ReadonlyArray<string>
  readonly server: { readonly fns: Fns; running(): ReadonlyArray<unknown> }
}

/** @internal the children of this process's nurseries, set by the module that tracks them */
let liveChildren: () => ReadonlyArray<ChildLike> = () => []

/** @internal */
export const setLiveChildren = (f: () => ReadonlyArray<ChildLike>): void => {
  liveChildren = f
}

const round = (n: number) => Math.round(n * 10) / 10

/** @internal this process's actor and everything below it */
export const describe = (tree: TreeLike, kind: TreeNode["kind"], serving: () => number): Effect.Effect<TreeNode> =>
  Effect.gen(function*() {
    const children = yield* Effect.forEach(
      liveChildren().filter((child) => child.ready && child.exitInfo === undefined),
      (child) =>
        child.caller.call(InspectProtocol.describe, undefined, child.cancelAckTimeoutMillis, () => {}).pipe(
          Effect.timeoutFail({ duration: childTimeoutMillis, onTimeout: () => `no answer within ${childTimeoutMillis} ms` }),
          Effect.catchAll((e) =>
            Effect.succeed<TreeNode>({
              name: child.id.name,
              pid: child.id.pid,
              uid: child.id.uid,
              parent: format(tree.self),
              kind: child.options.method === "thread" ? "thread" : "process",
              protocols: child.served.protocols,
              addresses: child.served.addresses,
              callsInFlight: 0,
              uptimeMillis: 0,
              rssMb: 0,
              children: [],
              unreachable: typeof e === "string" ? e : String((e as { message?: unknown }).message ?? e)
            })
          )
        ) as Effect.Effect<TreeNode>,
      { concurrency: "unbounded" }
    )
    return {
      name: tree.self.name,
      pid: tree.self.pid,
      uid: tree.self.uid,
      ...(tree.parent !== undefined ? { parent: format(tree.parent) } : {}),
      kind,
      protocols: [...tree.server.fns.keys()].filter((p) => p !== InspectProtocol[Actor.ProtocolTypeId].name),
      addresses: tree.addresses,
      callsInFlight: serving(),
      uptimeMillis: Math.round(performance.now() - startedAt),
      rssMb: round(process.memoryUsage.rss() / (1024 * 1024)),
      children
    }
  })

/** @internal the `describe` function, served by every actor and root */
export const inspectFns = (tree: TreeLike, kind: TreeNode["kind"]): Fns => {
  const spec = InspectProtocol[Actor.ProtocolTypeId].fns.describe
  const served: ServedFn = {
    spec,
    protocol: spec.protocol,
    name: "describe",
    codec: codecOf(spec),
    // the calls being served, this describe call left out
    handler: (() =>
      Effect.withFiberRuntime((self) =>
        describe(tree, kind, () => tree.server.running().filter((fiber) => fiber !== self).length)
      )) as ServedFn["handler"]
  }
  return new Map([[InspectProtocol[Actor.ProtocolTypeId].name, new Map([["describe", served]])]])
}

const since = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

/** @internal the tree as text, one actor per line, indented under its parent */
export const render = (node: TreeNode): string => {
  const lines: Array<string> = []
  const visit = (n: TreeNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? "" : last ? "└─ " : "├─ "
    const facts = n.unreachable !== undefined
      ? [`unreachable: ${n.unreachable}`]
      : [
        n.kind,
        `up ${since(n.uptimeMillis)}`,
        n.kind === "thread" ? undefined : `${n.rssMb} MB`,
        `${n.callsInFlight} in flight`,
        n.protocols.length > 0 ? `serves ${n.protocols.join(", ")}` : undefined,
        n.addresses.length > 0 ? `at ${n.addresses.join(", ")}` : undefined
      ].filter((f): f is string => f !== undefined)
    lines.push(`${prefix}${branch}${n.name}@${n.pid}  ${facts.join(" · ")}`)
    const next = top ? "" : prefix + (last ? "   " : "│  ")
    n.children.forEach((child, i) => visit(child, next, i === n.children.length - 1, false))
  }
  visit(node, "", true, true)
  return lines.join("\n")
}
