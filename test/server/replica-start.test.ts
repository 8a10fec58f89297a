import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultRaftConfig } from "../../src/raft/config.js";
import { bootstrapCluster } from "../../src/server/bootstrap.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";
import { Replica } from "../../src/server/replica.js";
import { MemoryStorage } from "../../src/storage/index.js";

const TICK_MS = 10;
/** A long election timeout (1,000 to 1,999 ticks), so that starting early is unmistakable. */
const ELECTION_TICKS = 1000;

describe("a member that starts", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("campaigns within one election timeout, not after a whole one plus its random part (initial election tick advance)", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const storage = new MemoryStorage();
    await bootstrapCluster(storage, [1]);
    const replica = await Replica.start({
      raft: { ...defaultRaftConfig(1), electionTicks: ELECTION_TICKS },
      storage, send: () => undefined, tickMs: TICK_MS, startNonVoting: false,
      snapshotEveryEntries: 1_000_000, pendingProposalsMax: 10, requestTimeoutMs: 60_000, expiryTickIntervalMsMin: 200,
      scheduler: { ...NODE_SCHEDULER, now: () => 1_700_000_000_000 },
    });
    try {
      // Without the advance the first campaign needs at least 1,000 ticks from start
      // (more, unless the random part drew 0): one tick short of that, it is still waiting.
      await vi.advanceTimersByTimeAsync((ELECTION_TICKS - 1) * TICK_MS);
      expect(replica.isLeader()).toBe(true);
    } finally {
      await replica.stop();
    }
  });
});
