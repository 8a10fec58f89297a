/**
 * Recovery, the snapshot part: pick the newest snapshot that passes every check and
 * square it with the WAL's last snapshot marker. Reads files, changes nothing.
 *
 * - A newest snapshot that fails its checks is set aside only if an older snapshot plus
 *   the log still on disk can stand in for it (the log reaches from the older snapshot
 *   to past the bad one); otherwise the server stops with an error naming the file.
 * - A snapshot newer than the WAL's last marker means a crash between the snapshot's
 *   rename and its marker: the marker is written now, resetting the log unless it holds
 *   the snapshot's last entry (Raft §7), exactly as the interrupted operation would have.
 * - A marker newer than every valid snapshot means the snapshot file is gone: the older
 *   snapshot plus log must cover it, as above.
 */
import { join } from "node:path";
import type { DiskLog } from "./disk-log.js";
import { CorruptDataError } from "./errors.js";
import { type SnapshotFile, snapshotFileName } from "./file-names.js";
import type { SnapshotMarker } from "./record-payloads.js";
import { type StoredSnapshot, validateSnapshotFile } from "./snapshot-store.js";

export interface SetAsideSnapshot {
  readonly path: string;
  readonly index: number;
  readonly error: CorruptDataError;
}

export interface SnapshotChoice {
  readonly stored: StoredSnapshot | undefined;
  readonly setAside: readonly SetAsideSnapshot[];
  /** A marker to append now (the snapshot is newer than the WAL's last marker). */
  readonly markerToWrite: SnapshotMarker | undefined;
}

export function chooseSnapshot(
  dir: string,
  snapshots: readonly SnapshotFile[],
  lastMarker: SnapshotMarker | undefined,
  log: DiskLog,
): SnapshotChoice {
  const setAside: SetAsideSnapshot[] = [];
  let stored: StoredSnapshot | undefined;
  for (const candidate of snapshots) {
    const path = join(dir, candidate.name);
    try {
      stored = validateSnapshotFile(path, candidate.index);
      break;
    } catch (error) {
      // Only checksum and format damage may fall back; a newer format or an IO error stops here.
      if (!(error instanceof CorruptDataError)) throw error;
      setAside.push({ path, index: candidate.index, error });
    }
  }
  const index = stored?.layout.meta.index ?? 0;
  const term = stored?.layout.meta.term ?? 0;
  const markerIndex = lastMarker?.index ?? 0;
  const required = Math.max(markerIndex, ...setAside.map((bad) => bad.index));
  if (required > index && !logCovers(log, index, term, required, lastMarker)) {
    throw uncoveredError(dir, setAside, lastMarker, index);
  }
  if (lastMarker !== undefined && lastMarker.index === index && lastMarker.term !== term) {
    throw new CorruptDataError(`the snapshot has term ${term}, the WAL's snapshot marker says term ${lastMarker.term}`, {
      file: stored?.path ?? join(dir, snapshotFileName(index)),
      offset: 0,
    });
  }
  let markerToWrite: SnapshotMarker | undefined;
  if (index > markerIndex) {
    const keepsLog = log.index.has(index) && log.index.term(index) === term;
    markerToWrite = { index, term, logReset: !keepsLog };
  }
  return { stored, setAside, markerToWrite };
}

/** The log holds every entry from `index + 1` through `required`, agreeing with both ends it can check. */
function logCovers(log: DiskLog, index: number, term: number, required: number, marker: SnapshotMarker | undefined): boolean {
  const entries = log.index;
  if (entries.size() === 0 || entries.firstIndex() > index + 1 || entries.lastIndex() < required) return false;
  if (index > 0 && entries.has(index) && entries.term(index) !== term) return false;
  return marker === undefined || marker.index <= index || entries.term(marker.index) === marker.term;
}

function uncoveredError(dir: string, setAside: readonly SetAsideSnapshot[], marker: SnapshotMarker | undefined, index: number): CorruptDataError {
  const bad = setAside[0];
  if (bad !== undefined) {
    return new CorruptDataError(
      `the newest snapshot is damaged (${bad.error.what}) and no older snapshot plus log can replace it`,
      { file: bad.path, offset: bad.error.offset ?? 0, cause: bad.error },
    );
  }
  const markerIndex = marker?.index ?? 0;
  return new CorruptDataError(
    `the WAL records a snapshot at index ${markerIndex}, but no valid snapshot file at or after it exists ` +
      `(newest valid: index ${index}) and the log does not cover the difference`,
    { file: join(dir, snapshotFileName(markerIndex)), offset: 0 },
  );
}
