import { describe, expect, it } from "vitest";
import { defaultRaftConfig } from "../../src/raft/config.js";
import { bootstrapCluster } from "../../src/server/bootstrap.js";
import { Replica } from "../../src/server/replica.js";
import { MemoryStorage } from "../../src/storage/index.js";
import { checkTrace, parseEvents, VectorClockTracer } from "../../src/trace/index.js";
import { waitFor } from "../support/wait.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("a member's local trace events", () => {
  it("name its election, each commit index and each apply, with the request id its proposal carried", async () => {
    const storage = new MemoryStorage();
    await bootstrapCluster(storage, [1]);
    const lines: string[] = [];
    const replica = await Replica.start({
      raft: { ...defaultRaftConfig(1), electionTicks: 4 }, storage, send: () => undefined, tickMs: 5, startNonVoting: false,
      snapshotEveryEntries: 1_000_000, pendingProposalsMax: 10, requestTimeoutMs: 10_000, expiryTickIntervalMsMin: 200,
      tracer: new VectorClockTracer("member-1", (event) => lines.push(event)),
    });
    try {
      await waitFor("member 1 to lead", () => (replica.isLeader() ? true : undefined));
      const traced = await replica.propose({ type: "put", key: bytes("a"), value: bytes("1") }, "req-42");
      const untraced = await replica.propose({ type: "put", key: bytes("b"), value: bytes("2") });
      const events = parseEvents(lines.join("")).map((e) => e.event);
      expect(events.some((e) => /^became leader term=\d+$/.test(e))).toBe(true);
      expect(events).toContain(`commit index=${traced.revision}`);
      expect(events.find((e) => e.startsWith(`apply index=${traced.revision} `))).toMatch(/ req=req-42$/);
      expect(events.find((e) => e.startsWith(`apply index=${untraced.revision} `))).not.toContain("req=");
      expect(checkTrace(parseEvents(lines.join("")))).toEqual([]);
    } finally {
      await replica.stop();
    }
  });
});
