import { describe, expect, it } from "vitest";
import { storageEventLevel } from "../../src/server/member-storage.js";

describe("how loud a storage event is in a member's log", () => {
  it("keeps routine housekeeping out of the warnings, and every repair, fallback and failure in them", () => {
    expect(storageEventLevel({ type: "snapshot-removed", file: "snapshot-1.snap" })).toBe("debug");
    expect(storageEventLevel({ type: "segment-removed", file: "wal-1", reason: "compacted" })).toBe("debug");
    expect(storageEventLevel({ type: "disk-space-recovered" })).toBe("info");
    expect(storageEventLevel({ type: "segment-removed", file: "wal-1", reason: "after-truncated-tail" })).toBe("warn");
    expect(storageEventLevel({ type: "torn-tail-truncated", file: "wal-1", offset: 9, bytesDropped: 3, reason: "short" })).toBe("warn");
    expect(storageEventLevel({ type: "disk-full", file: "wal-1", message: "ENOSPC" })).toBe("warn");
    expect(storageEventLevel({ type: "fatal-error", message: "EIO" })).toBe("warn");
  });
});
