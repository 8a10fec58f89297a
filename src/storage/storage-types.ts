/**
 * The storage layer's public types: the write API shared by DiskStorage and
 * MemoryStorage, what recovery reports, and the events a server logs. The library
 * itself never logs.
 */
import type { LogStorage } from "../raft/log-storage.js";
import type { HardState, SnapshotMeta } from "../raft/types.js";
import type { StorageUpdate } from "./update-rules.js";

export type StorageEvent =
  /** An incomplete write at the end of the log was cut off; it was never acknowledged. */
  | { readonly type: "torn-tail-truncated"; readonly file: string; readonly offset: number; readonly bytesDropped: number; readonly reason: string }
  /**
   * A complete record at the end of the log failed its checks and was cut off. It may
   * have been acknowledged, so the member was made non-voting (Protocol-Aware Recovery).
   */
  | { readonly type: "corrupt-tail-truncated"; readonly file: string; readonly offset: number; readonly bytesDropped: number; readonly reason: string }
  | { readonly type: "segment-removed"; readonly file: string; readonly reason: "empty" | "after-truncated-tail" | "compacted" }
  | { readonly type: "temporary-file-removed"; readonly file: string }
  | { readonly type: "stale-lock-replaced"; readonly file: string; readonly pid: number; readonly host: string }
  /** The newest snapshot failed its checks; an older one plus the log replaced it. */
  | { readonly type: "snapshot-set-aside"; readonly file: string; readonly offset: number; readonly reason: string; readonly fallbackIndex: number }
  | { readonly type: "snapshot-removed"; readonly file: string }
  | { readonly type: "commit-clamped"; readonly from: number; readonly to: number }
  /** A snapshot found without its WAL marker (a crash between the two) was recorded in the WAL. */
  | { readonly type: "snapshot-marker-restored"; readonly snapshotIndex: number; readonly logReset: boolean }
  | { readonly type: "disk-full"; readonly file: string; readonly message: string }
  | { readonly type: "disk-space-recovered" }
  | { readonly type: "segment-preallocation-failed"; readonly file: string; readonly reason: string }
  | { readonly type: "fatal-error"; readonly message: string };

export interface RecoveryReport {
  /** The data dir was empty and has just been initialised. */
  readonly freshDataDir: boolean;
  /** What recovery found and did, in order: truncations, removed files, fallbacks. */
  readonly events: readonly StorageEvent[];
  /** This recovery dropped a tail that failed its checksum and persisted `nonVoting: true`. */
  readonly madeNonVoting: boolean;
  readonly snapshot: SnapshotMeta;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly hardState: HardState;
}

export interface StorageStatus {
  /** The last write found the disk full; cleared by the next successful write. */
  readonly diskFull: boolean;
  /** Set after a failed fsync or IO error: the server must stop. */
  readonly fatalError: Error | undefined;
  readonly closed: boolean;
  readonly queuedBytes: number;
  readonly cachedEntryBytes: number;
  readonly segmentCount: number;
  /** Group-commit flushes (one write + one fsync each), items and bytes written by them. */
  readonly flushes: number;
  readonly itemsFlushed: number;
  readonly bytesFlushed: number;
  /** Time spent in those writes and fsyncs, summed. */
  readonly flushMicroseconds: number;
}

/** A snapshot being received from the leader, chunk by chunk. */
export interface IncomingSnapshot {
  readonly meta: SnapshotMeta;
  receivedBytes(): number;
  /**
   * Appends data at `offset`. Chunks must arrive in order; a chunk that repeats bytes
   * already received (a retransmission) is accepted and its new part kept.
   */
  writeChunk(offset: number, bytes: Uint8Array): Promise<void>;
  /**
   * Makes the snapshot durable (fsync, rename, directory fsync), records it in the log,
   * and resets the log after it unless the log holds the entry at `meta.index` with
   * `meta.term` (Raft §7). Acknowledge the snapshot to the leader only after this resolves.
   */
  finish(): Promise<void>;
  /** Drops the partial snapshot. */
  abort(): Promise<void>;
}

/**
 * A snapshot's data as a storage takes it: whole, as pieces already in memory (a local
 * snapshot's encoded chunks: no async iteration, which costs turns of the microtask queue
 * per piece), or streamed.
 */
export type SnapshotData = Uint8Array | readonly Uint8Array[] | AsyncIterable<Uint8Array>;

/**
 * A local snapshot's meta before it is written: storage finds its size and checksum in
 * the data as it writes it, so the data can be streamed as it is encoded instead of held.
 */
export type LocalSnapshotMeta = Omit<SnapshotMeta, "sizeBytes" | "checksum">;

/** The log storage the server drives: the core's read interface plus durable writes. */
export interface RaftStorage extends LogStorage {
  /**
   * Resolves when the update is durable; concurrent calls share writes and fsyncs. The
   * entries' data is kept, not copied: it must not be changed after this call.
   */
  persist(update: StorageUpdate): Promise<void>;
  /**
   * Saves a snapshot of the state machine at `meta.index` (<= commit), then compacts;
   * resolves to its meta, or undefined when a snapshot at or after that index is already
   * current (the data then goes unread).
   */
  saveSnapshot(meta: LocalSnapshotMeta, data: SnapshotData): Promise<SnapshotMeta | undefined>;
  beginIncoming(meta: SnapshotMeta): Promise<IncomingSnapshot>;
  /** The snapshot's data, checked block by block, or undefined when `meta` is not the current snapshot. */
  readSnapshotData(meta: SnapshotMeta): AsyncIterable<Uint8Array> | undefined;
  status(): StorageStatus;
  close(): Promise<void>;
}
