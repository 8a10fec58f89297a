import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/raft/random.js";
import type { Entry, HardState } from "../../src/raft/types.js";
import { EMPTY_SNAPSHOT_META, EntryType } from "../../src/raft/types.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";
import type { PersistJob } from "../../src/sim/core/sim-storage.js";
import { DiskStorage } from "../../src/storage/index.js";
import { endOfNonZero, scanSegment } from "../../src/storage/segment-scan.js";

/**
 * The simulator's disk model and the real WAL agree on what a crash may lose: a write
 * cut anywhere keeps a prefix of its entries, and its hard state only if every entry
 * made it. Each cut of the last write on the real disk must recover to the model's
 * state for the number of entries that survived.
 */
const identity = { memberId: 1, clusterId: "agreement" };
const entry = (index: number, term: number, bytes: number, random: SeededRandom): Entry => ({
  index, term, type: EntryType.Normal, data: Uint8Array.from({ length: bytes }, () => random.int(256)),
});

describe("simulator disk model vs DiskStorage: what a torn write may lose", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("every cut of the last write recovers to the model's prefix of it", async () => {
    const seed = 20261123;
    const random = new SeededRandom(seed);
    const base = await mkdtemp(join(tmpdir(), "kvraft-agreement-"));
    dirs.push(base);
    const original = join(base, "original");
    const first: PersistJob = { hardState: { term: 2, vote: 1, commit: 3, nonVoting: false }, entries: [1, 2, 3, 4].map((i) => entry(i, 2, 40, random)), snapshot: undefined };
    const last: PersistJob = { hardState: { term: 3, vote: 2, commit: 6, nonVoting: false }, entries: [5, 6, 7, 8, 9].map((i) => entry(i, 3, 30 + random.int(50), random)), snapshot: undefined };
    const store = await DiskStorage.open(original, { ...identity, segmentPreallocate: false });
    await store.persist({ hardState: first.hardState as HardState, entries: first.entries });
    await store.persist({ hardState: last.hardState as HardState, entries: last.entries });
    await store.close();
    const segment = join(original, (await readdir(original)).filter((n) => n.endsWith(".seg")).sort().pop() as string);
    const full = await readFile(segment);
    // The last write is its five entry records followed by its hard state record.
    const { records } = scanSegment(full);
    const lastStart = (records[records.length - 6] as { offset: number }).offset;
    const lastEnd = endOfNonZero(full, 0);
    expect(lastEnd).toBeGreaterThan(lastStart);

    // Every record boundary and the middle of every record of the last write, plus random bytes.
    const cuts = new Set<number>([lastEnd]);
    for (const record of records.slice(-6)) {
      cuts.add(record.offset);
      cuts.add(record.offset + Math.floor((record.recordEnd - record.offset) / 2));
    }
    while (cuts.size < 30) cuts.add(lastStart + random.int(lastEnd - lastStart));
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const copy = join(base, `cut-${cut}`);
      await cp(original, copy, { recursive: true });
      const torn = Buffer.from(full);
      torn.fill(0, cut, lastEnd);
      await writeFile(join(copy, segment.split("/").pop() as string), torn);
      const recovered = await DiskStorage.open(copy, identity);
      const kept = recovered.lastIndex() - 4;
      const model = new SimStorage(EMPTY_SNAPSHOT_META);
      model.apply(first);
      // The model keeps the hard state only with every entry; the WAL writes it last, so
      // a cut inside its record keeps every entry but the old hard state: both are safe.
      const hardStateKept = cut >= lastEnd;
      model.apply(hardStateKept ? last : { ...last, hardState: undefined }, kept);
      const where = `seed ${seed}, cut at byte ${cut} of [${lastStart}, ${lastEnd})`;
      expect(kept, where).toBeGreaterThanOrEqual(0);
      expect(recovered.lastIndex(), where).toBe(model.lastIndex());
      expect(recovered.hardState(), where).toEqual(model.hardState());
      for (let i = 1; i <= model.lastIndex(); i++) expect(recovered.term(i), `${where}, index ${i}`).toBe(model.term(i));
      await recovered.close();
    }
  }, 60_000);
});
