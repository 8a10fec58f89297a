/**
 * SnapshotAdmission over a real Raft core (issue 15): the last chunk of a snapshot is held
 * until the earlier chunks are handed out by the core, the whole is decoded once, and the
 * last chunk is then stepped plainly (the decoded state is what gets installed) or with a
 * refusal (the core drops the transfer as for a checksum mismatch).
 */
import { crc32c } from "@node-rs/crc32";
import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { KvStateMachine } from "../../src/kv/index.js";
import type { SnapshotChunk } from "../../src/raft/messages.js";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { EntryType } from "../../src/raft/types.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";
import { SnapshotAdmission } from "../../src/server/snapshot-admission.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import { Solo, bootstrapMeta, testConfig } from "../raft/harness.js";

const INDEX = 10;

function stateAt(index: number): { kv: KvStateMachine; bytes: Uint8Array } {
  const kv = new KvStateMachine();
  for (let i = 1; i <= index; i++) kv.applyNoop(i);
  return { kv, bytes: kv.snapshot() };
}

function metaOf(bytes: Uint8Array, checksum = crc32c(bytes)): SnapshotMeta {
  return { index: INDEX, term: 2, config: { voters: [1, 2, 3], learners: [] }, sizeBytes: bytes.length, checksum };
}

function chunk(meta: SnapshotMeta, data: Uint8Array, fields: Partial<SnapshotChunk>): SnapshotChunk {
  return { type: "Snap", from: 1, to: 3, term: 2, transferId: 5, meta, offset: 0, data, done: false, ...fields };
}

async function turns(count = 10): Promise<void> {
  for (let i = 0; i < count; i++) await nextTurn();
}

function setup(): { solo: Solo; admission: SnapshotAdmission; stepped: () => number; flush: () => ReturnType<Solo["flush"]> } {
  const solo = new Solo(new SimStorage(bootstrapMeta([1, 2, 3])), testConfig(3));
  let stepped = 0;
  const admission = new SnapshotAdmission(solo.raft, () => { stepped++; }, () => ({}), (error) => { throw error; }, NODE_SCHEDULER.nextTurn);
  const flush = (): ReturnType<Solo["flush"]> => {
    const ready = solo.flush();
    admission.taken(ready.snapshotChunks);
    return ready;
  };
  return { solo, admission, stepped: () => stepped, flush };
}

