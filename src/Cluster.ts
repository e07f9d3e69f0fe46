/**
 * Scale-out on `@effect/cluster`: an actor protocol runs as a cluster entity (placement, failover,
 * persisted messages, addressing by entity id across runners), each active entity backed by an
 * actor process of its own, or by a worker pool of its runner.
 *
 * `@effect/cluster`, `@effect/rpc`, `@effect/sql` and `@effect/platform-node` are optional peer
 * dependencies: only this entry point needs them.
 *
 * @since 0.1.0
 */
import * as Net from "node:net"
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as Sharding from "@effect/cluster/Sharding"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import type * as RpcSchema from "@effect/rpc/RpcSchema"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Actor from "./Actor.js"
import * as ActorError from "./ActorError.js"
import * as Nursery from "./Nursery.js"
import * as Portal from "./Portal.js"
import * as Supervision from "./Supervision.js"
import * as WorkerPool from "./WorkerPool.js"

/**
 * The schema of a failure of an entity's RPC: the function's declared error, or the `ActorError`
 * that the actor behind the entity gave (it crashed under the call, it was too slow to cancel, …).
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorSchema<E extends Schema.Schema.All> = Schema.Union<[E, typeof ActorError.ActorErrorSchema]>

/**
 * The cluster RPC of one protocol function: a call is an RPC with the same payload, success and
 * error (plus `ActorError`), a server stream an RPC with `stream: true`.
 *
 * @since 0.1.0
 * @category models
 */
export type RpcOf<K extends string, S> = S extends {
  readonly kind: "fn"
  readonly payload: infer P extends Schema.Schema.Any
  readonly success: infer R extends Schema.Schema.Any
  readonly error: infer E extends Schema.Schema.All
} ? Rpc.Rpc<K, P, R, ErrorSchema<E>>
  : S extends {
    readonly kind: "stream"
    readonly payload: infer P extends Schema.Schema.Any
    readonly element: infer A extends Schema.Schema.Any
    readonly error: infer E extends Schema.Schema.All
  } ? Rpc.Rpc<K, P, RpcSchema.Stream<A, ErrorSchema<E>>, typeof Schema.Never>
  : never

/**
 * The cluster RPCs of a protocol, one per call and server stream.
 *
 * @since 0.1.0
 * @category models
 */
export type Rpcs<P extends Actor.Protocol.Any> = {
  readonly [K in keyof Actor.Protocol.Fns<P> & string]: RpcOf<K, Actor.Protocol.Fns<P>[K]>
}[keyof Actor.Protocol.Fns<P> & string]

type Dialogs<P extends Actor.Protocol.Any> = {
  readonly [K in keyof Actor.Protocol.Fns<P> & string]: Actor.Protocol.Fns<P>[K] extends Actor.DialogSpec.Any ? K : never
}[keyof Actor.Protocol.Fns<P> & string]

/**
 * A protocol that declares no dialog; with one, the type names it: a cluster RPC is a call or a
 * server stream, there is no two-way stream after it starts.
 *
 * @since 0.1.0
 * @category models
 */
export type WithoutDialogs<P extends Actor.Protocol.Any> = [Dialogs<P>] extends [never] ? P
  : { readonly "a cluster entity has calls and server streams only; this protocol has the dialogs": Dialogs<P> }

/**
 * How the cluster delivers the messages of one function.
 *
 * @since 0.1.0
 * @category models
 */
export interface FunctionOptions<Payload> {
  /**
   * Saved in the cluster's message storage before delivery and redelivered after a runner fails
   * (at least once); a message sent while no runner is alive is delivered once one starts.
   */
  readonly persisted?: boolean | undefined
  /**
   * A persisted message's identity (the payload must be a `Schema.Struct`): a second message with
   * the same key gets the first one's reply without running the handler again.
   */
  readonly primaryKey?: ((payload: Payload) => string) | undefined
}

/**
 * Per function of the protocol, how the cluster delivers its messages.
 *
 * @since 0.1.0
 * @category models
 */
export type EntityOptions<P extends Actor.Protocol.Any> = {
  readonly [K in keyof Actor.Protocol.Fns<P> & string]?: FunctionOptions<Actor.Fn.Payload<Actor.Protocol.Fns<P>[K]>>
}

