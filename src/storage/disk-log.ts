/**
 * The durable log as held by DiskStorage: the snapshot floor, the index of every entry's
 * place on disk, the newest entries in memory, and synchronous reads of the rest. Only
 * durable state enters here (after its fsync), so every read answers from stable storage.
 */
import type { Entry } from "../raft/types.js";
import { invariant } from "../assert/invariant.js";
import { CorruptDataError } from "./errors.js";
import { EntryIndex } from "./entry-index.js";
import { RecordType, checkRecordBody, readRecordHeader, recordPayload } from "./record-format.js";
import { decodeEntry } from "./record-payloads.js";
import type { SegmentReader } from "./segment-reader.js";
import { TailCache } from "./tail-cache.js";

export class DiskLog {
  private snapshotIndexValue = 0;
  private snapshotTermValue = 0;
  readonly index = new EntryIndex();
  private readonly cache: TailCache;
  /** The largest entry index ever written to each segment: compaction removes a segment only below it. */
  readonly segmentMaxEntryIndex = new Map<number, number>();

  constructor(
    private readonly reader: SegmentReader,
    memoryLogBytesMax: number,
  ) {
    this.cache = new TailCache(memoryLogBytesMax);
  }

  snapshotIndex(): number {
    return this.snapshotIndexValue;
  }

  snapshotTerm(): number {
    return this.snapshotTermValue;
  }

  firstIndex(): number {
    return this.snapshotIndexValue + 1;
  }

  lastIndex(): number {
    return Math.max(this.snapshotIndexValue, this.index.lastIndex());
  }

  cachedBytes(): number {
    return this.cache.bytesHeld();
  }

  term(index: number): number | undefined {
    if (index === this.snapshotIndexValue) return this.snapshotTermValue;
    if (index < this.snapshotIndexValue || !this.index.has(index)) return undefined;
    return this.index.term(index);
  }

  /** Appends a durable entry; an index at or below the last one replaces the suffix from there. */
  append(entry: Entry, segmentSeq: number, fileOffset: number, recordBytes: number): void {
    if (entry.index <= this.index.lastIndex()) {
      this.index.truncateFrom(entry.index);
      this.cache.truncateFrom(entry.index);
    }
    this.index.append(entry.index, entry.term, segmentSeq, fileOffset, recordBytes, entry.data.byteLength);
    this.cache.append(entry);
  }

  /** Drops cached entries before `index` (the index keeps them: they are read from disk if asked for). */
  dropCachedBefore(index: number): void {
    this.cache.dropBefore(index);
  }

  /** Copies the data of the cached entries from `index` on out of the buffers they view (TailCache.copyDataFrom). */
  copyCachedDataFrom(index: number): void {
    this.cache.copyDataFrom(index);
  }

  /** Records that `segmentSeq` holds an entry at `index` (compaction keeps it while that entry is needed). */
  noteSegmentEntry(segmentSeq: number, index: number): void {
    const previous = this.segmentMaxEntryIndex.get(segmentSeq) ?? 0;
    if (index > previous) this.segmentMaxEntryIndex.set(segmentSeq, index);
  }

  /** Empties the log; the next append must be `nextIndex`. */
  restart(nextIndex: number): void {
    this.index.reset(nextIndex);
    this.cache.clear();
  }

  /** Moves the floor to a durable snapshot; with `logReset` the log after it is discarded too (Raft §7). */
  setSnapshot(index: number, term: number, logReset: boolean): void {
    this.snapshotIndexValue = index;
    this.snapshotTermValue = term;
    if (logReset || this.index.lastIndex() < index) {
      this.restart(index + 1);
    } else {
      this.index.dropBefore(index + 1);
      this.cache.dropBefore(index + 1);
    }
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () =>
      `entries(${lo}, ${hi}) outside the log [${this.firstIndex()}, ${this.lastIndex()}]`);
    const result: Entry[] = [];
    let bytes = 0;
    let next = lo;
    const fits = (dataBytes: number): boolean => result.length === 0 || bytes + dataBytes <= bytesMax;
    while (next < hi) {
      const cached = this.cache.get(next);
      if (cached !== undefined) {
        if (!fits(cached.data.byteLength)) break;
        result.push(cached);
        bytes += cached.data.byteLength;
        next++;
        continue;
      }
      const fromDisk = this.readRun(next, hi, bytesMax - bytes, result.length === 0);
      if (fromDisk.length === 0) break;
      for (const entry of fromDisk) {
        result.push(entry);
        bytes += entry.data.byteLength;
      }
      next += fromDisk.length;
    }
    return result;
  }

  /** Reads consecutive uncached entries that lie back to back in one segment, with one read. */
  private readRun(lo: number, hi: number, budgetBytes: number, mustTakeOne: boolean): Entry[] {
    const first = this.index.location(lo);
    let end = lo;
    let fileEnd = first.fileOffset;
    let dataBytes = 0;
    while (end < hi && this.cache.get(end) === undefined) {
      const location = this.index.location(end);
      if (location.segmentSeq !== first.segmentSeq || location.fileOffset !== fileEnd) break;
      const size = this.index.dataBytes(end);
      if (dataBytes + size > budgetBytes && !(mustTakeOne && end === lo)) break;
      dataBytes += size;
      fileEnd += location.recordBytes;
      end++;
    }
    if (end === lo) return [];
    const bytes = this.reader.read(first.segmentSeq, first.fileOffset, fileEnd - first.fileOffset);
    const entries: Entry[] = [];
    let offset = 0;
    for (let index = lo; index < end; index++) {
      entries.push(this.verifyEntry(bytes, offset, index, first.segmentSeq, first.fileOffset + offset));
      offset += this.index.location(index).recordBytes;
    }
    return entries;
  }

  /** Checks an entry read back from disk before it is served: never serve data that failed its checksum. */
  private verifyEntry(bytes: Buffer, offset: number, index: number, segmentSeq: number, fileOffset: number): Entry {
    const fail = (why: string): never => {
      throw new CorruptDataError(`entry ${index} read back from disk ${why}`, { file: this.reader.path(segmentSeq), offset: fileOffset });
    };
    const header = readRecordHeader(bytes, offset);
    if (header === undefined || header.type !== RecordType.Entry) return fail("has a malformed record header");
    if (checkRecordBody(bytes, offset, header.payloadBytes) !== "ok") return fail("failed its CRC32C");
    const entry = decodeEntry(recordPayload(bytes, offset, header.payloadBytes));
    if (entry.index !== index || entry.term !== this.index.term(index)) {
      return fail(`holds index ${entry.index} term ${entry.term}, expected term ${this.index.term(index)}`);
    }
    return entry;
  }
}
