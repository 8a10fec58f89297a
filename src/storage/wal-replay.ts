/**
 * Recovery, part one: read every WAL segment, check every record, and replay the valid
 * ones into a DiskLog, finding where (and how) the valid log ends. Changes nothing on
 * disk; part two (recovery.ts) decides and repairs.
 *
 * Replay rules, the same the writer followed:
 * - the first entry seen anchors the log (older segments may have been compacted away);
 * - an entry at or below the last index replaces the log from there (a follower's
 *   conflicting suffix); an entry past last + 1 is a gap: corruption;
 * - a snapshot marker with `logReset` empties the log, anchored after its index;
 * - the last hard state record wins.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HardState } from "../raft/types.js";
import type { DiskLog } from "./disk-log.js";
import { CorruptDataError, UnsupportedFormatError, readFailure } from "./errors.js";
import type { SegmentFile } from "./file-names.js";
import { RecordType } from "./record-format.js";
import {
  PayloadFormatError,
  type SnapshotMarker,
  WAL_FORMAT_VERSION,
  decodeEntry,
  decodeHardState,
  decodeSegmentHeader,
  decodeSnapshotMarker,
} from "./record-payloads.js";
import { type ScannedRecord, type SegmentEnd, scanSegment } from "./segment-scan.js";

export interface ScannedSegment {
  readonly segmentSeq: number;
  readonly path: string;
  readonly recordCount: number;
  readonly fileBytes: number;
  readonly end: SegmentEnd;
}

/** Damage after the last valid record: an incomplete write, or data that failed its checks. */
export interface WalTail {
  /** torn: an incomplete write, never acknowledged. corrupt: complete data that failed its checks. */
  readonly kind: "torn" | "corrupt";
  /** The segment where the (first) damage was found. */
  readonly segment: ScannedSegment;
  readonly offset: number;
  /** The end of the last non-zero byte in `segment`. */
  readonly dataEnd: number;
  readonly reason: string;
}

export interface WalReplay {
  /** Segments holding valid records, ascending; the valid data of each ends at `end.offset`. */
  readonly segments: readonly ScannedSegment[];
  /** Segments after the last one with valid records, holding none (unused preallocations, torn starts). */
  readonly trailingSegments: readonly ScannedSegment[];
  readonly tail: WalTail | undefined;
  readonly hardState: HardState | undefined;
  readonly lastMarker: SnapshotMarker | undefined;
}

/**
 * Entries are appended as views of their segment's buffer, not copies: most of a long log
 * lies before a snapshot marker and is dropped from the tail cache when the marker is
 * read (recovery drops it from the log once the snapshot is chosen), and the log cannot
 * keep more than its cache's budget anyway. What the cache still holds when a segment
 * ends is copied out then, so no segment's buffer outlives its turn. With 100,000 keys,
 * copying every entry was about a tenth of a restarted member's CPU before it served.
 */
class Replayer {
  hardState: HardState | undefined;
  lastMarker: SnapshotMarker | undefined;
  private anchored = false;
  /** The lowest index appended (as a view) in the segment being replayed. */
  private segmentLowestIndex: number | undefined;

  constructor(private readonly log: DiskLog) {}

  /** The segment's records are all applied: its entries still cached get their own copies. */
  endSegment(): void {
    if (this.segmentLowestIndex !== undefined) this.log.copyCachedDataFrom(this.segmentLowestIndex);
    this.segmentLowestIndex = undefined;
  }

  apply(record: ScannedRecord, segmentSeq: number, path: string, isFirst: boolean): void {
    const fail = (why: string): never => {
      throw new CorruptDataError(why, { file: path, offset: record.offset });
    };
    try {
      if (isFirst !== (record.type === RecordType.SegmentHeader)) fail("a segment must start with exactly one segment header");
      switch (record.type) {
        case RecordType.SegmentHeader: {
          const header = decodeSegmentHeader(record.payload);
          if (header.formatVersion !== WAL_FORMAT_VERSION) {
            throw new UnsupportedFormatError(path, header.formatVersion, WAL_FORMAT_VERSION);
          }
          if (header.segmentSeq !== segmentSeq) fail(`the segment header says sequence ${header.segmentSeq}, the file name ${segmentSeq}`);
          return;
        }
        case RecordType.Entry:
          return this.applyEntry(record, segmentSeq, fail);
        case RecordType.HardState:
          this.hardState = decodeHardState(record.payload);
          return;
        case RecordType.SnapshotMarker: {
          const marker = decodeSnapshotMarker(record.payload);
          if (marker.logReset) {
            this.log.restart(marker.index + 1);
            this.anchored = true;
          }
          this.lastMarker = marker;
          // The snapshot covers what comes before: only a lagging follower would ask for it, from disk.
          this.log.dropCachedBefore(marker.index + 1);
          return;
        }
      }
    } catch (error) {
      if (error instanceof PayloadFormatError) fail(`a record passed its CRC32C but does not decode: ${error.message}`);
      throw error;
    }
  }

