/**
 * The names of the files in a data dir, and listing them. One data dir holds one server:
 *
 *   kvraft-meta.json                     format version, member id, cluster id
 *   LOCK                                 held while a server runs
 *   wal-0000000000000001.seg             WAL segments, in sequence order
 *   snapshot-00000000000000012345.snap   snapshots, named by their last index
 *   *.tmp                                unfinished writes, removed at start
 *   *.corrupt                            a snapshot set aside by recovery, kept for inspection
 */
import { readdir } from "node:fs/promises";

export const META_FILE = "kvraft-meta.json";
export const LOCK_FILE = "LOCK";
export const TEMPORARY_SUFFIX = ".tmp";
export const CORRUPT_SUFFIX = ".corrupt";

const SEGMENT_PATTERN = /^wal-(\d{16})\.seg$/;
const SNAPSHOT_PATTERN = /^snapshot-(\d{20})\.snap$/;

export function segmentFileName(segmentSeq: number): string {
  return `wal-${String(segmentSeq).padStart(16, "0")}.seg`;
}

export function snapshotFileName(index: number): string {
  return `snapshot-${String(index).padStart(20, "0")}.snap`;
}

export interface SegmentFile {
  readonly segmentSeq: number;
  readonly name: string;
}

export interface SnapshotFile {
  readonly index: number;
  readonly name: string;
}

export interface DataDirListing {
  /** Ascending by sequence number. */
  readonly segments: readonly SegmentFile[];
  /** Descending by index: newest first. */
  readonly snapshots: readonly SnapshotFile[];
  readonly temporaries: readonly string[];
}

export async function listDataDir(dir: string): Promise<DataDirListing> {
  const segments: SegmentFile[] = [];
  const snapshots: SnapshotFile[] = [];
  const temporaries: string[] = [];
  for (const name of await readdir(dir)) {
    const segment = SEGMENT_PATTERN.exec(name);
    const snapshot = SNAPSHOT_PATTERN.exec(name);
    if (segment !== null) segments.push({ segmentSeq: Number(segment[1]), name });
    else if (snapshot !== null) snapshots.push({ index: Number(snapshot[1]), name });
    else if (name.endsWith(TEMPORARY_SUFFIX)) temporaries.push(name);
  }
  segments.sort((a, b) => a.segmentSeq - b.segmentSeq);
  snapshots.sort((a, b) => b.index - a.index);
  return { segments, snapshots, temporaries };
}

/**
 * A file the storage layer wrote (or left) in a data dir, the lock aside: what a rewrite of
 * the whole dir moves. Anything else (a volume's lost+found) is not the storage's to move.
 */
export function isStorageFile(name: string): boolean {
  return name === META_FILE || SEGMENT_PATTERN.test(name) || SNAPSHOT_PATTERN.test(name)
    || name.endsWith(TEMPORARY_SUFFIX) || name.endsWith(CORRUPT_SUFFIX);
}
