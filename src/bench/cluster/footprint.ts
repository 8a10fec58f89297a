import { randomBytes } from "node:crypto";
import { processRssBytes } from "./proc-stats.js";
import type { BenchClient, BenchSystem, MemorySplit } from "./system.js";

const WRITERS = 64;
const CONNECTIONS = 8;
const VALUE_BYTES = 256;
const MIB = 1024 * 1024;
/**
 * Fewer keys than this move a member's resident memory by less than its garbage
 * collector does on its own (a 10,000-key run once printed -1588 MiB per million): the
 * per-key figures are then left out (null) rather than extrapolated from noise.
 */
export const MEMORY_KEYS_MIN = 100_000;

export interface FootprintResult {
  /** Growth of a member's resident memory per million keys (the members' mean), MiB: right after writing them. */
  readonly rssMibPerMillionKeysWritten: number | null;
  /**
   * The same after a restart with the keys on disk. Lower for etcd, whose keys live in a
   * memory-mapped file that counts as resident only once read again.
   */
  readonly rssMibPerMillionKeys: number | null;
  /** From starting every member again (log and snapshots of the keys on disk) to the first acknowledged write. */
  readonly restartMs: number;
  /** Growth of the members' JavaScript heap and off-heap memory per million keys, MiB, when the system reports them: after writing and after the restart. */
  readonly split: { readonly written: SplitGrowth; readonly restarted: SplitGrowth } | null;
}

export interface SplitGrowth {
  readonly heapMibPerMillionKeys: number | null;
  readonly offHeapMibPerMillionKeys: number | null;
}

/**
 * Starts a new, empty cluster (so that neither the data nor the garbage of earlier
 * workloads counts: etcd's history of them once made its "before" so large that writing
 * a million keys added 54 MiB) and reads the members' resident memory; writes `keys`
 * distinct keys (256-byte values) and reads it again; then stops every member and times a
 * restart of all of them until a write is acknowledged (the restart time with that log on
 * disk), and reads it a third time.
 */
export async function measureFootprint(system: BenchSystem, keys: number): Promise<FootprintResult> {
  await system.clear();
  await system.start();
  const before = await meanRss(system);
  const splitBefore = await system.memorySplit?.();
  await writeKeys(system, keys);
  const written = await meanRss(system);
  const splitWritten = await system.memorySplit?.();
  await system.stop();
  const started = performance.now();
  await system.start();
  const restartMs = Math.round(performance.now() - started);
  const restarted = await meanRss(system);
  const splitRestarted = await system.memorySplit?.();
  const growth = (after: MemorySplit | undefined): SplitGrowth => ({
    heapMibPerMillionKeys: rssGrowthMibPerMillionKeys(splitBefore?.heapUsedBytes, after?.heapUsedBytes, keys),
    offHeapMibPerMillionKeys: rssGrowthMibPerMillionKeys(splitBefore?.offHeapBytes, after?.offHeapBytes, keys),
  });
  return {
    rssMibPerMillionKeysWritten: rssGrowthMibPerMillionKeys(before, written, keys),
    rssMibPerMillionKeys: rssGrowthMibPerMillionKeys(before, restarted, keys),
    restartMs,
    split: splitBefore === undefined ? null : { written: growth(splitWritten), restarted: growth(splitRestarted) },
  };
}

/**
 * Resident memory growth per million keys, MiB; null when it cannot be trusted: too few
 * keys, a reading missing, or memory that shrank while keys were added (a collector or
 * the kernel gave back more than the keys took: a full run printed -760 for etcd at
 * 100,000 keys), which says nothing about the keys.
 */
export function rssGrowthMibPerMillionKeys(before: number | undefined, after: number | undefined, keys: number): number | null {
  if (before === undefined || after === undefined || keys < MEMORY_KEYS_MIN || after < before) return null;
  return Math.round((((after - before) / keys) * 1e6) / MIB);
}

async function writeKeys(system: BenchSystem, keys: number): Promise<void> {
  const pool: BenchClient[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) pool.push(await system.connect());
    const value = new Uint8Array(randomBytes(VALUE_BYTES));
    let next = 0;
    const writer = async (client: BenchClient): Promise<void> => {
      while (next < keys) await client.put(`bench/footprint-${String(next++).padStart(8, "0")}`, value);
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(pool[i % CONNECTIONS] as BenchClient)));
  } finally {
    await Promise.all(pool.map((c) => c.close()));
  }
}

async function meanRss(system: BenchSystem): Promise<number | undefined> {
  const values = await Promise.all(system.members.map((m) => (m.pid === undefined ? Promise.resolve(undefined) : processRssBytes(m.pid))));
  if (values.some((v) => v === undefined)) return undefined;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}
