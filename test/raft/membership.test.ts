import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../../src/raft/config.js";
import type { ProposalResult } from "../../src/raft/ready.js";
import type { ConfChange } from "../../src/raft/types.js";
import { Cluster, isType, to } from "./harness.js";

const ELECTION_TICKS = 10;

function change(cluster: Cluster, leader: number, conf: ConfChange): ProposalResult {
  return cluster.node(leader).proposeConfChange(conf);
}

/** Leader 1 of {1, 2, 3} with node 4 (which joined with an empty disk) added as a learner. */
function withLearner(config: Partial<RaftConfig> = {}): Cluster {
  const cluster = new Cluster([1, 2, 3], { config });
  cluster.addJoiner(4);
  cluster.elect(1);
  expect(change(cluster, 1, { type: "add-learner", nodeId: 4 }).ok).toBe(true);
  cluster.stabilize();
  cluster.tick(1);
  cluster.stabilize();
  return cluster;
}

describe("thesis §4.1 membership changes, one server at a time", () => {
  it("a learner that joins with an empty disk gets the bootstrap snapshot, then every entry", () => {
    const cluster = withLearner();
    expect(cluster.member(4).storage.snapshotMeta().index).toBe(1);
    expect(cluster.logTerms(4)).toEqual(cluster.logTerms(1));
    for (const id of [1, 2, 3, 4]) expect(cluster.node(id).configuration()).toEqual({ voters: [1, 2, 3], learners: [4] });
  });

  it("a learner never campaigns, and candidates do not ask it for a vote", () => {
    const cluster = withLearner();
    cluster.isolate(1);
    cluster.tickAll(5 * ELECTION_TICKS);
    expect(cluster.status(4).role).toBe("follower");
    expect(cluster.sentWhere((m) => (m.type === "PreVote" || m.type === "Vote") && (m.from === 4 || m.to === 4))).toEqual([]);
    expect([2, 3]).toContain(cluster.leader());
  });

  it("a learner's acknowledgement does not count toward commit", () => {
    const cluster = withLearner();
    cluster.isolate(2, 3);
    const index = cluster.mustPropose(1, "x");
    cluster.stabilize();
    expect(cluster.progress(1, 4).match).toBe(index);
    expect(cluster.status(1).commit).toBeLessThan(index);
    cluster.heal();
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.status(1).commit).toBe(index);
  });

  it("promotion is refused while the learner's match is below the leader's commit index, and accepted once it catches up", () => {
    const cluster = withLearner();
    cluster.hold = to(4);
    for (let i = 0; i < 10; i++) cluster.mustPropose(1, `v${i}`);
    cluster.stabilize();
    const refused = change(cluster, 1, { type: "promote", nodeId: 4 });
    expect(refused).toMatchObject({ ok: false, error: { code: "learner-behind" } });
    expect(refused.ok ? "" : refused.error.message).toMatch(/learner 4 has not caught up: it holds up to index \d+, the leader's commit index is \d+/);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(change(cluster, 1, { type: "promote", nodeId: 4 }).ok).toBe(true);
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    for (const id of [1, 2, 3, 4]) expect(cluster.node(id).configuration()).toEqual({ voters: [1, 2, 3, 4], learners: [] });
  });

  it("issue 16: a learner that never acknowledged the leader (no server runs) is not promoted, even on a young log", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    expect(change(cluster, 1, { type: "add-learner", nodeId: 9 }).ok).toBe(true);
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    const refused = change(cluster, 1, { type: "promote", nodeId: 9 });
    expect(refused).toMatchObject({ ok: false, error: { code: "learner-behind" } });
    expect(refused.ok ? "" : refused.error.message).toMatch(/learner 9 has never acknowledged the leader: it is not running or cannot be reached; start it, then promote/);
    expect(cluster.node(1).configuration()).toEqual({ voters: [1, 2, 3], learners: [9] });
  });

  it("a caught-up learner that stopped answering for an election timeout is not promoted", () => {
    const cluster = withLearner();
    cluster.isolate(4);
    for (let i = 0; i < ELECTION_TICKS; i++) {
      cluster.tick(1);
      cluster.stabilize();
    }
    expect(cluster.status(1).role).toBe("leader");
    const refused = change(cluster, 1, { type: "promote", nodeId: 4 });
    expect(refused.ok ? "" : refused.error.message).toMatch(/learner 4 has not answered the leader within an election timeout/);
  });

  it("a second change is refused while one is uncommitted (conf-change-pending), and accepted once it commits", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    expect(change(cluster, 1, { type: "add-learner", nodeId: 4 }).ok).toBe(true);
    cluster.stabilize();
    expect(change(cluster, 1, { type: "add-learner", nodeId: 5 })).toMatchObject({ ok: false, error: { code: "conf-change-pending", leader: 1 } });
    cluster.hold = () => false;
    cluster.stabilize();
    expect(change(cluster, 1, { type: "add-learner", nodeId: 5 }).ok).toBe(true);
  });

  it("no change is accepted before the leader has committed an entry of its term (not-ready)", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    cluster.elect(1);
    expect(change(cluster, 1, { type: "add-learner", nodeId: 4 })).toMatchObject({ ok: false, error: { code: "not-ready" } });
    cluster.hold = () => false;
    cluster.stabilize();
    expect(change(cluster, 1, { type: "add-learner", nodeId: 4 }).ok).toBe(true);
  });

  it.each([
    { conf: { type: "add-learner", nodeId: 2 }, why: /member 2 is already a voter/ },
    { conf: { type: "promote", nodeId: 9 }, why: /member 9 is not a learner/ },
    { conf: { type: "remove", nodeId: 9 }, why: /member 9 is not in the configuration/ },
    { conf: { type: "add-learner", nodeId: 0 }, why: /member id must be a positive integer/ },
  ] as { conf: ConfChange; why: RegExp }[])("an invalid change is refused with a reason: $conf.type $conf.nodeId", ({ conf, why }) => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    const result = change(cluster, 1, conf);
    expect(result).toMatchObject({ ok: false, error: { code: "invalid" } });
    expect(result.ok ? "" : result.error.message).toMatch(why);
  });

  it("the last voter cannot be removed", () => {
    const cluster = new Cluster([1]);
    cluster.elect(1);
    expect(change(cluster, 1, { type: "remove", nodeId: 1 })).toMatchObject({ ok: false, error: { code: "invalid" } });
  });
});

