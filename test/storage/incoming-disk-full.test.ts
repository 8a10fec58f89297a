/**
 * A snapshot received from the leader on a full disk (issue 15): a chunk or the finish that
 * finds the disk full is refused with DiskFullError and may be called again once space is
 * back; nothing received is lost and the installed snapshot holds exactly the sent bytes.
 */
import { describe, expect, it } from "vitest";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { DiskFullError } from "../../src/storage/index.js";
import { errnoError, faultyIo } from "./faulty-io.js";
import { collect, openDisk, withTempDir } from "./helpers.js";

describe("an incoming snapshot on a full disk", () => {
  it("retries a refused chunk and a refused finish, and installs every byte", async () => {
    await withTempDir(async (dir) => {
      const disk = { full: false, fullWal: false };
      const io = faultyIo({
        write: (path) => ((disk.full && path.includes(".incoming")) || (disk.fullWal && path.endsWith(".seg")) ? { error: errnoError("ENOSPC") } : undefined),
      });
      const store = await openDisk(dir, { io });
      const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) % 251));
      const meta: SnapshotMeta = { index: 50, term: 3, config: { voters: [1], learners: [] }, sizeBytes: data.length };
      const incoming = await store.beginIncoming(meta);
      await incoming.writeChunk(0, data.subarray(0, 1000));

      disk.full = true;
      await expect(incoming.writeChunk(1000, data.subarray(1000, 2000))).rejects.toThrow(DiskFullError);
      // Sent again while the disk is still full: still refused (the bytes it holds are tried again).
      await expect(incoming.writeChunk(1000, data.subarray(1000, 2000))).rejects.toThrow(DiskFullError);
      disk.full = false;
      await incoming.writeChunk(1000, data.subarray(1000, 2000));
      await incoming.writeChunk(2000, data.subarray(2000));

      disk.full = true;
      await expect(incoming.finish()).rejects.toThrow(DiskFullError);
      disk.full = false;
      // The snapshot file is in place; recording it in the WAL finds the disk full now.
      disk.fullWal = true;
      await expect(incoming.finish()).rejects.toThrow(DiskFullError);
      expect(store.snapshotMeta().index).toBe(0);
      disk.fullWal = false;
      await incoming.finish();

      expect(store.snapshotMeta()).toMatchObject({ index: 50, term: 3 });
      expect(await collect(store.readSnapshotData(store.snapshotMeta()))).toEqual(data);
      await store.close();
      const reopened = await openDisk(dir);
      try {
        expect(reopened.snapshotMeta()).toMatchObject({ index: 50, term: 3 });
        expect(await collect(reopened.readSnapshotData(reopened.snapshotMeta()))).toEqual(data);
      } finally {
        await reopened.close();
      }
    });
  });
});
