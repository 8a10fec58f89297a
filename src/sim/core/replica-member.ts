import type { RaftConfig } from "../../raft/config.js";
import { defaultRaftConfig } from "../../raft/config.js";
import type { Message } from "../../raft/messages.js";
import type { SeededRandom } from "../../raft/random.js";
import type { NodeId, SnapshotMeta } from "../../raft/types.js";
import { Replica, type ReplicaEvent } from "../../server/replica.js";
import { AsyncSimStorage } from "./async-sim-storage.js";
import { fsyncDelayMs } from "./disk-timing.js";
import { SimScheduler, type VirtualAgenda } from "./sim-scheduler.js";
import { SimStorage } from "./sim-storage.js";

export interface ReplicaMemberContext {
  readonly agenda: VirtualAgenda;
  /** Sends a Raft message into the simulated network. */
  send(m: Message): void;
  /** This member's share of the seed: disk delays and torn writes. */
  readonly random: SeededRandom;
  /** Disk faults of the run, read at each write. */
  readonly faults: { readonly diskStallRate: number };
  readonly onEvent?: (id: NodeId, event: ReplicaEvent) => void;
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

  constructor(readonly id: NodeId, private readonly ctx: ReplicaMemberContext, initial: SnapshotMeta, bootstrapData: Uint8Array | undefined, private readonly clockSkewMs: number) {
    this.raftConfig = { ...defaultRaftConfig(id), snapshotChunkBytesMax: 512, messageEntriesMax: 64 };
    this.disk = new SimStorage(initial, bootstrapData);
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
    const storage = new AsyncSimStorage(this.disk, { agenda: ctx.agenda, random: ctx.random, writeDelayMs: () => fsyncDelayMs(ctx.random, ctx.faults.diskStallRate) });
    this.scheduler = scheduler;
    this.storage = storage;
    const incarnation = this.incarnation;
    void Replica.start({
      raft: this.raftConfig, storage, scheduler, send: (m) => ctx.send(m), tickMs: SIM_REPLICA_TICK_MS, startNonVoting: false,
      snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES, pendingProposalsMax: PENDING_PROPOSALS_MAX, requestTimeoutMs: REQUEST_TIMEOUT_MS,
      expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_MIN, onEvent: (event) => ctx.onEvent?.(this.id, event),
    }).then((replica) => {
      if (incarnation === this.incarnation) this.replicaValue = replica;
    });
  }

  receive(m: Message): void {
    const replica = this.replicaValue;
    if (replica === undefined || replica.refusalOf(m) !== undefined) return;
    replica.receive(m);
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
