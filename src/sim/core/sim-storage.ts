import { crc32c } from "@node-rs/crc32";
import { invariant } from "../../assert/invariant.js";
import type { LogStorage } from "../../raft/log-storage.js";
import { entriesBytes } from "../../raft/messages.js";
import type { Entry, HardState, SnapshotMeta } from "../../raft/types.js";
import { EMPTY_HARD_STATE } from "../../raft/types.js";

/**
 * The simulator's model of a disk: only what a completed write made durable. A write
 * in flight is invisible until it completes; a crash drops it, or (a torn write) keeps
 * a prefix of it in record order: entries first, then the hard state, as the WAL
 * writes them (src/storage/README.md). This is the contract the real storage keeps.
 */
export interface PersistJob {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: { meta: SnapshotMeta; data: Uint8Array } | undefined;
}

export class SimStorage implements LogStorage {
  private hs: HardState = EMPTY_HARD_STATE;
  private snapMeta: SnapshotMeta;
  private snapData: Uint8Array = new Uint8Array(0);
  /** Entries after the snapshot: log[i] has index snapMeta.index + 1 + i. */
  private log: Entry[] = [];

  /**
   * A new cluster starts from a bootstrap snapshot at index 1 holding the first
   * configuration (see `bootstrapMeta`); a member that joins later starts empty and
   * receives a snapshot from the leader.
   */
  constructor(initial: SnapshotMeta, data: Uint8Array = new Uint8Array(0)) {
    this.snapMeta = { ...initial, sizeBytes: data.length, checksum: crc32c(data) };
    this.snapData = data;
    if (initial.index > 0) this.hs = { ...EMPTY_HARD_STATE, term: initial.term, commit: initial.index };
  }

  hardState(): HardState {
    return this.hs;
  }

  firstIndex(): number {
    return this.snapMeta.index + 1;
  }

  lastIndex(): number {
    return this.snapMeta.index + this.log.length;
  }

  term(index: number): number | undefined {
    if (index === this.snapMeta.index) return this.snapMeta.term;
    return this.log[index - this.snapMeta.index - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    return this.log[index - this.snapMeta.index - 1];
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, () =>
      `sim storage: entries(${lo}, ${hi}) within [${this.firstIndex()}, ${this.lastIndex() + 1}]`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.log[index - this.snapMeta.index - 1] as Entry;
      const size = entriesBytes([entry]);
      if (result.length > 0 && bytes + size > bytesMax) break;
      result.push(entry);
      bytes += size;
    }
    return result;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapMeta;
  }

  snapshotData(): Uint8Array {
    return this.snapData;
  }

  snapshotChunk(meta: SnapshotMeta, offset: number, bytesMax: number): Uint8Array | undefined {
    if (meta.index !== this.snapMeta.index || meta.term !== this.snapMeta.term) return undefined;
    return this.snapData.subarray(offset, offset + bytesMax);
  }

  /** Makes a whole write durable (or, torn, a prefix of its entries). */
  apply(job: PersistJob, keepEntries = job.entries.length): void {
    if (job.snapshot !== undefined) this.installSnapshot(job.snapshot.meta, job.snapshot.data);
    const kept = job.entries.slice(0, keepEntries);
    for (const entry of kept) {
      const offset = entry.index - this.snapMeta.index - 1;
      invariant(offset >= 0 && offset <= this.log.length, () =>
        `sim storage: entry ${entry.index} leaves no gap after last index ${this.lastIndex()}`);
      this.log.length = offset;
      this.log.push(entry);
    }
    if (job.hardState !== undefined && kept.length === job.entries.length) {
      // The persisted commit never exceeds the persisted last index.
      this.hs = { ...job.hardState, commit: Math.min(job.hardState.commit, this.lastIndex()) };
    }
  }

  private installSnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    this.snapMeta = meta;
    this.snapData = data;
    this.log = [];
    this.hs = { ...this.hs, commit: Math.max(this.hs.commit, meta.index) };
  }

  /** Compaction after a local snapshot of the state machine at an applied index. */
  compact(meta: SnapshotMeta, data: Uint8Array): void {
    invariant(meta.index <= this.lastIndex() && this.term(meta.index) === meta.term, () =>
      `sim storage: snapshot at ${meta.index} term ${meta.term} matches the log (last ${this.lastIndex()}, term there ${this.term(meta.index)})`);
    this.log = this.log.slice(meta.index - this.snapMeta.index);
    this.snapMeta = meta;
    this.snapData = data;
  }

  /** Loses everything (a wiped volume). */
  wipe(initial: SnapshotMeta): void {
    this.hs = EMPTY_HARD_STATE;
    this.snapMeta = initial;
    this.snapData = new Uint8Array(0);
    this.log = [];
  }
}
