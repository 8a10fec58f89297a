import { describe, expect, it } from "vitest";
import type { AppendRequest, AppendResponse, Message, SnapshotChunk } from "../../src/raft/messages.js";
import { EntryType } from "../../src/raft/types.js";
import { Cluster, isType, to, utf8 } from "./harness.js";

/**
 * The edge checks (raft/message-checks.ts): what a peer sends that would break a Raft
 * invariant (and stop the member) is refused with a reason instead of stepped, and what
 * correct members send is never refused.
 */

/** Leader 1 of {1, 2, 3}, settled, with one more entry replicated everywhere. */
function settled(): Cluster {
  const cluster = new Cluster([1, 2, 3]);
  cluster.elect(1);
  cluster.mustPropose(1, "x");
  cluster.stabilize();
  return cluster;
}

/** stabilize(), asking the receiver's edge check of every message before it is delivered. */
function stabilizeChecked(cluster: Cluster, refusals: string[]): void {
  for (let round = 0; round < 10_000; round++) {
    const busy = cluster.flush();
    const queued = cluster.take();
    if (queued.length === 0 && !busy) return;
    for (const m of queued) {
      const receiver = cluster.members.get(m.to)?.raft;
      const refusal = receiver?.refusalOf(m);
      if (refusal !== undefined) refusals.push(`${m.type} ${m.from}->${m.to}: ${refusal}`);
      else cluster.deliver(m);
    }
  }
  throw new Error("stabilizeChecked: still busy");
}

const appResp = (fields: Partial<AppendResponse>): AppendResponse => ({
  type: "AppResp", from: 2, to: 1, term: 2, session: 0, reject: false, index: 0, hintIndex: 0, hintTerm: 0, nonVoting: false, ...fields,
});

