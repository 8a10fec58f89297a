/**
 * Synchronous positioned reads from WAL segments, for entries no longer held in memory.
 * Keeps one read-only descriptor per segment it has read, closed when the segment is
 * removed by compaction or the storage closes; their number is bounded by the segments
 * on disk, which compaction bounds.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { CorruptDataError, readFailure } from "./errors.js";
import { segmentFileName } from "./file-names.js";

export class SegmentReader {
  private readonly descriptors = new Map<number, number>();

  constructor(private readonly dir: string) {}

  path(segmentSeq: number): string {
    return join(this.dir, segmentFileName(segmentSeq));
  }

  /** Bytes [offset, offset + length) of a segment; a short read means the file lost data. */
  read(segmentSeq: number, offset: number, length: number): Buffer {
    const buffer = Buffer.allocUnsafe(length);
    const fd = this.descriptor(segmentSeq);
    let done = 0;
    while (done < length) {
      let got: number;
      try {
        got = readSync(fd, buffer, done, length - done, offset + done);
      } catch (error) {
        throw readFailure(error, this.path(segmentSeq));
      }
      if (got === 0) {
        throw new CorruptDataError(`the segment ends before an indexed record (${length - done} bytes missing)`, {
          file: this.path(segmentSeq),
          offset: offset + done,
        });
      }
      done += got;
    }
    return buffer;
  }

  forget(segmentSeq: number): void {
    const fd = this.descriptors.get(segmentSeq);
    if (fd === undefined) return;
    this.descriptors.delete(segmentSeq);
    closeSync(fd);
  }

  closeAll(): void {
    for (const segmentSeq of [...this.descriptors.keys()]) this.forget(segmentSeq);
  }

  private descriptor(segmentSeq: number): number {
    let fd = this.descriptors.get(segmentSeq);
    if (fd === undefined) {
      try {
        fd = openSync(this.path(segmentSeq), "r");
      } catch (error) {
        throw readFailure(error, this.path(segmentSeq));
      }
      this.descriptors.set(segmentSeq, fd);
    }
    return fd;
  }
}
