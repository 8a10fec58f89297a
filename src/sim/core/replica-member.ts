import type { RaftConfig } from "../../raft/config.js";
import { defaultRaftConfig } from "../../raft/config.js";
import type { Message } from "../../raft/messages.js";
import type { SeededRandom } from "../../raft/random.js";
import type { Entry, NodeId, SnapshotMeta } from "../../raft/types.js";
import { EntryType } from "../../raft/types.js";
import type { KvResult } from "../../kv/index.js";
import { Replica, type ReplicaEvent } from "../../server/replica.js";
import type { ReplicaPlant } from "../../server/replica-plants.js";
import type { Tracer } from "../../trace/index.js";
import { AsyncSimStorage } from "./async-sim-storage.js";
import type { SafetyChecker } from "./checker.js";
import { fsyncDelayMs } from "./disk-timing.js";
import { applyOutcome } from "./kv-adapter.js";
import { SimScheduler, type VirtualAgenda } from "./sim-scheduler.js";
import { MemberChecks } from "./member-checks.js";
import { SimStorage } from "./sim-storage.js";
import type { SimStats } from "./types.js";

export interface ReplicaMemberContext {
  readonly agenda: VirtualAgenda;
  /** Sends a Raft message into the simulated network. */
  send(m: Message): void;
  /** This member's share of the seed: disk delays and torn writes. */
  readonly random: SeededRandom;
  /** Disk faults of the run, read at each write. */
  readonly faults: { readonly diskStallRate: number };
  readonly onEvent?: (id: NodeId, event: ReplicaEvent) => void;
  readonly checker: SafetyChecker;
  readonly stats: SimStats;
  /** This member's ShiViz tracer for local events; NO_TRACE without --shiviz. */
  readonly tracer: Tracer;
  /**
   * A check failed inside the member's own code (its send, its disk): the Replica would take
   * the error for a storage failure and stop serving, so the run is told to stop instead.
   */
  failed(error: unknown): void;
  /** Test-only: the disk reports writes done before they are durable (AsyncSimStorage). */
  readonly plantDoneBeforeDurable?: boolean;
  /** Test-only: a deliberately broken behaviour of the Replica's loop (server/replica-plants.ts). */
  readonly plant?: ReplicaPlant;
}

/** As the simulator's members: small chunks and batches, so snapshots and batching cuts happen in short runs. */
export const SIM_REPLICA_TICK_MS = 10;
const SNAPSHOT_EVERY_ENTRIES = 40;
const PENDING_PROPOSALS_MAX = 256;
const REQUEST_TIMEOUT_MS = 5_000;
const EXPIRY_TICK_INTERVAL_MS_MIN = 200;
/** Members' clocks read this much at the simulation's start, plus their skew: stamps are never negative. */
const CLOCK_EPOCH_MS = 1_000_000;

/**
 * One simulated member running the production Replica (server/replica.ts): its ready loop,
 * commit notices, snapshot slices and waiting requests, on a virtual scheduler, an
 * asynchronous simulated disk and the simulated network. The disk (a SimStorage) outlives
 * the process: a crash drops the Replica and what its disk had in flight; a restart runs
 * Replica.start again on what was durable.
 */
export class ReplicaMember {
  /** What survives a crash. */
  readonly disk: SimStorage;
  readonly raftConfig: RaftConfig;
  private storage: AsyncSimStorage | undefined;
  private scheduler: SimScheduler | undefined;
  private replicaValue: Replica | undefined;
  /** Bumped at a crash: a start under way when it crashed must not install its Replica. */
  private incarnation = 0;
  private readonly checks: MemberChecks;
  /** The index this member's state machine applied last, as its applies and installs told (apply order). */
  private appliedIndex = 0;

  constructor(readonly id: NodeId, private readonly ctx: ReplicaMemberContext, initial: SnapshotMeta, bootstrapData: Uint8Array | undefined, private readonly clockSkewMs: number) {
    this.raftConfig = { ...defaultRaftConfig(id), snapshotChunkBytesMax: 512, messageEntriesMax: 64 };
    this.disk = new SimStorage(initial, bootstrapData);
    this.checks = new MemberChecks(id, ctx.checker, ctx.stats, ctx.tracer, this.disk);
  }

  /** The running Replica; undefined while down or starting. */
  get replica(): Replica | undefined {
    return this.replicaValue;
  }

