import { describe, expect, it } from "vitest";
import { checkHistory, formatCheckResult, InvalidHistoryError, type Operation } from "../../src/lincheck/index.js";
import { cas, casUnknown, del, delUnknown, get, put, putUnknown } from "./builders.js";

/** The verdict, with the report attached to a failed expectation. */
function verdictOf(history: Operation[]): string {
  return checkHistory(history).verdict;
}

function expectVerdict(history: Operation[], verdict: "ok" | "illegal" | "unknown"): void {
  const result = checkHistory(history);
  expect(result.verdict, formatCheckResult(result)).toBe(verdict);
}

describe("lincheck: sequential histories", () => {
  it("an empty history is linearizable and touches no keys", () => {
    expect(checkHistory([])).toEqual({ verdict: "ok", keys: 0, steps: 0 });
  });

  it("put, get, cas on the current version, delete, get: linearizable", () => {
    expectVerdict(
      [
        get("k", undefined, [0, 1]),
        put("k", "a", 3, [2, 3]),
        get("k", ["a", 3], [4, 5]),
        cas("k", 3, "b", 7, [6, 7]),
        cas("k", 3, "c", false, [8, 9]),
        del("k", true, [10, 11]),
        del("k", false, [12, 13]),
        cas("k", 0, "d", 9, [14, 15]),
        get("k", ["d", 9], [16, 17]),
      ],
      "ok",
    );
  });
});

describe("lincheck: concurrency", () => {
  it("overlapping writes may take effect in either order; the versions and a later read tell which", () => {
    const writes = (versionA: number, versionB: number) => [put("k", "a", versionA, [0, 10], 1), put("k", "b", versionB, [0, 10], 2)];
    expectVerdict([...writes(1, 2), get("k", ["b", 2], [11, 12])], "ok");
    expectVerdict([...writes(2, 1), get("k", ["a", 2], [11, 12])], "ok");
  });

  it("the write that took effect last must have the higher version", () => {
    expectVerdict([put("k", "a", 2, [0, 10], 1), put("k", "b", 1, [0, 10], 2), get("k", ["b", 1], [11, 12])], "illegal");
  });

  it("a read overlapping a write may see the value before or after it", () => {
    const history = (seen: readonly [string, number]) => [put("k", "a", 1, [0, 1]), put("k", "b", 2, [2, 10], 1), get("k", seen, [3, 4], 2)];
    expectVerdict(history(["a", 1]), "ok");
    expectVerdict(history(["b", 2]), "ok");
  });

  it("equal timestamps count as overlapping: a read called the instant a write returned may miss it", () => {
    expectVerdict([put("k", "a", 1, [0, 5]), get("k", undefined, [5, 6], 1)], "ok");
    expectVerdict([put("k", "a", 1, [0, 5]), get("k", undefined, [6, 7], 1)], "illegal");
  });
});

describe("lincheck: violations", () => {
  it("stale read: an old value read after a newer write completed", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), put("k", "b", 2, [2, 3]), get("k", ["a", 1], [4, 5], 1)], "illegal");
  });

  it("lost write: a completed write that a later read does not see", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), get("k", undefined, [2, 3], 1)], "illegal");
  });

  it("cas that succeeds against the wrong version", () => {
    expectVerdict([put("k", "a", 3, [0, 1]), cas("k", 2, "b", 4, [2, 3])], "illegal");
    expectVerdict([put("k", "a", 3, [0, 1]), cas("k", 0, "b", 4, [2, 3])], "illegal");
    expectVerdict([put("k", "a", 3, [0, 1]), cas("k", 3, "b", 4, [2, 3])], "ok");
  });

  it("cas that fails although the version matched", () => {
    expectVerdict([put("k", "a", 3, [0, 1]), cas("k", 3, "b", false, [2, 3])], "illegal");
  });

  it("a read of a value never written", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), get("k", ["z", 1], [2, 3])], "illegal");
  });

  it("versions going backwards", () => {
    expectVerdict([put("k", "a", 5, [0, 1]), put("k", "b", 3, [2, 3])], "illegal");
    expectVerdict([put("k", "a", 5, [0, 1]), get("k", ["a", 6], [2, 3])], "illegal");
  });

  it("a deleted value that comes back", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), del("k", true, [2, 3]), get("k", ["a", 1], [4, 5])], "illegal");
  });

  it("deletes that disagree with presence", () => {
    expectVerdict([del("k", true, [0, 1])], "illegal");
    expectVerdict([put("k", "a", 1, [0, 1]), del("k", false, [2, 3])], "illegal");
  });
});

