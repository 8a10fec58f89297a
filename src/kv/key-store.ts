import { invariant } from "../assert/invariant.js";
import { ExpiryQueue } from "./expiry-queue.js";
import { SortedKeys } from "./sorted-keys.js";

/**
 * One key's state as stored under its id. Records are immutable: a write replaces the
 * record. The key's bytes are not kept here: the id (keyId) holds the same bytes, one per
 * code unit, and keyBytes(id) gives them back; a second copy would cost ~170 B per key.
 */
export interface KeyRecord {
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

/** A key's id (keyId of its bytes) with its record, as scans and expiry hand them out. */
export type KeyEntry = readonly [id: string, record: KeyRecord];

/** Stale heap entries allowed beyond the live ones before the heap is rebuilt. */
const EXPIRY_STALE_SLACK = 1024;

/**
 * The key map with its two indexes (byte order for scans, expiry order for removal)
 * and its size in bytes. Knows nothing of versions, sessions or events.
 */
export class KeyStore implements ScanSource {
  private records = new Map<string, KeyRecord>();
  /** Captures being encoded: each keeps the records as they were when it was taken. */
  private readonly captures = new Set<StoreCapture>();
  private readonly order = new SortedKeys();
  private readonly expiry = new ExpiryQueue();
  private expiringCount = 0;
  private totalBytes = 0;

  get count(): number {
    return this.records.size;
  }

  /** Bytes of all keys and values (an id has one code unit per key byte). */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  get(id: string): KeyRecord | undefined {
    return this.records.get(id);
  }

  /** Stores `record` under `id`, which must be keyId of the key's bytes. */
  set(id: string, record: KeyRecord): void {
    const previous = this.records.get(id);
    this.preserveForCaptures(id, previous);
    if (previous === undefined) this.order.insert(id);
    else this.forget(id, previous);
    this.records.set(id, record);
    this.totalBytes += id.length + record.value.length;
    if (record.expiresAtMs !== undefined) {
      this.expiringCount++;
      this.expiry.push({ expiresAtMs: record.expiresAtMs, id });
      this.boundStaleExpiries();
    }
  }

  delete(id: string): KeyRecord | undefined {
    const previous = this.records.get(id);
    if (previous === undefined) return undefined;
    this.preserveForCaptures(id, previous);
    this.records.delete(id);
    this.order.remove(id);
    this.forget(id, previous);
    return previous;
  }

  /** Removes every key; returns how many there were. */
  clear(): number {
    const count = this.records.size;
    // Captures go on reading the old map, which nothing changes any more, instead of
    // each preserving every key one by one.
    this.captures.clear();
    this.records = new Map();
    this.order.clear();
    this.expiry.clear();
    this.expiringCount = 0;
    this.totalBytes = 0;
    return count;
  }

  /**
   * The earliest expiry in the queue. It may be a stale entry (the key was rewritten
   * since): then a stamp past it removes nothing but drops the stale entry, so the
   * next call answers a later time.
   */
  nextExpiryMs(): number | undefined {
    return this.expiry.peek()?.expiresAtMs;
  }

  /** Removes and returns, in (expiresAtMs, key) order, the keys expiring at or before `nowMs`. */
  removeExpired(nowMs: number): KeyEntry[] {
    const removed: KeyEntry[] = [];
    for (let next = this.expiry.peek(); next !== undefined && next.expiresAtMs <= nowMs; next = this.expiry.peek()) {
      this.expiry.pop();
      const record = this.records.get(next.id);
      // A stale entry: the key was deleted, rewritten or touched since this was pushed.
      if (record === undefined || record.expiresAtMs !== next.expiresAtMs) continue;
      this.delete(next.id);
      removed.push([next.id, record]);
    }
    return removed;
  }

  /** Records in key order from `startId` (exclusive when asked); no writes while iterating. */
  *scan(startId: string, exclusive: boolean): Generator<KeyEntry> {
    for (const id of this.order.from(startId, exclusive)) yield [id, this.records.get(id) as KeyRecord];
  }

  /**
   * The records as of now, for a snapshot encoded while writes go on: each later write saves the
   * record it replaces for the capture (copy-on-write). Records are immutable, so a
   * saved reference is the old value. `release()` ends the copy-on-write.
   * Taking one copies the ids' references (a few milliseconds for a million keys), not
   * the records.
   */
  capture(): StoreCapture {
    const capture = new StoreCapture(this.order.copy(), this.records, () => this.captures.delete(capture));
    this.captures.add(capture);
    return capture;
  }

  private preserveForCaptures(id: string, previous: KeyRecord | undefined): void {
    for (const capture of this.captures) capture.preserve(id, previous);
  }

  private forget(id: string, record: KeyRecord): void {
    this.totalBytes -= id.length + record.value.length;
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

/** Key records in key order, from the live store or from a capture of one moment. */
export interface ScanSource {
  scan(startId: string, exclusive: boolean): Iterable<KeyEntry>;
}

/** The key records of one moment, read in key order while the store moves on. */
export class StoreCapture implements ScanSource {
  private readonly preserved = new Map<string, KeyRecord | undefined>();

  constructor(
    private readonly order: SortedKeys,
    private readonly live: ReadonlyMap<string, KeyRecord>,
    readonly release: () => void,
  ) {}

  get count(): number {
    return this.order.size;
  }

  /** Called by the store before it changes `id`: the first change saves the captured record. */
  preserve(id: string, previous: KeyRecord | undefined): void {
    if (!this.preserved.has(id)) this.preserved.set(id, previous);
  }

  records(): Generator<KeyEntry> {
    return this.scan("", false);
  }

  *scan(startId: string, exclusive: boolean): Generator<KeyEntry> {
    for (const id of this.order.from(startId, exclusive)) {
      const record = this.preserved.has(id) ? this.preserved.get(id) : this.live.get(id);
      invariant(record !== undefined, () => `captured key ${id} keeps its record (saved on its first change)`);
      yield [id, record];
    }
  }
}
