import { invariant } from "../../assert/invariant.js";
import type { RaftConfig } from "../../raft/config.js";
import { defaultRaftConfig } from "../../raft/config.js";
import type { Message } from "../../raft/messages.js";
import type { SeededRandom } from "../../raft/random.js";
import type { ConfChange, Entry, NodeId, SnapshotMeta } from "../../raft/types.js";
import { EntryType } from "../../raft/types.js";
import type { KvResult } from "../../kv/index.js";
import { Replica, type ReplicaEvent } from "../../server/replica.js";
import { NO_SCOPE } from "../../server/request-scope.js";
import type { Tracer } from "../../trace/index.js";
import { AsyncSimStorage } from "./async-sim-storage.js";
import type { SafetyChecker } from "./checker.js";
import { fsyncDelayMs } from "./disk-timing.js";
import type { LeaderAdmin } from "./faults.js";
import { applyOutcome } from "./kv-adapter.js";
import { clientAddressOf } from "./client-network.js";
import { MemberClientPort } from "./member-client-port.js";
import { MemberChecks } from "./member-checks.js";
import type { PlantName } from "./plants.js";
import { isCorePlant, isReplicaPlant } from "./plants.js";
import { SimScheduler, type VirtualAgenda } from "./sim-scheduler.js";
import { SimStorage } from "./sim-storage.js";
import type { MessageLimits } from "./situations.js";
import type { SimStats } from "./types.js";
import type { Request, Response, WireRequestContext } from "../../protocol/index.js";

export interface ReplicaMemberContext {
  /** The member's view of the run's agenda: what it schedules waits while it is paused. */
  readonly agenda: VirtualAgenda;
  /** Sends a Raft message into the simulated network. */
  send(m: Message): void;
  /** The process ended (its client connections close). */
  crashed?(): void;
  /** This member's share of the seed: its core's randomness, disk delays and torn writes. */
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
  /** The run's plant, if any: core plants go to the Raft config, driver plants stay here. */
  readonly plant?: PlantName;
  /** The seed's small message limits (situations.ts), if it has them. */
  readonly messageLimits?: MessageLimits;
  /** The member's tick interval (ms of its own clock); SIM_REPLICA_TICK_MS when not given. */
  readonly tickMs?: number;
  /** How fast this member's clock ticks against the run's (situations.ts); 1 when not given. */
  tickRate?(): number;
}

/** As the simulator's members: small chunks and batches, so snapshots and batching cuts happen in short runs. */
export const SIM_REPLICA_TICK_MS = 10;
const SNAPSHOT_EVERY_ENTRIES = 40;
const PENDING_PROPOSALS_MAX = 256;
const REQUEST_TIMEOUT_MS = 5_000;
const EXPIRY_TICK_INTERVAL_MS_MIN = 200;
/**
 * Far below a server's hour, so that a client idle through a partition or a pause finds
 * its session expired and the client library's recovery from it runs (writes.ts).
 */
const SESSION_TIMEOUT_MS = 600;
/** Members' clocks read this much at the simulation's start, plus their skew: stamps are never negative. */
const CLOCK_EPOCH_MS = 1_000_000;
const EMPTY_SNAPSHOT: SnapshotMeta = { index: 0, term: 0, config: { voters: [], learners: [] }, sizeBytes: 0 };

/**
 * One simulated member running the production Replica (server/replica.ts) and its KV
 * service (server/replica-service.ts): the ready loop, commit notices, snapshot slices,
 * waiting requests and ReadIndex rounds, on a virtual scheduler, an asynchronous
 * simulated disk and the simulated network. The disk (a SimStorage) outlives the process:
 * a crash drops the Replica and what its disk had in flight; a restart runs Replica.start
 * again on what was durable.
 */
export class ReplicaMember {
  /** What survives a crash. */
  readonly disk: SimStorage;
  readonly raftConfig: RaftConfig;
  private storage: AsyncSimStorage | undefined;
  private scheduler: SimScheduler | undefined;
  private replicaValue: Replica | undefined;
  /** Serves the simulated clients through the KV service; undefined while down or starting. */
  private clientPort: MemberClientPort | undefined;
  /** Bumped at a crash: a start under way when it crashed must not install its Replica, nor answer its clients. */
  private incarnationValue = 0;
  private readonly checks: MemberChecks;
  /** The index this member's state machine applied last, as its applies and installs told (apply order). */
  private appliedIndexValue = 0;
  /** The entry each write result came from, so that its answer can be checked as the apply was. */
  private readonly entryOfResult = new WeakMap<KvResult, Entry>();

