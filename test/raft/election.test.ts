import { describe, expect, it } from "vitest";
import type { Message, VoteRequest, VoteResponse } from "../../src/raft/messages.js";
import { SeededRandom } from "../../src/raft/random.js";
import type { NodeId } from "../../src/raft/types.js";
import { Cluster, Solo, bootstrapMeta, isType, storageWithLog, testConfig } from "./harness.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";

const ELECTION_TICKS = 10;

function voteRequest(kind: "PreVote" | "Vote", from: NodeId, to: NodeId, term: number, lastIndex: number, lastTerm: number, transfer = false): VoteRequest {
  return { type: kind, from, to, term, lastIndex, lastTerm, transfer };
}

function voteAnswer(messages: readonly Message[]): VoteResponse | undefined {
  return messages.find((m): m is VoteResponse => m.type === "PreVoteResp" || m.type === "VoteResp");
}

/** Node 3 of {1, 2, 3}, fresh from bootstrap (term 1, log ending at index 1, term 1). */
function freshFollower(seed = 1): Solo {
  return new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3), {}, seed);
}

describe("raft §5.2 leader election", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "seed %i: a follower campaigns once its randomised election timeout, drawn from the injected random in [electionTicks, 2*electionTicks), passes",
    (seed) => {
      const solo = freshFollower(seed);
      const expected = ELECTION_TICKS + new SeededRandom(seed).int(ELECTION_TICKS);
      let ticks = 0;
      while (solo.raft.status().role === "follower" && ticks < 3 * ELECTION_TICKS) {
        solo.raft.tick();
        ticks++;
      }
      expect(ticks).toBe(expected);
      expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
      expect(ticks).toBeLessThan(2 * ELECTION_TICKS);
      // With pre-vote the first step is a pre-campaign: it asks for term 2 but stays at term 1.
      const ready = solo.flush();
      expect(solo.raft.status()).toMatchObject({ role: "pre-candidate", term: 1 });
      expect(ready.messagesAfterPersist.filter(isType("PreVote")).map((m) => [m.to, m.term])).toEqual([[1, 2], [2, 2]]);
    },
  );

  it("the timeouts differ between seeds, so that candidates rarely split the vote", () => {
    const timeouts = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => new SeededRandom(seed).int(ELECTION_TICKS)));
    expect(timeouts.size).toBeGreaterThan(1);
  });

  it("the node that times out first is elected by a majority, at the next term, and everyone learns it", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(2);
    for (const id of [1, 2, 3]) expect(cluster.status(id)).toMatchObject({ term: 2, leader: 2 });
    expect(cluster.status(2).role).toBe("leader");
  });

  it.each([
    { preVote: true, outcome: "does not disrupt: its term stays and the leader keeps leading" },
    { preVote: false, outcome: "(pre-vote off) raises its term and, on rejoining, deposes the leader" },
  ])("a partitioned node that rejoins, preVote $preVote, $outcome", ({ preVote }) => {
    const cluster = new Cluster([1, 2, 3], { config: { preVote } });
    cluster.elect(1);
    cluster.isolate(3);
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) {
      cluster.tick(3);
      cluster.flush();
    }
    const isolatedTerm = cluster.status(3).term;
    cluster.heal();
    cluster.tickAll(3 * ELECTION_TICKS);
    const leader = cluster.leader() as NodeId;
    for (const id of [1, 2, 3]) expect(cluster.status(id).leader).toBe(leader);
    if (preVote) {
      expect(isolatedTerm).toBe(2);
      expect(cluster.status(1)).toMatchObject({ role: "leader", term: 2 });
    } else {
      // Each timeout without pre-vote is a real election at term + 1.
      expect(isolatedTerm).toBeGreaterThan(2);
      expect(cluster.leaders.get(2)).toBe(1);
      expect(cluster.status(leader).term).toBeGreaterThan(isolatedTerm);
    }
  });
});

