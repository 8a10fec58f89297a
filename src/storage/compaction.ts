/**
 * What compaction removes after a snapshot became durable. Pure: the caller removes the
 * files and fsyncs the directory.
 *
 * Segments: only a prefix of the WAL, never the segment being written, and only
 * segments whose every entry lies at or below the compaction index (the snapshot index
 * minus `logEntriesRetainedAfterSnapshot`), or that precede the segment where the log was
 * last reset by a received snapshot (nothing before a reset is part of the log). Because
 * every segment opens with the hard state and snapshot marker current at its creation,
 * removing a prefix never loses either. Removing a prefix and stopping at the first
 * segment that must stay keeps every entry above the compaction index: an entry above it
 * lives in a segment that is not removable, and so does everything after that segment.
 */
import type { SnapshotFile } from "./file-names.js";

export interface SegmentCompactionInput {
  /** Segments on disk, ascending. */
  readonly segmentSeqs: readonly number[];
  readonly currentSegmentSeq: number;
  /** The largest entry index ever written to each segment (absent: no entries). */
  readonly maxEntryIndex: ReadonlyMap<number, number>;
  readonly compactIndex: number;
  /** The segment holding the latest log-resetting snapshot marker, if any. */
  readonly resetSegmentSeq: number | undefined;
}

export function segmentsToRemove(input: SegmentCompactionInput): number[] {
  const removable: number[] = [];
  for (const segmentSeq of input.segmentSeqs) {
    if (segmentSeq >= input.currentSegmentSeq) break;
    const beforeReset = input.resetSegmentSeq !== undefined && segmentSeq < input.resetSegmentSeq;
    const maxIndex = input.maxEntryIndex.get(segmentSeq) ?? 0;
    if (!beforeReset && maxIndex > input.compactIndex) break;
    removable.push(segmentSeq);
  }
  return removable;
}

/** Snapshot files beyond the newest `retained`; the current snapshot always stays. */
export function snapshotsToRemove(snapshotsNewestFirst: readonly SnapshotFile[], currentIndex: number, retained: number): SnapshotFile[] {
  return snapshotsNewestFirst.slice(retained).filter((snapshot) => snapshot.index !== currentIndex);
}
