import { invariant } from "../../assert/invariant.js";
import type { SeededRandom } from "../../raft/random.js";
import type { Entry, HardState, SnapshotMeta } from "../../raft/types.js";
import type { IncomingSnapshot, LocalSnapshotMeta, RaftStorage, SnapshotData, StorageStatus } from "../../storage/storage-types.js";
import { collectBytes, localSnapshotMeta, memoryIncomingSnapshot } from "../../storage/memory-snapshot-bytes.js";
import { checkIncomingSnapshot, checkLocalSnapshot, type StorageUpdate } from "../../storage/update-rules.js";
import type { PersistJob, SimStorage } from "./sim-storage.js";
import type { VirtualAgenda } from "./sim-scheduler.js";

/** What the asynchronous disk needs of its run: virtual time, a seeded delay per write, and the seed's coin for torn writes. */
export interface SimDiskContext {
  readonly agenda: VirtualAgenda;
  /** The time one write takes (disk-timing.ts), drawn from the run's seed. */
  writeDelayMs(): number;
  readonly random: SeededRandom;
  /** An entry became durable; `prevTerm` is what the disk holds just before it (the checker's log matching). */
  entryDurable?(entry: Entry, prevTerm: number | undefined): void;
  /**
   * Test-only: report each write done as soon as it is issued, while it becomes durable only
   * after its delay (a disk that acknowledges from its cache). The checks must catch it.
   */
  readonly plantDoneBeforeDurable?: boolean;
}

type DiskWrite =
  | { readonly kind: "log"; readonly job: PersistJob }
  | { readonly kind: "local-snapshot"; readonly meta: SnapshotMeta; readonly data: Uint8Array };

interface InFlight {
  readonly write: DiskWrite;
  readonly done: () => void;
}

/**
 * A write of a process that crashed: it never completes. A new promise each time, never a
 * shared one: what awaits it hangs its continuation on the promise, and a module-wide
 * promise would keep every crashed Replica (and its run) reachable for good.
 */
function never(): Promise<void> {
  return new Promise<void>(() => undefined);
}

/**
 * The simulator's disk behind the production storage interface (RaftStorage), so the
 * server's ready loop runs on it. The durable state is a SimStorage: reads see only what
 * completed writes made durable. A write completes after a seeded virtual delay, in the
 * order issued (as the WAL's group commit does); a crash loses every write in flight, or
 * keeps a prefix of the first one's entries (a torn write: records are written entries
 * first, the hard state last, src/storage/README.md).
 */
export class AsyncSimStorage implements RaftStorage {
  private inFlight: InFlight[] = [];
  /** When the last write issued completes: a later write never completes before it. */
  private lastDoneAtMs = 0;
  /** Bumped at a crash, so that completions scheduled before it do nothing. */
  private generation = 0;
  private crashAtNextWrite: (() => void) | undefined;
  private closed = false;
  private writes = 0;

  constructor(readonly durable: SimStorage, private readonly ctx: SimDiskContext) {}

  // ---------------------------------------------------------------- reads: what is durable

  hardState(): HardState {
    return this.durable.hardState();
  }

  firstIndex(): number {
    return this.durable.firstIndex();
  }

  lastIndex(): number {
    return this.durable.lastIndex();
  }

  term(index: number): number | undefined {
    return this.durable.term(index);
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    return this.durable.entries(lo, hi, bytesMax);
  }

  snapshotMeta(): SnapshotMeta {
    return this.durable.snapshotMeta();
  }

  snapshotChunk(meta: SnapshotMeta, offset: number, bytesMax: number): Uint8Array | undefined {
    return this.durable.snapshotChunk(meta, offset, bytesMax);
  }

  readSnapshotData(meta: SnapshotMeta): AsyncIterable<Uint8Array> | undefined {
    const current = this.durable.snapshotMeta();
    if (meta.index !== current.index || meta.term !== current.term) return undefined;
    const data = this.durable.snapshotData();
    return (async function* () {
      yield data;
    })();
  }

  // ---------------------------------------------------------------- writes: durable later

  persist(update: StorageUpdate): Promise<void> {
    return this.write({ kind: "log", job: { hardState: update.hardState, entries: update.entries?.slice() ?? [], snapshot: undefined } });
  }

