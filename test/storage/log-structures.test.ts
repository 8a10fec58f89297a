/** The in-memory structures: the entry index, the tail cache, group commit, compaction planning. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { segmentsToRemove, snapshotsToRemove } from "../../src/storage/compaction.js";
import { EntryIndex } from "../../src/storage/entry-index.js";
import { GroupCommit, type PlacedBytes } from "../../src/storage/group-commit.js";
import { TailCache, entryMemoryBytes } from "../../src/storage/tail-cache.js";
import { makeEntry } from "./helpers.js";

describe("EntryIndex", () => {
  it("behaves like a plain array under appends, suffix truncations and prefix drops", () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant("append" as const), count: fc.integer({ min: 1, max: 1200 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant("drop" as const), at: fc.double({ min: 0, max: 1.2, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 30 }), (operations) => {
        const index = new EntryIndex();
        let model: number[] = []; // terms, model[0] at index `lo`
        let lo = 1;
        for (const op of operations) {
          if (op.kind === "append") {
            for (let i = 0; i < op.count; i++) {
              const at = lo + model.length;
              index.append(at, at * 3, at % 7, at * 10, 20, at % 100);
              model.push(at * 3);
            }
          } else if (op.kind === "truncate") {
            const at = lo + Math.floor(op.at * model.length);
            index.truncateFrom(at);
            model = model.slice(0, at - lo);
          } else {
            const at = lo + Math.floor(op.at * model.length);
            index.dropBefore(at);
            if (at > lo + model.length - 1) {
              model = [];
            } else {
              model = model.slice(at - lo);
            }
            lo = Math.max(lo, at);
          }
          expect(index.firstIndex()).toBe(lo);
          expect(index.lastIndex()).toBe(lo + model.length - 1);
        }
        model.forEach((term, i) => {
          expect(index.term(lo + i)).toBe(term);
          expect(index.location(lo + i).fileOffset).toBe((lo + i) * 10);
        });
      }),
      { numRuns: 50 },
    );
  });
});

describe("TailCache", () => {
  it("holds the newest entries within its byte budget, contiguous to the end", () => {
    const cache = new TailCache(1000);
    for (let index = 1; index <= 100; index++) cache.append(makeEntry(index, 1, 50));
    expect(cache.bytesHeld()).toBeLessThanOrEqual(1000);
    expect(cache.get(100)?.index).toBe(100);
    expect(cache.get(1)).toBeUndefined();
    const held = cache.size();
    expect(held).toBe(Math.floor(1000 / entryMemoryBytes(makeEntry(1, 1, 50))));
    cache.truncateFrom(99);
    expect(cache.get(99)).toBeUndefined();
    cache.append(makeEntry(99, 2, 50));
    expect(cache.get(99)?.term).toBe(2);
    cache.dropBefore(99);
    expect(cache.size()).toBe(1);
  });

  it("copies the held entries' data out of a shared buffer from an index on (recovery's views of a segment)", () => {
    const segment = new Uint8Array(300).map((_, i) => i % 251);
    const cache = new TailCache(10_000);
    for (let index = 1; index <= 3; index++) cache.append({ index, term: 1, type: makeEntry(index, 1, 1).type, data: segment.subarray(index * 100 - 100, index * 100) });
    cache.copyDataFrom(2);
    expect(cache.get(1)?.data.buffer, "before the index: still the view").toBe(segment.buffer);
    for (const index of [2, 3]) {
      const data = cache.get(index)?.data as Uint8Array;
      expect(data.buffer, `entry ${index}: its own bytes`).not.toBe(segment.buffer);
      expect(new Uint8Array(data)).toEqual(segment.subarray(index * 100 - 100, index * 100));
    }
    segment.fill(0);
    expect(cache.get(3)?.data[0], "the copy does not change with the segment's buffer").toBe(200 % 251);
  });
});

describe("GroupCommit", () => {
  function deferred(): { promise: Promise<void>; resolve: () => void } {
    let resolve = (): void => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  }

  it("coalesces writes submitted during a flush into the next one, applying and resolving in order", async () => {
    const gates: { resolve: () => void }[] = [];
    const batches: number[] = [];
    let offset = 0;
    const commit = new GroupCommit(
      async (chunks) => {
        batches.push(chunks.length);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        return chunks.map((chunk) => {
          const placed: PlacedBytes = { segmentSeq: 1, fileOffset: offset };
          offset += chunk.length;
          return placed;
        });
      },
      { groupCommitBytesMax: 1 << 20, persistQueueBytesMax: 1 << 20 },
      () => undefined,
    );
    const applied: number[] = [];
    const done = [];
    // Writes submitted in the same tick share the first flush...
    for (let i = 0; i < 5; i++) done.push(commit.submit(Buffer.alloc(10), () => applied.push(i)));
    expect(batches).toEqual([]);
    await Promise.resolve();
    expect(batches).toEqual([5]);
    // ...and those submitted while it is in flight share the next one.
    for (let i = 5; i < 12; i++) done.push(commit.submit(Buffer.alloc(10), () => applied.push(i)));
    gates[0]?.resolve();
    await done[4];
    expect(batches).toEqual([5, 7]);
    gates[1]?.resolve();
    await Promise.all(done);
    expect(applied).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(commit.statistics()).toMatchObject({ flushes: 2, itemsFlushed: 12, bytesFlushed: 120 });
  });

  it("rejects a failed batch and everything queued behind it", async () => {
    const failures: unknown[] = [];
    const commit = new GroupCommit(
      async () => {
        throw new Error("disk on fire");
      },
      { groupCommitBytesMax: 15, persistQueueBytesMax: 1000 },
      (error) => failures.push(error),
    );
    const results = await Promise.allSettled([1, 2, 3].map(() => commit.submit(Buffer.alloc(10), () => undefined)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(failures).toHaveLength(1);
    expect(commit.queuedBytes()).toBe(0);
  });
});

describe("compaction planning", () => {
  it("removes a prefix of segments wholly at or below the compaction index, never the current one", () => {
    const maxEntryIndex = new Map([[1, 100], [2, 200], [3, 150], [4, 400]]);
    const plan = (compactIndex: number, resetSegmentSeq?: number) =>
      segmentsToRemove({ segmentSeqs: [1, 2, 3, 4], currentSegmentSeq: 4, maxEntryIndex, compactIndex, resetSegmentSeq });
    expect(plan(99)).toEqual([]);
    expect(plan(150)).toEqual([1]);
    expect(plan(200)).toEqual([1, 2, 3]);
    expect(plan(10_000)).toEqual([1, 2, 3]);
    expect(plan(0, 3)).toEqual([1, 2]);
  });

  it("keeps the newest snapshots and always the current one", () => {
    const files = [300, 200, 100].map((index) => ({ index, name: `s${index}` }));
    expect(snapshotsToRemove(files, 300, 2).map((f) => f.index)).toEqual([100]);
    expect(snapshotsToRemove(files, 100, 1).map((f) => f.index)).toEqual([200]);
  });
});
