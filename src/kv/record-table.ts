import { invariant } from "../assert/invariant.js";
import { SlabArena } from "./slab-arena.js";

/** No slot: a lookup that found nothing. */
export const NO_SLOT = -1;
const INITIAL_SLOTS = 64;
/** Columns grow by half again, not double: a million keys waste at most a third, not half. */
const GROWTH_FACTOR = 1.5;
/** Most slots: slot numbers are int32 in the indexes (2^31 - 1 records is far past any memory). */
export const SLOTS_MAX = 0x7fff_ffff;

/**
 * Key records packed into typed-array columns, one row (slot) per record, with each
 * record's key and value bytes side by side in one block of a SlabArena. A record costs
 * its block plus ~52 bytes of columns: no object, string or Map entry per key.
 *
 * A slot is free when its keyLength is 0 (keys are never empty). Slots are reused, so a
 * slot number alone does not name a record for long: `generation` changes each time a
 * slot's record dies, which lets queues that hold slot numbers (expiry) spot stale ones.
 *
 * Reading: `slabOf(slot)` is the buffer and `keyStart(slot)` / `valueStart(slot)` the
 * offsets in it. Those stay valid only until the table next changes (a write may free
 * or move the block); views for callers are made by `keyView` / `valueView` with the
 * same proviso, or copies by `keyCopy` / `valueCopy`.
 */
export class RecordTable {
  private arena = new SlabArena();
  private capacity = INITIAL_SLOTS;
  /** Slots below this have been used at least once. */
  private highWater = 0;
  private readonly freeSlots: number[] = [];
  private compactionsValue = 0;
  blockAddress = new Float64Array(INITIAL_SLOTS);
  keyLength = new Uint32Array(INITIAL_SLOTS);
  valueLength = new Uint32Array(INITIAL_SLOTS);
  flags = new Uint32Array(INITIAL_SLOTS);
  version = new Float64Array(INITIAL_SLOTS);
  createVersion = new Float64Array(INITIAL_SLOTS);
  /** NaN: never expires. */
  expiresAtMs = new Float64Array(INITIAL_SLOTS);
  /** hashKey of the key, kept so the hash index can grow without reading every key. */
  hash = new Uint32Array(INITIAL_SLOTS);
  generation = new Uint32Array(INITIAL_SLOTS);

  /** The arena's byte counts, for tests and metrics. */
  get arenaBytes(): { readonly reservedBytes: number; readonly usedBytes: number; readonly freedBytes: number } {
    const { reservedBytes, usedBytes, freedBytes } = this.arena;
    return { reservedBytes, usedBytes, freedBytes };
  }

  /** How many times the arena was compacted, for tests and metrics. */
  get compactions(): number {
    return this.compactionsValue;
  }

  /** Bytes of the columns (allocated capacity), for tests and metrics. */
  get columnBytes(): number {
    return this.capacity * (8 + 4 + 4 + 4 + 8 + 8 + 8 + 4 + 4);
  }

  /** A new slot holding `key` and `value` (copied in); the caller sets the other columns. */
  add(key: Uint8Array, value: Uint8Array, hash: number): number {
    invariant(key.length > 0, () => "a stored key has at least one byte");
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.keyLength[slot] = key.length;
    this.hash[slot] = hash;
    this.writeBlock(slot, key, value);
    return slot;
  }

  /** A new slot with a copy of `slot`'s record (key, value and columns). */
  copySlot(slot: number): number {
    const copy = this.add(this.keyView(slot), this.valueView(slot), this.hash[slot] as number);
    this.flags[copy] = this.flags[slot] as number;
    this.version[copy] = this.version[slot] as number;
    this.createVersion[copy] = this.createVersion[slot] as number;
    this.expiresAtMs[copy] = this.expiresAtMs[slot] as number;
    return copy;
  }

  /** Gives `slot` a new value (copied in; it may be a view of the slot's own block). */
  replaceValue(slot: number, value: Uint8Array): void {
    const oldAddress = this.blockAddress[slot] as number;
    const oldBytes = this.blockBytes(slot);
    // The new block is written before the old one is freed: `value` may lie in it.
    this.writeBlock(slot, this.keyView(slot), value);
    this.freeBlock(oldAddress, oldBytes);
  }

  /** Marks the slot's record dead now (stale queue entries see it), keeping its block. */
  kill(slot: number): void {
    this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0;
  }

