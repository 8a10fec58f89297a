/**
 * DiskStorage: the Raft log, hard state and snapshots on a data dir, surviving crashes,
 * torn writes and bit flips. How to drive it:
 *
 *   const store = await DiskStorage.open(dataDir, { memberId, clusterId });
 *   store.recovery                     // what recovery found and did: log these events
 *   store.hardState(), store.entries(...)   // the core reads synchronously
 *   await store.persist({ hardState, entries })   // durable when resolved; concurrent calls share fsyncs
 *   await store.saveSnapshot(meta, data)           // then old snapshots and log are compacted
 *   const incoming = await store.beginIncoming(meta); await incoming.writeChunk(0, bytes); await incoming.finish();
 *   await store.close()
 *
 * Reads answer from durable state only: a write becomes visible when its fsync is done.
 * A DiskFullError leaves everything as it was and may be retried; a FsyncFailedError or
 * StorageIoError is fatal: every later call throws it and the server must restart.
 */
import { closeSync, openSync } from "node:fs";
import type { LogStorage } from "../raft/log-storage.js";
import { EMPTY_SNAPSHOT_META, type Entry, type HardState, type SnapshotMeta } from "../raft/types.js";
import { type StorageConfig, validateStorageConfig } from "./config.js";
import type { DiskLog } from "./disk-log.js";
import { DiskFullError, StorageClosedError, StorageConfigError } from "./errors.js";
import { type FileIo, createDirectoryDurably, nodeFileIo } from "./file-io.js";
import { acquireDataDirLock, type DataDirLock } from "./data-dir-lock.js";
import { checkOrCreateMeta, type DataDirIdentity } from "./data-dir-meta.js";
import { listDataDir } from "./file-names.js";
import { GroupCommit, type PlacedBytes } from "./group-commit.js";
import {
  SNAPSHOT_MARKER_RECORD_BYTES,
  type SnapshotMarker,
  encodeStateRecords,
  encodeUpdateRecords,
  writeSnapshotMarkerRecord,
} from "./record-payloads.js";
import { type Recovered, recoverDataDir } from "./recovery.js";
import { SegmentReader } from "./segment-reader.js";
import { readSnapshotData } from "./snapshot-format.js";
import { type StoredSnapshot, streamSnapshot } from "./snapshot-store.js";
import { DiskSnapshots } from "./disk-snapshots.js";
import type { IncomingSnapshot, LocalSnapshotMeta, RaftStorage, RecoveryReport, SnapshotData, StorageEvent, StorageStatus } from "./storage-types.js";
import { type LogModel, type PlannedUpdate, type StorageUpdate, planUpdate } from "./update-rules.js";
import { WalWriter } from "./wal-writer.js";

export interface DiskStorageOptions extends Partial<StorageConfig>, DataDirIdentity {
  /** File operations on the write paths; tests inject faults here. */
  readonly io?: FileIo;
  /** Runtime events (disk full, compaction, ...). Recovery's events are in `recovery`. */
  readonly onEvent?: (event: StorageEvent) => void;
  /** Each group-commit flush (one write and one fsync), with its duration: for metrics. */
  readonly onFlush?: (seconds: number, items: number, bytes: number) => void;
}

export class DiskStorage implements RaftStorage, LogStorage {
  readonly recovery: RecoveryReport;
  private hardStateValue: HardState;
  /** The log model once every queued write is durable: what new writes are checked against. */
  private pending: LogModel;
  private diskFull = false;
  private fatal: Error | undefined;
  private closed = false;
  private snapshotFd: number | undefined;
  private readonly groupCommit: GroupCommit;
  private readonly snapshots: DiskSnapshots;

  private constructor(
    readonly dataDir: string,
    private readonly config: StorageConfig,
    io: FileIo,
    private readonly lock: DataDirLock,
    private readonly reader: SegmentReader,
    private readonly log: DiskLog,
    recovered: Recovered,
    private readonly writer: WalWriter,
    private readonly emit: (event: StorageEvent) => void,
    freshDataDir: boolean,
    lockEvents: readonly StorageEvent[],
    onFlush?: (seconds: number, items: number, bytes: number) => void,
  ) {
    this.hardStateValue = recovered.hardState;
    this.pending = this.durableModel();
    this.groupCommit = new GroupCommit((chunks) => this.writer.flush(chunks), config, (error) => this.onWriteFailure(error), onFlush);
    this.snapshots = new DiskSnapshots(dataDir, io, config, log, writer, reader, recovered.snapshot, {
      submitMarker: (marker, apply) => this.submitMarker(marker, apply),
      whenWritesDrained: () => this.groupCommit.whenIdle(),
      writesQueued: () => this.groupCommit.queuedBytes() > 0,
      onFatal: (error) => this.die(error),
      onSnapshotChanged: () => this.forgetSnapshotFd(),
      emit,
    });
    this.recovery = {
      freshDataDir,
      events: [...lockEvents, ...recovered.events],
      madeNonVoting: recovered.madeNonVoting,
      snapshot: this.snapshotMeta(),
      firstIndex: log.firstIndex(),
      lastIndex: log.lastIndex(),
      hardState: recovered.hardState,
    };
  }

