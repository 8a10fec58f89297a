import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../../src/raft/config.js";
import type { AppendRequest, Message } from "../../src/raft/messages.js";
import { Cluster, isType } from "./harness.js";

const isApp = isType("App");
const appFrom1 = (pred: (m: AppendRequest) => boolean) => (m: Message): boolean => isApp(m) && m.from === 1 && pred(m);

/**
 * Raft §5.4.2, figure 8, step by step on five servers S1..S5. Every leader appends the
 * no-op of its term first (§8), so the entry of the figure at index 2 is that no-op;
 * appends carry one entry each so that the network can deliver index 2 without index 3.
 * Returns the cluster at the end of step (c): S1 leads term 4 and its term-2 entry at
 * index 2 is on S1, S2, S3 and S4 (the leader has heard it from S3 and S4), while its
 * own no-op (index 3, term 4) is on S1 alone, its appends held in the queue.
 */
function figure8UpToC(overrides: Partial<RaftConfig> = {}): Cluster {
  const cluster = new Cluster([1, 2, 3, 4, 5], { config: { messageEntriesMax: 1, ...overrides } });
  // (a) S1 leads term 2; its entry at index 2 reaches S2 only.
  cluster.drop = (m) => isApp(m) && m.from === 1 && m.to !== 2;
  cluster.elect(1);
  expect(cluster.logTerms(1)).toEqual([1, 2]);
  expect(cluster.logTerms(2)).toEqual([1, 2]);
  // (b) S1 crashes; S5 wins term 3 with the votes of S3 and S4 and appends index 2 at
  // term 3, which reaches no one before S5 crashes too.
  cluster.crash(1);
  cluster.drop = (m) => isApp(m) && m.from === 5;
  cluster.elect(5);
  expect(cluster.status(5).term).toBe(3);
  expect(cluster.logTerms(5)).toEqual([1, 3]);
  cluster.crash(5);
  // (c) S1 restarts and wins term 4 (S2, S3, S4 vote for it); it appends its no-op at
  // index 3 and probes every follower.
  cluster.drop = () => false;
  cluster.restart(1);
  cluster.hold = appFrom1(() => true);
  cluster.elect(1);
  expect(cluster.status(1).term).toBe(4);
  expect(cluster.logTerms(1)).toEqual([1, 2, 4]);
  // S3 and S4 lack index 2: they reject the probe, and S1 sends them index 2 alone.
  cluster.deliverWhere(appFrom1((m) => m.to === 3 || m.to === 4));
  cluster.stabilize();
  cluster.deliverWhere(appFrom1((m) => (m.to === 3 || m.to === 4) && m.entries[0]?.index === 2));
  cluster.stabilize();
  for (const id of [3, 4]) expect(cluster.progress(1, id).match).toBe(2);
  return cluster;
}

describe("raft §5.4.2 figure 8: committing entries from previous terms", () => {
  it("(c) a leader does not commit an entry of a previous term by counting replicas, even on a majority", () => {
    const cluster = figure8UpToC();
    // Index 2 (term 2) is on S1, S2, S3, S4, and S1 has heard so from a majority (S1, S3, S4).
    for (const id of [1, 2, 3, 4]) expect(cluster.node(id).logTerm(2)).toBe(2);
    expect(cluster.status(1).commit).toBe(1);
  });

  it("(d) which is what makes it safe: S5 can still be elected and overwrite index 2 with its term-3 entry", () => {
    const cluster = figure8UpToC();
    cluster.crash(1);
    cluster.take(); // S1's appends die with it.
    cluster.hold = () => false;
    cluster.restart(5);
    cluster.elect(5);
    expect(cluster.status(5).term).toBe(5);
    for (const id of [2, 3, 4, 5]) {
      expect(cluster.logTerms(id)).toEqual([1, 3, 5]);
      expect(cluster.status(id).commit).toBe(3);
    }
  });

  it("(e) once an entry of its own term is on a majority, the leader commits it and every entry before it", () => {
    const cluster = figure8UpToC();
    cluster.deliverWhere(appFrom1((m) => m.to === 3 && m.entries[0]?.index === 3));
    cluster.stabilize();
    expect(cluster.status(1).commit).toBe(1); // S1 and S3 only: not yet a majority.
    cluster.deliverWhere(appFrom1((m) => m.to === 4 && m.entries[0]?.index === 3));
    cluster.stabilize();
    expect(cluster.status(1).commit).toBe(3);
    expect(cluster.member(1).applied.map((e) => [e.index, e.term])).toEqual([[2, 2], [3, 4]]);
    // Now S5 can never win: a majority holds a longer, newer log than its own.
    cluster.hold = () => false;
    cluster.stabilize();
    cluster.crash(1);
    cluster.restart(5);
    cluster.tickAll(20 * 10);
    expect([...cluster.leaders.entries()].filter(([term, id]) => term > 4 && id === 5)).toEqual([]);
    for (const id of [2, 3, 4]) expect(cluster.node(id).logTerm(2)).toBe(2);
  });

  it("the scenario has teeth: with the planted bug commit-previous-term, two entries are applied at index 2", () => {
    const cluster = figure8UpToC({ testOnlyPlant: "commit-previous-term" });
    expect(cluster.status(1).commit).toBe(2);
    cluster.crash(1);
    cluster.take();
    cluster.hold = () => false;
    cluster.restart(5);
    expect(() => cluster.elect(5)).toThrow(/state machine safety: node \d applies \(index 2, term 3/);
  });
});
