import { describe, expect, it } from "vitest";
import { invariant } from "../../src/assert/invariant.js";
import { violationFrom } from "../../src/sim/core/verdict.js";

const point = { step: 12, timeMs: 3400 };

function thrownBy(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("the run was expected to throw");
}

describe("a crashed step as the violation the run reports", () => {
  it("reports a broken invariant of the code under test as core-invariant, with its message", () => {
    const error = thrownBy(() => invariant(false, () => "commit 7 is at most the last index 5"));
    expect(violationFrom(point, error)).toEqual({
      invariant: "core-invariant",
      message: "broken invariant: commit 7 is at most the last index 5",
      step: 12,
      timeMs: 3400,
    });
  });

  it("reports any other error as an exception, naming its class", () => {
    expect(violationFrom(point, new RangeError("offset out of range"))).toEqual({
      invariant: "exception",
      message: "RangeError: offset out of range",
      step: 12,
      timeMs: 3400,
    });
  });
});
