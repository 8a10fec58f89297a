import { describe, expect, it } from "vitest";
import { EntryType } from "../../src/raft/types.js";
import { Cluster, isType, persist } from "./harness.js";

const heartbeatsSent = (cluster: Cluster): number => cluster.sentWhere(isType("Heartbeat")).length;

describe("raft §8: a new leader's no-op", () => {
  it("a new leader appends an empty entry of its term, and everyone applies it", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    const noop = cluster.member(1).storage.entry(2);
    expect(noop).toMatchObject({ index: 2, term: 2, type: EntryType.Noop });
    expect(noop?.data.length).toBe(0);
    cluster.tick(1); // The heartbeat tells the followers that answered last that it committed.
    cluster.stabilize();
    for (const id of [1, 2, 3]) expect(cluster.member(id).applied.map((e) => e.type)).toEqual([EntryType.Noop]);
  });
});

describe("raft §8 ReadIndex: linearizable reads without writing to the log", () => {
  it("a read on a new leader is not answered before the no-op of its term commits", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    cluster.elect(1);
    const heartbeatsBefore = heartbeatsSent(cluster);
    cluster.node(1).readIndex("r");
    cluster.stabilize();
    expect(cluster.member(1).readStates).toEqual([]);
    expect(heartbeatsSent(cluster)).toBe(heartbeatsBefore); // Not even a confirmation round yet.
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.status(1).commit).toBe(2);
    expect(cluster.member(1).readStates).toEqual([{ requestId: "r", index: 2 }]);
  });

  it.each([
    { reads: 1, heartbeats: 2, rounds: 1 },
    { reads: 10, heartbeats: 4, rounds: 2 },
    { reads: 100, heartbeats: 4, rounds: 2 },
  ])("reads are batched: $reads reads made before any answer share $rounds confirmation round(s), $heartbeats heartbeats", ({ reads, heartbeats }) => {
    // The first read starts a round at once; the others arrive while it is in flight
    // and wait together for the next one.
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    const before = heartbeatsSent(cluster);
    for (let i = 0; i < reads; i++) cluster.node(1).readIndex(`r${i}`);
    cluster.stabilize();
    expect(heartbeatsSent(cluster) - before).toBe(heartbeats);
    expect(cluster.member(1).readStates).toEqual(Array.from({ length: reads }, (_, i) => ({ requestId: `r${i}`, index: 2 })));
  });

  it("a read is answered at the commit index the leader had when the read's round started", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.mustPropose(1, "a");
    cluster.stabilize();
    cluster.hold = (m) => m.type === "HeartbeatResp";
    cluster.node(1).readIndex("r");
    cluster.stabilize();
    cluster.mustPropose(1, "b"); // Commits while the round is in flight: not needed by the read.
    cluster.stabilize();
    expect(cluster.status(1).commit).toBe(4);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.member(1).readStates).toEqual([{ requestId: "r", index: 3 }]);
  });

  it("a follower's read is forwarded to the leader and answered with the leader's index", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.mustPropose(1, "a");
    cluster.stabilize();
    cluster.node(2).readIndex("f");
    cluster.stabilize();
    expect(cluster.sentWhere(isType("ReadIndex"))).toMatchObject([{ from: 2, to: 1, requestIds: ["f"] }]);
    expect(cluster.sentWhere(isType("ReadIndexResp"))).toMatchObject([{ from: 1, to: 2, requestIds: ["f"], index: 3, reject: false }]);
    expect(cluster.member(2).readStates).toEqual([{ requestId: "f", index: 3 }]);
  });

  it("reads fail with an error when the leader loses leadership, local and forwarded alike", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = (m) => m.type === "HeartbeatResp" && m.to === 1;
    cluster.node(1).readIndex("local");
    cluster.node(2).readIndex("forwarded");
    cluster.stabilize();
    expect(cluster.member(1).readStates).toEqual([]);
    expect(cluster.node(1).transferLeadership(3).ok).toBe(true);
    cluster.stabilize();
    expect(cluster.leader()).toBe(3);
    expect(cluster.member(1).readStates).toMatchObject([{ requestId: "local", error: "not-leader" }]);
    expect(cluster.member(2).readStates).toMatchObject([{ requestId: "forwarded", error: "not-leader" }]);
  });

  it("a leader cut off from the others never answers a read with an index: the read fails when it steps down", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(1);
    cluster.node(1).readIndex("r");
    for (let i = 0; i < 2 * 10; i++) {
      cluster.tick(1);
      cluster.flush();
    }
    expect(cluster.status(1).role).toBe("follower");
    expect(cluster.member(1).readStates).toMatchObject([{ requestId: "r", error: "not-leader" }]);
  });

  it("a node that knows no leader refuses a read at once with no-leader", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.node(2).readIndex("r");
    cluster.flush();
    expect(cluster.member(2).readStates).toEqual([{ requestId: "r", error: "no-leader", leader: 0 }]);
  });

  it("a single-voter cluster answers a read in the next Ready, without any message", () => {
    const cluster = new Cluster([1]);
    cluster.elect(1);
    const raft = cluster.node(1);
    raft.readIndex("r");
    const ready = raft.ready();
    expect(ready.readStates).toEqual([{ requestId: "r", index: 2 }]);
    expect([...ready.messages, ...ready.messagesAfterPersist]).toEqual([]);
    persist(cluster.member(1).storage, ready);
    raft.advance(ready);
  });
});