  async saveSnapshot(meta: LocalSnapshotMeta, data: SnapshotData): Promise<SnapshotMeta | undefined> {
    const bytes = await collectBytes(data);
    const durable = this.durable;
    // The production rules, against what is durable: the server writes the commit index before a snapshot passes it.
    if (!checkLocalSnapshot(meta, durable.snapshotMeta().index, durable.hardState().commit, durable.term(meta.index))) return undefined;
    const saved = localSnapshotMeta(meta, bytes);
    await this.write({ kind: "local-snapshot", meta: saved, data: bytes });
    return saved;
  }

  async beginIncoming(meta: SnapshotMeta): Promise<IncomingSnapshot> {
    checkIncomingSnapshot(meta, this.durable.snapshotMeta().index);
    // The chunks are volatile until finish(): a crash drops them with the process.
    return memoryIncomingSnapshot(meta, (data) =>
      this.write({ kind: "log", job: { hardState: undefined, entries: [], snapshot: { meta, data } } }));
  }

  status(): StorageStatus {
    return {
      diskFull: false, fatalError: undefined, closed: this.closed, queuedBytes: 0, cachedEntryBytes: 0, segmentCount: 0,
      flushes: this.writes, itemsFlushed: this.writes, bytesFlushed: 0, flushMicroseconds: 0,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---------------------------------------------------------------- faults

  /** Whether a write is under way now (a crash would lose or tear it). */
  writing(): boolean {
    return this.inFlight.length > 0;
  }

  /** The member crashes at its next write, before any of it is durable: `onCrash` is called instead. */
  armCrash(onCrash: () => void): void {
    this.crashAtNextWrite = onCrash;
  }

  /** The process died: writes in flight are lost, the first one perhaps torn. Returns whether any was in flight. */
  crash(): boolean {
    const first = this.inFlight[0];
    if (first !== undefined && first.write.kind === "log") {
      const job = first.write.job;
      const torn = this.ctx.random.next() < 0.5 && job.entries.length > 0;
      if (torn && job.snapshot === undefined) this.durable.apply({ ...job, hardState: undefined }, this.ctx.random.int(job.entries.length + 1));
    }
    const lost = first !== undefined;
    this.inFlight = [];
    this.lastDoneAtMs = 0;
    this.generation++;
    this.crashAtNextWrite = undefined;
    return lost;
  }

  private write(write: DiskWrite): Promise<void> {
    const onCrash = this.crashAtNextWrite;
    if (onCrash !== undefined) {
      this.crashAtNextWrite = undefined;
      onCrash();
      return never();
    }
    return new Promise((done) => {
      const now = this.ctx.agenda.now();
      const doneAtMs = Math.max(now + this.ctx.writeDelayMs(), this.lastDoneAtMs);
      this.lastDoneAtMs = doneAtMs;
      if (this.ctx.plantDoneBeforeDurable === true) {
        this.inFlight.push({ write, done: () => undefined });
        done();
      } else {
        this.inFlight.push({ write, done });
      }
      const generation = this.generation;
      // Completions are due in issue order, and the agenda breaks ties in order: FIFO.
      this.ctx.agenda.after(doneAtMs - now, () => this.complete(generation));
    });
  }

  private applyLog(job: PersistJob): void {
    this.durable.apply(job);
    const entryDurable = this.ctx.entryDurable;
    if (entryDurable === undefined) return;
    for (const entry of job.entries) entryDurable(entry, this.durable.term(entry.index - 1));
  }

  private complete(generation: number): void {
    if (generation !== this.generation) return;
    const next = this.inFlight.shift();
    invariant(next !== undefined, () => "sim disk: a write completes that was issued");
    const { write } = next;
    if (write.kind === "log") {
      const snapshot = write.job.snapshot;
      // A received snapshot that a newer one overtook is not installed (as DiskStorage's finish).
      if (snapshot === undefined || snapshot.meta.index > this.durable.snapshotMeta().index) this.applyLog(write.job);
    } else if (write.meta.index > this.durable.snapshotMeta().index && this.durable.term(write.meta.index) === write.meta.term) {
      // Skipped when a snapshot from the leader replaced the log meanwhile: it covers this one.
      this.durable.compact(write.meta, write.data);
    }
    this.writes++;
    next.done();
  }
}
