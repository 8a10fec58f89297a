import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/raft/random.js";
import type { Entry } from "../../src/raft/types.js";
import { EntryType } from "../../src/raft/types.js";
import { AsyncSimStorage } from "../../src/sim/core/async-sim-storage.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import { VirtualLoop } from "../../src/sim/core/virtual-loop.js";

const WRITE_MS = 2;
const entry = (index: number, term = 1): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index]) });
const entries = (from: number, to: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));

function disk(seed = 1): { loop: VirtualLoop; storage: AsyncSimStorage; durable: SimStorage } {
  const loop = new VirtualLoop();
  const durable = new SimStorage({ index: 0, term: 0, config: { voters: [1], learners: [] }, sizeBytes: 0 });
  return { loop, durable, storage: new AsyncSimStorage(durable, { agenda: loop, random: new SeededRandom(seed), writeDelayMs: () => WRITE_MS }) };
}

describe("the simulator's asynchronous disk (AsyncSimStorage)", () => {
  it("makes a write durable only after its virtual delay, and writes in the order issued", async () => {
    const { loop, storage } = disk();
    const done: string[] = [];
    void storage.persist({ entries: entries(1, 3), hardState: { term: 1, vote: 1, commit: 0, nonVoting: false } }).then(() => done.push("first"));
    void storage.persist({ entries: entries(4, 4) }).then(() => done.push("second"));
    expect(storage.lastIndex()).toBe(0);
    expect(storage.writing()).toBe(true);
    await loop.runUntil(() => done.length === 1, WRITE_MS);
    expect(loop.now()).toBe(WRITE_MS);
    expect(done).toEqual(["first"]);
    expect(storage.lastIndex()).toBe(3);
    expect(storage.hardState().term).toBe(1);
    await loop.runUntil(() => done.length === 2, 2 * WRITE_MS);
    expect(done).toEqual(["first", "second"]);
    expect(storage.lastIndex()).toBe(4);
  });

  it("loses what was in flight at a crash (or keeps a prefix of the first write's entries, never its hard state), and never completes it", async () => {
    const kept = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const { loop, storage, durable } = disk(seed);
      let completed = false;
      void storage.persist({ entries: entries(1, 4), hardState: { term: 1, vote: 1, commit: 0, nonVoting: false } }).then(() => { completed = true; });
      expect(storage.crash()).toBe(true);
      await loop.runUntil(() => false, 10 * WRITE_MS);
      expect(completed).toBe(false);
      expect(durable.hardState().term).toBe(0);
      expect(durable.lastIndex()).toBeLessThanOrEqual(4);
      kept.add(durable.lastIndex());
    }
    // Across seeds: some crashes lose the whole write, some tear it.
    expect(kept.has(0)).toBe(true);
    expect(kept.size).toBeGreaterThan(1);
  });

  it("crashes at the next write once armed, before any of it is durable", async () => {
    const { loop, storage } = disk();
    let crashed = 0;
    storage.armCrash(() => { crashed++; });
    let completed = false;
    void storage.persist({ entries: entries(1, 2) }).then(() => { completed = true; });
    await loop.runUntil(() => false, 10 * WRITE_MS);
    expect(crashed).toBe(1);
    expect(completed).toBe(false);
    expect(storage.lastIndex()).toBe(0);
  });
});
