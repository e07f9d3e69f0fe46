/**
 * The registry of a tree: which actor serves what, and where it listens. It is an actor protocol
 * like any other, served by the root; a registration belongs to the connection it came over (or to
 * the root itself), and is gone when that connection closes.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Actor from "../Actor.js"
import { ActorId } from "./actorId.js"
import { codecOf } from "./codec.js"
import type { Link } from "./link.js"
import type { Fns, ServedFn } from "./server.js"

/** @internal one registered actor */
export const Entry = Schema.Struct({
  name: Schema.String,
  id: ActorId,
  /** its host: actors of one host reach each other over Unix sockets */
  host: Schema.String,
  /** where it accepts peers: `unix:<path>`, `tcp:<host>:<port>` */
  addresses: Schema.Array(Schema.String),
  protocols: Schema.Array(Schema.String)
})

/** @internal */
export interface Entry extends Schema.Schema.Type<typeof Entry> {}

/** @internal the registry's functions, and no others */
export const RegistryProtocol = Actor.protocol("effect-tractor/Registry", {
  register: Actor.fn({ payload: Entry }),
  unregister: Actor.fn({ payload: Schema.String }),
  find: Actor.fn({ payload: Schema.String, success: Schema.Array(Entry) }),
  wait: Actor.fn({
    payload: Schema.Struct({ name: Schema.String, timeoutMillis: Schema.Number }),
    success: Schema.OptionFromNullOr(Entry)
  }),
  list: Actor.fn({ success: Schema.Array(Entry) })
})

/** who registered an entry: a connection, or the registry's own process */
type Owner = Link | "local"

/** @internal */
export class Registry {
  private readonly entries = new Map<string, { readonly entry: Entry; readonly owner: Owner }>()
  private readonly waiters = new Set<{ readonly name: string; readonly found: (entry: Entry) => void }>()

  register(entry: Entry, owner: Owner): void {
    this.entries.set(entry.id.uid, { entry, owner })
    for (const waiter of this.waiters) if (waiter.name === entry.name) waiter.found(entry)
  }

  unregister(uid: string): void {
    this.entries.delete(uid)
  }

  /** A connection closed: what it registered is gone. */
  dropOwner(owner: Owner): void {
    for (const [uid, { owner: o }] of this.entries) if (o === owner) this.entries.delete(uid)
  }

  find(name: string): ReadonlyArray<Entry> {
    const found: Array<Entry> = []
    for (const { entry } of this.entries.values()) if (entry.name === name) found.push(entry)
    return found
  }

  list(): ReadonlyArray<Entry> {
    return [...this.entries.values()].map(({ entry }) => entry)
  }

  /** The first entry of that name, as soon as there is one; `None` after `timeoutMillis`. */
  wait(name: string, timeoutMillis: number): Effect.Effect<Option.Option<Entry>> {
    return Effect.async<Option.Option<Entry>>((resume) => {
      const now = this.find(name)
      if (now.length > 0) return resume(Exit.succeed(Option.some(now[0]!)))
      const waiter = {
        name,
        found: (entry: Entry) => {
          done()
          resume(Exit.succeed(Option.some(entry)))
        }
      }
      const timer = Number.isFinite(timeoutMillis)
        ? setTimeout(() => {
          done()
          resume(Exit.succeed(Option.none()))
        }, Math.max(0, timeoutMillis))
        : undefined
      const done = () => {
        if (timer !== undefined) clearTimeout(timer)
        this.waiters.delete(waiter)
      }
      this.waiters.add(waiter)
      return Effect.sync(done)
    })
  }

  /** The registry protocol as served functions; each call's registrations belong to its link. */
  fns(): Fns {
    const fns = RegistryProtocol[Actor.ProtocolTypeId].fns
    const served = (name: keyof typeof fns, handler: (payload: any, link: Link) => unknown): [string, ServedFn] => {
      const spec = fns[name]
      return [name, { spec, protocol: spec.protocol, name, codec: codecOf(spec), handler: handler as ServedFn["handler"], linked: true }]
    }
    return new Map([[
      RegistryProtocol[Actor.ProtocolTypeId].name,
      new Map([
        served("register", (entry: Entry, link) => Effect.sync(() => this.register(entry, link))),
        served("unregister", (uid: string) => Effect.sync(() => this.unregister(uid))),
        served("find", (name: string) => Effect.sync(() => this.find(name))),
        served("wait", (p: { name: string; timeoutMillis: number }) => this.wait(p.name, p.timeoutMillis)),
        served("list", () => Effect.sync(() => this.list()))
      ])
    ]])
  }
}
