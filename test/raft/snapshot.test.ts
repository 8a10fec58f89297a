import { describe, expect, it } from "vitest";
import type { SnapshotChunk } from "../../src/raft/messages.js";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import { Cluster, Solo, bootstrapMeta, isType, laggingFollower as laggingFollowerOf, storageWithLog, testConfig } from "./harness.js";

const CHUNK_BYTES = 300;

/** harness.ts's laggingFollower, in chunks of CHUNK_BYTES: the snapshot is at index 22 and the leader's log starts after it. */
function laggingFollower(snapshotBytes: number): { cluster: Cluster; data: Uint8Array; index: number } {
  const lagging = laggingFollowerOf(snapshotBytes, CHUNK_BYTES);
  expect(lagging.index).toBe(22);
  expect(lagging.cluster.node(1).logFirstIndex()).toBe(lagging.index + 1);
  return lagging;
}

describe("raft §7 log compaction: InstallSnapshot", () => {
  it("after compaction a lagging follower gets the snapshot in chunks of at most snapshotChunkBytesMax, one at a time", () => {
    const { cluster, data, index } = laggingFollower(1000);
    cluster.tick(1); // A heartbeat: node 3's answer shows it is reachable and behind.
    cluster.stabilize();
    const chunks = cluster.sentWhere(isType("Snap")).filter((m) => m.to === 3);
    expect(chunks.map((m) => [m.offset, m.data.length, m.done])).toEqual([[0, 300, false], [300, 300, false], [600, 300, false], [900, 100, true]]);
    expect(new Set(chunks.map((m) => m.transferId)).size).toBe(1);
    expect(chunks.every((m) => m.meta.index === index && m.meta.sizeBytes === 1000)).toBe(true);
    const storage = cluster.member(3).storage;
    expect(storage.snapshotMeta()).toMatchObject({ index, term: 2, sizeBytes: 1000 });
    expect(storage.snapshotData()).toEqual(data);
    expect(cluster.status(3)).toMatchObject({ commit: index, applied: index, lastIndex: index });
  });

  it("replication resumes after the install: the follower gets the entries that follow the snapshot", () => {
    const { cluster, index } = laggingFollower(1000);
    cluster.tick(1);
    cluster.stabilize();
    const next = cluster.mustPropose(1, "after");
    cluster.stabilize();
    // The probe sent after the install was answered without moving the match (the
    // follower had nothing new), so the leader still counts it as outstanding: the new
    // entry goes after the next heartbeat's answer. (etcd moves such a follower to
    // replicate state at once.)
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.progress(1, 3)).toMatchObject({ state: "replicate", match: next });
    expect(cluster.logTerms(3, index)).toEqual(cluster.logTerms(1, index));
    expect(cluster.member(3).applied.map((e) => e.index).filter((i) => i > index)).toEqual([next]);
  });

  it("a leader whose snapshot is replaced during a transfer starts over with the new one", () => {
    const { cluster } = laggingFollower(1000);
    cluster.hold = isType("Snap");
    cluster.tick(1);
    cluster.stabilize();
    cluster.deliverWhere(isType("Snap")); // The first chunk of the snapshot at 22.
    cluster.stabilize();
    cluster.mustPropose(1, "more");
    cluster.stabilize();
    const newer = cluster.compact(1, 23, 500);
    cluster.hold = () => false;
    cluster.stabilize();
    const chunks = cluster.sentWhere(isType("Snap")).filter((m) => m.to === 3);
    expect(chunks.map((m) => [m.meta.index, m.offset])).toEqual([[22, 0], [22, 300], [23, 0], [23, 300]]);
    expect(cluster.member(3).storage.snapshotMeta().index).toBe(23);
    expect(cluster.member(3).storage.snapshotData()).toEqual(newer);
  });

  it("the snapshot carries the configuration in effect at its index, and a restart recovers it", () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.isolate(3);
    expect(cluster.node(1).proposeConfChange({ type: "add-learner", nodeId: 4 }).ok).toBe(true);
    cluster.stabilize();
    expect(cluster.status(1).learners).toEqual([4]);
    cluster.compact(1, cluster.status(1).commit, 10);
    cluster.heal();
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.member(3).storage.snapshotMeta().config).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(cluster.node(3).configuration()).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(cluster.restart(3).configuration()).toEqual({ voters: [1, 2, 3], learners: [4] });
  });
});

describe("raft §7 InstallSnapshot, the follower's side", () => {
  const meta: SnapshotMeta = { index: 10, term: 2, config: { voters: [1, 2, 3], learners: [] }, sizeBytes: 600 };
  const chunk = (fields: Partial<SnapshotChunk>): SnapshotChunk => ({
    type: "Snap", from: 1, to: 3, term: 2, transferId: 5, meta, offset: 0, data: new Uint8Array(300), done: false, ...fields,
  });

  /** Node 3 with the first chunk (300 of 600 bytes) of transfer 5 from leader 1 (term 2) written. */
  function halfway(): Solo {
    const solo = new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3));
    expect(solo.answer(chunk({}))).toMatchObject([{ type: "SnapResp", transferId: 5, nextOffset: 300, done: false, reject: false }]);
    return solo;
  }

  it.each([
    { name: "the next chunk of the same transfer is written", fields: {}, answer: { reject: false, nextOffset: 600, done: true }, written: true },
    { name: "a chunk of another transfer is refused", fields: { transferId: 6 }, answer: { reject: true, nextOffset: 0 }, written: false },
    { name: "a chunk of the same transfer id from a leader of a later term is refused", fields: { from: 2, term: 3 }, answer: { reject: true }, written: false },
    { name: "a chunk past a gap (one was lost) is not written; the answer asks for the missing offset", fields: { offset: 450, data: new Uint8Array(150) }, answer: { reject: false, nextOffset: 300, done: false }, written: false },
    { name: "a duplicate of the first chunk restarts the transfer from offset 0", fields: { offset: 0, done: false }, answer: { reject: false, nextOffset: 300, done: false }, written: true },
  ])("$name", ({ fields, answer, written }) => {
    const solo = halfway();
    solo.raft.step(chunk({ offset: 300, done: true, ...fields }));
    const ready = solo.flush();
    expect([...ready.messages, ...ready.messagesAfterPersist]).toMatchObject([{ type: "SnapResp", ...answer }]);
    expect(ready.snapshotChunks.length).toBe(written ? 1 : 0);
  });

  it.each([
    { name: "a follower whose log holds the snapshot's last entry keeps the entries after it", snapshotTerm: 2, installs: false, lastIndex: 12 },
    { name: "a follower whose entry at the snapshot's index differs discards its whole log", snapshotTerm: 3, installs: true, lastIndex: 10 },
  ])("$name", ({ snapshotTerm, installs, lastIndex }) => {
    // Indexes 2..12 of term 2; the snapshot covers up to index 10.
    const solo = new Solo(storageWithLog([1, 2, 3], Array<number>(11).fill(2), { term: 3 }), testConfig(3));
    const whole: SnapshotMeta = { ...meta, term: snapshotTerm, sizeBytes: 10 };
    const answer = solo.answer({ ...chunk({ term: 3, meta: whole, data: new Uint8Array(10), done: true }) });
    expect(answer).toMatchObject([{ type: "SnapResp", done: true, nextOffset: 10, reject: false }]);
    expect(solo.storage.snapshotMeta().index).toBe(installs ? 10 : 1);
    expect(solo.raft.status()).toMatchObject({ commit: 10, lastIndex });
    if (!installs) expect(solo.raft.logTerm(12)).toBe(2);
  });
});