  private applyEntry(record: ScannedRecord, segmentSeq: number, fail: (why: string) => never): void {
    const decoded = decodeEntry(record.payload);
    if (!this.anchored) {
      this.log.restart(decoded.index);
      this.anchored = true;
    }
    const first = this.log.index.firstIndex();
    const last = this.log.index.lastIndex();
    if (decoded.index < first || decoded.index > last + 1) {
      fail(`entry ${decoded.index} does not continue the log [${first}, ${last}]`);
    }
    if (this.lastMarker !== undefined && decoded.index <= this.lastMarker.index) {
      fail(`entry ${decoded.index} follows a snapshot marker at index ${this.lastMarker.index}`);
    }
    // A view of the segment's buffer until the segment ends (see Replayer).
    this.log.append(decoded, segmentSeq, record.offset, record.recordEnd - record.offset);
    this.log.noteSegmentEntry(segmentSeq, decoded.index);
    this.segmentLowestIndex = Math.min(this.segmentLowestIndex ?? decoded.index, decoded.index);
  }
}

export async function replayWal(dir: string, segmentFiles: readonly SegmentFile[], log: DiskLog): Promise<WalReplay> {
  const replayer = new Replayer(log);
  const segments: ScannedSegment[] = [];
  const trailingSegments: ScannedSegment[] = [];
  // The first segment that ends anything but clean, or holds no record: no valid record may follow it.
  let firstDamaged: ScannedSegment | undefined;
  for (const file of segmentFiles) {
    const path = join(dir, file.name);
    const bytes = await readFile(path).catch((error: unknown) => {
      throw readFailure(error, path);
    });
    const scan = scanSegment(bytes);
    const scanned = { segmentSeq: file.segmentSeq, path, recordCount: scan.records.length, fileBytes: bytes.length, end: scan.end };
    if (scan.end.kind === "corrupt" && scan.end.validRecordAfter !== undefined) {
      throw new CorruptDataError(`${scan.end.reason}, and valid records follow it (at offset ${scan.end.validRecordAfter})`, {
        file: path,
        offset: scan.end.offset,
      });
    }
    if (scan.records.length > 0) {
      if (firstDamaged !== undefined) throw damageInTheMiddle(firstDamaged, path);
      const previous = segments[segments.length - 1];
      if (previous !== undefined && file.segmentSeq !== previous.segmentSeq + 1) {
        throw new CorruptDataError(`segment ${previous.segmentSeq + 1} is missing before segment ${file.segmentSeq}`, { file: path, offset: 0 });
      }
      try {
        scan.records.forEach((record, i) => replayer.apply(record, file.segmentSeq, path, i === 0));
      } finally {
        replayer.endSegment();
      }
      segments.push(scanned);
    } else {
      trailingSegments.push(scanned);
    }
    if ((scan.records.length === 0 || scan.end.kind !== "clean") && firstDamaged === undefined) firstDamaged = scanned;
  }
  return {
    segments,
    trailingSegments,
    tail: describeTail(segments[segments.length - 1], trailingSegments),
    hardState: replayer.hardState,
    lastMarker: replayer.lastMarker,
  };
}

function damageInTheMiddle(damaged: ScannedSegment, laterPath: string): CorruptDataError {
  const what = damaged.end.kind === "clean" ? "the segment holds no valid record" : damaged.end.reason;
  return new CorruptDataError(`${what}, and a later segment (${laterPath}) holds valid records`, {
    file: damaged.path,
    offset: damaged.end.offset,
  });
}

/**
 * The tail is torn only if there is a single damaged spot and it is an incomplete write;
 * two damaged spots, or any corrupt one, make it corrupt (possibly acknowledged data).
 */
function describeTail(lastValid: ScannedSegment | undefined, trailing: readonly ScannedSegment[]): WalTail | undefined {
  const candidates = lastValid === undefined ? trailing : [lastValid, ...trailing];
  const damaged = candidates.filter((segment) => segment.end.kind !== "clean");
  const first = damaged[0];
  if (first === undefined || first.end.kind === "clean") return undefined;
  const kind = damaged.length === 1 && first.end.kind === "torn" ? "torn" : "corrupt";
  return { kind, segment: first, offset: first.end.offset, dataEnd: first.end.dataEnd, reason: first.end.reason };
}
