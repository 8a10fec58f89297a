import { describe, expect, it } from "vitest";
import { del, delUnknown, put, cas } from "../lincheck/builders.js";
import { lostAckedWrites, type KeyEntry } from "./after-heal.js";

const state = (entries: Record<string, KeyEntry>): Map<string, KeyEntry> => new Map(Object.entries(entries));

describe("faults: acknowledged writes after healing", () => {
  it("accepts a final state that holds the newest acknowledged write", () => {
    const history = [put("a", "x", 5, [0, 10]), cas("a", 5, "y", 9, [11, 20])];
    expect(lostAckedWrites(history, state({ a: { value: "y", version: 9 } }))).toEqual([]);
  });

  it("accepts a newer version than any acknowledged (an unknown write that took effect)", () => {
    expect(lostAckedWrites([put("a", "x", 5, [0, 10])], state({ a: { value: "z", version: 12 } }))).toEqual([]);
  });

  it("reports a key whose final version is older than an acknowledged write", () => {
    const lost = lostAckedWrites([put("a", "x", 5, [0, 10]), put("a", "y", 9, [11, 20])], state({ a: { value: "x", version: 5 } }));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain("v9");
  });

  it("reports an acknowledged version holding another value", () => {
    expect(lostAckedWrites([put("a", "x", 5, [0, 10])], state({ a: { value: "other", version: 5 } }))).toHaveLength(1);
  });

  it("a key that is gone needs a delete after its newest acknowledged write", () => {
    expect(lostAckedWrites([put("a", "x", 5, [0, 10])], state({}))).toHaveLength(1);
    expect(lostAckedWrites([del("a", true, [0, 4]), put("a", "x", 5, [5, 10])], state({}))).toHaveLength(1);
    expect(lostAckedWrites([put("a", "x", 5, [0, 10]), del("a", true, [11, 20])], state({}))).toEqual([]);
    expect(lostAckedWrites([put("a", "x", 5, [0, 10]), delUnknown("a", 11)], state({}))).toEqual([]);
  });
});
