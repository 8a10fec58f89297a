/**
 * The storage contract, run against both MemoryStorage and DiskStorage: whatever the
 * Raft core and the server can observe must be the same for both.
 */
import { crc32c } from "@node-rs/crc32";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EMPTY_HARD_STATE, EMPTY_SNAPSHOT_META, type SnapshotMeta } from "../../src/raft/types.js";
import { InvariantError } from "../../src/assert/invariant.js";
import { MemoryStorage, type RaftStorage } from "../../src/storage/index.js";
import { collect, entryData, hardState, makeEntries, makeEntry, openDisk, SMALL_LIMITS } from "./helpers.js";

interface Harness {
  open(): Promise<RaftStorage>;
  cleanup(): Promise<void>;
}

const harnesses: Record<string, () => Promise<Harness>> = {
  MemoryStorage: async () => ({ open: async () => new MemoryStorage(SMALL_LIMITS), cleanup: async () => undefined }),
  DiskStorage: async () => {
    const dir = await mkdtemp(join(tmpdir(), "kvraft-contract-"));
    return { open: () => openDisk(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
};

function meta(index: number, term: number, sizeBytes: number): SnapshotMeta {
  return { index, term, config: { voters: [1, 2, 3], learners: [] }, sizeBytes };
}

function snapshotBytes(sizeBytes: number, seed: number): Buffer {
  const data = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) data[i] = (i * 13 + seed) & 0xff;
  return data;
}

for (const [name, makeHarness] of Object.entries(harnesses)) {
  describe(`storage contract: ${name}`, () => {
    let harness: Harness;
    let store: RaftStorage;

    beforeEach(async () => {
      harness = await makeHarness();
      store = await harness.open();
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it("starts empty: first index 1, last index 0, empty hard state and snapshot", () => {
      expect(store.firstIndex()).toBe(1);
      expect(store.lastIndex()).toBe(0);
      expect(store.term(0)).toBe(0);
      expect(store.term(1)).toBeUndefined();
      expect(store.hardState()).toEqual(EMPTY_HARD_STATE);
      expect(store.snapshotMeta()).toEqual(EMPTY_SNAPSHOT_META);
    });

    it("appends entries and reads them back with their terms", async () => {
      await store.persist({ hardState: hardState(1, 0), entries: makeEntries(1, 50, 1) });
      expect(store.lastIndex()).toBe(50);
      expect(store.term(50)).toBe(1);
      expect(store.term(51)).toBeUndefined();
      const read = store.entries(1, 51, Number.MAX_SAFE_INTEGER);
      expect(read.map((e) => e.index)).toEqual(makeEntries(1, 50, 1).map((e) => e.index));
      read.forEach((entry) => expect(Buffer.from(entry.data)).toEqual(Buffer.from(entryData(entry.index, 1))));
    });

    it("entries() returns at least one entry, then stops before exceeding bytesMax", async () => {
      await store.persist({ hardState: hardState(1, 0), entries: makeEntries(1, 10, 1, 100) });
      expect(store.entries(1, 11, 0)).toHaveLength(1);
      expect(store.entries(1, 11, 250)).toHaveLength(2);
      expect(store.entries(3, 3, 1000)).toHaveLength(0);
      expect(() => store.entries(0, 5, 1000)).toThrow(InvariantError);
      expect(() => store.entries(1, 12, 1000)).toThrow(InvariantError);
    });

    it("raft §5.3: an entry at or below the last index replaces the log from there", async () => {
      await store.persist({ hardState: hardState(1, 2), entries: makeEntries(1, 5, 1) });
      await store.persist({ hardState: hardState(2, 2), entries: makeEntries(4, 6, 2) });
      expect(store.lastIndex()).toBe(6);
      expect([1, 2, 3, 4, 5, 6].map((i) => store.term(i))).toEqual([1, 1, 1, 2, 2, 2]);
      await store.persist({ hardState: hardState(3, 2), entries: [makeEntry(3, 3)] });
      expect(store.lastIndex()).toBe(3);
      expect(Buffer.from(store.entries(3, 4, 1000)[0]?.data ?? [])).toEqual(Buffer.from(entryData(3, 3)));
    });

    it("clamps the persisted commit index to the persisted last index", async () => {
      await store.persist({ hardState: hardState(1, 10), entries: makeEntries(1, 4, 1) });
      expect(store.hardState().commit).toBe(4);
    });

    it("refuses writes that break Raft's rules, naming the numbers", async () => {
      await store.persist({ hardState: hardState(2, 3, 1), entries: makeEntries(1, 5, 2) });
      await expect(store.persist({ entries: [makeEntry(7, 2)] })).rejects.toThrow(/entry 7 leaves a gap after last index 5/);
      await expect(store.persist({ entries: [makeEntry(3, 2)] })).rejects.toThrow(/conflicts with committed entry \(commit 3\)/);
      await expect(store.persist({ hardState: hardState(1, 3) })).rejects.toThrow(/term went backwards from 2 to 1/);
      await expect(store.persist({ hardState: hardState(2, 3, 2) })).rejects.toThrow(/vote changed from 1 to 2 within term 2/);
      await expect(store.persist({ entries: [makeEntry(6, 3)] })).rejects.toThrow(/above the current term 2/);
      expect(store.lastIndex()).toBe(5);
    });

    it("resolves concurrent persists in order, each visible once resolved", async () => {
      await store.persist({ hardState: hardState(1, 0) });
      const writes = [];
      for (let i = 1; i <= 64; i++) {
        writes.push(store.persist({ entries: [makeEntry(i, 1)], hardState: hardState(1, i) }).then(() => store.lastIndex()));
      }
      const seen = await Promise.all(writes);
      seen.forEach((lastIndex, i) => expect(lastIndex).toBeGreaterThanOrEqual(i + 1));
      expect(store.hardState().commit).toBe(64);
    });

    it("a local snapshot moves the first index and is served in chunks", async () => {
      await store.persist({ hardState: hardState(1, 30), entries: makeEntries(1, 40, 1) });
      const data = snapshotBytes(3000, 7);
      const snap = meta(30, 1, data.length);
      // Its size and checksum are what storage finds in the data (a local snapshot is streamed as it is encoded).
      const saved = await store.saveSnapshot({ index: snap.index, term: snap.term, config: snap.config }, data);
      expect(saved).toEqual({ ...snap, checksum: crc32c(data) });
      expect(store.snapshotMeta()).toEqual(saved);
      // The current one again: nothing to do, nothing read.
      expect(await store.saveSnapshot(snap, data)).toBeUndefined();
      expect(store.firstIndex()).toBe(31);
      expect(store.term(30)).toBe(1);
      expect(store.term(29)).toBeUndefined();
      expect(store.entries(31, 41, 1 << 20)).toHaveLength(10);
      expect(Buffer.from(store.snapshotChunk(snap, 1000, 700) ?? [])).toEqual(data.subarray(1000, 1700));
      expect(Buffer.from(store.snapshotChunk(snap, 2900, 700) ?? [])).toEqual(data.subarray(2900));
      expect(await collect(store.readSnapshotData(snap))).toEqual(data);
      expect(store.snapshotChunk(meta(29, 1, 10), 0, 10)).toBeUndefined();
      await expect(store.saveSnapshot(meta(35, 1, 1), Buffer.alloc(1))).rejects.toThrow(/above the durable commit 30/);
    });

    it("raft §7: a received snapshot keeps the log after it when the log holds its last entry", async () => {
      await store.persist({ hardState: hardState(2, 5), entries: [...makeEntries(1, 5, 1), ...makeEntries(6, 12, 2)] });
      const data = snapshotBytes(1500, 3);
      const incoming = await store.beginIncoming(meta(10, 2, data.length));
      await incoming.writeChunk(0, data.subarray(0, 700));
      await incoming.writeChunk(500, data.subarray(500, 1200)); // a retransmission overlapping 200 bytes
      await incoming.writeChunk(1200, data.subarray(1200));
      await incoming.finish();
      expect(store.snapshotMeta().index).toBe(10);
      expect(store.firstIndex()).toBe(11);
      expect(store.lastIndex()).toBe(12);
      expect(await collect(store.readSnapshotData(store.snapshotMeta()))).toEqual(data);
    });

    it("raft §7: a received snapshot that conflicts with the log discards the whole log", async () => {
      await store.persist({ hardState: hardState(3, 5), entries: makeEntries(1, 12, 1) });
      const data = snapshotBytes(100, 1);
      const incoming = await store.beginIncoming(meta(10, 3, data.length));
      await incoming.writeChunk(0, data);
      await incoming.finish();
      expect(store.lastIndex()).toBe(10);
      expect(store.term(10)).toBe(3);
      expect(store.term(11)).toBeUndefined();
      await store.persist({ hardState: hardState(3, 11), entries: [makeEntry(11, 3)] });
      expect(store.lastIndex()).toBe(11);
    });

    it("a received snapshot beyond the end of the log leaves an empty log after it", async () => {
      await store.persist({ hardState: hardState(2, 3), entries: makeEntries(1, 5, 1) });
      const incoming = await store.beginIncoming(meta(20, 2, 0));
      await incoming.finish();
      expect(store.firstIndex()).toBe(21);
      expect(store.lastIndex()).toBe(20);
      await expect(store.beginIncoming(meta(15, 2, 0))).rejects.toThrow(/not newer than the current snapshot 20/);
    });

    it("refuses a chunk that leaves a gap", async () => {
      const incoming = await store.beginIncoming(meta(5, 1, 100));
      await expect(incoming.writeChunk(10, Buffer.alloc(10))).rejects.toThrow(InvariantError);
      await incoming.abort();
    });
  });
}