describe("edge checks of messages from the network", () => {
  it("never refuse what correct members send: elections, replication, a snapshot, adding and promoting a learner", () => {
    const refusals: string[] = [];
    const cluster = new Cluster([1, 2, 3], { config: { snapshotChunkBytesMax: 100 } });
    cluster.elect(1);
    cluster.isolate(3);
    for (let i = 0; i < 10; i++) cluster.mustPropose(1, `v${i}`);
    stabilizeChecked(cluster, refusals);
    cluster.compact(1, cluster.status(1).commit, 450);
    cluster.heal();
    cluster.tick(1);
    stabilizeChecked(cluster, refusals);
    expect(cluster.status(3).commit).toBe(cluster.status(1).commit);
    cluster.addJoiner(4);
    cluster.node(1).proposeConfChange({ type: "add-learner", nodeId: 4 });
    stabilizeChecked(cluster, refusals);
    cluster.tick(1);
    stabilizeChecked(cluster, refusals);
    expect(cluster.node(1).proposeConfChange({ type: "promote", nodeId: 4 })).toMatchObject({ ok: true });
    stabilizeChecked(cluster, refusals);
    expect(cluster.status(4).voters).toContain(4);
    expect(refusals).toStrictEqual([]);
  });

  it("refuses a sender outside the configuration (a forged TimeoutNow would have moved leadership)", () => {
    const cluster = settled();
    const forged: Message = { type: "TimeoutNow", from: 9, to: 2, term: cluster.status(2).term };
    expect(cluster.node(2).refusalOf(forged)).toContain("member 9 is not in this member's configuration");
    // What stepping it does: node 2 campaigns and, with a log as long as the leader's, wins.
    cluster.deliver(forged);
    cluster.stabilize();
    expect(cluster.leader()).toBe(2);
  });

  it("a follower that hears its leader takes nothing from a non-member; one whose leader went silent takes a leader's messages from it", () => {
    const cluster = settled();
    const term = cluster.status(2).term;
    expect(cluster.node(2).followsNoLiveLeader()).toBe(false);
    expect(cluster.node(2).refusalOf({ type: "Heartbeat", from: 9, to: 2, term, commit: 0, round: 0 })).toContain("not in this member's configuration");
    // Leader 1 goes silent (a member that missed the change adding the new leader sees this).
    cluster.isolate(1);
    for (let i = 0; i < 30 && !cluster.node(2).followsNoLiveLeader(); i++) cluster.node(2).tick();
    expect(cluster.node(2).followsNoLiveLeader()).toBe(true);
    const now = cluster.status(2).term;
    expect(cluster.node(2).refusalOf({ type: "Heartbeat", from: 9, to: 2, term: now, commit: 0, round: 0 })).toBeUndefined();
    expect(cluster.node(2).refusalOf({ type: "TimeoutNow", from: 9, to: 2, term: now })).toContain("not in this member's configuration");
  });

  it("a member that hears no leader answers a candidate outside its configuration (a newer configuration's quorum may need its vote); one that hears its leader does not", () => {
    const cluster = settled();
    const term = cluster.status(2).term;
    const request = (t: number, type: "PreVote" | "Vote"): Message => ({ type, from: 4, to: 2, term: t, lastIndex: 99, lastTerm: t, transfer: false });
    expect(cluster.node(2).refusalOf(request(term + 1, "PreVote"))).toContain("member 4 is not in this member's configuration");
    cluster.isolate(1);
    for (let i = 0; i < 30 && !cluster.node(2).followsNoLiveLeader(); i++) cluster.node(2).tick();
    const now = cluster.status(2).term;
    // Voters {2, 3, 4} with 3 lost: 4 is elected only with 2's vote, while 2 still has {1, 2, 3} (sim seed 7081).
    expect(cluster.node(2).refusalOf(request(now + 1, "PreVote"))).toBeUndefined();
    expect(cluster.node(2).refusalOf(request(now + 1, "Vote"))).toBeUndefined();
  });

  it("a member whose configuration is still empty (joined with no data) takes any sender", () => {
    const cluster = settled();
    cluster.addJoiner(4);
    const heartbeat: Message = { type: "Heartbeat", from: 1, to: 4, term: 2, commit: 0, round: 0 };
    expect(cluster.node(4).refusalOf(heartbeat)).toBeUndefined();
  });

  it("refuses an acknowledgement past the leader's log (a match no log holds)", () => {
    const cluster = settled();
    const { lastIndex, term } = cluster.status(1);
    const bogus = (from: number): AppendResponse => {
      const apps = cluster.sentWhere(isType("App")).filter(to(from));
      return appResp({ from, session: (apps[apps.length - 1] as AppendRequest).session, index: lastIndex + 100, term });
    };
    expect(cluster.node(1).refusalOf(bogus(2))).toContain("past this leader's last index");
    // What stepping it does: the leader believes the follower holds entries that do not exist.
    cluster.deliver(bogus(2));
    expect(cluster.progress(1, 2).match).toBeGreaterThan(cluster.status(1).lastIndex);
  });

  it("refuses appends whose entries leave holes or whose terms go down or pass the message's term", () => {
    const cluster = settled();
    const { lastIndex, term } = cluster.status(2);
    const app = (entries: { index: number; term: number }[]): AppendRequest => ({
      type: "App", from: 1, to: 2, term, prevIndex: lastIndex, prevTerm: term, commit: 0, session: 1, votingBarrier: 0,
      entries: entries.map((e) => ({ ...e, type: EntryType.Normal, data: utf8("x") })),
    });
    expect(cluster.node(2).refusalOf(app([{ index: lastIndex + 1, term }, { index: lastIndex + 2, term }]))).toBeUndefined();
    expect(cluster.node(2).refusalOf(app([{ index: lastIndex + 5, term }]))).toContain("must follow prevIndex");
    expect(cluster.node(2).refusalOf(app([{ index: lastIndex + 1, term: term - 1 }]))).toContain("must not go down");
    expect(cluster.node(2).refusalOf(app([{ index: lastIndex + 1, term: term + 1 }]))).toContain("pass the message's term");
  });

  it("refuses snapshot chunks no leader sends: past the size, a short last chunk, no voters, another snapshot mid-transfer, one at or below commit", () => {
    const cluster = settled();
    const { term, commit } = cluster.status(2);
    const meta = { index: commit + 10, term, config: { voters: [1, 2, 3], learners: [] }, sizeBytes: 8 };
    const chunk = (fields: Partial<SnapshotChunk>): SnapshotChunk => ({
      type: "Snap", from: 1, to: 2, term, transferId: 5, meta, offset: 0, data: new Uint8Array(4), done: false, ...fields,
    });
    const node = cluster.node(2);
    expect(node.refusalOf(chunk({}))).toBeUndefined();
    expect(node.refusalOf(chunk({ data: new Uint8Array(9) }))).toContain("ending at byte 9");
    expect(node.refusalOf(chunk({ done: true }))).toContain("not at the snapshot's size");
    expect(node.refusalOf(chunk({ meta: { ...meta, config: { voters: [], learners: [] } } }))).toContain("no voters");
    cluster.deliver(chunk({}));
    cluster.flush();
    expect(node.refusalOf(chunk({ offset: 4, meta: { ...meta, index: meta.index + 1 }, done: true }))).toContain("which began with");
    expect(node.refusalOf(chunk({ offset: 4, done: true }))).toBeUndefined();
  });
});
