/**
 * Recovery against damaged data dirs: torn tails at every byte of the last record, single
 * bit flips at seeded random offsets of segments and snapshots. The rule under test:
 * damage is either cut off at the tail (and reported) or refused with an error naming the
 * file and offset, and nothing that failed its checks is ever served.
 */
import { describe, expect, it } from "vitest";
import { cp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotMeta } from "../../src/raft/types.js";
import { CorruptDataError, type DiskStorage, StorageIoError } from "../../src/storage/index.js";
import { scanSegment } from "../../src/storage/segment-scan.js";
import { errnoError, faultyIo } from "./faulty-io.js";
import { collect, entryData, hardState, makeEntries, makeEntry, openDisk, seededRandom, withTempDir } from "./helpers.js";

const SEED = Number(process.env.KVRAFT_TEST_SEED ?? 20240611);

function meta(index: number, term: number, sizeBytes: number): SnapshotMeta {
  return { index, term, config: { voters: [1], learners: [] }, sizeBytes };
}

async function lastSegment(dir: string): Promise<string> {
  const segments = (await readdir(dir)).filter((name) => name.endsWith(".seg")).sort();
  return join(dir, segments[segments.length - 1] as string);
}

/** Every entry the store serves must be byte for byte what was written. */
function expectServedEntriesIntact(store: DiskStorage): void {
  if (store.lastIndex() < store.firstIndex()) return;
  for (const entry of store.entries(store.firstIndex(), store.lastIndex() + 1, Number.MAX_SAFE_INTEGER)) {
    expect(Buffer.from(entry.data)).toEqual(Buffer.from(entryData(entry.index, entry.term)));
  }
}

describe("recovery: torn tails", () => {
  for (const variant of ["cut short", "zero-filled"] as const) {
    it(`truncates a torn last record at every byte offset (${variant}), keeping all before it`, async () => {
      await withTempDir(async (dir) => {
        const store = await openDisk(dir, { segmentPreallocate: variant === "zero-filled" });
        await store.persist({ hardState: hardState(1, 20), entries: makeEntries(1, 20, 1) });
        await store.persist({ entries: [makeEntry(21, 1, 60)] });
        await store.close();
        const path = await lastSegment(dir);
        const original = await readFile(path);
        const records = scanSegment(original).records;
        const last = records[records.length - 1];
        if (last === undefined) throw new Error("no records");
        for (let cut = last.offset; cut < last.recordEnd; cut++) {
          const damaged = variant === "cut short" ? original.subarray(0, cut) : Buffer.from(original).fill(0, cut, last.recordEnd);
          await writeFile(path, damaged);
          const reopened = await openDisk(dir, { segmentPreallocate: variant === "zero-filled" });
          try {
            expect(reopened.lastIndex(), `cut at ${cut}`).toBe(20);
            expect(reopened.hardState()).toEqual(hardState(1, 20));
            expect(reopened.recovery.madeNonVoting).toBe(false);
            const types = reopened.recovery.events.map((e) => e.type);
            expect(types, `cut at ${cut}`).toEqual(cut === last.offset ? [] : ["torn-tail-truncated"]);
            expectServedEntriesIntact(reopened);
          } finally {
            await reopened.close();
          }
        }
      });
    });
  }
});

describe("recovery: protocol-aware recovery of a corrupt tail", () => {
  it("never mistakes a bit flip in the complete last record for a torn write: it goes non-voting", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir, { segmentPreallocate: true });
      await store.persist({ hardState: hardState(1, 20), entries: makeEntries(1, 20, 1) });
      await store.persist({ entries: [makeEntry(21, 1, 40)] });
      await store.close();
      const path = await lastSegment(dir);
      const original = await readFile(path);
      const records = scanSegment(original).records;
      const last = records[records.length - 1];
      if (last === undefined) throw new Error("no records");
      for (let offset = last.offset; offset < last.recordEnd; offset++) {
        const damaged = Buffer.from(original);
        damaged[offset] = (damaged[offset] as number) ^ (1 << offset % 8);
        await writeFile(path, damaged);
        const reopened = await openDisk(dir, { segmentPreallocate: true });
        try {
          expect(reopened.recovery.events.map((e) => e.type), `flip at ${offset}`).toEqual(["corrupt-tail-truncated"]);
          expect(reopened.hardState()).toEqual({ ...hardState(1, 20), nonVoting: true });
          expect(reopened.lastIndex()).toBe(20);
        } finally {
          await reopened.close();
        }
      }
    });
  });
});