describe("raft §5.2: each node grants at most one vote per term", () => {
  it.each([
    {
      name: "a second candidate of the same term is refused",
      requests: [[1, 2, true], [2, 2, false]],
    },
    {
      name: "the same candidate asking again (a retransmission) is granted again",
      requests: [[1, 2, true], [1, 2, true], [2, 2, false]],
    },
    {
      name: "a new term frees the vote",
      requests: [[1, 2, true], [2, 3, true], [1, 3, false]],
    },
  ] as { name: string; requests: [NodeId, number, boolean][] }[])("$name", ({ requests }) => {
    const solo = freshFollower();
    for (const [candidate, term, granted] of requests) {
      const answer = voteAnswer(solo.answer(voteRequest("Vote", candidate, 3, term, 1, 1)));
      expect(answer).toMatchObject({ type: "VoteResp", to: candidate, reject: !granted });
    }
  });

  it("the vote is durable: after a restart the node still refuses a second candidate of that term", () => {
    const storage = new SimStorage(bootstrapMeta([1, 2, 3]));
    const before = new Solo(storage, testConfig(3));
    expect(voteAnswer(before.answer(voteRequest("Vote", 1, 3, 2, 1, 1)))?.reject).toBe(false);
    expect(storage.hardState()).toMatchObject({ term: 2, vote: 1 });
    const after = new Solo(storage, testConfig(3));
    expect(voteAnswer(after.answer(voteRequest("Vote", 2, 3, 2, 1, 1)))?.reject).toBe(true);
  });

  it("a pre-vote binds nothing: granting one does not stop the node voting for another candidate", () => {
    const solo = freshFollower();
    expect(voteAnswer(solo.answer(voteRequest("PreVote", 2, 3, 2, 1, 1)))?.reject).toBe(false);
    expect(solo.raft.status()).toMatchObject({ term: 1, vote: 0 });
    expect(voteAnswer(solo.answer(voteRequest("Vote", 1, 3, 2, 1, 1)))?.reject).toBe(false);
  });
});

describe("raft §5.4.1 election restriction: a vote goes only to a candidate whose log is at least as up to date", () => {
  // The voter's log ends at index 3 with term 2 (entries of terms 2, 2 after the
  // bootstrap entry); its current term is 3 and the candidate asks for term 4.
  const rows: { candidate: [number, number]; granted: boolean; why: string }[] = [
    { candidate: [3, 2], granted: true, why: "same last term, same length" },
    { candidate: [4, 2], granted: true, why: "same last term, longer" },
    { candidate: [2, 2], granted: false, why: "same last term, shorter" },
    { candidate: [2, 3], granted: true, why: "higher last term, even though shorter" },
    { candidate: [9, 1], granted: false, why: "lower last term, even though longer" },
    { candidate: [3, 1], granted: false, why: "lower last term, same length" },
  ];
  const table = (["PreVote", "Vote"] as const).flatMap((kind) => rows.map((row) => ({ kind, ...row })));

  it.each(table)("$kind from a candidate at (last index, last term) $candidate against voter (3, 2): granted $granted ($why)", ({ kind, candidate, granted }) => {
    const solo = new Solo(storageWithLog([1, 2, 3], [2, 2], { term: 3 }), testConfig(3));
    const [lastIndex, lastTerm] = candidate;
    const answer = voteAnswer(solo.answer(voteRequest(kind, 1, 3, 4, lastIndex, lastTerm)));
    expect(answer).toMatchObject({ type: `${kind}Resp`, reject: !granted });
    // A refused Vote still moves the voter to the candidate's term; a pre-vote never does.
    expect(solo.raft.status().term).toBe(kind === "Vote" ? 4 : 3);
  });
});

