import { keyId } from "./bytes.js";
import { ExpiryQueue } from "./expiry-queue.js";
import { SortedKeys } from "./sorted-keys.js";

/** One key as stored. Records are immutable: a write replaces the record. */
export interface KeyRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** memcached client flags (uint32). */
  readonly flags: number;
  /** Revision (log index) of the key's last write. */
  readonly version: number;
  /** Revision at which the key was created (since it last did not exist). */
  readonly createVersion: number;
  /** Stamp time at or after which the key no longer exists; undefined: never expires. */
  readonly expiresAtMs: number | undefined;
}

/** Stale heap entries allowed beyond the live ones before the heap is rebuilt. */
const EXPIRY_STALE_SLACK = 1024;

/**
 * The key map with its two indexes (byte order for scans, expiry order for removal)
 * and its size in bytes. Knows nothing of versions, sessions or events.
 */
export class KeyStore {
  private readonly records = new Map<string, KeyRecord>();
  private readonly order = new SortedKeys();
  private readonly expiry = new ExpiryQueue();
  private expiringCount = 0;
  private totalBytes = 0;

  get count(): number {
    return this.records.size;
  }

  /** Bytes of all keys and values. */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  get(id: string): KeyRecord | undefined {
    return this.records.get(id);
  }

  set(record: KeyRecord): void {
    const id = keyId(record.key);
    const previous = this.records.get(id);
    if (previous === undefined) this.order.insert(id);
    else this.forget(previous);
    this.records.set(id, record);
    this.totalBytes += record.key.length + record.value.length;
    if (record.expiresAtMs !== undefined) {
      this.expiringCount++;
      this.expiry.push({ expiresAtMs: record.expiresAtMs, id });
      this.boundStaleExpiries();
    }
  }

  delete(id: string): KeyRecord | undefined {
    const previous = this.records.get(id);
    if (previous === undefined) return undefined;
    this.records.delete(id);
    this.order.remove(id);
    this.forget(previous);
    return previous;
  }

  /** Removes every key; returns how many there were. */
  clear(): number {
    const count = this.records.size;
    this.records.clear();
    this.order.clear();
    this.expiry.clear();
    this.expiringCount = 0;
    this.totalBytes = 0;
    return count;
  }

  /** Removes and returns, in (expiresAtMs, key) order, the keys expiring at or before `nowMs`. */
  removeExpired(nowMs: number): KeyRecord[] {
    const removed: KeyRecord[] = [];
    for (let next = this.expiry.peek(); next !== undefined && next.expiresAtMs <= nowMs; next = this.expiry.peek()) {
      this.expiry.pop();
      const record = this.records.get(next.id);
      // A stale entry: the key was deleted, rewritten or touched since this was pushed.
      if (record === undefined || record.expiresAtMs !== next.expiresAtMs) continue;
      this.delete(next.id);
      removed.push(record);
    }
    return removed;
  }

  /** Records in key order from `startId` (exclusive when asked); no writes while iterating. */
  *scan(startId: string, exclusive: boolean): Generator<KeyRecord> {
    for (const id of this.order.from(startId, exclusive)) yield this.records.get(id) as KeyRecord;
  }

  private forget(record: KeyRecord): void {
    this.totalBytes -= record.key.length + record.value.length;
    if (record.expiresAtMs !== undefined) this.expiringCount--;
  }

  private boundStaleExpiries(): void {
    if (this.expiry.size <= 2 * this.expiringCount + EXPIRY_STALE_SLACK) return;
    const live = [];
    for (const [id, record] of this.records) {
      if (record.expiresAtMs !== undefined) live.push({ expiresAtMs: record.expiresAtMs, id });
    }
    this.expiry.rebuild(live);
  }
}
