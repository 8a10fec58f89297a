import { invariant } from "../assert/invariant.js";
import { compareBytes } from "./bytes.js";
import { ExpiryQueue } from "./expiry-queue.js";
import { KeyHashIndex, hashKey } from "./key-hash-index.js";
import { RecordCursor, recordAt, type KeyRecord } from "./record-cursor.js";
import { NO_SLOT, RecordTable } from "./record-table.js";
import { SortedSlots } from "./sorted-keys.js";

export type { KeyRecord } from "./record-cursor.js";

/** A key removed by expiry: a copy of its bytes and its last version. */
export interface ExpiredKey {
  readonly key: Uint8Array;
  readonly version: number;
}

/** Records in key order, from the live store or from a capture of one moment. */
export interface ScanSource {
  /** A cursor from `start` (excluded when `exclusive` and present). */
  scan(start: Uint8Array, exclusive: boolean): RecordCursor;
}

/** Where a store's bytes are, for tests and benchmarks (the table's since the last clear). */
export interface StoreMemory {
  /** Bytes of slabs and dedicated buffers. */
  readonly arenaReservedBytes: number;
  /** Bytes of the blocks holding records (live, or kept for captures). */
  readonly arenaUsedBytes: number;
  /** Bytes of freed blocks waiting for reuse. */
  readonly arenaFreedBytes: number;
  /** Bytes of the columns, hash buckets and order. */
  readonly indexBytes: number;
  readonly compactions: number;
}

/** Stale heap entries allowed beyond the live ones before the heap is rebuilt. */
const EXPIRY_STALE_SLACK = 1024;
const EMPTY_KEY = new Uint8Array(0);

/**
 * The key map, compact: records in a RecordTable (typed-array columns, key and value
 * bytes in slab blocks), found by a KeyHashIndex, ordered by SortedSlots for scans and
 * by an ExpiryQueue for removal, with its size in bytes. About 70 bytes per key beyond
 * the key and value bytes and their size class's rounding. Knows nothing of versions,
 * sessions or events.
 *
 * Captures (for snapshots and listings read while writes go on) are copy-on-write per
 * slot: a write to a slot that a capture still reads first saves a copy for the
 * captures, and deleted slots are retired instead of freed; retired slots are freed once
 * every capture taken before their retirement is released.
 */
export class KeyStore implements ScanSource {
  private table = new RecordTable();
  private hashIndex = new KeyHashIndex(this.table);
  private order = new SortedSlots(this.table);
  private readonly expiry = new ExpiryQueue();
  private readonly captures = new Set<StoreCapture>();
  private captureEpoch = 0;
  /** Slots kept for captures, oldest first, with the capture epoch when each was retired. */
  private retiredSlots: number[] = [];
  private retiredEpochs: number[] = [];
  private expiringCount = 0;
  private totalBytes = 0;

  get count(): number {
    return this.hashIndex.size;
  }

  /** Bytes of all keys and values. */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  /** Bytes the store holds in typed arrays and slabs, by part (for tests and benchmarks). */
  memoryBytes(): StoreMemory {
    const { reservedBytes, usedBytes, freedBytes } = this.table.arenaBytes;
    const indexBytes = this.table.columnBytes + this.hashIndex.bucketBytes + 4 * this.order.size;
    return { arenaReservedBytes: reservedBytes, arenaUsedBytes: usedBytes, arenaFreedBytes: freedBytes, indexBytes, compactions: this.table.compactions };
  }

  /** The key's record, its value a view valid until the store next changes. */
  get(key: Uint8Array): KeyRecord | undefined {
    const slot = this.hashIndex.find(key, hashKey(key));
    return slot === NO_SLOT ? undefined : recordAt(this.table, slot);
  }

  /** Stores `record` under `key`; both are copied in (the value may be a view from `get`). */
  set(key: Uint8Array, record: KeyRecord): void {
    const hash = hashKey(key);
    let slot = this.hashIndex.find(key, hash);
    if (slot === NO_SLOT) {
      slot = this.table.add(key, record.value, hash);
      this.hashIndex.insert(slot);
      this.order.insert(slot, key);
    } else {
      this.preserveForCaptures(slot);
      this.forget(slot);
      this.table.replaceValue(slot, record.value);
    }
    this.writeColumns(slot, record);
  }

  /**
   * Adds a key larger than every key present (a snapshot's next record), without a
   * search of the order.
   */
  append(key: Uint8Array, record: KeyRecord): void {
    const last = this.order.last();
    invariant(last === NO_SLOT || this.table.compareKey(last, key) < 0, () => "keys are appended in strictly increasing order");
    const slot = this.table.add(key, record.value, hashKey(key));
    this.hashIndex.insert(slot);
    this.order.append(slot);
    this.writeColumns(slot, record);
  }

  /** Removes the key; returns whether it existed. */
  delete(key: Uint8Array): boolean {
    const slot = this.hashIndex.find(key, hashKey(key));
    if (slot === NO_SLOT) return false;
    this.deleteSlot(slot, key);
    return true;
  }

  /** Removes every key; returns how many there were. */
  clear(): number {
    const count = this.count;
    // Captures go on reading the old table, which nothing changes any more, instead of
    // each saving every key one by one.
    this.captures.clear();
    this.retiredSlots = [];
    this.retiredEpochs = [];
    this.table = new RecordTable();
    this.hashIndex = new KeyHashIndex(this.table);
    this.order = new SortedSlots(this.table);
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
    return this.expiry.peekMs();
  }

