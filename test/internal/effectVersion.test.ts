import { assert, describe, it } from "@effect/vitest"
import { effectVersionProblem } from "../../src/internal/effectVersion.ts"

describe("effectVersion", () => {
  it("accepts the supported line", () => {
    assert.isUndefined(effectVersionProblem("3.22.0"))
    assert.isUndefined(effectVersionProblem("3.22.4"))
    assert.isUndefined(effectVersionProblem("3.30.1-beta.2"))
  })

  it("refuses another major or an older minor, naming the library, the range and the fix", () => {
    const four = effectVersionProblem("4.1.0", "/app/node_modules/effect/package.json")!
    assert.include(four, "effect-tractor needs effect ^3.22.0")
    assert.include(four, "loaded effect 4.1.0 from /app/node_modules/effect/package.json")
    assert.include(four, "npm install effect@^3.22.0")
    assert.include(four, "effect 4 is not supported yet")
    assert.include(effectVersionProblem("3.21.9")!, "loaded effect 3.21.9")
    assert.include(effectVersionProblem("2.4.19")!, "effect-tractor needs effect")
    assert.isString(effectVersionProblem("not a version"))
  })
})
