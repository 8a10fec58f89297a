import { describe, expect, it } from "vitest";
import type { AppendRequest, Message } from "../../src/raft/messages.js";
import { ENTRY_OVERHEAD_BYTES } from "../../src/raft/messages.js";
import { Cluster, isType, to, utf8 } from "./harness.js";

const isApp = isType("App");
const appsTo = (cluster: Cluster, id: number): AppendRequest[] => cluster.queue.filter(isApp).filter(to(id));

describe("raft §5.3 log replication", () => {
  // Figure 7 of the Raft paper: the leader of term 8 and six possible followers. Each
  // log is the list of terms from index 1; index 1 (term 1) is the bootstrap snapshot.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  const ids: Record<string, number> = { a: 2, b: 3, c: 4, d: 5, e: 6, f: 7 };

  function figure7(): Cluster {
    const logs: Record<number, number[]> = { 1: leaderLog.slice(1) };
    for (const [name, log] of Object.entries(followers)) logs[ids[name] as number] = log.slice(1);
    // Everyone has seen term 7 (follower d holds entries of it); the leader wins term 8
    // with the votes of a, b, e and f, whose logs are no more up to date than its own.
    const terms = Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((id) => [id, 7]));
    const cluster = new Cluster([1, 2, 3, 4, 5, 6, 7], { logs, terms });
    cluster.elect(1);
    expect(cluster.status(1).term).toBe(8);
    return cluster;
  }

  it.each(Object.keys(followers))("figure 7, follower (%s): its log converges to the leader's after stabilize, and commits with the next heartbeat", (name) => {
    const cluster = figure7();
    // A follower that caught up after the leader committed learns the commit index from
    // the next heartbeat (appends carry no news for it once it has every entry).
    cluster.tick(1);
    cluster.stabilize();
    const expected = [...leaderLog, 8]; // The leader's log plus the no-op of its term.
    expect(cluster.logTerms(1)).toEqual(expected);
    expect(cluster.logTerms(ids[name] as number)).toEqual(expected);
    expect(cluster.status(ids[name] as number).commit).toBe(expected.length);
  });

  it("figure 7: the leader never overwrites or deletes entries in its own log", () => {
    const cluster = figure7();
    const appended = cluster.member(1).applied.map((e) => [e.index, e.term]);
    expect(appended).toEqual([...leaderLog, 8].map((term, i) => [i + 1, term]).slice(1));
  });

  // Fast back-off: a follower rejects with a hint (its last index whose term is at most
  // the probed term), the leader skips its own entries of that term; so the probing
  // costs one round trip per term in conflict, not one per entry.
  it.each([
    {
      name: "a follower behind by 100 entries",
      leader: [2, 2, ...Array<number>(100).fill(5)],
      follower: [2, 2],
      rejections: 1,
    },
    {
      name: "100 divergent entries of one stale term",
      leader: [2, 2, ...Array<number>(10).fill(5)],
      follower: [2, 2, ...Array<number>(100).fill(3)],
      rejections: 1,
    },
    {
      name: "50 divergent entries (term 4) against two conflicting leader terms (3, 5)",
      leader: [2, 2, ...Array<number>(10).fill(3), ...Array<number>(10).fill(5)],
      follower: [2, 2, ...Array<number>(50).fill(4)],
      rejections: 2,
    },
    {
      name: "40 divergent entries (terms 4, 6) against three conflicting leader terms (3, 5, 7)",
      leader: [2, ...Array<number>(10).fill(3), ...Array<number>(10).fill(5), ...Array<number>(10).fill(7)],
      follower: [2, ...Array<number>(20).fill(4), ...Array<number>(20).fill(6)],
      rejections: 3,
    },
  ])("fast back-off, $name: $rejections rejected round trip(s)", ({ leader, follower, rejections }) => {
    const cluster = new Cluster([1, 2, 3], { logs: { 1: leader, 2: leader, 3: follower } });
    cluster.elect(1);
    const rejected = cluster.sentWhere((m) => m.type === "AppResp" && m.from === 3 && m.reject);
    expect(rejected.length).toBe(rejections);
    const shared = leader.findIndex((term, i) => follower[i] !== term);
    const conflictingTerms = new Set([...leader.slice(shared), ...follower.slice(shared)]).size;
    expect(rejected.length).toBeLessThanOrEqual(conflictingTerms);
    expect(cluster.logTerms(3)).toEqual(cluster.logTerms(1));
  });
});

