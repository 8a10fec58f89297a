/**
 * MemoryStorage: DiskStorage's in-memory twin, for tests and the simulator. Same API,
 * same rules (update-rules.ts), same snapshot semantics; every write is "durable" the
 * moment it is made, and nothing survives the object.
 */
import { crc32c } from "@node-rs/crc32";
import type { LogStorage } from "../raft/log-storage.js";
import { EMPTY_HARD_STATE, EMPTY_SNAPSHOT_META, type Entry, type HardState, type SnapshotMeta } from "../raft/types.js";
import { type StorageConfig, validateStorageConfig } from "./config.js";
import { invariant } from "../assert/invariant.js";
import { StorageClosedError } from "./errors.js";
import { collectBytes, localSnapshotMeta, memoryIncomingSnapshot } from "./memory-snapshot-bytes.js";
import { metaWithChecksum } from "./snapshot-checksum.js";
import type { IncomingSnapshot, LocalSnapshotMeta, RaftStorage, SnapshotData, StorageStatus } from "./storage-types.js";
import { entryMemoryBytes } from "./tail-cache.js";
import {
  type LogModel,
  type StorageUpdate,
  checkIncomingSnapshot,
  checkLocalSnapshot,
  planUpdate,
  snapshotKeepsLog,
} from "./update-rules.js";

interface HeldSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export class MemoryStorage implements RaftStorage, LogStorage {
  private readonly config: StorageConfig;
  private hardStateValue: HardState = EMPTY_HARD_STATE;
  private snapshot: HeldSnapshot = { meta: EMPTY_SNAPSHOT_META, data: new Uint8Array(0) };
  /** entries[i] has index snapshot index + 1 + i. */
  private log: Entry[] = [];
  private closed = false;
  private writes = 0;

  constructor(config: Partial<StorageConfig> = {}) {
    this.config = validateStorageConfig(config);
  }

  hardState(): HardState {
    return this.hardStateValue;
  }

  firstIndex(): number {
    return this.snapshot.meta.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.meta.index + this.log.length;
  }

  term(index: number): number | undefined {
    if (index === this.snapshot.meta.index) return this.snapshot.meta.term;
    return this.log[index - this.firstIndex()]?.term;
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () =>
      `entries(${lo}, ${hi}) outside the log [${this.firstIndex()}, ${this.lastIndex()}]`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.log[index - this.firstIndex()] as Entry;
      if (result.length > 0 && bytes + entry.data.byteLength > bytesMax) break;
      result.push(entry);
      bytes += entry.data.byteLength;
    }
    return result;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapshot.meta;
  }

  snapshotChunk(meta: SnapshotMeta, offset: number, bytesMax: number): Uint8Array | undefined {
    if (!this.isCurrent(meta)) return undefined;
    return this.snapshot.data.subarray(offset, Math.min(this.snapshot.data.byteLength, offset + bytesMax));
  }

  readSnapshotData(meta: SnapshotMeta): AsyncIterable<Uint8Array> | undefined {
    if (!this.isCurrent(meta)) return undefined;
    const data = this.snapshot.data;
    return (async function* () {
      yield data;
    })();
  }

  async persist(update: StorageUpdate): Promise<void> {
    this.checkOpen();
    const plan = planUpdate(this.model(), update, this.config.entryDataBytesMax);
    const first = plan.entries[0];
    if (first !== undefined) {
      // An entry at or below the last index replaces the log from there.
      this.log.length = first.index - this.firstIndex();
      this.log.push(...plan.entries);
    }
    if (plan.hardState !== undefined) this.hardStateValue = plan.hardState;
    this.writes++;
  }

  async saveSnapshot(meta: LocalSnapshotMeta, data: SnapshotData): Promise<SnapshotMeta | undefined> {
    this.checkOpen();
    if (!checkLocalSnapshot(meta, this.snapshot.meta.index, this.hardStateValue.commit, this.term(meta.index))) return undefined;
    const bytes = await collectBytes(data);
    const saved = localSnapshotMeta(meta, bytes);
    this.install({ meta: saved, data: bytes }, false);
    return saved;
  }

  async beginIncoming(meta: SnapshotMeta): Promise<IncomingSnapshot> {
    this.checkOpen();
    checkIncomingSnapshot(meta, this.snapshot.meta.index);
    return memoryIncomingSnapshot(meta, async (data) => {
      this.checkOpen();
      if (meta.index <= this.snapshot.meta.index) return;
      const logReset = !snapshotKeepsLog(this.term(meta.index), meta);
      this.install({ meta: metaWithChecksum(meta, crc32c(data), "memory"), data }, logReset);
    });
  }

  status(): StorageStatus {
    let cached = 0;
    for (const entry of this.log) cached += entryMemoryBytes(entry);
    return {
      diskFull: false,
      fatalError: undefined,
      closed: this.closed,
      queuedBytes: 0,
      cachedEntryBytes: cached,
      segmentCount: 0,
      flushes: this.writes,
      itemsFlushed: this.writes,
      bytesFlushed: 0,
      flushMicroseconds: 0,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private model(): LogModel {
    const lastIndex = this.lastIndex();
    return { snapshotIndex: this.snapshot.meta.index, lastIndex, lastTerm: this.term(lastIndex) ?? 0, hardState: this.hardStateValue };
  }

  private install(snapshot: HeldSnapshot, logReset: boolean): void {
    const drop = snapshot.meta.index - this.snapshot.meta.index;
    this.log = logReset || drop > this.log.length ? [] : this.log.slice(drop);
    this.snapshot = snapshot;
  }

  private isCurrent(meta: SnapshotMeta): boolean {
    return meta.index === this.snapshot.meta.index && meta.term === this.snapshot.meta.term;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError("close() was called");
  }
}