describe("lincheck: unknown outcomes (timeouts)", () => {
  it("an unknown put that a later read observes took effect; the read reveals its version", () => {
    expectVerdict([putUnknown("k", "b", 0), get("k", ["b", 7], [10, 11], 1)], "ok");
  });

  it("the revealed version then bounds later versions", () => {
    const observed = [putUnknown("k", "b", 0), get("k", ["b", 7], [10, 11], 1)];
    expectVerdict([...observed, put("k", "c", 6, [12, 13], 1)], "illegal");
    expectVerdict([...observed, put("k", "c", 8, [12, 13], 1)], "ok");
  });

  it("an unknown put never observed may never have taken effect", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), putUnknown("k", "b", 2), get("k", ["a", 1], [3, 4], 1), get("k", ["a", 1], [50, 51], 1)], "ok");
  });

  it("an unknown put may take effect long after its client gave up, but only once", () => {
    const late = [put("k", "a", 1, [0, 1]), putUnknown("k", "b", 2), get("k", ["a", 1], [3, 4], 1), get("k", ["b", 9], [10, 11], 1)];
    expectVerdict(late, "ok");
    expectVerdict([...late, get("k", ["a", 1], [12, 13], 1)], "illegal");
  });

  it("a timed-out write of a value another write also wrote need not have taken effect", () => {
    const reads = [get("k", ["a", 1], [3, 4], 1), get("k", ["a", 1], [10, 11], 1)];
    expectVerdict([put("k", "a", 1, [0, 1]), putUnknown("k", "a", 2), ...reads], "ok");
  });

  it("an unknown op cannot take effect before it was called", () => {
    expectVerdict([get("k", ["b", 3], [0, 1], 1), putUnknown("k", "b", 2)], "illegal");
  });

  it("an unknown delete may explain a missing value", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), delUnknown("k", 2), get("k", undefined, [3, 4], 1)], "ok");
  });

  it("an observed unknown cas must have found its expected version", () => {
    expectVerdict([put("k", "a", 1, [0, 1]), casUnknown("k", 1, "b", 2), get("k", ["b", 5], [3, 4], 1)], "ok");
    expectVerdict([put("k", "a", 1, [0, 1]), casUnknown("k", 2, "b", 2), get("k", ["b", 5], [3, 4], 1)], "illegal");
  });

  it("a cas may succeed on a version that only an unknown put could have created", () => {
    expectVerdict([putUnknown("k", "a", 0), cas("k", 7, "b", 9, [5, 6], 1), get("k", ["b", 9], [7, 8], 1)], "ok");
    expectVerdict([put("k", "a", 8, [0, 1]), putUnknown("k", "x", 2), cas("k", 7, "b", 9, [5, 6], 1)], "illegal");
  });

  it("a recorded give-up time does not bound when the op may take effect", () => {
    const gaveUp: Operation = { ...put("k", "b", 0, [2, 3]), output: undefined };
    expectVerdict([put("k", "a", 1, [0, 1]), gaveUp, get("k", ["a", 1], [4, 5], 1), get("k", ["b", 4], [6, 7], 1)], "ok");
  });

  it("an unknown get is ignored", () => {
    expectVerdict([{ ...get("k", undefined, [0, 1]), output: undefined, returnTime: Number.POSITIVE_INFINITY }], "ok");
  });
});

describe("lincheck: violations among many timeouts", () => {
  it("a deleted value that comes back is found despite 80 timed-out ops that could each have taken effect", () => {
    const history: Operation[] = [];
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      history.push(putUnknown("k", `lost-${i}`, 10 * i, 1), delUnknown("k", 10 * i + 1, 2));
      history.push(put("k", `v${i}`, 2 * i + 1, [10 * i + 2, 10 * i + 4], 3), get("k", [`v${i}`, 2 * i + 1], [10 * i + 5, 10 * i + 6], 3));
    }
    expectVerdict(history, "ok");
    const last = 2 * rounds - 1;
    expectVerdict([...history, del("k", true, [1000, 1001], 3), get("k", [`v${rounds - 1}`, last], [1002, 1003], 3)], "illegal");
  });
});

