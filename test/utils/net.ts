/**
 * Socket helpers for the transport tests.
 */
import * as Net from "node:net"
import * as Effect from "effect/Effect"

/** A TCP port on loopback that was free a moment ago. */
export const freePort: Effect.Effect<number> = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
)

/**
 * Connects to the Unix socket `path`, writes `data`, and tells whether the other end closed the
 * connection (`true`) or answered anything first (`false`).
 */
export const closesWithoutAnswer = (path: string, data: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const socket = Net.connect(path)
      socket.on("error", () => {})
      socket.on("connect", () => socket.write(data))
      socket.on("data", () => resolve(false))
      socket.on("close", () => resolve(true))
    })
  )