describe("raft §5.3 replication flow control (etcd's progress states)", () => {
  const payload = (bytes: number): Uint8Array => new Uint8Array(bytes).fill(7);

  it("replicate state pipelines appends: at most inflightMessagesMax are in flight, and each answer frees one slot", () => {
    const cluster = new Cluster([1, 2, 3], { config: { inflightMessagesMax: 3, messageEntriesMax: 1 } });
    cluster.elect(1);
    cluster.hold = isApp;
    for (let i = 0; i < 10; i++) cluster.mustPropose(1, `v${i}`);
    cluster.flush();
    expect(appsTo(cluster, 2).map((m) => m.entries.length)).toEqual([1, 1, 1]);
    expect(cluster.progress(1, 2)).toMatchObject({ state: "replicate", inflight: 3 });
    // Deliver the oldest append only: its answer frees one slot, and one more is sent.
    const [oldest] = appsTo(cluster, 2);
    cluster.deliverWhere((m) => m === oldest);
    cluster.stabilize();
    expect(appsTo(cluster, 2).map((m) => m.entries[0]?.index)).toEqual([4, 5, 6]);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.status(2).commit).toBe(12);
  });

  it.each([
    { inflightBytesMax: 3 * (100 + ENTRY_OVERHEAD_BYTES), inFlight: 3 },
    { inflightBytesMax: 3 * (100 + ENTRY_OVERHEAD_BYTES) + 1, inFlight: 4 },
    { inflightBytesMax: 300, inFlight: 3 },
  ])("replicate state stops sending once the bytes in flight reach inflightBytesMax ($inflightBytesMax: $inFlight appends of 124 bytes)", ({ inflightBytesMax, inFlight }) => {
    // The check is made before each send, so the last append may cross the limit (by
    // less than one message), as in etcd's Inflights.
    const cluster = new Cluster([1, 2, 3], { config: { inflightBytesMax, messageEntriesMax: 1 } });
    cluster.elect(1);
    cluster.hold = isApp;
    for (let i = 0; i < 10; i++) expect(cluster.node(1).propose(payload(100)).ok).toBe(true);
    cluster.flush();
    expect(appsTo(cluster, 2).length).toBe(inFlight);
  });

  it.each([
    { name: "messageEntriesMax 4: 10 entries go as 4, 4, 2", config: { messageEntriesMax: 4 }, sizes: Array<number>(10).fill(10), perMessage: [4, 4, 2] },
    { name: "messageBytesMax 250: 124-byte entries go two by two", config: { messageBytesMax: 250 }, sizes: Array<number>(5).fill(100), perMessage: [2, 2, 1] },
    { name: "messageBytesMax 250: an entry larger than that still goes, alone", config: { messageBytesMax: 250 }, sizes: [1000, 1000, 10], perMessage: [1, 1, 1] },
  ])("one append carries at most messageEntriesMax entries and messageBytesMax bytes, and at least one entry: $name", ({ config, sizes, perMessage }) => {
    const cluster = new Cluster([1, 2, 3], { config });
    cluster.elect(1);
    cluster.hold = isApp;
    for (const size of sizes) expect(cluster.node(1).propose(payload(size)).ok).toBe(true);
    cluster.flush();
    expect(appsTo(cluster, 2).map((m) => m.entries.length)).toEqual(perMessage);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.logTerms(2)).toEqual(cluster.logTerms(1));
  });

  it("probe state sends one append at a time until the follower answers", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.hold = to(3);
    cluster.elect(1);
    expect(cluster.progress(1, 3).state).toBe("probe");
    for (let i = 0; i < 5; i++) cluster.mustPropose(1, `v${i}`);
    cluster.stabilize();
    cluster.tick(1); // A heartbeat, without an answer, does not unpause the probe.
    cluster.stabilize();
    const probes = appsTo(cluster, 3);
    expect(probes.length).toBe(1);
    expect(probes[0]?.entries.map((e) => e.index)).toEqual([2]); // Only the no-op existed then.
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.progress(1, 3)).toMatchObject({ state: "replicate", match: 7 });
    expect(cluster.logTerms(3)).toEqual(cluster.logTerms(1));
  });

  it("a heartbeat answer lets a probing leader try again (a lost probe does not stall the follower)", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.drop = (m: Message) => m.type === "App" && m.to === 3;
    cluster.elect(1);
    cluster.mustPropose(1, "x");
    cluster.stabilize();
    expect(cluster.progress(1, 3)).toMatchObject({ state: "probe", match: 0 });
    cluster.drop = () => false;
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.progress(1, 3)).toMatchObject({ state: "replicate", match: 3 });
    expect(cluster.logTerms(3)).toEqual(cluster.logTerms(1));
  });
});

describe("raft §5.3: a follower accepts entries only after a matching previous entry", () => {
  it("an entry that is already present with the same term is not rewritten (a duplicate append changes nothing)", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = isApp;
    cluster.mustPropose(1, "x");
    cluster.flush();
    const [app] = appsTo(cluster, 2);
    cluster.hold = () => false;
    cluster.stabilize();
    const before = cluster.member(2).storage.lastIndex();
    cluster.deliver(app as Message);
    const ready = cluster.node(2).ready();
    expect(ready.entries).toEqual([]);
    expect(ready.messagesAfterPersist).toMatchObject([{ type: "AppResp", reject: false, index: 3 }]);
    cluster.node(2).advance(ready);
    expect(cluster.member(2).storage.lastIndex()).toBe(before);
    expect(utf8("x")).toEqual(cluster.member(2).storage.entry(3)?.data);
  });
});

describe("replication: a full window of lost appends", () => {
  it("heartbeats free the window: a follower whose in-flight appends were all lost catches up once the cluster is idle", () => {
    // Found by the fault test (seed 634651): a follower killed while the leader pipelined
    // appends to it came back with the leader's window full of appends it never got; with
    // no new proposals, nothing freed the window and it stayed behind forever.
    const cluster = new Cluster([1, 2, 3], { config: { inflightMessagesMax: 2, messageEntriesMax: 1 } });
    cluster.elect(1);
    cluster.drop = (m) => m.type === "App" && m.to === 3;
    for (let i = 0; i < 6; i++) cluster.node(1).propose(utf8(`v${i}`));
    cluster.stabilize();
    expect(cluster.progress(1, 3).match).toBeLessThan(cluster.status(1).lastIndex);
    cluster.drop = () => false;
    // Idle: only heartbeats from here on.
    for (let round = 0; round < 10 && cluster.status(3).commit < cluster.status(1).commit; round++) {
      cluster.tick(1, 1);
      cluster.stabilize();
    }
    expect(cluster.status(3).commit).toBe(cluster.status(1).commit);
    expect(cluster.progress(1, 3).match).toBe(cluster.status(1).lastIndex);
  });
});