  static async open(dataDir: string, options: DiskStorageOptions): Promise<DiskStorage> {
    const config = validateStorageConfig(options);
    if (!Number.isSafeInteger(options.memberId) || options.memberId <= 0) {
      throw new StorageConfigError("memberId", options.memberId, "must be a positive integer (0 means none)");
    }
    if (typeof options.clusterId !== "string" || options.clusterId.length === 0) {
      throw new StorageConfigError("clusterId", options.clusterId, "must be a non-empty string");
    }
    const io = options.io ?? nodeFileIo;
    const emit = options.onEvent ?? (() => undefined);
    await createDirectoryDurably(io, dataDir);
    const { lock, staleHolder } = await acquireDataDirLock(dataDir);
    const reader = new SegmentReader(dataDir);
    let writer: WalWriter | undefined;
    try {
      const listing = await listDataDir(dataDir);
      const holdsData = listing.segments.length > 0 || listing.snapshots.length > 0;
      const { created } = await checkOrCreateMeta(io, dataDir, options, holdsData);
      const recovered = await recoverDataDir(dataDir, io, config.memoryLogBytesMax, reader);
      // The writer asks the storage for each new segment's preamble; the storage needs the writer first.
      const self: { storage?: DiskStorage } = {};
      writer = await WalWriter.resume(
        { dir: dataDir, io, ...config, preamble: () => (self.storage as DiskStorage).preamble(), onEvent: emit },
        recovered.segmentSeqs,
        recovered.lastSegmentDurableBytes,
      );
      const lockEvents: StorageEvent[] =
        staleHolder === undefined ? [] : [{ type: "stale-lock-replaced", file: lock.file, ...staleHolder }];
      const storage = new DiskStorage(dataDir, config, io, lock, reader, recovered.log, recovered, writer, emit, created, lockEvents, options.onFlush);
      self.storage = storage;
      // A new WAL starts with its preamble on disk, so that no segment is ever empty.
      await writer.startSegment();
      // Open returns ready to write at full speed: the next segment's zero-fill is done.
      await writer.whenNextSegmentPrepared();
      if (recovered.markerToWrite !== undefined) await storage.snapshots.restoreMarker(recovered.markerToWrite);
      return storage;
    } catch (error) {
      await writer?.close();
      reader.closeAll();
      await lock.release();
      throw error;
    }
  }

  // ---- LogStorage: synchronous reads of durable state ----

