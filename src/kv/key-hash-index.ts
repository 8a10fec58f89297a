import { NO_SLOT, type RecordTable } from "./record-table.js";

const INITIAL_BUCKETS = 64;
/** Load factor at most a half: linear probing stays at ~1.5 probes per hit. */
const LOAD_FACTOR_MAX = 0.5;

/**
 * Key bytes to slot: an open-addressing hash table (linear probing) over an Int32Array,
 * about 8 bytes per key, instead of a Map keyed by a string per key. Deleting shifts
 * later entries of the probe run back, so there are no tombstones to clean up.
 */
export class KeyHashIndex {
  /** slot + 1 per bucket; 0: empty. */
  private buckets = new Int32Array(INITIAL_BUCKETS);
  private mask = INITIAL_BUCKETS - 1;
  private count = 0;

  constructor(private readonly records: RecordTable) {}

  get size(): number {
    return this.count;
  }

  get bucketBytes(): number {
    return this.buckets.byteLength;
  }

  /** The slot whose key is `key`, or NO_SLOT. `hash` is hashKey(key). */
  find(key: Uint8Array, hash: number): number {
    const { buckets, mask, records } = this;
    for (let bucket = hash & mask; ; bucket = (bucket + 1) & mask) {
      const entry = buckets[bucket] as number;
      if (entry === 0) return NO_SLOT;
      const slot = entry - 1;
      if (records.hash[slot] === hash && records.keyLength[slot] === key.length && records.compareKey(slot, key) === 0) return slot;
    }
  }

  /** Adds `slot`, whose key must not be in the index yet. */
  insert(slot: number): void {
    if (this.count + 1 > this.buckets.length * LOAD_FACTOR_MAX) this.resize(this.buckets.length * 2);
    this.place(slot);
    this.count++;
  }

  /** Removes `slot`, which must be in the index. */
  remove(slot: number): void {
    const { buckets, mask } = this;
    let hole = (this.records.hash[slot] as number) & mask;
    while (buckets[hole] !== slot + 1) hole = (hole + 1) & mask;
    // Move back every later entry of the run that may sit in the hole (its home bucket
    // is not cyclically between the hole and where it sits).
    for (let next = (hole + 1) & mask; buckets[next] !== 0; next = (next + 1) & mask) {
      const home = (this.records.hash[(buckets[next] as number) - 1] as number) & mask;
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      buckets[hole] = buckets[next] as number;
      hole = next;
    }
    buckets[hole] = 0;
    this.count--;
  }

  clear(): void {
    this.buckets = new Int32Array(INITIAL_BUCKETS);
    this.mask = INITIAL_BUCKETS - 1;
    this.count = 0;
  }

  private place(slot: number): void {
    const { buckets, mask } = this;
    let bucket = (this.records.hash[slot] as number) & mask;
    while (buckets[bucket] !== 0) bucket = (bucket + 1) & mask;
    buckets[bucket] = slot + 1;
  }

  private resize(bucketCount: number): void {
    const old = this.buckets;
    this.buckets = new Int32Array(bucketCount);
    this.mask = bucketCount - 1;
    for (const entry of old) if (entry !== 0) this.place(entry - 1);
  }
}

/** FNV-1a, 32-bit, then a finalizer so the low bits (the hash table's slot) mix well. */
export function hashKey(key: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ (key[i] as number), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
