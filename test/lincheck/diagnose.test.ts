import { expect, it } from "vitest";
import { diagnose } from "../../src/lincheck/diagnose.js";
import { get, put } from "./builders.js";

it("diagnose: names the ops that placing the blocked op would strand", () => {
  // The search found [put a] and then had to place put b (it returns first), which
  // would take the key past the version the concurrent read of "a" saw.
  const operations = [put("k", "a", 1, [0, 1]), put("k", "b", 2, [2, 3]), get("k", ["a", 1], [2, 9], 1)];
  const diagnostic = diagnose("k", operations, { verdict: "illegal", steps: 3, longestPrefix: [0] });
  expect(diagnostic).toMatchObject({
    blockedOperation: operations[1],
    blockedBecause: "strands",
    relatedOperations: [operations[2]],
    pendingOperations: [operations[2]],
  });
});

it("diagnose: says dead end when the blocked op fits and strands nothing", () => {
  const operations = [put("k", "a", 1, [0, 1]), get("k", ["a", 1], [2, 3])];
  const diagnostic = diagnose("k", operations, { verdict: "unknown", steps: 1, longestPrefix: [0] });
  expect(diagnostic).toMatchObject({ blockedOperation: operations[1], blockedBecause: "dead end", relatedOperations: [] });
});
