/**
 * DiskStorage's snapshot side: saving local snapshots, installing received ones, and the
 * compaction that follows either. One operation at a time (they are serialised), each in
 * the order file -> marker -> compaction:
 *
 * 1. the snapshot file becomes durable under its final name (snapshot-store.ts);
 * 2. a snapshot marker goes through group commit, ordered with the entries around it;
 *    once durable, the log's floor moves (and for a received snapshot that does not match
 *    the log, the log is reset: Raft §7);
 * 3. snapshots beyond `snapshotsRetained` and WAL segments wholly below the compaction
 *    index are removed, and the directory fsynced.
 * A crash between 1 and 2 is finished by recovery (recovery-snapshot.ts); between 2 and 3
 * it leaves only extra files, removed by the next compaction.
 */
import { join } from "node:path";
import type { SnapshotMeta } from "../raft/types.js";
import { segmentsToRemove, snapshotsToRemove } from "./compaction.js";
import type { StorageConfig } from "./config.js";
import type { DiskLog } from "./disk-log.js";
import { FsyncFailedError, StorageIoError } from "./errors.js";
import type { FileIo } from "./file-io.js";
import { listDataDir } from "./file-names.js";
import type { PlacedBytes } from "./group-commit.js";
import { FileIncomingSnapshot, type IncomingSnapshotHost } from "./incoming-snapshot.js";
import type { SnapshotMarker } from "./record-payloads.js";
import type { SegmentReader } from "./segment-reader.js";
import { SnapshotFileWriter, type StoredSnapshot, removeSnapshotFiles, writeSnapshot } from "./snapshot-store.js";
import type { IncomingSnapshot, LocalSnapshotMeta, SnapshotData, StorageEvent } from "./storage-types.js";
import { checkIncomingSnapshot, checkLocalSnapshot, snapshotKeepsLog } from "./update-rules.js";
import type { WalWriter } from "./wal-writer.js";

/** What DiskSnapshots needs from DiskStorage. */
export interface SnapshotsHost {
  submitMarker(marker: SnapshotMarker, apply: (placed: PlacedBytes) => void): Promise<void>;
  whenWritesDrained(): Promise<void>;
  writesQueued(): boolean;
  onFatal(error: unknown): void;
  onSnapshotChanged(): void;
  emit(event: StorageEvent): void;
}

export class DiskSnapshots implements IncomingSnapshotHost {
  private incoming: FileIncomingSnapshot | undefined;
  /** The segment holding the latest log-resetting marker: segments before it hold no live entries. */
  private resetSegmentSeq: number | undefined;
  private exclusive: Promise<void> = Promise.resolve();
  /** Set by close: a local snapshot still being streamed in stops at its next piece. */
  private closing = false;

  constructor(
    private readonly dir: string,
    private readonly io: FileIo,
    private readonly config: StorageConfig,
    private readonly log: DiskLog,
    private readonly writer: WalWriter,
    private readonly reader: SegmentReader,
    private currentValue: StoredSnapshot | undefined,
    private readonly host: SnapshotsHost,
  ) {}

  current(): StoredSnapshot | undefined {
    return this.currentValue;
  }

  /** Saves a snapshot of the state machine at `meta.index`, which must be committed and in the log. */
  save(meta: LocalSnapshotMeta, data: SnapshotData, durableCommit: number): Promise<SnapshotMeta | undefined> {
    if (!checkLocalSnapshot(meta, this.currentIndex(), durableCommit, this.log.term(meta.index))) return Promise.resolve(undefined);
    return this.serialize(async () => {
      if (meta.index <= this.currentIndex()) return undefined;
      const stored = await this.guard(writeSnapshot(this.dir, this.io, meta, this.config.snapshotBlockBytes, data, () => this.closing));
      const marker = { index: meta.index, term: meta.term, logReset: false };
      await this.host.submitMarker(marker, (placed) => this.adopt(stored, false, placed));
      await this.compact();
      return stored.layout.meta;
    });
  }

  /** Starts receiving a snapshot; an unfinished earlier one is aborted (the leader started over). */
  async beginIncoming(meta: SnapshotMeta): Promise<IncomingSnapshot> {
    checkIncomingSnapshot(meta, this.currentIndex());
    await this.incoming?.abort();
    const writer = await this.guard(SnapshotFileWriter.create(this.dir, this.io, meta, this.config.snapshotBlockBytes, "incoming"));
    this.incoming = new FileIncomingSnapshot(meta, writer, this);
    return this.incoming;
  }

  install(stored: StoredSnapshot): Promise<void> {
    return this.serialize(async () => {
      const meta = stored.layout.meta;
      if (meta.index <= this.currentIndex()) return;
      // Decide on the durable log with nothing in flight: the decision is written with the marker.
      while (this.host.writesQueued()) await this.host.whenWritesDrained();
      const logReset = !snapshotKeepsLog(this.log.term(meta.index), meta);
      await this.host.submitMarker({ index: meta.index, term: meta.term, logReset }, (placed) => this.adopt(stored, logReset, placed));
      await this.compact();
    });
  }

  release(incoming: IncomingSnapshot): void {
    if (this.incoming === incoming) this.incoming = undefined;
  }

  /** Writes the marker recovery found missing (the log floor is already in place). */
  restoreMarker(marker: SnapshotMarker): Promise<void> {
    return this.serialize(() =>
      this.host.submitMarker(marker, (placed) => {
        if (marker.logReset) this.resetSegmentSeq = placed.segmentSeq;
      }),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.incoming?.abort();
    await this.exclusive;
  }

  private currentIndex(): number {
    return this.currentValue?.layout.meta.index ?? 0;
  }

  private adopt(stored: StoredSnapshot, logReset: boolean, placed: PlacedBytes): void {
    const { index, term } = stored.layout.meta;
    this.log.setSnapshot(index, term, logReset);
    if (logReset) this.resetSegmentSeq = placed.segmentSeq;
    this.currentValue = stored;
    this.host.onSnapshotChanged();
  }

  private async compact(): Promise<void> {
    const listing = await listDataDir(this.dir);
    const oldSnapshots = snapshotsToRemove(listing.snapshots, this.currentIndex(), this.config.snapshotsRetained);
    const paths = oldSnapshots.map((snapshot) => join(this.dir, snapshot.name));
    await this.guard(removeSnapshotFiles(this.io, this.dir, paths));
    for (const file of paths) this.host.emit({ type: "snapshot-removed", file });

    const segments = segmentsToRemove({
      segmentSeqs: this.writer.segmentSeqs(),
      currentSegmentSeq: this.writer.currentSegmentSeq(),
      maxEntryIndex: this.log.segmentMaxEntryIndex,
      compactIndex: this.log.snapshotIndex() - this.config.logEntriesRetainedAfterSnapshot,
      resetSegmentSeq: this.resetSegmentSeq,
    });
    for (const segmentSeq of segments) {
      this.reader.forget(segmentSeq);
      this.log.segmentMaxEntryIndex.delete(segmentSeq);
    }
    await this.guard(this.writer.removeSegments(segments));
    for (const segmentSeq of segments) this.host.emit({ type: "segment-removed", file: this.reader.path(segmentSeq), reason: "compacted" });
  }

  /** A failed fsync or IO error here is as fatal as on the WAL. */
  private async guard<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      if (error instanceof FsyncFailedError || error instanceof StorageIoError) this.host.onFatal(error);
      throw error;
    }
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(task);
    this.exclusive = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