describe("check-quorum: a leader that cannot hear from a quorum steps down", () => {
  it.each([
    { checkQuorum: true, stepsDown: true },
    { checkQuorum: false, stepsDown: false },
  ])("checkQuorum $checkQuorum: a leader cut off from every follower steps down: $stepsDown", ({ checkQuorum, stepsDown }) => {
    const cluster = new Cluster([1, 2, 3], { config: { checkQuorum } });
    cluster.elect(1);
    cluster.isolate(1);
    let ticks = 0;
    while (cluster.status(1).role === "leader" && ticks < 10 * ELECTION_TICKS) {
      cluster.tick(1);
      cluster.flush();
      ticks++;
    }
    if (!stepsDown) {
      expect(cluster.status(1).role).toBe("leader");
      return;
    }
    // It checks once per election timeout whether it heard from a quorum since the
    // previous check: it passes the first check (it heard the election's answers) and
    // fails the next, one election timeout after the last time it heard from them.
    expect(ticks).toBe(2 * ELECTION_TICKS);
    expect(cluster.status(1)).toMatchObject({ role: "follower", term: 2, leader: 0 });
  });

  it("a leader that hears from a quorum keeps leading through many election timeouts", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    cluster.tickAll(10 * ELECTION_TICKS);
    expect(cluster.status(1)).toMatchObject({ role: "leader", term: 2 });
  });
});

describe("leader lease: a follower that hears from its leader ignores candidates of higher terms", () => {
  /** Node 3 following leader 1 at term 2. */
  function followerOfOne(): Solo {
    const solo = freshFollower();
    solo.answer({ type: "Heartbeat", from: 1, to: 3, term: 2, commit: 1, round: 0 });
    expect(solo.raft.status()).toMatchObject({ term: 2, leader: 1 });
    return solo;
  }

  it.each([
    { kind: "PreVote" as const, transfer: false, answered: false },
    { kind: "Vote" as const, transfer: false, answered: false },
    { kind: "Vote" as const, transfer: true, answered: true },
  ])("a $kind of term 3 within the lease, transfer $transfer: answered $answered", ({ kind, transfer, answered }) => {
    const solo = followerOfOne();
    const answer = voteAnswer(solo.answer(voteRequest(kind, 2, 3, 3, 1, 1, transfer)));
    if (answered) {
      expect(answer).toMatchObject({ type: "VoteResp", reject: false, term: 3 });
      expect(solo.raft.status()).toMatchObject({ term: 3, vote: 2 });
    } else {
      expect(answer).toBeUndefined();
      expect(solo.raft.status()).toMatchObject({ term: 2, leader: 1 });
    }
  });

  it("once an election timeout passes without a word from the leader, a higher-term candidate is heard", () => {
    const solo = followerOfOne();
    for (let i = 0; i < ELECTION_TICKS; i++) solo.raft.tick();
    solo.flush();
    const answer = voteAnswer(solo.answer(voteRequest("Vote", 2, 3, 3, 1, 1)));
    expect(answer).toMatchObject({ type: "VoteResp", reject: false, term: 3 });
  });
});

describe("the connection to the leader lost (it was killed): the lease ends, the campaign comes sooner", () => {
  function followerOfOne(): Solo {
    const solo = freshFollower();
    solo.answer({ type: "Heartbeat", from: 1, to: 3, term: 2, commit: 1, round: 0 });
    return solo;
  }

  it("a candidate is heard at once, and this member campaigns within one election timeout instead of after it", () => {
    const solo = followerOfOne();
    solo.raft.connectionLost(1);
    expect(voteAnswer(solo.answer(voteRequest("Vote", 2, 3, 3, 1, 1)))).toMatchObject({ type: "VoteResp", reject: false, term: 3 });

    const again = followerOfOne();
    again.raft.connectionLost(1);
    let ticks = 0;
    while (again.raft.status().role === "follower" && ticks < 2 * ELECTION_TICKS) {
      again.raft.tick();
      ticks++;
    }
    expect(again.raft.status().role).toBe("pre-candidate");
    expect(ticks).toBeLessThanOrEqual(ELECTION_TICKS);
  });

  it("a lost connection to a member that does not lead changes nothing: the lease holds", () => {
    const solo = followerOfOne();
    solo.raft.connectionLost(2);
    expect(voteAnswer(solo.answer(voteRequest("PreVote", 2, 3, 3, 1, 1)))).toBeUndefined();
    expect(solo.raft.status()).toMatchObject({ term: 2, leader: 1, role: "follower" });
  });
});

