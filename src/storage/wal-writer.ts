/**
 * Appending to the WAL: one write and one fdatasync per flush, segment rotation, and the
 * next segment prepared (created, zero-filled, fsynced, its directory entry fsynced) in
 * the background so that rotation costs no file creation on the write path.
 *
 * Every segment starts with a preamble: its header record, then the current hard state
 * and snapshot marker. Removing older segments therefore never loses the latest hard
 * state or snapshot marker.
 *
 * Failure handling:
 * - A full disk leaves the segment's durable end where it was; the bytes the failed
 *   write may have left behind are overwritten (with zeros past the new data) by the next
 *   write, or cut off when the segment is sealed. Nothing durable is touched.
 * - A failed fsync or any other IO error is fatal: every later call throws it.
 */
import { join } from "node:path";
import { DiskFullError, FsyncFailedError, type StorageError, StorageIoError } from "./errors.js";
import {
  type FileIo,
  type WritableFile,
  errorCode,
  isDiskFull,
  syncDirectoryOrFail,
  syncOrFail,
  writeFailure,
} from "./file-io.js";
import { segmentFileName } from "./file-names.js";
import type { PlacedBytes } from "./group-commit.js";
import { encodeSegmentHeader } from "./record-payloads.js";
import type { StorageEvent } from "./storage-types.js";

const ZERO_FILL_CHUNK = Buffer.alloc(1024 * 1024);

export interface WalWriterOptions {
  readonly dir: string;
  readonly io: FileIo;
  readonly segmentBytesMax: number;
  readonly segmentPreallocate: boolean;
  /** The records after a new segment's header: the durable hard state and snapshot marker. */
  readonly preamble: () => Buffer;
  readonly onEvent: (event: StorageEvent) => void;
}

interface OpenSegment {
  readonly segmentSeq: number;
  readonly file: WritableFile;
  /** Bytes made durable; the next write goes here. */
  durableBytes: number;
  /** The end of bytes a failed write may have left after `durableBytes` (0: none). */
  dirtyEnd: number;
}

export class WalWriter {
  private current: OpenSegment;
  private readonly segmentSeqsOnDisk: number[];
  private next: Promise<OpenSegment | StorageError> | undefined;
  private fatal: StorageError | undefined;

  private constructor(
    private readonly options: WalWriterOptions,
    current: OpenSegment,
    segmentSeqs: number[],
  ) {
    this.current = current;
    this.segmentSeqsOnDisk = segmentSeqs;
    this.prepareNext();
  }

  /** Continues the last segment at its durable end, or starts segment 1 in an empty WAL. */
  static async resume(options: WalWriterOptions, segmentSeqs: readonly number[], lastDurableBytes: number): Promise<WalWriter> {
    const last = segmentSeqs[segmentSeqs.length - 1];
    if (last === undefined) {
      const first = await createSegment(options, 1);
      return new WalWriter(options, first, [1]);
    }
    const file = await options.io.open(join(options.dir, segmentFileName(last)), "existing");
    return new WalWriter(options, { segmentSeq: last, file, durableBytes: lastDurableBytes, dirtyEnd: 0 }, [...segmentSeqs]);
  }

  /** Resolves once the next segment is prepared (or its preparation failed, to be retried at rotation). */
  async whenNextSegmentPrepared(): Promise<void> {
    await this.next;
  }

  segmentSeqs(): readonly number[] {
    return this.segmentSeqsOnDisk;
  }

  currentSegmentSeq(): number {
    return this.current.segmentSeq;
  }

  fatalError(): StorageError | undefined {
    return this.fatal;
  }

  /** Writes the current segment's preamble if nothing is in it yet. */
  async startSegment(): Promise<void> {
    if (this.current.durableBytes === 0) await this.flush([]);
  }

  /** Writes the chunks back to back and makes them durable, in one call. */
  async flush(chunks: readonly Buffer[]): Promise<readonly PlacedBytes[]> {
    if (this.fatal !== undefined) throw this.fatal;
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    if (this.current.durableBytes > 0 && this.current.durableBytes + total > this.options.segmentBytesMax) {
      await this.rotate();
    }
    const segment = this.current;
    const parts: Buffer[] = [];
    if (segment.durableBytes === 0) parts.push(encodeSegmentHeader(segment.segmentSeq), this.options.preamble());
    let offset = segment.durableBytes;
    for (const part of parts) offset += part.length;
    const placed = chunks.map((chunk) => {
      const at = { segmentSeq: segment.segmentSeq, fileOffset: offset };
      offset += chunk.length;
      return at;
    });
    parts.push(...chunks);
    // Zeros over whatever an earlier failed write left past the new data: recovery must see a clean end.
    if (segment.dirtyEnd > offset) parts.push(Buffer.alloc(segment.dirtyEnd - offset));
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    try {
      await segment.file.writeDurably(bytes, segment.durableBytes);
    } catch (error) {
      if (error instanceof FsyncFailedError) throw this.die(error);
      segment.dirtyEnd = Math.max(segment.dirtyEnd, segment.durableBytes + bytes.length);
      throw this.failWrite(error, segment.file.path);
    }
    segment.durableBytes = offset;
    segment.dirtyEnd = 0;
    return placed;
  }

