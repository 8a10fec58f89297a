import { describe, expect, it } from "vitest";
import { boundsProblem, checkBounds, unitOf } from "../../src/assert/bounds.js";
import { validateCoordinatorConfig } from "../../src/coord/config.js";
import { validateKvConfig } from "../../src/kv/config.js";
import { defaultRaftConfig, validateRaftConfig } from "../../src/raft/config.js";
import { validateStorageConfig } from "../../src/storage/config.js";

describe("the one bounds validator", () => {
  it("reads the unit from the limit's name, the qualifier (Max, Min) last", () => {
    expect(unitOf("requestTimeoutMs")).toBe("ms");
    expect(unitOf("diskFullRetryMsMin")).toBe("ms");
    expect(unitOf("frameBytesMax")).toBe("bytes");
    expect(unitOf("electionTicks")).toBe("ticks");
    expect(unitOf("messageEntriesMax")).toBe("entries");
    expect(unitOf("memoryMib")).toBe("MiB");
    expect(unitOf("connectionsMax")).toBe("");
    expect(unitOf("port")).toBe("");
  });

  it("accepts integers within the bounds, both ends included, and names the bounds and unit otherwise", () => {
    for (const value of [10, 500, 1000]) expect(boundsProblem("tickMs", value, [10, 1000])).toBeUndefined();
    for (const value of [9, 1001, 10.5, Number.NaN, "100", undefined]) {
      expect(boundsProblem("tickMs", value, [10, 1000])).toBe("must be an integer in [10, 1000] ms");
    }
  });

  it("fails on the first field out of bounds, in the table's order, and skips only the optional fields left out", () => {
    const bounds = { aMs: [1, 10], bBytesMax: [1, 10] } as const;
    const fail = (field: string, value: unknown, problem: string): Error => new RangeError(`${field} ${problem}, got ${String(value)}`);
    expect(() => checkBounds({ aMs: 0, bBytesMax: 0 }, bounds, fail)).toThrow("aMs must be an integer in [1, 10] ms, got 0");
    expect(() => checkBounds({ aMs: 5, bBytesMax: 11 }, bounds, fail)).toThrow("bBytesMax must be an integer in [1, 10] bytes, got 11");
    expect(() => checkBounds({ aMs: 5 }, bounds, fail)).toThrow("bBytesMax must be an integer in [1, 10] bytes, got undefined");
    expect(() => checkBounds({ aMs: 5 }, bounds, fail, ["bBytesMax"])).not.toThrow();
  });

  it("gives every config an upper bound as well as a lower one, with the field and its unit in the message", () => {
    expect(() => validateRaftConfig({ ...defaultRaftConfig(1), heartbeatTicks: 1001 })).toThrow("raft config: heartbeatTicks must be an integer in [1, 1000] ticks, got 1001");
    expect(() => validateRaftConfig({ ...defaultRaftConfig(1), messageBytesMax: 2 ** 40 })).toThrow(/messageBytesMax must be an integer in \[1, \d+\] bytes/);
    expect(() => validateKvConfig({ listingPinMs: 0 })).toThrow(/kv config: listingPinMs must be an integer in \[1, \d+\] ms, got 0/);
    expect(() => validateStorageConfig({ snapshotsRetained: 101 })).toThrow(/snapshotsRetained = 101 is invalid: must be an integer in \[1, 100\]/);
    expect(() => validateCoordinatorConfig({ streamRefreshMs: 50 })).toThrow("coordinator config streamRefreshMs: must be an integer in [100, 60000] ms, got 50");
  });
});
