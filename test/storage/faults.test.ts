/**
 * Operating errors on the write path: a full disk (refuse, keep what is there, resume),
 * a failed fsync (fatal: "fsyncgate"), an overloaded write queue.
 */
import { describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { DiskFullError, FsyncFailedError, type StorageEvent, StorageOverloadedError } from "../../src/storage/index.js";
import { errnoError, faultyIo } from "./faulty-io.js";
import { entryData, hardState, makeEntries, openDisk, withTempDir } from "./helpers.js";

function meta(index: number, term: number, sizeBytes: number): SnapshotMeta {
  return { index, term, config: { voters: [1], learners: [] }, sizeBytes };
}

describe("disk full (ENOSPC)", () => {
  it("refuses the write, keeps what is on disk, and resumes once space is back", async () => {
    await withTempDir(async (dir) => {
      const disk = { full: false };
      const events: StorageEvent["type"][] = [];
      const io = faultyIo({
        write: (path, bytes) => (disk.full && path.endsWith(".seg") ? { error: errnoError("ENOSPC"), partialBytes: Math.floor(bytes.length / 2) } : undefined),
      });
      const store = await openDisk(dir, { io, onEvent: (e) => events.push(e.type) });
      await store.persist({ hardState: hardState(1, 10), entries: makeEntries(1, 10, 1) });

      disk.full = true;
      const first = store.persist({ hardState: hardState(1, 20), entries: makeEntries(11, 20, 1, 200) });
      const queuedBehind = store.persist({ entries: makeEntries(21, 22, 1) });
      await expect(first).rejects.toThrow(DiskFullError);
      await expect(queuedBehind).rejects.toThrow(DiskFullError);
      expect(store.status().diskFull).toBe(true);
      expect(events).toEqual(["disk-full"]);
      expect(store.lastIndex()).toBe(10);
      await expect(store.persist({ entries: makeEntries(11, 12, 1) })).rejects.toThrow(DiskFullError);

      disk.full = false;
      // Shorter than the failed write: what that write left behind must be zeroed, not read back.
      await store.persist({ hardState: hardState(1, 12), entries: makeEntries(11, 12, 1) });
      expect(store.status().diskFull).toBe(false);
      expect(events).toEqual(["disk-full", "disk-space-recovered"]);
      await store.close();

      const reopened = await openDisk(dir);
      try {
        expect(reopened.recovery.events).toEqual([]);
        expect(reopened.lastIndex()).toBe(12);
        expect(reopened.hardState().commit).toBe(12);
        for (const entry of reopened.entries(1, 13, Number.MAX_SAFE_INTEGER)) {
          expect(Buffer.from(entry.data)).toEqual(Buffer.from(entryData(entry.index, 1)));
        }
      } finally {
        await reopened.close();
      }
    });
  });

  it("a full disk across a segment rotation leaves a WAL that recovers cleanly", async () => {
    await withTempDir(async (dir) => {
      const disk = { full: false };
      const io = faultyIo({
        write: (path, bytes) => (disk.full && path.endsWith(".seg") && bytes.length > 1 ? { error: errnoError("ENOSPC"), partialBytes: 100 } : undefined),
      });
      const store = await openDisk(dir, { io, segmentBytesMax: 8192, segmentPreallocate: false });
      let next = 1;
      while (store.status().segmentCount < 2 || next < 60) {
        await store.persist({ hardState: hardState(1, next), entries: makeEntries(next, next, 1, 300) });
        next++;
        if (next > 200) throw new Error("never rotated");
      }
      disk.full = true;
      await expect(store.persist({ entries: makeEntries(next, next + 30, 1, 300) })).rejects.toThrow(DiskFullError);
      disk.full = false;
      await store.persist({ entries: makeEntries(next, next, 1) });
      await store.close();
      const reopened = await openDisk(dir, { segmentBytesMax: 8192 });
      expect(reopened.recovery.events).toEqual([]);
      expect(reopened.lastIndex()).toBe(next);
      await reopened.close();
    });
  });

  it("a snapshot that does not fit leaves no file behind and the current snapshot in place", async () => {
    await withTempDir(async (dir) => {
      const disk = { full: false };
      const io = faultyIo({ write: (path) => (disk.full && path.includes(".snap") ? { error: errnoError("ENOSPC") } : undefined) });
      const store = await openDisk(dir, { io });
      try {
        await store.persist({ hardState: hardState(1, 50), entries: makeEntries(1, 50, 1) });
        await store.saveSnapshot(meta(10, 1, 100), Buffer.alloc(100, 1));
        disk.full = true;
        await expect(store.saveSnapshot(meta(40, 1, 5000), Buffer.alloc(5000, 2))).rejects.toThrow(DiskFullError);
        expect(store.snapshotMeta().index).toBe(10);
        expect((await readdir(dir)).filter((name) => name.includes(".snap"))).toEqual(["snapshot-00000000000000000010.snap"]);
        disk.full = false;
        await store.saveSnapshot(meta(40, 1, 5000), Buffer.alloc(5000, 2));
        expect(store.snapshotMeta().index).toBe(40);
      } finally {
        await store.close();
      }
    });
  });
});

describe("fsyncgate: a failed fsync", () => {
  it("is fatal: the write and every later call fail with FsyncFailedError; restart recovers from disk", async () => {
    await withTempDir(async (dir) => {
      const fault = { armed: false };
      const io = faultyIo({ datasync: (path) => (fault.armed && path.endsWith(".seg") ? errnoError("EIO") : undefined) });
      const store = await openDisk(dir, { io });
      await store.persist({ hardState: hardState(1, 10), entries: makeEntries(1, 10, 1) });
      fault.armed = true;
      await expect(store.persist({ entries: makeEntries(11, 12, 1) })).rejects.toThrow(FsyncFailedError);
      fault.armed = false;
      await expect(store.persist({ entries: makeEntries(11, 12, 1) })).rejects.toThrow(FsyncFailedError);
      await expect(store.saveSnapshot(meta(5, 1, 1), Buffer.alloc(1))).rejects.toThrow(FsyncFailedError);
      expect(store.status().fatalError).toBeInstanceOf(FsyncFailedError);
      expect(store.lastIndex()).toBe(10);
      await store.close();

      const reopened = await openDisk(dir);
      try {
        expect(reopened.lastIndex()).toBeGreaterThanOrEqual(10);
        expect(reopened.recovery.madeNonVoting).toBe(false);
      } finally {
        await reopened.close();
      }
    });
  });
});

describe("write queue bound", () => {
  it("refuses a persist beyond persistQueueBytesMax without changing anything", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir, { persistQueueBytesMax: 4096, groupCommitBytesMax: 4096 });
      try {
        await store.persist({ hardState: hardState(1, 0) });
        const first = store.persist({ entries: makeEntries(1, 10, 1, 300) });
        await expect(store.persist({ entries: makeEntries(11, 20, 1, 300) })).rejects.toThrow(StorageOverloadedError);
        await first;
        await store.persist({ entries: makeEntries(11, 20, 1, 300) });
        expect(store.lastIndex()).toBe(20);
      } finally {
        await store.close();
      }
    });
  });
});
