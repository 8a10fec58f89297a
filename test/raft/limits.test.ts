import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../../src/raft/config.js";
import { RaftConfigError, defaultRaftConfig, validateRaftConfig } from "../../src/raft/config.js";
import { ENTRY_OVERHEAD_BYTES } from "../../src/raft/messages.js";
import { RaftNode } from "../../src/raft/raft.js";
import { SeededRandom } from "../../src/raft/random.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import { Cluster, bootstrapMeta } from "./harness.js";

const payload = (bytes: number): Uint8Array => new Uint8Array(bytes);

describe("limits: uncommittedBytesMax", () => {
  // Each 100-byte proposal counts 124 bytes (with the per-entry overhead); the limit is 500.
  const cost = 100 + ENTRY_OVERHEAD_BYTES;

  function leaderThatCannotCommit(): Cluster {
    const cluster = new Cluster([1, 2, 3], { config: { uncommittedBytesMax: 500 } });
    cluster.elect(1);
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    return cluster;
  }

  it("a leader refuses proposals with busy once its uncommitted entries would pass the limit, and accepts again after they commit", () => {
    const cluster = leaderThatCannotCommit();
    const accepted = Math.floor(500 / cost);
    for (let i = 0; i < accepted; i++) expect(cluster.node(1).propose(payload(100)).ok).toBe(true);
    const refused = cluster.node(1).propose(payload(100));
    expect(refused).toMatchObject({ ok: false, error: { code: "busy", leader: 1 } });
    expect(refused.ok ? "" : refused.error.message).toMatch(/496 uncommitted bytes reach uncommittedBytesMax 500: retry later/);
    cluster.stabilize();
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.node(1).propose(payload(100)).ok).toBe(true);
  });

  it("a single entry larger than the limit is accepted when nothing is uncommitted (or it could never be proposed)", () => {
    const cluster = leaderThatCannotCommit();
    expect(cluster.node(1).propose(payload(1000)).ok).toBe(true);
    expect(cluster.node(1).propose(payload(1))).toMatchObject({ ok: false, error: { code: "busy" } });
  });

  it("configuration changes count toward the limit too", () => {
    const cluster = leaderThatCannotCommit();
    for (let i = 0; i < 4; i++) expect(cluster.node(1).propose(payload(100)).ok).toBe(true);
    expect(cluster.node(1).proposeConfChange({ type: "add-learner", nodeId: 4 })).toMatchObject({ ok: false, error: { code: "busy" } });
  });
});

describe("limits: pendingReadsMax", () => {
  it("a leader refuses reads with busy beyond pendingReadsMax waiting reads, and serves the others", () => {
    const cluster = new Cluster([1, 2, 3], { config: { pendingReadsMax: 3 } });
    cluster.elect(1);
    cluster.hold = (m) => m.type === "HeartbeatResp";
    for (let i = 0; i < 5; i++) cluster.node(1).readIndex(`r${i}`);
    cluster.stabilize();
    expect(cluster.member(1).readStates).toEqual([
      { requestId: "r3", error: "busy", leader: 1 },
      { requestId: "r4", error: "busy", leader: 1 },
    ]);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.member(1).readStates.slice(2)).toEqual(["r0", "r1", "r2"].map((requestId) => ({ requestId, index: 2 })));
    cluster.node(1).readIndex("later"); // Room again.
    cluster.stabilize();
    expect(cluster.member(1).readStates.at(-1)).toEqual({ requestId: "later", index: 2 });
  });

  it("reads waiting for the first commit of the term count toward the limit", () => {
    const cluster = new Cluster([1, 2, 3], { config: { pendingReadsMax: 2 } });
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    cluster.elect(1);
    for (let i = 0; i < 3; i++) cluster.node(1).readIndex(`r${i}`);
    cluster.flush();
    expect(cluster.member(1).readStates).toMatchObject([{ requestId: "r2", error: "busy" }]);
  });

  it("forwarded reads beyond the limit are refused, and the follower's read fails with an error", () => {
    const cluster = new Cluster([1, 2, 3], { config: { pendingReadsMax: 1 } });
    cluster.elect(1);
    cluster.hold = (m) => m.type === "HeartbeatResp";
    cluster.node(1).readIndex("local");
    cluster.node(2).readIndex("forwarded");
    cluster.stabilize();
    expect(cluster.sentWhere((m) => m.type === "ReadIndexResp")).toMatchObject([{ to: 2, reject: true }]);
    // ReadIndexResp carries no reason, so the follower reports a busy leader's refusal
    // as "not-leader" (naming the leader, so a client retries there).
    expect(cluster.member(2).readStates).toMatchObject([{ requestId: "forwarded", error: "not-leader", leader: 1 }]);
  });
});

describe("limits: validateRaftConfig rejects out-of-range values, naming the field", () => {
  const bad: [keyof RaftConfig, unknown][] = [
    ["id", 0],
    ["heartbeatTicks", 0],
    ["electionTicks", 2.5],
    ["inflightMessagesMax", -1],
    ["inflightBytesMax", Number.NaN],
    ["messageBytesMax", 0],
    ["messageEntriesMax", Number.POSITIVE_INFINITY],
    ["uncommittedBytesMax", 0],
    ["snapshotChunkBytesMax", 0],
    ["pendingReadsMax", "10"],
  ];

  it.each(bad)("%s = %s is rejected", (field, value) => {
    const config = { ...defaultRaftConfig(1), [field]: value } as RaftConfig;
    let error: unknown;
    try {
      validateRaftConfig(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RaftConfigError);
    expect((error as RaftConfigError).field).toBe(field);
    expect((error as RaftConfigError).message).toContain(`raft config: ${field} `);
  });

  it.each([
    { electionTicks: 5, heartbeatTicks: 5 },
    { electionTicks: 3, heartbeatTicks: 4 },
  ])("electionTicks $electionTicks not above heartbeatTicks $heartbeatTicks is rejected", (ticks) => {
    expect(() => validateRaftConfig({ ...defaultRaftConfig(1), ...ticks })).toThrow(/raft config: electionTicks \(\d+\) must be greater than heartbeatTicks/);
  });

  it("the defaults are valid", () => {
    expect(validateRaftConfig(defaultRaftConfig(7))).toEqual(defaultRaftConfig(7));
  });

  it("a node will not start with an invalid config", () => {
    const storage = new SimStorage(bootstrapMeta([1]));
    expect(() => new RaftNode({ ...defaultRaftConfig(1), heartbeatTicks: 0 }, storage, new SeededRandom(1))).toThrow(RaftConfigError);
  });
});
