/** Shared test helpers: temporary data dirs, deterministic entries, a seeded random source. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Entry, EntryType, type HardState, NONE } from "../../src/raft/types.js";
import { DiskStorage, type DiskStorageOptions } from "../../src/storage/index.js";

/** Runs `body` with a fresh temporary directory, removed afterwards even when `body` throws. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "kvraft-storage-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Data that depends only on (index, term): a reopened log can be checked byte for byte. */
export function entryData(index: number, term: number, bytes = 16 + ((index * 7919) % 97)): Uint8Array {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (index * 31 + term * 17 + i) & 0xff;
  return data;
}

export function makeEntry(index: number, term: number, bytes?: number): Entry {
  return { index, term, type: EntryType.Normal, data: entryData(index, term, bytes) };
}

export function makeEntries(from: number, to: number, term: number, bytes?: number): Entry[] {
  const entries: Entry[] = [];
  for (let index = from; index <= to; index++) entries.push(makeEntry(index, term, bytes));
  return entries;
}

export function hardState(term: number, commit: number, vote = NONE): HardState {
  return { term, vote, commit, nonVoting: false };
}

/** Small limits so that tests cross segment boundaries and evict from memory. */
export const SMALL_LIMITS = {
  segmentBytesMax: 16 * 1024,
  memoryLogBytesMax: 4 * 1024,
  snapshotBlockBytes: 512,
} satisfies Partial<DiskStorageOptions>;

export function openDisk(dir: string, extra: Partial<DiskStorageOptions> = {}): Promise<DiskStorage> {
  return DiskStorage.open(dir, { memberId: 1, clusterId: "test-cluster", ...SMALL_LIMITS, ...extra });
}

/** mulberry32: a small seeded generator, so a failing run replays from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function collect(data: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  if (data === undefined) throw new Error("no snapshot data");
  const chunks: Uint8Array[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}
