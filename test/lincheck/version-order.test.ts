import { describe, expect, it } from "vitest";
import { findVersionOrderViolation } from "../../src/lincheck/version-order.js";
import { cas, del, get, put } from "./builders.js";

describe("version order: found without a search", () => {
  it("a read of a version older than one written before the read was called", () => {
    const history = [put("k", "a", 1, [0, 1]), put("k", "b", 2, [2, 3]), get("k", ["a", 1], [4, 5])];
    expect(findVersionOrderViolation(history)).toEqual({ earlier: history[1], later: history[2] });
  });

  it("a read of a version older than one another read saw before it was called", () => {
    const history = [put("k", "a", 1, [0, 1]), put("k", "b", 2, [2, 30]), get("k", ["b", 2], [3, 4]), get("k", ["a", 1], [5, 6])];
    expect(findVersionOrderViolation(history)).toEqual({ earlier: history[2], later: history[3] });
  });

  it("a write whose version is not above one already seen", () => {
    const history = [put("k", "a", 5, [0, 1]), cas("k", 5, "b", 5, [2, 3])];
    expect(findVersionOrderViolation(history)).toEqual({ earlier: history[0], later: history[1] });
  });

  it("nothing when the ops overlap, or touch at one instant, or carry no version", () => {
    expect(findVersionOrderViolation([put("k", "b", 2, [0, 5]), get("k", ["a", 1], [5, 6])])).toBeUndefined();
    expect(findVersionOrderViolation([put("k", "b", 2, [0, 5]), get("k", ["a", 1], [3, 6])])).toBeUndefined();
    expect(findVersionOrderViolation([put("k", "b", 2, [0, 1]), del("k", true, [2, 3]), get("k", undefined, [4, 5])])).toBeUndefined();
  });
});