/** the protocol an entity was made from, kept in its RPC group's annotations */
class ProtocolOf extends Context.Tag("effect-tractor/Cluster/ProtocolOf")<ProtocolOf, Actor.Protocol.Any>() {}

const declaration = (name: string, problem: string) =>
  new globalThis.Error(`Cluster.entity(${name}): ${problem}`)

/**
 * The cluster entity of a protocol: its type is the protocol's name, and each call and server
 * stream becomes an RPC with the same schemas and declared error (plus `ActorError`). Dialogs have
 * no cluster counterpart and are refused at the type level. Functions may opt in to persisted
 * delivery and a primary key.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Cluster from "effect-tractor/Cluster"
 * import * as Schema from "effect/Schema"
 *
 * const Counter = Actor.protocol("Counter", {
 *   add: Actor.fn({ payload: Schema.Struct({ id: Schema.String, n: Schema.Number }), success: Schema.Number }),
 *   read: Actor.fn({ success: Schema.Number })
 * })
 *
 * export const CounterEntity = Cluster.entity(Counter, { add: { persisted: true, primaryKey: (p) => p.id } })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const entity = <P extends Actor.Protocol.Any>(
  protocol: P & WithoutDialogs<P>,
  options: EntityOptions<P> = {}
): Entity.Entity<Actor.Protocol.Name<P>, Rpcs<P>> => {
  const { fns, name } = protocol[Actor.ProtocolTypeId]
  const rpcs: Array<Rpc.Rpc<string, Schema.Schema.Any, Schema.Schema.Any, Schema.Schema.All>> = []
  for (const key of Object.keys(options)) {
    if (!(key in fns)) throw declaration(name, `options for "${key}", which ${name} does not declare`)
  }
  for (const [key, spec] of Object.entries(fns)) {
    if (spec.kind === "dialog") {
      throw declaration(
        name,
        `${name}.${key} is a dialog, and a cluster entity has calls and server streams only: ` +
          `declare the functions to run on the cluster in a protocol of their own`
      )
    }
    const o = (options as Record<string, FunctionOptions<unknown> | undefined>)[key] ?? {}
    if (o.primaryKey !== undefined && !("fields" in spec.payload)) {
      throw declaration(name, `${name}.${key} has a primary key, which needs a Schema.Struct payload (it has ${String(spec.payload)})`)
    }
    if (o.primaryKey !== undefined && o.persisted !== true) {
      throw declaration(name, `${name}.${key} has a primary key but is not persisted: a key identifies a persisted message`)
    }
    let rpc = Rpc.make(key, {
      payload: o.primaryKey !== undefined ? (spec.payload as unknown as Schema.Struct<Schema.Struct.Fields>).fields : spec.payload,
      success: spec.kind === "fn" ? spec.success : spec.element,
      error: Schema.Union(spec.error, ActorError.ActorErrorSchema),
      stream: spec.kind === "stream",
      ...(o.primaryKey !== undefined ? { primaryKey: o.primaryKey as (payload: any) => string } : {})
    } as any) as Rpc.Rpc<string, Schema.Schema.Any, Schema.Schema.Any, Schema.Schema.All>
    if (o.persisted === true) rpc = rpc.annotate(ClusterSchema.Persisted, true)
    rpcs.push(rpc)
  }
  return Entity.fromRpcGroup(name, RpcGroup.make(...rpcs).annotate(ProtocolOf, protocol)) as any
}

/**
 * @since 0.1.0
 */
