import { describe, expect, it } from "vitest";
import type { AppendRequest, Message } from "../../src/raft/messages.js";
import type { Entry } from "../../src/raft/types.js";
import { EntryType } from "../../src/raft/types.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import { Cluster, Solo, bootstrapMeta, isType, persist, storageWithLog, testConfig, to, utf8 } from "./harness.js";

const entry = (index: number, term: number, text = `e${index}`): Entry => ({ index, term, type: EntryType.Normal, data: utf8(text) });

function append(fields: Partial<AppendRequest> & Pick<AppendRequest, "prevIndex" | "prevTerm" | "entries" | "commit">): AppendRequest {
  return { type: "App", from: 1, to: 3, term: 2, session: 1, votingBarrier: 0, ...fields };
}

const freshFollower = (): Solo => new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3));

describe("durability: what a node says, it has written first (the Ready contract)", () => {
  it.each([
    { kind: "Vote" as const, term: 2, lastIndex: 1, granted: true },
    { kind: "Vote" as const, term: 2, lastIndex: 0, granted: false },
    { kind: "PreVote" as const, term: 2, lastIndex: 1, granted: true },
  ])("a $kind response (granted $granted) appears only in messagesAfterPersist", ({ kind, term, lastIndex, granted }) => {
    const solo = freshFollower();
    solo.raft.step({ type: kind, from: 1, to: 3, term, lastIndex, lastTerm: lastIndex === 0 ? 0 : 1, transfer: false });
    const ready = solo.flush();
    expect(ready.messages).toEqual([]);
    expect(ready.messagesAfterPersist).toMatchObject([{ type: `${kind}Resp`, reject: !granted }]);
    if (kind === "Vote" && granted) expect(ready.hardState).toMatchObject({ term: 2, vote: 1 });
  });

  it("an append response appears only in messagesAfterPersist, in the Ready that holds the entries it acknowledges", () => {
    const solo = freshFollower();
    solo.raft.step(append({ prevIndex: 1, prevTerm: 1, entries: [entry(2, 2)], commit: 1 }));
    const ready = solo.flush();
    expect(ready.messages).toEqual([]);
    expect(ready.entries).toEqual([entry(2, 2)]);
    expect(ready.messagesAfterPersist).toMatchObject([{ type: "AppResp", reject: false, index: 2 }]);
  });

  it("a leader whose term is durable sends its appends in `messages`, before its own write of the same entries", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    const index = cluster.mustPropose(1, "x");
    const raft = cluster.node(1);
    const ready = raft.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([index]);
    expect(ready.messages.filter(isType("App")).map((m) => [m.to, m.entries.map((e) => e.index)])).toEqual([[2, [index]], [3, [index]]]);
    expect(ready.messagesAfterPersist).toEqual([]);
    persist(cluster.member(1).storage, ready);
    raft.advance(ready);
  });

  it("a leader not yet told that its term is durable (elected between ready and advance) sends nothing before persisting", () => {
    const cluster = new Cluster([1, 2, 3], { config: { preVote: false } });
    const raft = cluster.node(1);
    while (raft.status().role !== "candidate") raft.tick();
    const campaign = raft.ready();
    expect(campaign.hardState).toMatchObject({ term: 2, vote: 1 });
    persist(cluster.member(1).storage, campaign);
    for (const m of campaign.messagesAfterPersist) cluster.deliver(m);
    cluster.processReady(2);
    cluster.processReady(3);
    cluster.deliverWhere(to(1)); // The votes arrive before the node has advanced.
    expect(raft.status().role).toBe("leader");
    raft.tick(); // A heartbeat, made while the term is durable but not known to be.
    raft.advance(campaign);
    const ready = raft.ready();
    expect(ready.messagesAfterPersist.filter(isType("Heartbeat")).map((m) => m.to)).toEqual([2, 3]);
    expect(ready.messages.filter(isType("Heartbeat"))).toEqual([]);
    // The appends are built by this Ready, after advance: the term is known durable now.
    expect(ready.messages.filter(isType("App")).map((m) => m.to)).toEqual([2, 3]);
  });

  it("a single-voter leader does not commit an entry before advance, only once it is durable (etcd issue #14370)", () => {
    const cluster = new Cluster([1]);
    cluster.elect(1);
    const index = cluster.mustPropose(1, "x");
    const raft = cluster.node(1);
    const write = raft.ready();
    expect(write.entries.map((e) => e.index)).toEqual([index]);
    expect(write.hardState?.commit ?? cluster.member(1).storage.hardState().commit).toBeLessThan(index);
    expect(write.committedEntries).toEqual([]);
    expect(raft.status().commit).toBeLessThan(index);
    persist(cluster.member(1).storage, write);
    raft.advance(write);
    expect(raft.status().commit).toBe(index);
    const next = raft.ready();
    expect(next.hardState?.commit).toBe(index);
    expect(next.committedEntries.map((e) => e.index)).toEqual([index]);
    persist(cluster.member(1).storage, next);
    raft.advance(next);
  });

  it("a leader does not count itself before advance: one follower's ack is not a majority of three", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    const index = cluster.mustPropose(1, "x");
    const raft = cluster.node(1);
    const write = raft.ready();
    const toTwo = write.messages.find((m) => m.to === 2) as Message;
    cluster.deliver(toTwo);
    cluster.processReady(2);
    cluster.deliverWhere(to(1));
    expect(cluster.progress(1, 2).match).toBe(index);
    expect(raft.status().commit).toBeLessThan(index);
    persist(cluster.member(1).storage, write);
    raft.advance(write);
    expect(raft.status().commit).toBe(index);
  });

  it("a follower applies a committed entry only once the entry is durable on it", () => {
    const solo = freshFollower();
    solo.raft.step(append({ prevIndex: 1, prevTerm: 1, entries: [entry(2, 2)], commit: 2 }));
    const first = solo.flush();
    expect(first.entries.map((e) => e.index)).toEqual([2]);
    expect(first.hardState?.commit).toBe(2); // Written in the same group commit as the entry.
    expect(first.committedEntries).toEqual([]);
    const second = solo.flush();
    expect(second.committedEntries.map((e) => e.index)).toEqual([2]);
  });
});