  /** Removes and returns, in (expiresAtMs, key) order, the keys expiring at or before `nowMs`. */
  removeExpired(nowMs: number): ExpiredKey[] {
    const removed: (ExpiredKey & { expiresAtMs: number })[] = [];
    const table = this.table;
    for (let expiresAtMs = this.expiry.peekMs(); expiresAtMs !== undefined && expiresAtMs <= nowMs; expiresAtMs = this.expiry.peekMs()) {
      const slot = this.expiry.peekSlot();
      const generation = this.expiry.peekGeneration();
      this.expiry.pop();
      // A stale entry: the key was deleted, rewritten or touched since this was pushed.
      if (table.generation[slot] !== generation || table.expiresAtMs[slot] !== expiresAtMs) continue;
      const key = table.keyCopy(slot);
      removed.push({ key, version: table.version[slot] as number, expiresAtMs });
      this.deleteSlot(slot, key);
    }
    // The heap pops equal expiries in an order that depends on its history.
    return removed.sort((a, b) => a.expiresAtMs - b.expiresAtMs || compareBytes(a.key, b.key));
  }

  /** Records in key order from `start` (exclusive when asked); no writes while reading. */
  scan(start: Uint8Array, exclusive: boolean): RecordCursor {
    return new RecordCursor(this.table, this.order.from(start, exclusive));
  }

  /**
   * The records as of now, for a snapshot encoded (or a listing paged) while writes go
   * on; `release()` ends the copy-on-write. Taking one copies the order (4 bytes per
   * key, a few milliseconds for a million keys), not the records.
   */
  capture(): StoreCapture {
    const capture: StoreCapture = new StoreCapture(this.table, this.order.copy(), ++this.captureEpoch, () => this.release(capture));
    this.captures.add(capture);
    return capture;
  }

  private deleteSlot(slot: number, key: Uint8Array): void {
    this.forget(slot);
    this.hashIndex.remove(slot);
    this.order.remove(slot, key);
    if (this.captures.size === 0) {
      this.table.release(slot);
      return;
    }
    this.table.kill(slot);
    this.retire(slot);
  }

  private writeColumns(slot: number, record: KeyRecord): void {
    const table = this.table;
    table.flags[slot] = record.flags;
    table.version[slot] = record.version;
    table.createVersion[slot] = record.createVersion;
    table.expiresAtMs[slot] = record.expiresAtMs ?? Number.NaN;
    this.totalBytes += (table.keyLength[slot] as number) + (table.valueLength[slot] as number);
    if (record.expiresAtMs === undefined) return;
    this.expiringCount++;
    this.expiry.push(record.expiresAtMs, slot, table.generation[slot] as number);
    this.boundStaleExpiries();
  }

  private forget(slot: number): void {
    const table = this.table;
    this.totalBytes -= (table.keyLength[slot] as number) + (table.valueLength[slot] as number);
    if (!Number.isNaN(table.expiresAtMs[slot])) this.expiringCount--;
  }

  /** Before `slot` changes in place: every capture not yet holding its old record gets one copy. */
  private preserveForCaptures(slot: number): void {
    let saved = NO_SLOT;
    for (const capture of this.captures) {
      if (capture.preserves(slot)) continue;
      if (saved === NO_SLOT) {
        saved = this.table.copySlot(slot);
        this.retire(saved);
      }
      capture.preserve(slot, saved);
    }
  }

  private retire(slot: number): void {
    this.retiredSlots.push(slot);
    this.retiredEpochs.push(this.captureEpoch);
  }

  private release(capture: StoreCapture): void {
    // A capture of a table that clear() replaced is no longer in the set.
    if (!this.captures.delete(capture)) return;
    let oldestEpoch = Number.POSITIVE_INFINITY;
    for (const { epoch } of this.captures) oldestEpoch = Math.min(oldestEpoch, epoch);
    // A slot retired at epoch e may be read by captures taken at or before e.
    let freed = 0;
    while (freed < this.retiredSlots.length && (this.retiredEpochs[freed] as number) < oldestEpoch) {
      this.table.release(this.retiredSlots[freed] as number);
      freed++;
    }
    this.retiredSlots.splice(0, freed);
    this.retiredEpochs.splice(0, freed);
  }

  private boundStaleExpiries(): void {
    if (this.expiry.size <= 2 * this.expiringCount + EXPIRY_STALE_SLACK) return;
    const table = this.table;
    this.expiry.clear();
    this.order.forEach((slot) => {
      const expiresAtMs = table.expiresAtMs[slot] as number;
      if (!Number.isNaN(expiresAtMs)) this.expiry.push(expiresAtMs, slot, table.generation[slot] as number);
    });
  }
}

/** The key records of one moment, read in key order while the store moves on. */
export class StoreCapture implements ScanSource {
  /** Slot as the store has it now, to the saved copy of the record as captured. */
  private readonly preserved = new Map<number, number>();

  constructor(
    private readonly table: RecordTable,
    private readonly order: SortedSlots,
    /** Captures are numbered in the order they are taken. */
    readonly epoch: number,
    readonly release: () => void,
  ) {}

  get count(): number {
    return this.order.size;
  }

  preserves(slot: number): boolean {
    return this.preserved.has(slot);
  }

  /** Called by the store before it changes `slot` in place: `saved` holds the record as it was. */
  preserve(slot: number, saved: number): void {
    this.preserved.set(slot, saved);
  }

  records(): RecordCursor {
    return this.scan(EMPTY_KEY, false);
  }

  scan(start: Uint8Array, exclusive: boolean): RecordCursor {
    return new RecordCursor(this.table, this.order.from(start, exclusive), this.preserved);
  }
}
