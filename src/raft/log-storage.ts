import type { Entry, HardState, SnapshotMeta } from "./types.js";

/**
 * The durable log as the Raft core reads it. The caller writes to it (it persists
 * each Ready's entries, hard state and snapshot, then calls `advance`); the core only
 * reads. Reads are synchronous: an implementation keeps recent entries in memory and
 * may read older ones from disk when a slow follower needs them.
 *
 * Index conventions: the snapshot covers every index up to `snapshotMeta().index`; the
 * log holds `firstIndex() .. lastIndex()` where `firstIndex() == snapshot index + 1`.
 * An empty log has `lastIndex() == snapshot index`.
 */
export interface LogStorage {
  /** The hard state as last persisted (what recovery found at start). */
  hardState(): HardState;
  firstIndex(): number;
  lastIndex(): number;
  /**
   * The term of the entry at `index`, for `index` in [snapshot index, lastIndex];
   * `undefined` outside that range (compacted away, or not yet written).
   */
  term(index: number): number | undefined;
  /**
   * Entries in [lo, hi), lo >= firstIndex, hi <= lastIndex + 1. Returns at least one
   * entry when lo < hi, then stops before the total data size would exceed `bytesMax`.
   */
  entries(lo: number, hi: number, bytesMax: number): Entry[];
  /** The newest durable snapshot's metadata (EMPTY_SNAPSHOT_META when there is none). */
  snapshotMeta(): SnapshotMeta;
  /**
   * Bytes [offset, offset + bytesMax) of the snapshot described by `meta`, or
   * `undefined` when that snapshot is no longer the current one (a newer one replaced
   * it), in which case the sender starts over with the new snapshot.
   */
  snapshotChunk(meta: SnapshotMeta, offset: number, bytesMax: number): Uint8Array | undefined;
}