  get alive(): boolean {
    return this.scheduler !== undefined;
  }

  /** Starts the process: Replica.start restores the state machine in slices on the virtual scheduler. */
  start(): void {
    if (this.scheduler !== undefined) return;
    const ctx = this.ctx;
    const scheduler = new SimScheduler(ctx.agenda, CLOCK_EPOCH_MS + this.clockSkewMs);
    const storage = new AsyncSimStorage(this.disk, {
      agenda: ctx.agenda,
      random: ctx.random,
      writeDelayMs: () => fsyncDelayMs(ctx.random, ctx.faults.diskStallRate),
      entryDurable: (entry, prevTerm) => this.checked(() => ctx.checker.entryPersisted(this.id, entry, prevTerm)),
      plantDoneBeforeDurable: ctx.plantDoneBeforeDurable,
    });
    this.scheduler = scheduler;
    this.storage = storage;
    const incarnation = this.incarnation;
    this.appliedIndex = this.disk.snapshotMeta().index;
    void Replica.start({
      raft: this.raftConfig, storage, scheduler, send: (m) => this.send(m), tickMs: SIM_REPLICA_TICK_MS, startNonVoting: false,
      snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES, pendingProposalsMax: PENDING_PROPOSALS_MAX, requestTimeoutMs: REQUEST_TIMEOUT_MS,
      expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_MIN, onEvent: (event) => this.onEvent(event),
      onApplied: (entry, result) => this.checked(() => this.onApplied(entry, result)), testOnlyPlant: ctx.plant,
    }).then((replica) => {
      if (incarnation !== this.incarnation) return;
      this.replicaValue = replica;
      this.checks.restarted();
    });
  }

  /** The connection to `peerId` closed: its process died. */
  connectionLost(peerId: NodeId): void {
    const replica = this.replicaValue;
    if (replica === undefined) return;
    this.checked(() => {
      replica.connectionLost(peerId);
      this.checks.afterInput(replica);
    });
  }

  receive(m: Message): void {
    const replica = this.replicaValue;
    if (replica === undefined) return;
    this.checked(() => {
      if (!this.checks.admits(m, replica.refusalOf(m), replica.configuration())) return;
      replica.receive(m);
      this.checks.afterInput(replica);
    });
  }

  /** Every message the Replica sends, checked against what the disk holds now. */
  private send(m: Message): void {
    this.checked(() => {
      const replica = this.replicaValue;
      if (replica !== undefined) this.checks.afterInput(replica);
      this.checks.beforeSend(m);
    });
    this.ctx.send(m);
  }

  private onApplied(entry: Entry, result: KvResult | undefined): void {
    this.checks.applyOrder(entry, this.appliedIndex);
    this.appliedIndex = entry.index;
    this.checks.applied(entry, entry.type === EntryType.Normal && result !== undefined ? applyOutcome(entry.index, entry.data, result) : undefined);
  }

  private onEvent(event: ReplicaEvent): void {
    const stats = this.ctx.stats;
    if (event.type === "snapshot-installed") {
      this.checked(() => this.checks.snapshotInstalled(this.disk.snapshotMeta(), this.disk.snapshotData()));
      this.appliedIndex = event.index;
    } else if (event.type === "snapshot-saved") {
      stats.snapshotsTaken++;
    } else if (event.type === "snapshot-refused") {
      stats.snapshotsRefused++;
    }
    this.ctx.onEvent?.(this.id, event);
  }

  /** Runs a check; a failure stops the run (ctx.failed) and is thrown on. */
  private checked(check: () => void): void {
    try {
      check();
    } catch (error) {
      this.ctx.failed(error);
      throw error;
    }
  }

  /** The member crashes at its next disk write, before any of it is durable; `onCrash` is told. */
  armCrash(onCrash: () => void): void {
    this.storage?.armCrash(() => {
      this.crash();
      onCrash();
    });
  }

  /** The process dies: its timers stop, its disk's writes in flight are lost or torn. Returns whether a write was lost. */
  crash(): boolean {
    if (this.scheduler === undefined) return false;
    this.scheduler.halt();
    const lost = this.storage?.crash() ?? false;
    this.scheduler = undefined;
    this.storage = undefined;
    this.replicaValue = undefined;
    this.incarnation++;
    return lost;
  }

  restart(): void {
    this.crash();
    this.start();
  }
}
