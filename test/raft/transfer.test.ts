import { describe, expect, it } from "vitest";
import { Cluster, isType, to } from "./harness.js";

const ELECTION_TICKS = 10;

describe("thesis §3.10 leadership transfer", () => {
  it("the target gets TimeoutNow only once its log is caught up, then campaigns without pre-vote and wins", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = to(3);
    for (let i = 0; i < 5; i++) cluster.mustPropose(1, `v${i}`);
    cluster.stabilize();
    expect(cluster.node(1).transferLeadership(3)).toMatchObject({ ok: true });
    cluster.stabilize();
    expect(cluster.sentWhere(isType("TimeoutNow"))).toEqual([]);
    const sentBefore = cluster.sent.length;
    cluster.hold = () => false;
    cluster.stabilize();
    const after = cluster.sent.slice(sentBefore);
    const timeoutNow = after.findIndex((m) => m.type === "TimeoutNow");
    const appsToTarget = after.map((m, i) => (m.type === "App" && m.to === 3 && m.entries.length > 0 ? i : -1));
    const lastAppToTarget = Math.max(...appsToTarget);
    expect(timeoutNow).toBeGreaterThan(lastAppToTarget);
    expect(after[timeoutNow]).toMatchObject({ from: 1, to: 3, term: 2 });
    const campaign = after.slice(timeoutNow).filter((m) => m.from === 3 && (m.type === "PreVote" || m.type === "Vote"));
    expect(campaign).toMatchObject([{ type: "Vote", to: 1, term: 3, transfer: true }, { type: "Vote", to: 2, term: 3, transfer: true }]);
    // Node 2 still hears from leader 1 (its lease holds), yet votes: the request is a transfer.
    expect(cluster.sentWhere((m) => m.type === "VoteResp" && m.from === 2 && m.term === 3)).toMatchObject([{ reject: false }]);
    expect(cluster.leader()).toBe(3);
    expect(cluster.status(3).term).toBe(3);
    for (const id of [1, 2]) expect(cluster.status(id)).toMatchObject({ role: "follower", leader: 3 });
  });

  it("proposals are refused during the transfer (transferring), naming the current leader", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = to(3);
    cluster.node(1).transferLeadership(3);
    expect(cluster.propose(1, "x")).toMatchObject({ ok: false, error: { code: "transferring", leader: 1 } });
    expect(cluster.node(1).proposeConfChange({ type: "add-learner", nodeId: 4 })).toMatchObject({ ok: false, error: { code: "transferring" } });
  });

  it("the transfer aborts after an election timeout without the target taking over, and the leader serves again", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    cluster.node(1).transferLeadership(3);
    cluster.tickAll(ELECTION_TICKS - 1);
    expect(cluster.status(1).leadTransferee).toBe(3);
    cluster.tickAll(1);
    expect(cluster.status(1)).toMatchObject({ role: "leader", term: 2, leadTransferee: 0 });
    cluster.mustPropose(1, "x");
  });

  it.each([
    { name: "to itself: nothing to do", from: 1, target: 1, result: { ok: true } },
    { name: "to a non-member: invalid", from: 1, target: 9, result: { ok: false, error: { code: "invalid" } } },
    { name: "asked of a follower: not-leader", from: 2, target: 3, result: { ok: false, error: { code: "not-leader", leader: 1 } } },
  ])("a transfer $name", ({ from, target, result }) => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    expect(cluster.node(from).transferLeadership(target)).toMatchObject(result);
    expect(cluster.status(1).leadTransferee).toBe(0);
  });

  it("a leader that committed its own removal and whose handover fails steps down when the transfer times out", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.drop = isType("TimeoutNow");
    expect(cluster.node(1).proposeConfChange({ type: "remove", nodeId: 1 }).ok).toBe(true);
    cluster.stabilize();
    expect(cluster.status(1)).toMatchObject({ role: "leader", voters: [2, 3] });
    for (let i = 0; i < ELECTION_TICKS && cluster.status(1).role === "leader"; i++) {
      cluster.tick(1);
      cluster.take((m) => m.from === 1); // Unanswered: nothing it sends arrives.
      cluster.flush();
    }
    expect(cluster.status(1)).toMatchObject({ role: "follower", term: 2, leader: 0 });
  });
});
