/**
 * Recovery on start: read the newest valid snapshot and the log after it, checking every
 * checksum; decide what the durable state is; then repair the data dir so that it says
 * exactly that. Every decision is made before the first change on disk, so a data dir
 * this refuses is left as it was found.
 *
 * Rules, in order:
 * 1. Temporary files are unfinished writes: removed.
 * 2. WAL damage followed by valid records anywhere: stop (CorruptDataError).
 * 3. A torn tail (an incomplete write): cut off. It was never acknowledged.
 * 4. A corrupt tail (complete data that failed its checks): it may hold entries this
 *    server acknowledged, so first persist the hard state with `nonVoting: true`, then cut
 *    it off. The member stays non-voting until a leader has caught it up. In that order,
 *    a crash in between finds the same corrupt tail again.
 * 5. Segments after the last valid record: removed.
 * 6. Snapshots: see recovery-snapshot.ts. A damaged snapshot that can be stood in for is
 *    renamed aside (*.corrupt), never deleted.
 * 7. The commit index is raised to the snapshot index and clamped to the last index.
 */
import { join } from "node:path";
import { EMPTY_HARD_STATE, type HardState } from "../raft/types.js";
import { DiskLog } from "./disk-log.js";
import { type FileIo, syncDirectoryOrFail, syncOrFail, writeFailure } from "./file-io.js";
import { listDataDir } from "./file-names.js";
import {
  HARD_STATE_RECORD_BYTES,
  type SnapshotMarker,
  encodeSegmentHeader,
  encodeStateRecords,
  writeHardStateRecord,
} from "./record-payloads.js";
import { chooseSnapshot } from "./recovery-snapshot.js";
import type { SegmentReader } from "./segment-reader.js";
import { setSnapshotAside, type StoredSnapshot } from "./snapshot-store.js";
import type { StorageEvent } from "./storage-types.js";
import { type ScannedSegment, type WalReplay, replayWal } from "./wal-replay.js";

export interface Recovered {
  readonly log: DiskLog;
  readonly hardState: HardState;
  readonly snapshot: StoredSnapshot | undefined;
  /** WAL segments left on disk, ascending; the last is continued by the writer. */
  readonly segmentSeqs: readonly number[];
  readonly lastSegmentDurableBytes: number;
  readonly markerToWrite: SnapshotMarker | undefined;
  readonly events: readonly StorageEvent[];
  readonly madeNonVoting: boolean;
}

export async function recoverDataDir(dir: string, io: FileIo, memoryLogBytesMax: number, reader: SegmentReader): Promise<Recovered> {
  const events: StorageEvent[] = [];
  const listing = await listDataDir(dir);
  const log = new DiskLog(reader, memoryLogBytesMax);
  const wal = await replayWal(dir, listing.segments, log);
  const choice = chooseSnapshot(dir, listing.snapshots, wal.lastMarker, log);
  const snapshotIndex = choice.stored?.layout.meta.index ?? 0;
  const snapshotTerm = choice.stored?.layout.meta.term ?? 0;
  log.setSnapshot(snapshotIndex, snapshotTerm, choice.markerToWrite?.logReset ?? false);

  const found = wal.hardState ?? EMPTY_HARD_STATE;
  const madeNonVoting = wal.tail?.kind === "corrupt";
  // A snapshot holds only committed entries; the log may end before the recorded commit after a truncation.
  const commit = Math.min(Math.max(found.commit, snapshotIndex), log.lastIndex());
  if (commit < found.commit) events.push({ type: "commit-clamped", from: found.commit, to: commit });
  const hardState: HardState = { ...found, commit, nonVoting: found.nonVoting || madeNonVoting };

  // Decisions made; from here on the data dir changes.
  for (const name of listing.temporaries) {
    await io.unlink(join(dir, name));
    events.push({ type: "temporary-file-removed", file: join(dir, name) });
  }
  if (listing.temporaries.length > 0) await syncDirectoryOrFail(io, dir);
  const marker = { index: snapshotIndex, term: snapshotTerm, logReset: false };
  const kept = await repairWal(io, dir, wal, hardState, marker, events);
  for (const bad of choice.setAside) {
    await setSnapshotAside(io, dir, bad.path);
    events.push({ type: "snapshot-set-aside", file: bad.path, offset: bad.error.offset ?? 0, reason: bad.error.what, fallbackIndex: snapshotIndex });
  }
  if (choice.markerToWrite !== undefined) {
    events.push({ type: "snapshot-marker-restored", snapshotIndex, logReset: choice.markerToWrite.logReset });
  }
  const last = kept[kept.length - 1];
  return {
    log,
    hardState,
    snapshot: choice.stored,
    segmentSeqs: kept.map((segment) => segment.segmentSeq),
    lastSegmentDurableBytes: last?.durableBytes ?? 0,
    markerToWrite: choice.markerToWrite,
    events,
    madeNonVoting,
  };
}