describe("recovery: bit flips in segments", () => {
  it(`refuses or cuts off every single bit flip, never serving flipped data (seed ${SEED})`, async () => {
    await withTempDir(async (root) => {
      const pristine = join(root, "pristine");
      const store = await openDisk(pristine, { segmentBytesMax: 8192 });
      for (let from = 1; from <= 300; from += 10) {
        await store.persist({ hardState: hardState(1, from + 9), entries: makeEntries(from, from + 9, 1) });
      }
      await store.close();
      const segments = (await readdir(pristine)).filter((name) => name.endsWith(".seg")).sort();
      expect(segments.length).toBeGreaterThan(2);
      const random = seededRandom(SEED);
      const outcomes = { refused: 0, truncated: 0 };
      for (let round = 0; round < 60; round++) {
        const name = segments[Math.floor(random() * segments.length)] as string;
        const work = join(root, `round-${round}`);
        await cp(pristine, work, { recursive: true });
        const path = join(work, name);
        const bytes = await readFile(path);
        const offset = Math.floor(random() * bytes.length);
        const bit = Math.floor(random() * 8);
        bytes[offset] = (bytes[offset] as number) ^ (1 << bit);
        await writeFile(path, bytes);
        const where = `seed ${SEED} round ${round}: ${name} offset ${offset} bit ${bit}`;
        let reopened: DiskStorage;
        try {
          reopened = await openDisk(work, { segmentBytesMax: 8192 });
        } catch (error) {
          expect(error, where).toBeInstanceOf(CorruptDataError);
          const corrupt = error as CorruptDataError;
          expect(corrupt.file, where).toBe(path);
          expect(corrupt.offset, where).toBeLessThanOrEqual(offset);
          expect(corrupt.message, where).toMatch(/offset \d+\)\. What to do: /);
          outcomes.refused++;
          continue;
        }
        outcomes.truncated++;
        try {
          const types = reopened.recovery.events.map((e) => e.type);
          expect(types.some((t) => t === "torn-tail-truncated" || t === "corrupt-tail-truncated"), where).toBe(true);
          expect(reopened.hardState().nonVoting, where).toBe(types.includes("corrupt-tail-truncated"));
          expectServedEntriesIntact(reopened);
        } finally {
          await reopened.close();
        }
        if (reopened.recovery.madeNonVoting) {
          const again = await openDisk(work, { segmentBytesMax: 8192 });
          expect(again.hardState().nonVoting, `${where}: nonVoting persisted`).toBe(true);
          expect(again.recovery.events, where).toEqual([]);
          await again.close();
        }
      }
      // Both outcomes occur with this many rounds: the test exercises both paths.
      expect(outcomes.refused).toBeGreaterThan(0);
      expect(outcomes.truncated).toBeGreaterThan(0);
    });
  });

  it("names the file, the offset and what to do for damage followed by valid records", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      await store.persist({ hardState: hardState(1, 0), entries: makeEntries(1, 40, 1) });
      await store.close();
      const path = await lastSegment(dir);
      const bytes = await readFile(path);
      const victim = scanSegment(bytes).records[10];
      if (victim === undefined) throw new Error("no record 10");
      bytes[victim.offset + 20] = (bytes[victim.offset + 20] as number) ^ 0x10;
      await writeFile(path, bytes);
      const failure = await openDisk(dir).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(CorruptDataError);
      expect((failure as CorruptDataError).message).toContain(`(file ${path}, offset ${victim.offset})`);
      expect((failure as CorruptDataError).message).toMatch(/remove the member .* rejoins from the leader's snapshot/);
    });
  });
});

describe("recovery: missing files", () => {
  it("refuses a WAL with a segment missing in the middle", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir, { segmentBytesMax: 8192 });
      for (let from = 1; from <= 200; from += 10) {
        await store.persist({ hardState: hardState(1, from + 9), entries: makeEntries(from, from + 9, 1) });
      }
      await store.close();
      const segments = (await readdir(dir)).filter((name) => name.endsWith(".seg")).sort();
      expect(segments.length).toBeGreaterThan(2);
      await rm(join(dir, segments[1] as string));
      await expect(openDisk(dir, { segmentBytesMax: 8192 })).rejects.toThrow(/segment 2 is missing before segment 3/);
    });
  });
});