describe("thesis §4.2.3: a removed node does not disrupt the cluster", () => {
  /**
   * Node 3 is removed while cut off, so it never learns of its removal; with pre-vote
   * off (node 3 only) its term rises while it is cut off. Returns the cluster healed,
   * and a heartbeat the leader sent to node 3 before the removal, still undelivered.
   */
  function removedNodeWithHigherTerm(): { cluster: Cluster; staleHeartbeat: Message } {
    const cluster = new Cluster([1, 2, 3], { nodeConfig: { 3: { preVote: false } } });
    cluster.elect(1);
    cluster.hold = (m) => m.type === "Heartbeat" && m.to === 3;
    cluster.tick(1);
    cluster.stabilize();
    const [staleHeartbeat] = cluster.take((m) => m.type === "Heartbeat" && m.to === 3);
    cluster.hold = () => false;
    cluster.isolate(3);
    expect(cluster.node(1).proposeConfChange({ type: "remove", nodeId: 3 }).ok).toBe(true);
    cluster.stabilize();
    expect(cluster.status(1)).toMatchObject({ voters: [1, 2], commit: 3 });
    expect(cluster.status(3).voters).toEqual([1, 2, 3]);
    for (let i = 0; i < 3 * 2 * ELECTION_TICKS; i++) {
      cluster.tick(3);
      cluster.flush();
    }
    expect(cluster.status(3).term).toBeGreaterThan(2);
    cluster.heal();
    return { cluster, staleHeartbeat: staleHeartbeat as Message };
  }

  it("its vote requests of a higher term are ignored: the leader and its follower are within their lease", () => {
    const { cluster } = removedNodeWithHigherTerm();
    cluster.tickAll(10 * ELECTION_TICKS);
    expect(cluster.sentWhere((m) => m.type === "Vote" && m.from === 3 && m.term > 2).length).toBeGreaterThan(0);
    expect(cluster.sentWhere((m) => m.type === "VoteResp" && m.to === 3)).toEqual([]);
    expect(cluster.status(1)).toMatchObject({ role: "leader", term: 2 });
    expect(cluster.status(2)).toMatchObject({ leader: 1, term: 2 });
  });

  it("a late append from the old configuration is answered with the higher term: the leader steps down, but node 3 cannot win", () => {
    const { cluster, staleHeartbeat } = removedNodeWithHigherTerm();
    const removedTerm = cluster.status(3).term;
    // What happens: node 3 answers the lower-term heartbeat with its own term (so that
    // a node whose term rose while partitioned can rejoin), and any higher term makes
    // a leader step down, whoever sends it. This costs one election among {1, 2}.
    cluster.deliver(staleHeartbeat);
    cluster.flush();
    const [answer] = cluster.take((m) => m.from === 3 && m.to === 1);
    expect(answer).toMatchObject({ type: "AppResp", reject: true, term: removedTerm });
    cluster.deliver(answer as Message);
    expect(cluster.status(1)).toMatchObject({ role: "follower", term: removedTerm });
    // Node 3 cannot win: its log lacks the committed removal, so 1 and 2 refuse it (§5.4.1).
    cluster.tickAll(20 * ELECTION_TICKS);
    const leader = cluster.leader();
    expect([1, 2]).toContain(leader);
    expect(cluster.status(3).role).not.toBe("leader");
    const grantsTo3 = cluster.sentWhere((m) => m.type === "VoteResp" && m.to === 3 && !m.reject);
    expect(grantsTo3).toEqual([]);
    expect([...cluster.leaders.values()]).not.toContain(3);
  });

  it("with pre-vote on, its term never rises, so nothing it sends can depose the leader", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    expect(cluster.node(1).proposeConfChange({ type: "remove", nodeId: 3 }).ok).toBe(true);
    cluster.stabilize();
    cluster.tickAll(5 * ELECTION_TICKS);
    cluster.heal();
    cluster.tickAll(10 * ELECTION_TICKS);
    expect(cluster.status(3).term).toBe(2);
    expect(cluster.status(1)).toMatchObject({ role: "leader", term: 2, voters: [1, 2] });
  });
});