  hardState(): HardState {
    return this.hardStateValue;
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  term(index: number): number | undefined {
    return this.log.term(index);
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    return this.log.entries(lo, hi, bytesMax);
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapshots.current()?.layout.meta ?? EMPTY_SNAPSHOT_META;
  }

  snapshotChunk(meta: SnapshotMeta, offset: number, bytesMax: number): Uint8Array | undefined {
    const stored = this.currentSnapshotMatching(meta);
    if (stored === undefined) return undefined;
    this.snapshotFd ??= openSync(stored.path, "r");
    return readSnapshotData(this.snapshotFd, stored.path, stored.layout, offset, bytesMax);
  }

  readSnapshotData(meta: SnapshotMeta): AsyncIterable<Uint8Array> | undefined {
    const stored = this.currentSnapshotMatching(meta);
    return stored === undefined ? undefined : streamSnapshot(stored);
  }

  // ---- writes ----

  /** Not `async`: one promise per write instead of two, on the hottest path. */
  persist(update: StorageUpdate): Promise<void> {
    try {
      this.checkUsable();
      const plan = planUpdate(this.pending, update, this.config.entryDataBytesMax);
      if (plan.entries.length === 0 && plan.hardState === undefined) return Promise.resolve();
      const { bytes, entryOffsets } = encodeUpdateRecords(plan.entries, plan.hardState);
      const durable = this.groupCommit.submit(bytes, (placed) => this.applyUpdate(plan, placed, entryOffsets));
      // Only after the queue accepted it: a refused update must not move the model.
      this.pending = plan.next;
      return durable;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async saveSnapshot(meta: LocalSnapshotMeta, data: SnapshotData): Promise<SnapshotMeta | undefined> {
    this.checkUsable();
    return this.snapshots.save(meta, data, this.hardStateValue.commit);
  }

  async beginIncoming(meta: SnapshotMeta): Promise<IncomingSnapshot> {
    this.checkUsable();
    return this.snapshots.beginIncoming(meta);
  }

  status(): StorageStatus {
    const stats = this.groupCommit.statistics();
    return {
      diskFull: this.diskFull,
      fatalError: this.fatal,
      closed: this.closed,
      queuedBytes: this.groupCommit.queuedBytes(),
      cachedEntryBytes: this.log.cachedBytes(),
      segmentCount: this.writer.segmentSeqs().length,
      ...stats,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.snapshots.close();
    await this.groupCommit.whenIdle();
    await this.writer.close();
    this.forgetSnapshotFd();
    this.reader.closeAll();
    await this.lock.release();
  }

  // ---- internals ----

  private checkUsable(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.closed) throw new StorageClosedError("close() was called");
  }

  private durableModel(): LogModel {
    const lastIndex = this.log.lastIndex();
    return { snapshotIndex: this.log.snapshotIndex(), lastIndex, lastTerm: this.log.term(lastIndex) ?? 0, hardState: this.hardStateValue };
  }

  /** Runs once the update is durable, in submission order. */
  private applyUpdate(plan: PlannedUpdate, placed: PlacedBytes, entryOffsets: readonly number[]): void {
    const entries = plan.entries;
    for (let i = 0; i < entries.length; i++) {
      const start = entryOffsets[i] as number;
      this.log.append(entries[i] as Entry, placed.segmentSeq, placed.fileOffset + start, (entryOffsets[i + 1] as number) - start);
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) this.log.noteSegmentEntry(placed.segmentSeq, last.index);
    if (plan.hardState !== undefined) this.hardStateValue = plan.hardState;
    this.noteWriteSucceeded();
  }

  private submitMarker(marker: SnapshotMarker, apply: (placed: PlacedBytes) => void): Promise<void> {
    this.checkUsable();
    const bytes = Buffer.alloc(SNAPSHOT_MARKER_RECORD_BYTES);
    writeSnapshotMarkerRecord(bytes, 0, marker);
    const durable = this.groupCommit.submit(bytes, (placed) => {
      apply(placed);
      this.noteWriteSucceeded();
    });
    const lastIndex = marker.logReset ? marker.index : Math.max(this.pending.lastIndex, marker.index);
    const lastTerm = marker.logReset ? marker.term : this.pending.lastTerm;
    this.pending = { ...this.pending, snapshotIndex: marker.index, lastIndex, lastTerm };
    return durable;
  }

  /** The records after every new segment's header: durable hard state and snapshot floor. */
  private preamble(): Buffer {
    return encodeStateRecords(this.hardStateValue, { index: this.log.snapshotIndex(), term: this.log.snapshotTerm(), logReset: false });
  }

  private noteWriteSucceeded(): void {
    if (!this.diskFull) return;
    this.diskFull = false;
    this.emit({ type: "disk-space-recovered" });
  }

  private onWriteFailure(error: unknown): void {
    // Every queued write was rejected with it: the model goes back to what is durable.
    this.pending = this.durableModel();
    if (error instanceof DiskFullError) {
      if (!this.diskFull) this.emit({ type: "disk-full", file: error.file ?? this.dataDir, message: error.message });
      this.diskFull = true;
      return;
    }
    this.die(error);
  }

  private die(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = error instanceof Error ? error : new Error(String(error));
    this.emit({ type: "fatal-error", message: this.fatal.message });
  }

  private currentSnapshotMatching(meta: SnapshotMeta): StoredSnapshot | undefined {
    const stored = this.snapshots.current();
    if (stored === undefined || stored.layout.meta.index !== meta.index || stored.layout.meta.term !== meta.term) return undefined;
    return stored;
  }

  private forgetSnapshotFd(): void {
    if (this.snapshotFd !== undefined) closeSync(this.snapshotFd);
    this.snapshotFd = undefined;
  }
}