  /** Removes whole segments (never the current one) and fsyncs the directory. */
  async removeSegments(segmentSeqs: readonly number[]): Promise<void> {
    if (segmentSeqs.length === 0) return;
    for (const segmentSeq of segmentSeqs) {
      if (segmentSeq === this.current.segmentSeq) throw new Error(`refusing to remove the current segment ${segmentSeq}`);
      const path = join(this.options.dir, segmentFileName(segmentSeq));
      await this.options.io.unlink(path).catch((error: unknown) => {
        if (errorCode(error) !== "ENOENT") throw new StorageIoError("removing a compacted segment", path, error);
      });
      const at = this.segmentSeqsOnDisk.indexOf(segmentSeq);
      if (at >= 0) this.segmentSeqsOnDisk.splice(at, 1);
    }
    await syncDirectoryOrFail(this.options.io, this.options.dir).catch((error: unknown) => {
      throw this.die(error as StorageError);
    });
  }

  /** Closes the files; the unused prepared segment is removed so a clean shutdown leaves none behind. */
  async close(): Promise<void> {
    const next = await this.next;
    this.next = undefined;
    if (next !== undefined && !(next instanceof Error)) {
      await next.file.close().catch(() => undefined);
      await this.options.io.unlink(next.file.path).catch(() => undefined);
      if (this.fatal === undefined) await syncDirectoryOrFail(this.options.io, this.options.dir).catch(() => undefined);
    }
    await this.current.file.close().catch(() => undefined);
  }

  private prepareNext(): void {
    const segmentSeq = this.current.segmentSeq + 1;
    this.next = createSegment(this.options, segmentSeq).catch((error: unknown) => writeFailure(error, segmentFileName(segmentSeq)));
  }

  private async rotate(): Promise<void> {
    const old = this.current;
    // Seal: cut the unused preallocated space and anything a failed write left there.
    try {
      await old.file.truncate(old.durableBytes);
    } catch (error) {
      throw this.die(writeFailure(error, old.file.path));
    }
    await this.syncOrDie(old.file);
    let next = await this.next;
    this.next = undefined;
    if (next instanceof Error && !(next instanceof DiskFullError)) throw this.die(next);
    if (next === undefined || next instanceof Error) {
      // The background preparation found the disk full: try once more, now.
      next = await createSegment(this.options, old.segmentSeq + 1).catch((error: unknown) => {
        throw this.failWrite(error, segmentFileName(old.segmentSeq + 1));
      });
    }
    await old.file.close().catch(() => undefined);
    this.current = next;
    this.segmentSeqsOnDisk.push(next.segmentSeq);
    this.prepareNext();
  }

  private failWrite(error: unknown, file: string): StorageError {
    const failure = writeFailure(error, file);
    return failure instanceof DiskFullError ? failure : this.die(failure);
  }

  private async syncOrDie(file: WritableFile): Promise<void> {
    try {
      await syncOrFail(file.path, () => file.datasync());
    } catch (error) {
      throw this.die(error as StorageError);
    }
  }

  private die(error: StorageError): StorageError {
    this.fatal ??= error;
    return this.fatal;
  }
}

/** Creates a segment file, zero-filled when preallocating, and makes it and its name durable. */
async function createSegment(options: WalWriterOptions, segmentSeq: number): Promise<OpenSegment> {
  const path = join(options.dir, segmentFileName(segmentSeq));
  const file = await options.io.open(path, "create");
  try {
    if (options.segmentPreallocate) {
      for (let offset = 0; offset < options.segmentBytesMax; offset += ZERO_FILL_CHUNK.length) {
        const length = Math.min(ZERO_FILL_CHUNK.length, options.segmentBytesMax - offset);
        await file.write(ZERO_FILL_CHUNK.subarray(0, length), offset);
      }
    }
    await syncOrFail(path, () => file.datasync());
    await syncDirectoryOrFail(options.io, options.dir);
  } catch (error) {
    await file.close().catch(() => undefined);
    await options.io.unlink(path).catch(() => undefined);
    if (options.segmentPreallocate && isDiskFull(error)) {
      options.onEvent({ type: "segment-preallocation-failed", file: path, reason: String(error) });
      return createSegment({ ...options, segmentPreallocate: false }, segmentSeq);
    }
    throw error;
  }
  return { segmentSeq, file, durableBytes: 0, dirtyEnd: 0 };
}