describe("thesis §4.1 (as etcd does it): a configuration takes effect when its entry commits", () => {
  it("an appended change is not in effect anywhere until it commits, then it is everywhere", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    expect(change(cluster, 1, { type: "add-learner", nodeId: 4 }).ok).toBe(true);
    cluster.stabilize();
    for (const id of [1, 2, 3]) {
      expect(cluster.node(id).configuration().learners).toEqual([]);
      expect(cluster.node(id).pendingConfChangeCount()).toBe(1);
    }
    cluster.hold = () => false;
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    for (const id of [1, 2, 3]) {
      expect(cluster.node(id).configuration().learners).toEqual([4]);
      expect(cluster.node(id).pendingConfChangeCount()).toBe(0);
    }
  });

  it("edge case: an uncommitted change entry that a new leader truncates never took effect, and blocks nothing", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.hold = (m) => m.type === "App" && m.from === 1;
    expect(change(cluster, 1, { type: "remove", nodeId: 3 }).ok).toBe(true);
    cluster.stabilize();
    cluster.take(); // The change never leaves node 1.
    cluster.hold = () => false;
    expect(cluster.node(1).pendingConfChangeCount()).toBe(1);
    cluster.isolate(1);
    cluster.elect(2);
    cluster.heal();
    cluster.tickAll(3);
    expect(cluster.node(1).logTerm(3)).toBe(3); // Node 2's no-op replaced the change.
    for (const id of [1, 2, 3]) {
      expect(cluster.node(id).configuration().voters).toEqual([1, 2, 3]);
      expect(cluster.node(id).pendingConfChangeCount()).toBe(0);
    }
    expect(change(cluster, 2, { type: "add-learner", nodeId: 4 }).ok).toBe(true);
  });

  it("a restart re-derives the configuration from the snapshot and the committed entries only", () => {
    const cluster = withLearner();
    // A second change, durable on node 2 but not committed there.
    cluster.hold = (m) => m.type === "AppResp" && m.to === 1;
    expect(change(cluster, 1, { type: "promote", nodeId: 4 }).ok).toBe(true);
    cluster.stabilize();
    const restarted = cluster.restart(2);
    expect(restarted.configuration()).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(restarted.pendingConfChangeCount()).toBe(1);
    // Once it learns the commit, the promotion takes effect there too.
    cluster.hold = () => false;
    cluster.stabilize();
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.node(2).configuration()).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    // After compaction the configuration comes from the snapshot.
    cluster.compact(2, cluster.member(2).appliedIndex, 0);
    expect(cluster.member(2).storage.firstIndex()).toBe(cluster.member(2).appliedIndex + 1);
    expect(cluster.restart(2).configuration()).toEqual({ voters: [1, 2, 3, 4], learners: [] });
  });
});

describe("thesis §4.2.2: removing the leader", () => {
  it("a leader that commits its own removal hands leadership to a voter of the new configuration and steps down", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.mustPropose(1, "x");
    cluster.stabilize();
    cluster.hold = isType("TimeoutNow");
    expect(change(cluster, 1, { type: "remove", nodeId: 1 }).ok).toBe(true);
    cluster.stabilize();
    const [handover] = cluster.sentWhere(isType("TimeoutNow"));
    expect(handover).toMatchObject({ from: 1 });
    expect([2, 3]).toContain(handover?.to);
    const successor = handover?.to as number;
    // Until the successor takes over, the old leader refuses proposals: leadership is moving.
    expect(cluster.status(1)).toMatchObject({ role: "leader", voters: [2, 3], leadTransferee: successor });
    expect(cluster.propose(1, "y")).toMatchObject({ ok: false, error: { code: "transferring" } });
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.status(successor)).toMatchObject({ role: "leader", term: 3, voters: [2, 3] });
    // The new configuration does not include node 1, so nobody writes to it: its next
    // heartbeat is answered with term 3 and it steps down (or, unanswered, the transfer
    // times out and it steps down then, as a non-voter).
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.status(1)).toMatchObject({ role: "follower", term: 3 });
    cluster.tickAll(ELECTION_TICKS);
    expect(cluster.leader()).toBe(successor);
    cluster.mustPropose(successor, "after");
    cluster.stabilize();
    expect(cluster.status(successor).commit).toBe(cluster.status(successor).lastIndex);
  });
});