export declare namespace toLayer {
  /**
   * @since 0.1.0
   */
  export interface EntityOptions {
    /** An entity idle that long is passivated: its actor is torn down through the ladder (default 1 minute). */
    readonly maxIdleTime?: Duration.DurationInput | undefined
    /** Messages one entity handles at once (default 1: in order). */
    readonly concurrency?: number | "unbounded" | undefined
    /** Messages waiting for one entity (default 4096). */
    readonly mailboxCapacity?: number | "unbounded" | undefined
  }
  /**
   * One actor process (or thread) per active entity: its state lives there between calls, and
   * passivation tears it down. A crashed actor is restarted by `supervision` (default: one for
   * one, 3 restarts in 5 s); the call that was on it fails with the `ActorError`.
   *
   * @since 0.1.0
   */
  export interface ProcessOptions extends Nursery.Nursery.SpawnOptions, EntityOptions {
    readonly mode?: "process" | undefined
    readonly supervision?: Supervision.Policy | undefined
  }
  /**
   * One worker pool per runner, shared by the runner's entities (for fine-grained entities whose
   * state is not in the actor).
   *
   * @since 0.1.0
   */
  export interface PoolOptions extends WorkerPool.WorkerPool.Options, EntityOptions {
    readonly mode: "pool"
  }
  /**
   * @since 0.1.0
   */
  export type Options = ProcessOptions | PoolOptions
}

const handlersOf = (protocol: Actor.Protocol.Any, client: Record<string, (payload: unknown) => unknown>) => {
  const handlers: Record<string, (request: { readonly payload: unknown }) => unknown> = {}
  for (const key of Object.keys(protocol[Actor.ProtocolTypeId].fns)) {
    const call = client[key]!
    handlers[key] = (request) => call(request.payload)
  }
  return handlers
}

/** an actor name from an entity's address: its type and id, as the characters a name may have */
const actorName = (type: string, entityId: string) => `${type}-${entityId}`.replace(/[^\w.-]/g, "_")

/**
 * Registers the entity with the runner's `Sharding`, its handlers backed by effect-tractor actors:
 * by default one actor per active entity, spawned in the entity's own scope (state lives in the
 * actor between calls; passivation and rebalancing tear it down through the ladder), or, with
 * `mode: "pool"`, one `WorkerPool` of the runner that every entity's handlers call.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Cluster from "effect-tractor/Cluster"
 * import * as Schema from "effect/Schema"
 *
 * const Counter = Actor.protocol("Counter", { add: Actor.fn({ payload: Schema.Number, success: Schema.Number }) })
 * const CounterEntity = Cluster.entity(Counter)
 *
 * // a layer of the runner, beside its Sharding layer
 * export const CounterLive = Cluster.toLayer(CounterEntity, {
 *   modules: [new URL("./counter.js", import.meta.url)],
 *   maxIdleTime: "5 minutes"
 * })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const toLayer = <Type extends string, R extends Rpc.Any>(
  self: Entity.Entity<Type, R>,
  options: toLayer.Options
): Layer.Layer<never, ActorError.SpawnError, Sharding.Sharding> => {
  const protocol = Context.getOption(self.protocol.annotations, ProtocolOf)
  if (protocol._tag === "None") {
    throw new globalThis.Error(`Cluster.toLayer(${self.type}): the entity was not made by Cluster.entity from a protocol`)
  }
  const { concurrency, mailboxCapacity, maxIdleTime, ...rest } = options
  const entityOptions = {
    ...(maxIdleTime !== undefined ? { maxIdleTime } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(mailboxCapacity !== undefined ? { mailboxCapacity } : {})
  }
  if (rest.mode === "pool") {
    const { mode: _, ...poolOptions } = rest
    return Layer.unwrapScoped(Effect.map(WorkerPool.make(poolOptions), (pool) =>
      self.toLayer(
        handlersOf(protocol.value, WorkerPool.client(pool, protocol.value) as any) as any,
        entityOptions
      ) as Layer.Layer<never, never, Sharding.Sharding>))
  }
  const { mode: _, supervision, ...spawnOptions } = rest
  return self.toLayer(
    Effect.gen(function*() {
      const address = yield* Entity.CurrentAddress
      const policy = supervision ?? (yield* Effect.orDie(Supervision.oneForOne()))
      // closes with the entity's scope: passivation, rebalancing and shutdown go through the ladder
      const nursery = yield* Nursery.make({ supervision: policy })
      const portal = yield* Effect.orDie(Nursery.spawn(nursery, actorName(self.type, address.entityId), spawnOptions))
      return handlersOf(protocol.value, Portal.client(portal, protocol.value) as any) as any
    }),
    entityOptions
  ) as Layer.Layer<never, never, Sharding.Sharding>
}

/**
 * The protocol every runner actor serves (`Cluster.runner`): where it listens for other runners.
 *
 * @example
 * ```ts
 * import * as Cluster from "effect-tractor/Cluster"
 * import * as Portal from "effect-tractor/Portal"
 *
 * declare const runner: Portal.Portal
 * const where = Portal.call(runner, Cluster.RunnerProtocol.address, undefined)
 * ```
 * @since 0.1.0
 * @category runners
 */