describe("lincheck: keys are checked independently", () => {
  const history: Operation[] = [];
  for (let k = 0; k < 20; k++) {
    history.push(put(`key-${k}`, "a", 2 * k + 1, [0, 1], k), put(`key-${k}`, "b", 2 * k + 2, [2, 3], k));
    history.push(get(`key-${k}`, k === 13 ? ["a", 2 * k + 1] : ["b", 2 * k + 2], [4, 5], k));
  }

  it("names the one illegal key among many", () => {
    const result = checkHistory(history);
    expect(result).toMatchObject({ verdict: "illegal", keys: 20, failingKey: "key-13" });
    expect(formatCheckResult(result)).toContain('key "key-13" has no linearization');
  });

  it("reports a read of a version already passed without searching, naming both ops", () => {
    const result = checkHistory(history);
    expect(result.partial).toMatchObject({
      longestPrefix: [],
      blockedOperation: get("key-13", ["a", 27], [4, 5], 13),
      blockedBecause: "version passed",
      relatedOperations: [put("key-13", "b", 28, [2, 3], 13)],
    });
    const report = formatCheckResult(result);
    expect(report).toContain('cannot place next: client 13 get("key-13") -> "a" v27 [4, 5]');
    expect(report).toContain('client 13 put("key-13", "b") -> v28 [2, 3]');
  });

  it("after a search, reports the longest prefix, the state after it, the op it could not place and why", () => {
    const result = checkHistory([put("k", "a", 1, [0, 1]), get("k", ["a", 1], [2, 3], 1), get("k", undefined, [4, 5], 1)]);
    expect(result.partial).toMatchObject({
      longestPrefix: [put("k", "a", 1, [0, 1]), get("k", ["a", 1], [2, 3], 1)],
      stateAfterPrefix: 'present: "a" at version 1 (last known version 1)',
      blockedOperation: get("k", undefined, [4, 5], 1),
      blockedBecause: "refused",
    });
    const report = formatCheckResult(result);
    expect(report).toContain("longest linearizable prefix found (2):");
    expect(report).toContain("the specification does not allow it in that state");
  });

  it("operations on different keys do not constrain each other", () => {
    expectVerdict([put("x", "a", 5, [0, 1]), put("y", "b", 3, [2, 3]), get("x", ["a", 5], [4, 5])], "ok");
  });
});

describe("lincheck: step budget", () => {
  const sequential = Array.from({ length: 10 }, (_, i) => put("k", `v${i}`, i + 1, [2 * i, 2 * i + 1]));

  it("a sequential history takes one step per op; one fewer gives unknown, never a pass", () => {
    expect(checkHistory(sequential, { stepBudget: 10 })).toMatchObject({ verdict: "ok", steps: 10 });
    const result = checkHistory(sequential, { stepBudget: 9 });
    // Both candidate orders ran out.
    expect(result).toMatchObject({ verdict: "unknown", failingKey: "k", steps: 18 });
    expect(formatCheckResult(result)).toContain("step budget exhausted");
  });

  it("an exhausted budget on an illegal history says unknown, not illegal", () => {
    const illegal = [...sequential, del("k", true, [100, 101]), get("k", ["v9", 10], [102, 103])];
    expect(checkHistory(illegal).verdict).toBe("illegal");
    expect(checkHistory(illegal, { stepBudget: 5 }).verdict).toBe("unknown");
  });

  it("an illegal key wins over a key whose budget ran out", () => {
    const history = [...sequential, put("z", "a", 1, [0, 1]), get("z", undefined, [2, 3])];
    expect(checkHistory(history, { stepBudget: 5 })).toMatchObject({ verdict: "illegal", failingKey: "z", keys: 2 });
  });

  it("rejects a budget that is not a positive integer", () => {
    expect(() => checkHistory([], { stepBudget: 0 })).toThrow(RangeError);
    expect(() => checkHistory([], { stepBudget: 1.5 })).toThrow(/stepBudget must be a positive integer, got 1.5/);
  });
});

describe("lincheck: determinism and input checks", () => {
  it("gives the same result for the same input, and the same verdict whatever the array order", () => {
    const history = [put("k", "a", 1, [0, 4]), put("k", "b", 2, [1, 3], 1), get("k", ["a", 1], [5, 6], 2), putUnknown("k", "c", 2, 3)];
    expect(checkHistory(history)).toEqual(checkHistory(history));
    expect(verdictOf([...history].reverse())).toBe(verdictOf(history));
  });

  it("rejects malformed operations, naming the index", () => {
    const mismatched: Operation = { ...put("k", "a", 1, [0, 1]), output: { op: "get", found: false } };
    expect(() => checkHistory([put("k", "a", 1, [0, 1]), mismatched])).toThrow(InvalidHistoryError);
    expect(() => checkHistory([mismatched])).toThrow(/#0 is invalid: input is put but output is get/);
    expect(() => checkHistory([put("k", "a", 1, [5, 4])])).toThrow(/returnTime 4 precedes callTime 5/);
    expect(() => checkHistory([put("k", "a", 1, [0, Number.POSITIVE_INFINITY])])).toThrow(/returnTime is not finite/);
    expect(() => checkHistory([cas("k", -1, "a", false, [0, 1])])).toThrow(/expectVersion/);
  });
});