  constructor(readonly id: NodeId, private readonly ctx: ReplicaMemberContext, initial: SnapshotMeta, bootstrapData: Uint8Array | undefined, private readonly clockSkewMs: number) {
    const plant = ctx.plant;
    this.raftConfig = {
      ...defaultRaftConfig(id), ...(isCorePlant(plant) ? { testOnlyPlant: plant } : {}), snapshotChunkBytesMax: 512, messageEntriesMax: 64, ...ctx.messageLimits,
    };
    this.disk = new SimStorage(initial, bootstrapData);
    this.checks = new MemberChecks(id, ctx.checker, ctx.stats, ctx.tracer, this.disk);
  }

  /** The running Replica; undefined while down or starting. */
  get replica(): Replica | undefined {
    return this.replicaValue;
  }

  /** Which run of the process this is: a client connection belongs to one. */
  get incarnation(): number {
    return this.incarnationValue;
  }

  /** The process runs and its client port is open. */
  get servesClients(): boolean {
    return this.clientPort !== undefined;
  }

  get alive(): boolean {
    return this.scheduler !== undefined;
  }

  /** True from a lost disk until the member has caught up again (it is non-voting meanwhile). */
  get catchingUpAfterLostDisk(): boolean {
    return this.checks.catchingUpAfterLostDisk;
  }

  /** Whether this member's disk holds (index, term): snapshots hold only committed entries. */
  holdsDurably(index: number, term: number): boolean {
    return index <= this.disk.snapshotMeta().index || this.disk.term(index) === term;
  }

  appliedIndex(): number {
    return this.replicaValue?.state().appliedIndex ?? this.appliedIndexValue;
  }

  digest(): string {
    const replica = this.replicaValue;
    invariant(replica !== undefined, () => `sim: the digest of member ${this.id}, which is not running`);
    return replica.state().digest();
  }

