import { crc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import type { Message, SnapshotChunk } from "../../src/raft/messages.js";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import { Solo, bootstrapMeta, isType, laggingFollower, testConfig } from "./harness.js";

const CHUNK_BYTES = 300;


/** The same message with one bit of its snapshot data flipped, as a faulty link could deliver it. */
function flipped(m: SnapshotChunk, at: number): SnapshotChunk {
  const data = Uint8Array.from(m.data);
  data[at] = (data[at] as number) ^ 0x10;
  return { ...m, data };
}

const snapsTo3 = (m: Message): boolean => m.type === "Snap" && m.to === 3;

describe("raft §7 InstallSnapshot: the whole snapshot is checked against its CRC32C before it is installed", () => {
  it.each([
    { name: "a middle chunk", offset: 300 },
    { name: "the last chunk", offset: 900 },
  ])("a snapshot with $name corrupted in transit is refused and never installed; the leader sends it again and that installs", ({ offset }) => {
    const { cluster, data, index } = laggingFollower(1000, CHUNK_BYTES);
    expect(cluster.member(1).storage.snapshotMeta().checksum).toBe(crc32c(data));
    cluster.hold = snapsTo3;
    cluster.tick(1);
    cluster.stabilize();
    let corrupted = 0;
    for (let round = 0; round < 20; round++) {
      // Deliver the chunks one by one, corrupting the first transfer's chunk at `offset`.
      const [held] = cluster.take(snapsTo3) as SnapshotChunk[];
      if (held === undefined) break;
      const m = corrupted === 0 && held.offset === offset ? flipped(held, 7) : held;
      if (m !== held) corrupted++;
      cluster.deliver(m);
      cluster.stabilize();
      if (cluster.member(3).storage.snapshotMeta().index === index) break;
      // Nothing of the corrupted transfer is installed: node 3 keeps its old snapshot.
      expect(cluster.member(3).storage.snapshotMeta().index).toBe(1);
    }
    expect(corrupted).toBe(1);
    const chunks = cluster.sentWhere(isType("Snap")).filter((m) => m.to === 3);
    const transfers = [...new Set(chunks.map((m) => m.transferId))];
    expect(transfers.length).toBe(2); // The rejection started a second transfer, from offset 0.
    expect(chunks.filter((m) => m.transferId === transfers[1]).map((m) => m.offset)).toEqual([0, 300, 600, 900]);
    const answers = cluster.sentWhere(isType("SnapResp")).filter((m) => m.from === 3 && m.transferId === transfers[0]);
    expect(answers.at(-1)).toMatchObject({ reject: true, done: false });
    expect(cluster.member(3).storage.snapshotData()).toEqual(data);
    expect(cluster.member(3).storage.snapshotMeta()).toMatchObject({ index, sizeBytes: 1000, checksum: crc32c(data) });
    cluster.hold = () => false;
    cluster.stabilize();
    expect(cluster.status(3)).toMatchObject({ commit: index, applied: index });
  });

  it("a snapshot chunk that gets no answer is sent again after the next heartbeat's answer", () => {
    const { cluster, index } = laggingFollower(1000, CHUNK_BYTES);
    let dropped = 0;
    cluster.drop = (m) => snapsTo3(m) && dropped++ === 0; // The first chunk is lost.
    cluster.tick(1);
    cluster.stabilize();
    expect(dropped).toBe(1);
    expect(cluster.member(3).storage.snapshotMeta().index).toBe(1);
    cluster.tick(1, cluster.member(1).config.heartbeatTicks);
    cluster.stabilize();
    const offsets = cluster.sentWhere(isType("Snap")).filter((m) => m.to === 3).map((m) => m.offset);
    expect(offsets.slice(0, 2)).toEqual([0, 0]);
    expect(cluster.member(3).storage.snapshotMeta().index).toBe(index);
  });
});

describe("raft §7 InstallSnapshot, the follower's side: the checksum", () => {
  const bytes = new Uint8Array(600).map((_, i) => i & 0xff);
  const meta: SnapshotMeta = { index: 10, term: 2, config: { voters: [1, 2, 3], learners: [] }, sizeBytes: 600, checksum: crc32c(bytes) };
  const chunk = (fields: Partial<SnapshotChunk>): SnapshotChunk => ({
    type: "Snap", from: 1, to: 3, term: 2, transferId: 5, meta, offset: 0, data: bytes.subarray(0, 300), done: false, ...fields,
  });

  it("a last chunk that makes the data disagree with the checksum is not installed: the transfer is dropped, the host told, the leader answered with a rejection", () => {
    const solo = new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3));
    solo.answer(chunk({}));
    const last = Uint8Array.from(bytes.subarray(300));
    last[0] = (last[0] as number) ^ 1;
    solo.raft.step(chunk({ offset: 300, data: last, done: true }));
    const ready = solo.flush();
    expect(ready.snapshot).toBeUndefined();
    expect(ready.snapshotChunks).toMatchObject([{ done: true, refusal: expect.stringContaining("failed its CRC32C") }]);
    expect([...ready.messages, ...ready.messagesAfterPersist]).toMatchObject([{ type: "SnapResp", reject: true, nextOffset: 0 }]);
    expect(solo.storage.snapshotMeta().index).toBe(1);
    expect(solo.raft.status().commit).toBe(1);
    // The same last chunk sent again belongs to no transfer now: refused, so the leader starts over.
    expect(solo.answer(chunk({ offset: 300, data: bytes.subarray(300), done: true }))).toMatchObject([{ type: "SnapResp", reject: true }]);
    // A new transfer of good bytes installs.
    solo.answer(chunk({ transferId: 6 }));
    expect(solo.answer(chunk({ transferId: 6, offset: 300, data: bytes.subarray(300), done: true }))).toMatchObject([{ type: "SnapResp", done: true, reject: false }]);
    expect(solo.storage.snapshotMeta()).toMatchObject({ index: 10, checksum: crc32c(bytes) });
    expect(solo.storage.snapshotData()).toEqual(bytes);
  });

  it("a snapshot without a checksum (a leader of an older build) installs as before", () => {
    const solo = new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3));
    const plain: SnapshotMeta = { index: meta.index, term: meta.term, config: meta.config, sizeBytes: meta.sizeBytes };
    solo.answer(chunk({ meta: plain }));
    expect(solo.answer(chunk({ meta: plain, offset: 300, data: bytes.subarray(300), done: true }))).toMatchObject([{ type: "SnapResp", done: true, reject: false }]);
    expect(solo.storage.snapshotMeta().index).toBe(10);
  });

  it("a chunk that claims another checksum than its transfer's first chunk is refused at the edge", () => {
    const solo = new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3));
    solo.answer(chunk({}));
    expect(solo.raft.refusalOf(chunk({ offset: 300, data: bytes.subarray(300), done: true, meta: { ...meta, checksum: 1 } }))).toMatch(/checksum/);
    expect(solo.raft.refusalOf(chunk({ meta: { ...meta, checksum: 2 ** 32 } }))).toMatch(/not a CRC32C/);
  });
});
