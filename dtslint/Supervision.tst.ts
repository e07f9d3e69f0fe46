import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { describe, expect, test } from "tstyche"
import type * as Actor from "../src/Actor.ts"
import * as Supervision from "../src/Supervision.ts"

describe("Supervision", () => {
  test("policies are made by Effects that may fail with InvalidSupervision", () => {
    expect(Supervision.oneForOne()).type.toBe<Effect.Effect<Supervision.Policy, Supervision.InvalidSupervision, never>>()
    expect(Supervision.make("restForOne", { maxRestarts: 5, period: "10 seconds" })).type.toBe<
      Effect.Effect<Supervision.Policy, Supervision.InvalidSupervision, never>
    >()
    expect(Supervision.oneCancelsAll).type.toBe<Supervision.Policy>()
  })

  test("strategies, restart types and shutdowns are closed sets", () => {
    expect(Supervision.make).type.not.toBeCallableWith("oneForSome")
    expect(Supervision.oneForAll).type.toBeCallableWith({ restartDelay: Schedule.exponential("10 millis") })
    expect(Supervision.oneForAll).type.not.toBeCallableWith({ maxRestarts: "3" })
    expect(Supervision.validateChild).type.toBeCallableWith({ restart: "temporary", shutdown: "infinity" })
    expect(Supervision.validateChild).type.not.toBeCallableWith({ restart: "sometimes" })
  })

  test("RestartIntensityExceeded carries the exits that used up the intensity", () => {
    expect<Supervision.RestartIntensityExceeded["exits"]>().type.toBe<
      ReadonlyArray<{ readonly name: string; readonly exit: Actor.ActorExit }>
    >()
    expect<Supervision.RestartIntensityExceeded["_tag"]>().type.toBe<"RestartIntensityExceeded">()
  })

  test("events are a tagged union", () => {
    const describe = (event: Supervision.Event): string => {
      switch (event._tag) {
        case "Started":
          return `${event.name} #${event.incarnation}`
        case "Exited":
          return `${event.name}: ${event.exit.reason} (${event.restart ? "restarts" : "gone"})`
        case "Restarting":
          return event.names.join(", ")
        case "GaveUp":
          return event.error.message
      }
    }
    expect(describe).type.toBe<(event: Supervision.Event) => string>()
    expect(Effect.map(Supervision.oneForOne(), (p) => p.maxRestarts)).type.toBe<
      Effect.Effect<number, Supervision.InvalidSupervision, never>
    >()
  })
})