  /** Starts the process: Replica.start restores the state machine in slices on the virtual scheduler. */
  start(): void {
    if (this.scheduler !== undefined) return;
    const ctx = this.ctx;
    const scheduler = new SimScheduler(ctx.agenda, CLOCK_EPOCH_MS + this.clockSkewMs, ctx.tickRate);
    const storage = new AsyncSimStorage(this.disk, {
      agenda: ctx.agenda,
      random: ctx.random,
      writeDelayMs: () => fsyncDelayMs(ctx.random, ctx.faults.diskStallRate),
      entryDurable: (entry, prevTerm) => this.checked(() => ctx.checker.entryPersisted(this.id, entry, prevTerm)),
      plantDoneBeforeDurable: ctx.plantDoneBeforeDurable,
    });
    this.scheduler = scheduler;
    this.storage = storage;
    const incarnation = this.incarnationValue;
    const durableBefore = this.disk.hardState();
    this.appliedIndexValue = this.disk.snapshotMeta().index;
    void Replica.start({
      raft: this.raftConfig, storage, scheduler, send: (m) => this.send(m), tickMs: ctx.tickMs ?? SIM_REPLICA_TICK_MS, startNonVoting: false,
      snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES, pendingProposalsMax: PENDING_PROPOSALS_MAX, requestTimeoutMs: REQUEST_TIMEOUT_MS,
      expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_MIN, kvConfig: { sessionTimeoutMs: SESSION_TIMEOUT_MS }, onEvent: (event) => this.onEvent(event), random: ctx.random.fork(),
      testOnlyPlant: isReplicaPlant(ctx.plant) ? ctx.plant : undefined,
      onApplied: (entry, result, requestId) => this.checked(() => this.onApplied(entry, result, requestId)),
    }).then((replica) => {
      if (incarnation !== this.incarnationValue) return;
      this.replicaValue = replica;
      this.clientPort = new MemberClientPort(replica, this.id, {
        tracer: ctx.tracer, requestTimeoutMs: REQUEST_TIMEOUT_MS, checker: ctx.checker, checks: this.checks, clientAddressOf,
        entryOf: (result) => this.entryOfResult.get(result), checked: (check) => this.checked(check),
      });
      this.checks.restarted();
      const status = replica.status();
      this.checked(() => {
        ctx.checker.checkRestart(this.id, durableBefore, { term: status.term, commit: status.commit });
        this.checks.afterInput(replica);
      });
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

  /** The leader's admin calls (membership changes, transfers) as the fault schedule makes them; undefined while not running. */
  admin(): LeaderAdmin | undefined {
    const replica = this.replicaValue;
    if (replica === undefined) return undefined;
    const afterInput = (): void => this.checked(() => this.checks.afterInput(replica));
    return {
      id: this.id,
      configuration: () => replica.configuration(),
      status: () => replica.status(),
      logTerm: (index) => replica.logTerm(index),
      proposeConfChange: (change: ConfChange) => {
        const result = replica.offerConfChange(change);
        afterInput();
        return result;
      },
      transferLeadership: (to) => {
        const result = replica.transferLeadership(to);
        afterInput();
        return result;
      },
    };
  }

  /**
   * A client's request, served as a server's client port serves it (member-client-port.ts);
   * undefined when the process is down or still starting. Traced, the request's id rides
   * to its entry's apply event, as a port's request does.
   */
  serveClient(request: Request, forward: boolean, context: WireRequestContext | undefined): Promise<Response> | undefined {
    const requestId = context?.requestId;
    return this.onClientPort((port) => port.serve(request, forward, requestId === undefined ? NO_SCOPE : { request: { requestId } }));
  }

  /** The healed phase's liveness probe: a no-op entry through this member's log; undefined while down. */
  probe(): Promise<unknown> | undefined {
    return this.onClientPort((port) => port.probe());
  }

  /** `work` on the running process's client port, its checks run after it; undefined while down or starting. */
  private onClientPort<T>(work: (port: MemberClientPort) => Promise<T>): Promise<T> | undefined {
    const port = this.clientPort;
    const replica = this.replicaValue;
    if (port === undefined || replica === undefined) return undefined;
    const done = work(port);
    this.checked(() => this.checks.afterInput(replica));
    return done;
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

  private onApplied(entry: Entry, result: KvResult | undefined, requestId: string | undefined): void {
    // A leader's commit index moves when its own write completes (a disk event, no input
    // and maybe no send: commit notices wait): its checks run before its first apply of it.
    const replica = this.replicaValue;
    if (replica !== undefined) this.checks.afterInput(replica);
    this.checks.applyOrder(entry, this.appliedIndexValue);
    this.appliedIndexValue = entry.index;
    const outcome = entry.type === EntryType.Normal && result !== undefined ? applyOutcome(entry.index, entry.data, result) : undefined;
    if (result !== undefined) this.entryOfResult.set(result, entry);
    const rendered = this.checks.applied(entry, outcome);
    if (this.ctx.tracer.enabled) this.ctx.tracer.local(`apply index=${entry.index} term=${entry.term}${requestId === undefined ? "" : ` req=${requestId}`} ${rendered}`);
  }

  private onEvent(event: ReplicaEvent): void {
    const stats = this.ctx.stats;
    if (event.type === "snapshot-installed") {
      this.checked(() => this.checks.snapshotInstalled(this.disk.snapshotMeta(), this.disk.snapshotData()));
      this.appliedIndexValue = event.index;
    } else if (event.type === "snapshot-saved") {
      stats.snapshotsTaken++;
    } else if (event.type === "snapshot-refused") {
      stats.snapshotsRefused++;
    } else if (event.type === "fatal") {
      this.ctx.failed(event.error);
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

  /** The member crashes at its next disk write, losing it (before any of it is durable); `onCrash` is told. */
  armCrash(onCrash: () => void): void {
    this.storage?.armCrash(() => {
      // The write it crashed at never reached the disk's queue: lost all the same.
      if (!this.crash()) this.ctx.stats.lossyCrashes++;
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
    this.clientPort = undefined;
    this.incarnationValue++;
    this.ctx.stats.crashes++;
    this.ctx.crashed?.();
    if (lost) this.ctx.stats.lossyCrashes++;
    return lost;
  }

  /**
   * Starts again from what is durable; `wiped`: the disk was lost too. As the server does,
   * a member that lost its disk marks itself non-voting durably before it starts, so a
   * crash right after cannot bring it back as a voter (the plant wiped-node-votes skips it).
   */
  restart(wiped = false): void {
    this.crash();
    if (wiped) {
      this.disk.wipe(EMPTY_SNAPSHOT);
      this.checks.diskLost();
      this.ctx.stats.wipes++;
      if (this.ctx.plant !== "wiped-node-votes") this.disk.apply({ hardState: { ...this.disk.hardState(), nonVoting: true }, entries: [], snapshot: undefined });
    }
    this.start();
  }
}
