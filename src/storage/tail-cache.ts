/**
 * The newest log entries, kept in memory up to a byte budget (`memoryLogBytesMax`).
 * Followers that keep up and the leader's own replication read from here; anything
 * older is read from disk through the entry index. Holds a contiguous run of indexes
 * that always ends at the log's last index.
 */
import type { Entry } from "../raft/types.js";

/** An estimate of what an entry object costs beyond its data, so that tiny entries count. */
export const ENTRY_MEMORY_OVERHEAD_BYTES = 64;

export function entryMemoryBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_MEMORY_OVERHEAD_BYTES;
}

export class TailCache {
  private entries: Entry[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  bytesHeld(): number {
    return this.bytes;
  }

  size(): number {
    return this.entries.length - this.head;
  }

  get(index: number): Entry | undefined {
    const first = this.entries[this.head];
    if (first === undefined) return undefined;
    return this.entries[this.head + (index - first.index)];
  }

  /** Adds the next entry; a non-contiguous one restarts the cache (it must end at the last index). */
  append(entry: Entry): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && this.size() > 0 && entry.index !== last.index + 1) this.clear();
    this.entries.push(entry);
    this.bytes += entryMemoryBytes(entry);
    while (this.bytes > this.bytesMax && this.size() > 0) this.shift();
    this.compact();
  }

  truncateFrom(index: number): void {
    while (this.size() > 0) {
      const last = this.entries[this.entries.length - 1] as Entry;
      if (last.index < index) break;
      this.entries.pop();
      this.bytes -= entryMemoryBytes(last);
    }
  }

  /**
   * Gives every held entry from `index` on a copy of its data: entries appended as views
   * of a larger buffer (a WAL segment read back at recovery) then keep only their bytes
   * alive, not the buffer.
   */
  copyDataFrom(index: number): void {
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      if (entry.index >= index) this.entries[i] = { ...entry, data: Buffer.from(entry.data) };
    }
  }

  dropBefore(index: number): void {
    while (this.size() > 0 && (this.entries[this.head] as Entry).index < index) this.shift();
    this.compact();
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  private shift(): void {
    const first = this.entries[this.head] as Entry;
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    this.bytes -= entryMemoryBytes(first);
  }

  /** Drops the consumed prefix of the array once it is most of it, so memory follows the budget. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
