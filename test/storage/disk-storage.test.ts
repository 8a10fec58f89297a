/** DiskStorage beyond the shared contract: reopening, memory bounds, compaction, group commit. */
import { crc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { StorageClosedError } from "../../src/storage/index.js";
import { collect, entryData, hardState, makeEntries, openDisk, withTempDir } from "./helpers.js";

function meta(index: number, term: number, sizeBytes: number): SnapshotMeta {
  return { index, term, config: { voters: [1], learners: [] }, sizeBytes };
}

async function* chunksOf(data: Buffer, chunkBytes: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < data.length; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
}

describe("DiskStorage", () => {
  it("reopens with every entry, the hard state and the snapshot, across many segments", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      expect(store.recovery.freshDataDir).toBe(true);
      for (let from = 1; from <= 600; from += 20) {
        await store.persist({ hardState: hardState(1, from + 19, 1), entries: makeEntries(from, from + 19, 1) });
      }
      const data = Buffer.alloc(5000, 9);
      await store.saveSnapshot(meta(300, 1, data.length), chunksOf(data, 777));
      expect(store.status().segmentCount).toBeGreaterThan(1);
      await store.close();

      const reopened = await openDisk(dir);
      try {
        expect(reopened.recovery.freshDataDir).toBe(false);
        expect(reopened.recovery.events).toEqual([]);
        expect(reopened.recovery.madeNonVoting).toBe(false);
        expect(reopened.hardState()).toEqual(hardState(1, 600, 1));
        expect(reopened.snapshotMeta()).toEqual({ ...meta(300, 1, data.length), checksum: crc32c(data) });
        expect(reopened.firstIndex()).toBe(301);
        expect(reopened.lastIndex()).toBe(600);
        const entries = reopened.entries(301, 601, Number.MAX_SAFE_INTEGER);
        expect(entries.map((e) => e.index)).toEqual(makeEntries(301, 600, 1).map((e) => e.index));
        entries.forEach((e) => expect(Buffer.from(e.data)).toEqual(Buffer.from(entryData(e.index, 1))));
        expect(await collect(reopened.readSnapshotData(reopened.snapshotMeta()))).toEqual(data);
      } finally {
        await reopened.close();
      }
    });
  });

  it("keeps at most memoryLogBytesMax of entries in memory and reads older ones from disk", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir, { memoryLogBytesMax: 2048 });
      try {
        await store.persist({ hardState: hardState(1, 0), entries: makeEntries(1, 400, 1) });
        expect(store.status().cachedEntryBytes).toBeLessThanOrEqual(2048);
        const all = store.entries(1, 401, Number.MAX_SAFE_INTEGER);
        expect(all).toHaveLength(400);
        all.forEach((e, i) => {
          expect(e.index).toBe(i + 1);
          expect(Buffer.from(e.data)).toEqual(Buffer.from(entryData(i + 1, 1)));
        });
        expect(store.entries(5, 401, 200).length).toBeLessThan(10);
      } finally {
        await store.close();
      }
    });
  });

  it("compaction removes older snapshots and the segments wholly below the retained entries", async () => {
    await withTempDir(async (dir) => {
      const events: string[] = [];
      const store = await openDisk(dir, { snapshotsRetained: 1, logEntriesRetainedAfterSnapshot: 50, onEvent: (e) => events.push(e.type) });
      for (let from = 1; from <= 1000; from += 50) {
        await store.persist({ hardState: hardState(1, from + 49), entries: makeEntries(from, from + 49, 1) });
      }
      const segmentsBefore = store.status().segmentCount;
      await store.saveSnapshot(meta(400, 1, 10), Buffer.alloc(10, 1));
      await store.saveSnapshot(meta(900, 1, 10), Buffer.alloc(10, 2));
      const files = await readdir(dir);
      expect(files.filter((f) => f.endsWith(".snap"))).toEqual(["snapshot-00000000000000000900.snap"]);
      expect(store.status().segmentCount).toBeLessThan(segmentsBefore);
      expect(events).toContain("segment-removed");
      expect(events).toContain("snapshot-removed");
      await store.close();

      const reopened = await openDisk(dir, { snapshotsRetained: 1, logEntriesRetainedAfterSnapshot: 50 });
      try {
        expect(reopened.recovery.events).toEqual([]);
        expect(reopened.firstIndex()).toBe(901);
        expect(reopened.lastIndex()).toBe(1000);
      } finally {
        await reopened.close();
      }
    });
  });

  it("group commit: 256 concurrent writers share one write and one fsync per batch", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir, { segmentBytesMax: 4 * 1024 * 1024 });
      try {
        await store.persist({ hardState: hardState(1, 0) });
        const before = store.status().flushes;
        const writes = makeEntries(1, 256, 1, 256).map((entry) => store.persist({ entries: [entry] }));
        await Promise.all(writes);
        const flushes = store.status().flushes - before;
        expect(flushes).toBeLessThanOrEqual(4);
        expect(store.lastIndex()).toBe(256);
      } finally {
        await store.close();
      }
    });
  });

  it("refuses every call after close, and releases the data dir", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      await store.close();
      await expect(store.persist({ hardState: hardState(1, 0) })).rejects.toThrow(StorageClosedError);
      await expect(store.saveSnapshot(meta(1, 1, 0), Buffer.alloc(0))).rejects.toThrow(StorageClosedError);
      await (await openDisk(dir)).close();
    });
  });

  it("close stops a local snapshot still being streamed at its next piece, and leaves no file of it", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      await store.persist({ hardState: hardState(1, 40), entries: makeEntries(1, 40, 1) });
      let pulled = 0;
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => { openGate = resolve; });
      let firstPulled: () => void = () => undefined;
      const first = new Promise<void>((resolve) => { firstPulled = resolve; });
      async function* encoding(): AsyncIterable<Uint8Array> {
        for (let piece = 0; piece < 100; piece++) {
          pulled++;
          if (piece === 1) firstPulled();
          if (piece === 1) await gate;
          yield Buffer.alloc(1000, piece);
        }
      }
      const saving = store.saveSnapshot({ index: 30, term: 1, config: { voters: [1], learners: [] } }, encoding());
      const refused = expect(saving).rejects.toThrow(/still being written; it is discarded/);
      await first;
      const closing = store.close();
      openGate();
      await refused;
      await closing;
      // One piece written, the second pulled when close came: the other 98 never encoded.
      expect(pulled).toBe(2);
      expect((await readdir(dir)).filter((f) => f.includes("snap"))).toEqual([]);
      const reopened = await openDisk(dir);
      try {
        expect(reopened.snapshotMeta().index).toBe(0);
        expect(reopened.lastIndex()).toBe(40);
      } finally {
        await reopened.close();
      }
    });
  });

  it("a received snapshot that resets the log survives reopening", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      await store.persist({ hardState: hardState(2, 3), entries: makeEntries(1, 30, 1) });
      const incoming = await store.beginIncoming(meta(20, 2, 1000));
      await incoming.writeChunk(0, Buffer.alloc(1000, 5));
      await incoming.finish();
      await store.persist({ hardState: hardState(2, 21), entries: makeEntries(21, 25, 2) });
      await store.close();

      const reopened = await openDisk(dir);
      try {
        expect(reopened.snapshotMeta().index).toBe(20);
        expect(reopened.lastIndex()).toBe(25);
        expect(reopened.term(25)).toBe(2);
        expect(reopened.hardState().commit).toBe(21);
      } finally {
        await reopened.close();
      }
    });
  });
});
