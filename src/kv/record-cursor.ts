import { NO_SLOT, type RecordTable } from "./record-table.js";
import type { SlotCursor } from "./sorted-keys.js";

/**
 * One key's state, as `KeyStore.get` and `RecordCursor.record` hand it out and as writes
 * hand it in. `value` handed out is a view of the store's own bytes: valid until the
 * store next changes, and never to be written; copy it to keep it.
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

/** The record in `slot` of `table`, its value a view (see KeyRecord). */
export function recordAt(table: RecordTable, slot: number): KeyRecord {
  return {
    value: table.valueView(slot),
    flags: table.flags[slot] as number,
    version: table.version[slot] as number,
    createVersion: table.createVersion[slot] as number,
    expiresAtMs: expiryAt(table, slot),
  };
}

export function expiryAt(table: RecordTable, slot: number): number | undefined {
  const expiresAtMs = table.expiresAtMs[slot] as number;
  return Number.isNaN(expiresAtMs) ? undefined : expiresAtMs;
}

/**
 * Records in key order, read in place one at a time: `next()` moves to the next record
 * (false at the end), then the accessors read it. Nothing is allocated per record but
 * the views `key()` and `value()` return, valid until the store next changes. The store
 * must not change while the cursor is in use, unless the cursor reads a capture.
 */
export class RecordCursor {
  private slot = NO_SLOT;

  constructor(
    private readonly table: RecordTable,
    private readonly slots: SlotCursor,
    /** A capture's saved copies: slot as the store has it now, to slot as captured. */
    private readonly preserved?: ReadonlyMap<number, number>,
  ) {}

  next(): boolean {
    const slot = this.slots.next();
    this.slot = slot === NO_SLOT ? NO_SLOT : (this.preserved?.get(slot) ?? slot);
    return slot !== NO_SLOT;
  }

  key(): Uint8Array {
    return this.table.keyView(this.slot);
  }

  value(): Uint8Array {
    return this.table.valueView(this.slot);
  }

  keyStartsWith(prefix: Uint8Array): boolean {
    return this.table.keyStartsWith(this.slot, prefix);
  }

  get flags(): number {
    return this.table.flags[this.slot] as number;
  }

  get version(): number {
    return this.table.version[this.slot] as number;
  }

  get createVersion(): number {
    return this.table.createVersion[this.slot] as number;
  }

  get expiresAtMs(): number | undefined {
    return expiryAt(this.table, this.slot);
  }

  /** The current record as a KeyRecord (its value a view). */
  record(): KeyRecord {
    return recordAt(this.table, this.slot);
  }
}