describe("durability: a persisted commit index never exceeds what is persisted", () => {
  it.each([
    { name: "an append whose commit is past its last new entry", commit: 9, expected: 2 },
    { name: "an append whose commit is behind it", commit: 1, expected: undefined },
  ])("$name: the follower commits at most its last new entry", ({ commit, expected }) => {
    const solo = freshFollower();
    solo.raft.step(append({ prevIndex: 1, prevTerm: 1, entries: [entry(2, 2)], commit }));
    const ready = solo.flush();
    expect(ready.hardState?.commit).toBe(expected ?? 1);
    expect(solo.storage.hardState().commit).toBeLessThanOrEqual(solo.storage.lastIndex());
  });

  it("a heartbeat of a new leader does not commit entries it has not yet matched (they may differ from the leader's)", () => {
    // Node 3 holds indexes 2, 3 of term 2 from an earlier leader; leader 1 of term 3
    // says it committed up to 3. Until an append shows that node 3's entries match,
    // node 3 must not commit them.
    const solo = new Solo(storageWithLog([1, 2, 3], [2, 2], { term: 2 }), testConfig(3));
    solo.raft.step({ type: "Heartbeat", from: 1, to: 3, term: 3, commit: 3, round: 0 });
    const afterHeartbeat = solo.flush();
    expect(solo.raft.status().commit).toBe(1);
    expect(afterHeartbeat.messagesAfterPersist).toMatchObject([{ type: "HeartbeatResp", behind: true }]);
    solo.raft.step(append({ term: 3, prevIndex: 3, prevTerm: 2, entries: [], commit: 3 }));
    solo.flush();
    expect(solo.raft.status().commit).toBe(3);
    expect(solo.storage.hardState().commit).toBe(3);
  });

  it("restart recovers the term, the vote and the commit that were persisted", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.mustPropose(1, "x");
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    const before = cluster.status(2);
    const after = cluster.restart(2).status();
    expect(after).toMatchObject({ term: before.term, vote: before.vote, commit: before.commit, lastIndex: before.lastIndex, role: "follower" });
  });
});