describe("recovery: snapshots", () => {
  async function buildWithSnapshots(dir: string, retained: { snapshotsRetained: number; logEntriesRetainedAfterSnapshot: number }) {
    const store = await openDisk(dir, retained);
    for (let from = 1; from <= 300; from += 10) {
      await store.persist({ hardState: hardState(1, from + 9), entries: makeEntries(from, from + 9, 1) });
    }
    await store.saveSnapshot(meta(100, 1, 3000), Buffer.alloc(3000, 1));
    await store.saveSnapshot(meta(200, 1, 3000), Buffer.alloc(3000, 2));
    await store.close();
  }

  it(`falls back to the older snapshot plus log when the newest fails its checks (seed ${SEED})`, async () => {
    await withTempDir(async (root) => {
      const pristine = join(root, "pristine");
      const retained = { snapshotsRetained: 2, logEntriesRetainedAfterSnapshot: 1000 };
      await buildWithSnapshots(pristine, retained);
      const random = seededRandom(SEED + 1);
      const name = "snapshot-00000000000000000200.snap";
      const size = (await stat(join(pristine, name))).size;
      for (let round = 0; round < 20; round++) {
        const work = join(root, `round-${round}`);
        await cp(pristine, work, { recursive: true });
        const bytes = await readFile(join(work, name));
        const offset = Math.floor(random() * size);
        bytes[offset] = (bytes[offset] as number) ^ (1 << Math.floor(random() * 8));
        await writeFile(join(work, name), bytes);
        const store = await openDisk(work, retained);
        try {
          expect(store.recovery.events.map((e) => e.type), `offset ${offset}`).toEqual(["snapshot-set-aside"]);
          expect(store.snapshotMeta().index).toBe(100);
          expect(store.lastIndex()).toBe(300);
          expect(await collect(store.readSnapshotData(store.snapshotMeta()))).toEqual(Buffer.alloc(3000, 1));
          expectServedEntriesIntact(store);
        } finally {
          await store.close();
        }
      }
    });
  });

  it("refuses a damaged snapshot that nothing can replace, naming the file", async () => {
    await withTempDir(async (dir) => {
      const retained = { snapshotsRetained: 1, logEntriesRetainedAfterSnapshot: 0 };
      await buildWithSnapshots(dir, retained);
      const path = join(dir, "snapshot-00000000000000000200.snap");
      const bytes = await readFile(path);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 1;
      await writeFile(path, bytes);
      await expect(openDisk(dir, retained)).rejects.toThrow(CorruptDataError);
      await expect(openDisk(dir, retained)).rejects.toThrow(`file ${path}`);
    });
  });

  it("finishes a snapshot whose marker was not written before a crash (Raft §7 decided again)", async () => {
    await withTempDir(async (dir) => {
      let crashed = false;
      const io = faultyIo({
        renamed: (_from, to) => {
          if (to.endsWith(".snap")) crashed = true;
        },
        write: (path) => (crashed && path.endsWith(".seg") ? { error: errnoError("EIO") } : undefined),
      });
      const store = await openDisk(dir, { io });
      await store.persist({ hardState: hardState(2, 5), entries: makeEntries(1, 30, 1) });
      const incoming = await store.beginIncoming(meta(20, 2, 500));
      await incoming.writeChunk(0, Buffer.alloc(500, 3));
      await expect(incoming.finish()).rejects.toThrow(StorageIoError);
      expect(store.status().fatalError).toBeInstanceOf(StorageIoError);
      await store.close();

      const reopened = await openDisk(dir);
      try {
        expect(reopened.recovery.events).toEqual([{ type: "snapshot-marker-restored", snapshotIndex: 20, logReset: true }]);
        expect(reopened.snapshotMeta().index).toBe(20);
        expect(reopened.lastIndex()).toBe(20);
        await reopened.persist({ hardState: hardState(2, 21), entries: [makeEntry(21, 2)] });
      } finally {
        await reopened.close();
      }
      const third = await openDisk(dir);
      expect(third.recovery.events).toEqual([]);
      expect(third.lastIndex()).toBe(21);
      await third.close();
    });
  });

  it("removes temporary files left by an interrupted write", async () => {
    await withTempDir(async (dir) => {
      const store = await openDisk(dir);
      await store.close();
      await writeFile(join(dir, "snapshot-00000000000000000009.snap.tmp"), "half a snapshot");
      const reopened = await openDisk(dir);
      expect(reopened.recovery.events.map((e) => e.type)).toEqual(["temporary-file-removed"]);
      await reopened.close();
    });
  });
});
