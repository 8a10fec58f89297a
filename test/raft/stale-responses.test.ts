import { describe, expect, it } from "vitest";
import type { AppendResponse, Message } from "../../src/raft/messages.js";
import { Cluster, isType, to } from "./harness.js";

/** Leader 1 of {1, 2, 3}, settled, with one more entry replicated everywhere. */
function settled(): Cluster {
  const cluster = new Cluster([1, 2, 3]);
  cluster.elect(1);
  cluster.mustPropose(1, "x");
  cluster.stabilize();
  return cluster;
}

/** The session of the leader's newest append to `id` (what a current answer would echo). */
function currentSession(cluster: Cluster, id: number): number {
  const apps = cluster.sentWhere(isType("App")).filter(to(id));
  return (apps[apps.length - 1] as { session: number }).session;
}

const appResp = (fields: Partial<AppendResponse>): AppendResponse => ({
  type: "AppResp", from: 2, to: 1, term: 2, session: 0, reject: false, index: 0, hintIndex: 0, hintTerm: 0, nonVoting: false, ...fields,
});

describe("stale responses: an answer to an earlier round of replication never moves progress", () => {
  it("an append answer from before a member was removed and added back does not count for the new member", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.addJoiner(4);
    cluster.elect(1);
    cluster.node(1).proposeConfChange({ type: "add-learner", nodeId: 4 });
    cluster.stabilize();
    for (let i = 0; i < 5; i++) cluster.mustPropose(1, `v${i}`);
    cluster.hold = (m) => m.type === "AppResp" && m.from === 4;
    cluster.stabilize();
    const stale = cluster.take((m) => m.type === "AppResp" && m.from === 4);
    const staleMatch = Math.max(...stale.map((m) => (m as AppendResponse).index));
    expect(staleMatch).toBe(cluster.status(1).lastIndex);
    cluster.hold = () => false;
    // Node 4 is removed, loses its disk, and is added back: it has nothing now.
    cluster.node(1).proposeConfChange({ type: "remove", nodeId: 4 });
    cluster.stabilize();
    cluster.restart(4, { wipe: true });
    cluster.hold = to(4);
    cluster.node(1).proposeConfChange({ type: "add-learner", nodeId: 4 });
    cluster.stabilize();
    expect(cluster.progress(1, 4).match).toBe(0);
    for (const m of stale) cluster.deliver(m as Message);
    cluster.flush();
    expect(cluster.progress(1, 4).match).toBe(0);
    // Had it counted, the leader would promote a learner that holds nothing.
    expect(cluster.node(1).proposeConfChange({ type: "promote", nodeId: 4 })).toMatchObject({ ok: false, error: { code: "learner-behind" } });
  });

  it.each([
    { name: "a success of an unknown session", fields: { session: 999_999, index: 3 } },
    { name: "a rejection of an unknown session", fields: { session: 999_999, reject: true, index: 3, hintIndex: 0 } },
  ])("$name changes nothing", ({ fields }) => {
    const cluster = settled();
    const before = cluster.progress(1, 2);
    cluster.deliver(appResp({ ...fields }));
    cluster.flush();
    expect(cluster.progress(1, 2)).toEqual(before);
    expect(cluster.queue.filter(isType("App"))).toEqual([]);
  });

  it("in replicate state, a rejection at or below the match is a late answer to an old append and is ignored", () => {
    const cluster = settled();
    const before = cluster.progress(1, 2);
    expect(before).toMatchObject({ state: "replicate", match: 3 });
    cluster.deliver(appResp({ session: currentSession(cluster, 2), reject: true, index: 2, hintIndex: 1, hintTerm: 1 }));
    cluster.flush();
    expect(cluster.progress(1, 2)).toEqual(before);
  });

  it("a heartbeat answer of an earlier read round does not confirm a later read", () => {
    const cluster = settled();
    cluster.node(1).readIndex("first");
    cluster.stabilize();
    const oldAnswers = cluster.sentWhere(isType("HeartbeatResp")).filter((m) => m.round === 1);
    expect(oldAnswers.length).toBe(2);
    cluster.hold = isType("HeartbeatResp");
    cluster.node(1).readIndex("second");
    cluster.stabilize();
    for (const m of oldAnswers) cluster.deliver(m);
    cluster.flush();
    expect(cluster.member(1).readStates.map((s) => s.requestId)).toEqual(["first"]);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.member(1).readStates.map((s) => s.requestId)).toEqual(["first", "second"]);
  });

  it("a snapshot answer of another transfer is ignored", () => {
    const cluster = new Cluster([1, 2, 3], { config: { snapshotChunkBytesMax: 100 } });
    cluster.elect(1);
    cluster.isolate(3);
    for (let i = 0; i < 3; i++) cluster.mustPropose(1, `v${i}`);
    cluster.stabilize();
    cluster.compact(1, 5, 300);
    cluster.heal();
    cluster.hold = isType("SnapResp");
    cluster.tick(1);
    cluster.stabilize();
    const [answer] = cluster.take(isType("SnapResp"));
    expect(answer).toMatchObject({ nextOffset: 100, done: false });
    cluster.deliver({ ...(answer as Message & { transferId: number }), transferId: 12345, nextOffset: 300, done: true } as Message);
    cluster.flush();
    expect(cluster.progress(1, 3)).toMatchObject({ state: "snapshot", match: 2 });
    cluster.deliver(answer as Message);
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.progress(1, 3)).toMatchObject({ state: "replicate", match: 5 });
  });
});