  /** Frees `slot` and its block for reuse. */
  release(slot: number): void {
    invariant((this.keyLength[slot] as number) > 0, () => `slot ${slot} is released once`);
    this.kill(slot);
    const address = this.blockAddress[slot] as number;
    const bytes = this.blockBytes(slot);
    this.keyLength[slot] = 0;
    this.valueLength[slot] = 0;
    this.freeSlots.push(slot);
    this.freeBlock(address, bytes);
  }

  slabOf(slot: number): Uint8Array {
    return this.arena.slabOf(this.blockAddress[slot] as number);
  }

  keyStart(slot: number): number {
    return this.arena.offsetOf(this.blockAddress[slot] as number);
  }

  valueStart(slot: number): number {
    return this.keyStart(slot) + (this.keyLength[slot] as number);
  }

  keyView(slot: number): Uint8Array {
    const start = this.keyStart(slot);
    return this.slabOf(slot).subarray(start, start + (this.keyLength[slot] as number));
  }

  valueView(slot: number): Uint8Array {
    const start = this.valueStart(slot);
    return this.slabOf(slot).subarray(start, start + (this.valueLength[slot] as number));
  }

  keyCopy(slot: number): Uint8Array {
    return this.keyView(slot).slice();
  }

  valueCopy(slot: number): Uint8Array {
    return this.valueView(slot).slice();
  }

  /** Compares `slot`'s key with `key` byte by byte: negative, 0 or positive. */
  compareKey(slot: number, key: Uint8Array): number {
    const slab = this.slabOf(slot);
    const start = this.keyStart(slot);
    const length = this.keyLength[slot] as number;
    const common = Math.min(length, key.length);
    for (let i = 0; i < common; i++) {
      const difference = (slab[start + i] as number) - (key[i] as number);
      if (difference !== 0) return difference;
    }
    return length - key.length;
  }

  /** Whether `slot`'s key starts with `prefix`. */
  keyStartsWith(slot: number, prefix: Uint8Array): boolean {
    if ((this.keyLength[slot] as number) < prefix.length) return false;
    const slab = this.slabOf(slot);
    const start = this.keyStart(slot);
    for (let i = 0; i < prefix.length; i++) {
      if (slab[start + i] !== prefix[i]) return false;
    }
    return true;
  }

  private blockBytes(slot: number): number {
    return (this.keyLength[slot] as number) + (this.valueLength[slot] as number);
  }

  private writeBlock(slot: number, key: Uint8Array, value: Uint8Array): void {
    const address = this.arena.allocate(key.length + value.length);
    const slab = this.arena.slabOf(address);
    const start = this.arena.offsetOf(address);
    slab.set(key, start);
    slab.set(value, start + key.length);
    this.blockAddress[slot] = address;
    this.valueLength[slot] = value.length;
  }

  private freeBlock(address: number, bytes: number): void {
    this.arena.free(address, bytes);
    if (this.arena.compactionDue) this.compact();
  }

  /**
   * Copies every block still held into a fresh arena, tightly packed, and drops the old
   * one. Views handed out before stay readable: nothing writes the old slabs again.
   */
  private compact(): void {
    const old = this.arena;
    this.arena = new SlabArena();
    this.compactionsValue++;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.keyLength[slot] === 0) continue;
      const bytes = this.blockBytes(slot);
      const oldAddress = this.blockAddress[slot] as number;
      const oldStart = old.offsetOf(oldAddress);
      const address = this.arena.allocate(bytes);
      this.arena.slabOf(address).set(old.slabOf(oldAddress).subarray(oldStart, oldStart + bytes), this.arena.offsetOf(address));
      this.blockAddress[slot] = address;
    }
  }

  private newSlot(): number {
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    invariant(this.capacity < SLOTS_MAX, () => `a record table holds at most ${SLOTS_MAX} slots`);
    const capacity = Math.min(SLOTS_MAX, Math.ceil(this.capacity * GROWTH_FACTOR));
    this.blockAddress = grown(this.blockAddress, new Float64Array(capacity));
    this.keyLength = grown(this.keyLength, new Uint32Array(capacity));
    this.valueLength = grown(this.valueLength, new Uint32Array(capacity));
    this.flags = grown(this.flags, new Uint32Array(capacity));
    this.version = grown(this.version, new Float64Array(capacity));
    this.createVersion = grown(this.createVersion, new Float64Array(capacity));
    this.expiresAtMs = grown(this.expiresAtMs, new Float64Array(capacity));
    this.hash = grown(this.hash, new Uint32Array(capacity));
    this.generation = grown(this.generation, new Uint32Array(capacity));
    this.capacity = capacity;
  }
}

function grown<T extends Float64Array | Uint32Array>(old: T, larger: T): T {
  larger.set(old);
  return larger;
}
