import { describe, expect, it } from "vitest";
import { InvariantError, invariant } from "../../src/assert/invariant.js";

describe("invariant", () => {
  it("throws an InvariantError whose message says a broken invariant stopped the process", () => {
    let thrown: unknown;
    try {
      invariant(3 > 4, () => "commit 3 is at least applied 4");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvariantError);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as InvariantError).name).toBe("InvariantError");
    expect((thrown as InvariantError).message).toBe("broken invariant: commit 3 is at least applied 4");
    expect(String(thrown)).toBe("InvariantError: broken invariant: commit 3 is at least applied 4");
  });

  it("does not call describe when the condition holds, and narrows the type after", () => {
    let calls = 0;
    const value: number | undefined = [7][0];
    invariant(value !== undefined, () => {
      calls += 1;
      return "never built";
    });
    const narrowed: number = value;
    expect(narrowed).toBe(7);
    expect(calls).toBe(0);
  });

  it("treats falsy values as broken (0, empty string, null) and truthy ones as holding", () => {
    for (const falsy of [0, "", null, undefined, false]) {
      expect(() => invariant(falsy, () => `got ${String(falsy)}`)).toThrow(InvariantError);
    }
    for (const truthy of [1, "x", {}, true]) expect(() => invariant(truthy, () => "unused")).not.toThrow();
  });
});
