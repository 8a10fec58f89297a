import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import { EntryType } from "../../src/raft/types.js";
import { Cluster, Solo, bootstrapMeta, isType, storageWithLog, testConfig } from "./harness.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";

const ELECTION_TICKS = 10;

/** Leader 1 of {1, 2, 3}, with node 3 restarted non-voting (its disk kept, say a torn tail). */
function nonVotingFollower(): Cluster {
  const cluster = new Cluster([1, 2, 3]);
  cluster.elect(1);
  cluster.mustPropose(1, "before");
  cluster.stabilize();
  cluster.restart(3, { startNonVoting: true });
  expect(cluster.status(3).nonVoting).toBe(true);
  return cluster;
}

describe("non-voting recovery: a node that may have lost acknowledged entries", () => {
  it("neither campaigns, however long it hears from no leader", () => {
    const cluster = nonVotingFollower();
    cluster.isolate(3);
    for (let i = 0; i < 5 * 2 * ELECTION_TICKS; i++) {
      cluster.tick(3);
      cluster.flush();
    }
    expect(cluster.status(3)).toMatchObject({ role: "follower", term: 2 });
    expect(cluster.sentWhere((m) => m.from === 3 && (m.type === "PreVote" || m.type === "Vote"))).toEqual([]);
  });

  it.each(["PreVote", "Vote"] as const)("nor grants a %s, to a candidate whose log is up to date", (kind) => {
    const solo = new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3), { startNonVoting: true });
    const [answer] = solo.answer({ type: kind, from: 1, to: 3, term: 2, lastIndex: 5, lastTerm: 1, transfer: false });
    expect(answer).toMatchObject({ type: `${kind}Resp`, reject: true });
  });

  it("stays non-voting across a restart until it has caught up: the mark is persisted", () => {
    const storage = storageWithLog([1, 2, 3], [2], { term: 2 });
    const solo = new Solo(storage, testConfig(3), { startNonVoting: true });
    solo.raft.tick();
    expect(solo.flush().hardState).toMatchObject({ nonVoting: true });
    expect(new Solo(storage, testConfig(3)).raft.status().nonVoting).toBe(true);
  });

  it("its acknowledgements do not count toward commit", () => {
    const cluster = nonVotingFollower();
    cluster.isolate(2);
    const index = cluster.mustPropose(1, "x");
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.progress(1, 3)).toMatchObject({ nonVoting: true });
    expect(cluster.progress(1, 3).match).toBeGreaterThanOrEqual(index);
    expect(cluster.status(1).commit).toBeLessThan(index);
    cluster.heal();
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.status(1).commit).toBeGreaterThanOrEqual(index);
  });

  it("the leader appends one barrier entry when it first hears the node is non-voting, and the node votes again once it holds the barrier committed", () => {
    const cluster = nonVotingFollower();
    const lastBefore = cluster.status(1).lastIndex;
    cluster.hold = (m) => m.to === 3 && m.type === "App";
    cluster.tick(1); // A heartbeat; node 3's answer says it is non-voting.
    cluster.stabilize();
    const barrier = lastBefore + 1;
    expect(cluster.status(1).lastIndex).toBe(barrier);
    expect(cluster.member(1).storage.entry(barrier)).toMatchObject({ term: 2, type: EntryType.Noop });
    expect(cluster.queue.filter(isType("App")).every((m) => m.votingBarrier === barrier)).toBe(true);
    cluster.tickAll(3);
    expect(cluster.status(1).lastIndex).toBe(barrier); // Only one barrier.
    expect(cluster.status(3).nonVoting).toBe(true);
    cluster.hold = () => false;
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.status(3)).toMatchObject({ nonVoting: false, commit: barrier });
    expect(cluster.member(3).storage.hardState().nonVoting).toBe(false);
    expect(cluster.progress(1, 3).nonVoting).toBe(false);
    cluster.elect(3); // It can win elections again.
  });

  it("regression (wiped follower livelock): a node with a wiped disk catches up from the snapshot and the log, and votes again past the barrier", () => {
    // The leader's match for node 3 (7) predates the wipe. Before the fix, probes never
    // went below match + 1, so node 3 (now empty) rejected the same append forever, one
    // round trip after another, without a tick: stabilize() never returned.
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    for (let i = 0; i < 5; i++) cluster.mustPropose(1, `v${i}`);
    cluster.stabilize();
    expect(cluster.progress(1, 3).match).toBe(7);
    cluster.restart(3, { wipe: true, startNonVoting: true });
    expect(cluster.status(3)).toMatchObject({ lastIndex: 0, voters: [] });
    cluster.tickAll(3);
    expect(cluster.sentWhere((m) => m.type === "AppResp" && m.from === 3 && m.reject).length).toBeLessThanOrEqual(2);
    expect(cluster.status(3)).toMatchObject({ nonVoting: false, voters: [1, 2, 3] });
    expect(cluster.logTerms(3)).toEqual(cluster.logTerms(1));
  });

  it("a stale leader (lower term, cut off from the majority) cannot clear it: its barrier never commits", () => {
    const cluster = new Cluster([1, 2, 3, 4, 5]);
    cluster.elect(1);
    const minority = new Set([1, 5]);
    cluster.drop = (m: Message) => minority.has(m.from) !== minority.has(m.to);
    cluster.crash(5);
    cluster.elect(2); // {2, 3, 4} elect node 2 at term 3; node 1 still believes it leads term 2.
    expect(cluster.status(1)).toMatchObject({ role: "leader", term: 2 });
    cluster.restart(5, { startNonVoting: true });
    for (let i = 0; i < 5; i++) {
      cluster.tick(1);
      cluster.stabilize();
    }
    const staleBarrier = cluster.status(1).lastIndex;
    expect(cluster.node(5).logTerm(staleBarrier)).toBe(2); // Node 5 holds the stale leader's barrier...
    expect(cluster.status(5)).toMatchObject({ nonVoting: true, term: 2 }); // ...but not committed.
    // Healed, the leader of term 3 catches node 5 up past a barrier of its own.
    cluster.drop = () => false;
    cluster.tickAll(3);
    expect(cluster.leader()).toBe(2);
    expect(cluster.status(5)).toMatchObject({ nonVoting: false, term: 3, leader: 2 });
    expect(cluster.logTerms(5)).toEqual(cluster.logTerms(2));
  });
});