export const RunnerProtocol = Actor.protocol("effect-tractor/ClusterRunner", {
  /** `host:port` of the runner's socket */
  address: Actor.fn({ success: Schema.String })
})

class RunnerAddressOf extends Context.Tag("effect-tractor/Cluster/RunnerAddressOf")<RunnerAddressOf, string>() {}

/**
 * @since 0.1.0
 */
export declare namespace runner {
  /**
   * @since 0.1.0
   */
  export interface Options<E, R> {
    /** The entity layers the runner hosts (`Cluster.toLayer`), merged. */
    readonly entities: Layer.Layer<never, E, R | Sharding.Sharding>
    /** The store the runners share (SQLite for one host, Postgres for several): a `SqlClient` layer. */
    readonly sql: Layer.Layer<SqlClient.SqlClient, unknown>
    /** Sharding settings; they must be the same on every runner and client of the cluster. */
    readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
    /** The host other runners reach this one at (default 127.0.0.1), and its port (default: a free one). */
    readonly host?: string | undefined
    readonly port?: number | undefined
  }
}

/**
 * A cluster runner as an actor: the implementation an actor module exports so that the actor that
 * enables it hosts the given entities, on a socket runner (`@effect/platform-node`'s
 * `NodeClusterSocket`) with the shared SQL store. Its entities' actors are its children; when it
 * ends (however it ends), they go with it and the cluster moves their shards to the runners left.
 * A root spawning N of these is a local cluster in one command.
 *
 * @example
 * ```ts
 * import * as Actor from "effect-tractor/Actor"
 * import * as Cluster from "effect-tractor/Cluster"
 * import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
 * import * as Schema from "effect/Schema"
 *
 * const Counter = Actor.protocol("Counter", { add: Actor.fn({ payload: Schema.Number, success: Schema.Number }) })
 * const CounterEntity = Cluster.entity(Counter)
 *
 * // runner.ts: spawn actors that enable this module, one per runner
 * export const Runner = Cluster.runner({
 *   entities: Cluster.toLayer(CounterEntity, { modules: [new URL("./counter.js", import.meta.url)] }),
 *   sql: LibsqlClient.layer({ url: "file:cluster.db", intMode: "bigint" })
 * })
 * ```
 * @since 0.1.0
 * @category runners
 */
export const runner = <E, R>(options: runner.Options<E, R>): Actor.Implementation<typeof RunnerProtocol> => {
  const host = options.host ?? "127.0.0.1"
  const layer = Layer.unwrapEffect(Effect.map(
    options.port !== undefined ? Effect.succeed(options.port) : freePort(host),
    (port) =>
      options.entities.pipe(
        Layer.provideMerge(NodeClusterSocket.layer({
          storage: "sql",
          shardingConfig: { ...options.shardingConfig, runnerAddress: Option.some(RunnerAddress.make(host, port)) }
        })),
        Layer.provide(options.sql),
        Layer.merge(Layer.succeed(RunnerAddressOf, `${host}:${port}`))
      )
  ))
  return Actor.serve(
    RunnerProtocol,
    Effect.map(RunnerAddressOf, (address) => Actor.handlers(RunnerProtocol, { address: () => Effect.succeed(address) }))
  ).pipe(Actor.provide(layer as Layer.Layer<RunnerAddressOf, unknown>)) as Actor.Implementation<typeof RunnerProtocol>
}

/** a port of `host` free now (the runner registers its address before it listens) */
const freePort = (host: string) =>
  Effect.async<number, never>((resume) => {
    const probe = Net.createServer().listen(0, host, () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resume(Effect.succeed(port)))
    })
  })
