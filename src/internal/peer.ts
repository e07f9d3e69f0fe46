/**
 * A peer: what a portal talks to. A child actor is one kind of peer; an actor found by name is
 * another. A portal needs a link to call over, the caller on it, and a way to ask the actor to
 * cancel itself; it never needs to know whether a process of its own is behind it.
 */
import type * as Effect from "effect/Effect"
import type * as ActorError from "../ActorError.js"
import type { ActorExit, ActorId } from "./actorId.js"
import type { Caller } from "./caller.js"
import type { Link } from "./link.js"

/** @internal */
export interface Peer {
  readonly id: ActorId
  readonly link: Link
  readonly caller: Caller
  /** how long an interrupted call waits for its ack before it gives up on it */
  readonly cancelAckTimeoutMillis: number
  /** Asks the actor to cancel itself on behalf of `canceller`, and waits for its ack up to `millis`. */
  readonly requestCancel: (canceller: ActorId, millis: number) => Effect.Effect<void, ActorError.ActorTooSlow>
  /** Completes when the actor is gone: its process exited (a child), or the connection closed (a peer). */
  readonly awaitExit: () => Effect.Effect<ActorExit>
}