describe("a snapshot from the leader is decoded before its last chunk is stepped", () => {
  it("the last chunk waits for the earlier ones to be handed out; a copy of it is dropped; the snapshot is decoded once and that state is installed", async () => {
    const { solo, admission, stepped, flush } = setup();
    const { kv, bytes } = stateAt(INDEX);
    const meta = metaOf(bytes);
    const cut = Math.floor(bytes.length / 2);
    const first = chunk(meta, bytes.subarray(0, cut), {});
    const last = chunk(meta, bytes.subarray(cut), { offset: cut, done: true });
    expect(admission.hold(first)).toBe(false); // Not a last chunk: the caller steps it.
    solo.raft.step(first);
    expect(admission.hold(last)).toBe(true);
    expect(admission.hold(last)).toBe(true); // The leader's resend while it is checked: dropped.
    await turns();
    expect(stepped()).toBe(0); // The first chunk's bytes are not handed out yet.
    flush();
    await turns();
    expect(stepped()).toBe(1);
    expect(admission.decoded()).toBe(1);
    const ready = flush();
    expect(ready.snapshot).toMatchObject({ index: INDEX });
    const installed = admission.take(ready.snapshot!);
    expect(installed?.appliedIndex).toBe(INDEX);
    expect(installed?.digest()).toBe(kv.digest());
    expect(admission.take(ready.snapshot!)).toBeUndefined(); // Handed over once.
    expect(solo.storage.snapshotMeta().index).toBe(INDEX);
  });

  it.each([
    {
      name: "does not decode",
      make: (bytes: Uint8Array) => { const bad = Uint8Array.from(bytes); bad[0] = (bad[0] as number) ^ 0xff; return bad; },
      reason: /does not decode/,
    },
    { name: "holds another index than its meta's", make: () => stateAt(INDEX - 1).bytes, reason: /holds the state at index 9/ },
  ])("a snapshot whose checksum matches but which $name is refused: nothing installed, the leader answered with a rejection", async ({ make, reason }) => {
    const { solo, admission, stepped, flush } = setup();
    const bytes = make(stateAt(INDEX).bytes);
    const meta = metaOf(bytes);
    expect(admission.hold(chunk(meta, bytes, { done: true }))).toBe(true);
    await turns();
    expect(stepped()).toBe(1);
    const ready = flush();
    expect(ready.snapshot).toBeUndefined();
    expect(ready.snapshotChunks).toMatchObject([{ done: true, refusal: expect.stringMatching(reason) }]);
    expect([...ready.messages, ...ready.messagesAfterPersist]).toMatchObject([{ type: "SnapResp", reject: true, nextOffset: 0 }]);
    expect(admission.take(meta)).toBeUndefined();
    expect(solo.storage.snapshotMeta().index).toBe(1);
    expect(solo.raft.status().commit).toBe(1);
  });

  it("bytes that fail the checksum are not decoded: the core refuses them for that", async () => {
    const { admission, stepped, flush } = setup();
    const { bytes } = stateAt(INDEX);
    expect(admission.hold(chunk(metaOf(bytes, (crc32c(bytes) ^ 1) >>> 0), bytes, { done: true }))).toBe(true);
    await turns();
    expect(stepped()).toBe(1);
    expect(admission.decoded()).toBe(0);
    expect(flush().snapshotChunks).toMatchObject([{ refusal: expect.stringContaining("failed its CRC32C") }]);
  });

  it("a held last chunk whose transfer a newer one replaced is dropped, not decoded", async () => {
    const { solo, admission, stepped, flush } = setup();
    const { bytes } = stateAt(INDEX);
    const meta = metaOf(bytes);
    solo.raft.step(chunk(meta, bytes.subarray(0, 4), {}));
    expect(admission.hold(chunk(meta, bytes.subarray(4), { offset: 4, done: true }))).toBe(true);
    solo.raft.step(chunk(meta, bytes.subarray(0, 4), { transferId: 6 })); // The leader started over.
    flush();
    await turns();
    expect(stepped()).toBe(0);
    expect(admission.decoded()).toBe(0);
  });

  it("a held last chunk that the edge checks refuse by the time it is checked (the commit index passed the snapshot's) is dropped: the core is never stepped into breaking an invariant", async () => {
    const { solo, admission, stepped, flush } = setup();
    const { bytes } = stateAt(INDEX);
    const meta = metaOf(bytes);
    solo.raft.step(chunk(meta, bytes.subarray(0, 4), {}));
    const last = chunk(meta, bytes.subarray(4), { offset: 4, done: true });
    expect(admission.hold(last)).toBe(true);
    // Meanwhile the leader's appends take this member past the snapshot's index.
    const entries = Array.from({ length: INDEX + 1 }, (_, i) => ({ term: 1, index: i + 2, type: EntryType.Normal, data: new Uint8Array(0) }));
    solo.raft.step({ type: "App", from: 1, to: 3, term: 2, session: 1, votingBarrier: 0, prevIndex: 1, prevTerm: 1, entries, commit: INDEX + 2 });
    flush();
    expect(solo.raft.status().commit).toBeGreaterThan(INDEX);
    await turns();
    expect(admission.decoded()).toBe(1);
    expect(stepped()).toBe(0);
    expect(solo.raft.refusalOf(last)).toMatch(/would lose committed entries/);
  });

  it("a chunk that installs nothing (the log holds the snapshot's index already) is not held", () => {
    const { admission } = setup();
    const { bytes } = stateAt(1);
    expect(admission.hold(chunk({ ...metaOf(bytes), index: 1, term: 1 }, bytes, { done: true }))).toBe(false);
  });
});
