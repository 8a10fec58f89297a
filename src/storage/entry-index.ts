/**
 * Where each log entry lives on disk, for every entry the log holds: term, segment,
 * file offset and sizes in parallel typed arrays (24 bytes per entry, no object per
 * entry), so that an entry evicted from memory is read back with one positioned read.
 */
import { InvariantError, invariant } from "../assert/invariant.js";

export interface EntryLocation {
  readonly segmentSeq: number;
  readonly fileOffset: number;
  readonly recordBytes: number;
}

const CAPACITY_INITIAL = 1024;

export class EntryIndex {
  /** The log index held in slot `start`. */
  private lo = 1;
  private start = 0;
  private count = 0;
  private terms = new Float64Array(CAPACITY_INITIAL);
  private segmentSeqs = new Uint32Array(CAPACITY_INITIAL);
  private fileOffsets = new Uint32Array(CAPACITY_INITIAL);
  private recordSizes = new Uint32Array(CAPACITY_INITIAL);
  private dataSizes = new Uint32Array(CAPACITY_INITIAL);

  /** The first index held (or the next index to append when empty). */
  firstIndex(): number {
    return this.lo;
  }

  /** The last index held (`firstIndex() - 1` when empty). */
  lastIndex(): number {
    return this.lo + this.count - 1;
  }

  size(): number {
    return this.count;
  }

  has(index: number): boolean {
    return index >= this.lo && index < this.lo + this.count;
  }

  /** Empties the index; the next append must be `nextIndex`. */
  reset(nextIndex: number): void {
    this.lo = nextIndex;
    this.start = 0;
    this.count = 0;
  }

  /** Appends the next index; positional arguments, no object per entry: this runs for every entry written. */
  append(index: number, term: number, segmentSeq: number, fileOffset: number, recordBytes: number, dataBytes: number): void {
    if (index !== this.lo + this.count) fail(`entry index ${index} does not follow last index ${this.lastIndex()}`);
    if (fileOffset >= 2 ** 32) fail(`file offset ${fileOffset} of entry ${index} exceeds 4 GiB`);
    if (this.start + this.count === this.terms.length) this.makeRoom();
    const slot = this.start + this.count;
    this.terms[slot] = term;
    this.segmentSeqs[slot] = segmentSeq;
    this.fileOffsets[slot] = fileOffset;
    this.recordSizes[slot] = recordBytes;
    this.dataSizes[slot] = dataBytes;
    this.count++;
  }

  /** Removes `index` and everything after it. */
  truncateFrom(index: number): void {
    invariant(index >= this.lo && index <= this.lo + this.count, () =>
      `cannot truncate from ${index}: the index holds [${this.lo}, ${this.lastIndex()}]`);
    this.count = index - this.lo;
  }

  /** Removes everything before `index`; past the end, the index empties and restarts there. */
  dropBefore(index: number): void {
    if (index <= this.lo) return;
    if (index > this.lastIndex()) {
      this.reset(index);
      return;
    }
    const dropped = index - this.lo;
    this.start += dropped;
    this.count -= dropped;
    this.lo = index;
  }

  term(index: number): number {
    return this.terms[this.slotOf(index)] as number;
  }

  dataBytes(index: number): number {
    return this.dataSizes[this.slotOf(index)] as number;
  }

  location(index: number): EntryLocation {
    const slot = this.slotOf(index);
    return {
      segmentSeq: this.segmentSeqs[slot] as number,
      fileOffset: this.fileOffsets[slot] as number,
      recordBytes: this.recordSizes[slot] as number,
    };
  }

  private slotOf(index: number): number {
    invariant(this.has(index), () => `index ${index} outside [${this.lo}, ${this.lastIndex()}]`);
    return this.start + (index - this.lo);
  }

  private makeRoom(): void {
    const length = this.terms.length;
    // Shift down when at least half the arrays are dropped prefix, else double them.
    const capacity = this.start >= length / 2 ? length : length * 2;
    const move = <T extends Float64Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = capacity === length ? old : make(capacity);
      // TypedArray.set copies correctly when source and target share a buffer.
      next.set(old.subarray(this.start, this.start + this.count), 0);
      return next;
    };
    this.terms = move(this.terms, (n) => new Float64Array(n));
    this.segmentSeqs = move(this.segmentSeqs, (n) => new Uint32Array(n));
    this.fileOffsets = move(this.fileOffsets, (n) => new Uint32Array(n));
    this.recordSizes = move(this.recordSizes, (n) => new Uint32Array(n));
    this.dataSizes = move(this.dataSizes, (n) => new Uint32Array(n));
    this.start = 0;
  }
}

function fail(message: string): never {
  throw new InvariantError(message);
}