interface KeptSegment {
  readonly segmentSeq: number;
  readonly durableBytes: number;
}

/** Applies rules 3-5 to the WAL and returns the segments kept, with where their valid data ends. */
async function repairWal(
  io: FileIo,
  dir: string,
  wal: WalReplay,
  hardState: HardState,
  marker: SnapshotMarker,
  events: StorageEvent[],
): Promise<KeptSegment[]> {
  const kept: KeptSegment[] = wal.segments.map((s) => ({ segmentSeq: s.segmentSeq, durableBytes: s.end.offset }));
  let removable = wal.trailingSegments;
  const tail = wal.tail;
  const lastValid = wal.segments[wal.segments.length - 1];
  if (tail?.kind === "corrupt") {
    // Rule 4: the hard state goes where the valid log ends; with no valid segment, into a fresh preamble.
    const target = lastValid ?? (removable[0] as ScannedSegment);
    const offset = lastValid?.end.offset ?? 0;
    const bytes = lastValid === undefined ? preambleRecords(target.segmentSeq, hardState, marker) : hardStateRecord(hardState);
    await overwriteAndCut(io, target.path, offset, bytes);
    if (lastValid === undefined) {
      removable = removable.slice(1);
      kept.push({ segmentSeq: target.segmentSeq, durableBytes: bytes.length });
    } else {
      (kept[kept.length - 1] as { durableBytes: number }).durableBytes = offset + bytes.length;
    }
    events.push({ type: "corrupt-tail-truncated", file: tail.segment.path, offset: tail.offset, bytesDropped: tail.dataEnd - tail.offset, reason: tail.reason });
  } else if (tail?.kind === "torn") {
    if (lastValid !== undefined && tail.segment === lastValid) await overwriteAndCut(io, lastValid.path, tail.offset, Buffer.alloc(0));
    events.push({ type: "torn-tail-truncated", file: tail.segment.path, offset: tail.offset, bytesDropped: tail.dataEnd - tail.offset, reason: tail.reason });
  }
  for (const segment of removable) {
    await io.unlink(segment.path);
    const reason = segment.end.kind === "clean" ? "empty" : "after-truncated-tail";
    events.push({ type: "segment-removed", file: segment.path, reason });
  }
  if (removable.length > 0) await syncDirectoryOrFail(io, dir);
  return kept;
}

/** Writes `bytes` at `offset` and makes them durable, then cuts the file right after them. */
async function overwriteAndCut(io: FileIo, path: string, offset: number, bytes: Buffer): Promise<void> {
  const file = await io.open(path, "existing");
  try {
    if (bytes.length > 0) {
      await file.write(bytes, offset).catch((error: unknown) => {
        throw writeFailure(error, path);
      });
      await syncOrFail(path, () => file.datasync());
    }
    await file.truncate(offset + bytes.length).catch((error: unknown) => {
      throw writeFailure(error, path);
    });
    await syncOrFail(path, () => file.datasync());
  } finally {
    await file.close();
  }
}

function hardStateRecord(hardState: HardState): Buffer {
  const bytes = Buffer.alloc(HARD_STATE_RECORD_BYTES);
  writeHardStateRecord(bytes, 0, hardState);
  return bytes;
}

/** A segment's opening records: header, hard state, snapshot marker. */
function preambleRecords(segmentSeq: number, hardState: HardState, marker: SnapshotMarker): Buffer {
  return Buffer.concat([encodeSegmentHeader(segmentSeq), encodeStateRecords(hardState, marker)]);
}
