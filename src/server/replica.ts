import type { CommandEnvelope, KvCommand, KvConfig, KvResult } from "../kv/index.js";
import { KvStateMachine, encodeCommand } from "../kv/index.js";
import { applyConfChange, decodeConfChange } from "../raft/conf-change.js";
import type { RaftConfig } from "../raft/config.js";
import type { Message } from "../raft/messages.js";
import { SeededRandom } from "../raft/random.js";
import { RaftNode } from "../raft/raft.js";
import type { ProposalResult, RaftStatus, Ready } from "../raft/ready.js";
import type { ConfChange, Configuration, Entry, NodeId, SnapshotMeta } from "../raft/types.js";
import { EntryType } from "../raft/types.js";
import type { RaftStorage } from "../storage/index.js";
import type { TraceStamp, Tracer } from "../trace/index.js";
import { traceRaftReceive } from "../trace/index.js";
import { CommitNotices } from "./commit-notices.js";
import { IncomingSnapshotWriter } from "./incoming-snapshot.js";
import { LogWriter } from "./log-writer.js";
import { ReplicaTrace } from "./replica-trace.js";
import { SnapshotAdmission } from "./snapshot-admission.js";
import { restoreFromStorage, saveLocalSnapshot } from "./snapshot-slices.js";
import type { ReplicaPlant } from "./replica-plant-names.js";
import { answerFromScratchCopy, entriesToApplyEarly, noticeTakenOnTrust, restoreOverApplies, sentBeforeDurable } from "./replica-plants.js";
import { WaitingRequests } from "./waiting-requests.js";
import { BusyError, InvalidRequestError, NotLeaderError, UnavailableError } from "./errors.js";
import { DISK_FULL_RETRY_DEFAULTS, DiskFullRetry, DiskFullRetryCancelled, type DiskFullEvent, type DiskFullRetryLimits } from "./disk-full-retry.js";
import { ReplicaMetrics } from "./replica-metrics.js";
import { NODE_SCHEDULER } from "./node-scheduler.js";
import type { Scheduler } from "./scheduler.js";

export interface ReplicaOptions {
  readonly raft: RaftConfig;
  readonly storage: RaftStorage;
  /** Sends a Raft message to a peer (never blocks; the transport may drop it). */
  readonly send: (m: Message) => void;
  readonly tickMs: number;
  readonly startNonVoting: boolean;
  /** Take a local snapshot (and compact the log) every this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** Proposals waiting to be applied, past which new ones get BusyError. */
  readonly pendingProposalsMax: number;
  /** Callers of waitApplied waiting at once, past which new ones get BusyError (APPLIED_WAITERS_MAX_DEFAULT when not given). */
  readonly appliedWaitersMax?: number;
  readonly requestTimeoutMs: number;
  /**
   * The least time between two proposals before an idle leader proposes a `tick` for
   * a key or session whose expiry is due: expiry happens only when an entry is applied,
   * so without ticks an idle cluster never expires anything (and watchers never hear).
   */
  readonly expiryTickIntervalMsMin: number;
  /**
   * The state machine's limits (DEFAULT_KV_CONFIG for what is not given). Its replicated
   * limits (sessions, sizes) must be the same on every member; servers use the defaults,
   * the simulator short session timeouts so that sessions expire under its seeds.
   */
  readonly kvConfig?: Partial<KvConfig>;
  /** How a write that found the disk full is retried (DISK_FULL_RETRY_DEFAULTS when not given). */
  readonly diskFullRetry?: DiskFullRetryLimits;
  /** Its clock, timers and turns (NODE_SCHEDULER when not given; the simulator's virtual one there). */
  readonly scheduler?: Scheduler;
  readonly onEvent?: (event: ReplicaEvent) => void;
  readonly metrics?: ReplicaMetrics;
  /** Where this member's trace events go (--trace-log); NO_TRACE when not given. */
  readonly tracer?: Tracer;
  /**
   * Told of every entry as it is applied, with its result (undefined for no-ops and
   * configuration changes): the simulator checks from it that every member applies the
   * same results in the same order, with the id of the request that proposed it (when
   * it named one). Servers leave it unset.
   */
  readonly onApplied?: (entry: Entry, result: KvResult | undefined, requestId: string | undefined) => void;
  /** The core's source of randomness (election timeouts); seeded from the id and the clock when not given, a seed's share in the simulator. */
  readonly random?: SeededRandom;
  /**
   * Test-only: never set by servers. A deliberately broken behaviour of this loop
   * (replica-plants.ts) that the simulator's checks must catch.
   */
  readonly testOnlyPlant?: ReplicaPlant;
}

export type ReplicaEvent =
  | { readonly type: "role-changed"; readonly role: string; readonly term: number; readonly leader: NodeId }
  | { readonly type: "snapshot-saved"; readonly index: number; readonly sizeBytes: number; readonly ms: number }
  | { readonly type: "snapshot-installed"; readonly index: number; readonly sizeBytes: number }
  /** A snapshot from the leader failed its whole-data checksum or does not decode (snapshot-admission.ts): discarded, the leader sends it again. */
  | { readonly type: "snapshot-refused"; readonly index: number; readonly sizeBytes: number; readonly reason: string }
  | { readonly type: "fatal"; readonly error: Error }
  | DiskFullEvent;

/** Settled once: `.then` on it runs a callback in the next turn of the microtask queue. */
const NEXT_TURN = Promise.resolve();

/**
 * One member: the pure Raft core wired to a disk, a network and the KV state machine,
 * with a timer for ticks. The ready loop takes one Ready at a time and, while its
 * write is in flight, lets new proposals and messages accumulate in the core, so the
 * next Ready carries all of them: one write and one fsync for many requests.
 */
export class Replica {
  private readonly raft: RaftNode;
  private kv: KvStateMachine;
  private appliedConfig: Configuration;
  private readonly waiting: WaitingRequests;
  /** The snapshot being received from the leader, if any. */
  private readonly incoming: IncomingSnapshotWriter;
  private stopTicking: (() => void) | undefined;
  private looping = false;
  private stopped = false;
  private fatal: Error | undefined;
  private lastStampMs = 0;
  /** When this member last proposed a command (its clock), so ticks go out only when nothing else did. */
  private lastProposalAtMs = 0;
  private lastRole = "";
  private lastLeader = -1;
  private snapshotInFlight = false;
  private readonly scheduler: Scheduler;
  private readonly notices: CommitNotices;
  /** Writes each Ready's entries and hard state, holding back a change of the commit index alone (log-writer.ts). */
  private readonly log: LogWriter;
  /** Holds the Ready whose write found the disk full and retries it; the alarm (disk-full-retry.ts). */
  readonly diskFull: DiskFullRetry;
  /** Decodes a snapshot from the leader before its last chunk is stepped (snapshot-admission.ts). */
  readonly admission: SnapshotAdmission;
  private readonly trace: ReplicaTrace;
  /** options.testOnlyPlant, read once: undefined in every server. */
  private readonly plant: ReplicaPlant | undefined;

  private constructor(private readonly options: ReplicaOptions, kv: KvStateMachine, snapshot: SnapshotMeta) {
    this.scheduler = options.scheduler ?? NODE_SCHEDULER;
    this.trace = new ReplicaTrace(options.tracer);
    this.plant = options.testOnlyPlant;
    this.kv = kv;
    this.appliedConfig = snapshot.config;
    this.notices = new CommitNotices(options.send, this.scheduler);
    this.waiting = new WaitingRequests(() => this.scheduler.now(), options.metrics, options.appliedWaitersMax);
    this.diskFull = new DiskFullRetry(options.raft.id, options.diskFullRetry ?? DISK_FULL_RETRY_DEFAULTS, this.scheduler, (event) => options.onEvent?.(event));
    this.log = new LogWriter(options.storage, this.diskFull);
    this.raft = new RaftNode(options.raft, options.storage, options.random ?? new SeededRandom(options.raft.id * 7919 + (this.scheduler.now() % 100_000)), {
      startNonVoting: options.startNonVoting,
    });
    this.incoming = new IncomingSnapshotWriter(options.storage, (meta, reason) =>
      options.onEvent?.({ type: "snapshot-refused", index: meta.index, sizeBytes: meta.sizeBytes, reason }));
    this.admission = new SnapshotAdmission(this.raft, () => this.kick(), () => this.kv.config, (error) => this.fail(error), () => this.scheduler.nextTurn());
  }

  /** Restores the state machine from the storage's snapshot and starts ticking. */
  static async start(options: ReplicaOptions): Promise<Replica> {
    const snapshot = options.storage.snapshotMeta();
    const scheduler = options.scheduler ?? NODE_SCHEDULER;
    const kv = snapshot.index > 0 ? await restoreFromStorage(options.storage, snapshot, () => scheduler.nextTurn(), options.kvConfig) : new KvStateMachine(options.kvConfig);
    const replica = new Replica(options, kv, snapshot);
    // As etcd's initial-election-tick-advance: a member just started has heard from no
    // leader, so it need not sit out a whole election timeout before its first pre-vote.
    // What is left of the wait stays randomised (1 to electionTicks ticks), and pre-vote
    // keeps a member that restarts into a cluster with a live leader from disrupting it.
    for (let i = 1; i < options.raft.electionTicks; i++) replica.raft.tick();
    replica.stopTicking = scheduler.every(options.tickMs, () => replica.tick());
    replica.kick();
    return replica;
  }

  // ---------------------------------------------------------------- inputs

  private tick(): void {
    if (this.stopped) return;
    this.raft.tick();
    this.waiting.expire(this.options.requestTimeoutMs);
    this.proposeExpiryTick();
    this.kick();
  }

  /**
   * On the leader, proposes a `tick` (a stamp and nothing else) once a key, session or
   * delayed flush is due and no proposal went out for expiryTickIntervalMsMin: any
   * applied stamp past the deadline does the expiry, so a busy leader needs no ticks,
   * and the interval bounds ticks on a leader whose tick is slow to commit. Its result
   * is nobody's: it is not tracked, and a refused tick (a transfer under way) is retried
   * at a later tick of the timer.
   */
  private proposeExpiryTick(): void {
    if (this.fatal !== undefined || this.diskFull.isFull() || this.raft.currentRole() !== "leader") return;
    const due = this.kv.nextDeadlineMs();
    const now = this.scheduler.now();
    if (due === undefined || due > Math.max(now, this.lastStampMs)) return;
    if (now - this.lastProposalAtMs < this.options.expiryTickIntervalMsMin) return;
    this.lastProposalAtMs = now;
    this.raft.propose(encodeCommand({ stampMs: this.nextStamp(), command: { type: "tick" } }));
  }

  /** Why a message from a peer must not be stepped (raft/message-checks.ts), or undefined: asked at the network edge. */
  refusalOf(m: Message): string | undefined {
    return this.raft.refusalOf(m);
  }

  /** See RaftNode.followsNoLiveLeader: asked when a caller that is not a member connects. */
  followsNoLiveLeader(): boolean {
    return this.raft.followsNoLiveLeader();
  }

  /** The transport lost a connection to `peerId`: a leader behind it may be dead (raft/elections.ts leaderConnectionLost). */
  connectionLost(peerId: NodeId): void {
    if (this.stopped) return;
    this.raft.connectionLost(peerId);
  }

  /** A message from a peer, with the sender's trace stamp when both trace. */
  receive(m: Message, stamp?: TraceStamp): void {
    if (this.stopped) return;
    traceRaftReceive(this.trace.tracer, m, stamp);
    if (m.type === "Snap" && this.admission.hold(m)) return;
    if (this.plant === "commit-notice-ahead" && CommitNotices.isNotice(m)) m = noticeTakenOnTrust(m, this.raft.status().lastIndex, (index) => this.raft.logTerm(index));
    this.raft.step(m);
    this.kick();
  }

  /**
   * Proposes a command; resolves with its result once applied (undefined for no-ops).
   * `requestId` (the client request's, if it has one) names the entry's apply in traces.
   */
  propose(command: KvCommand, requestId?: string): Promise<KvResult> {
    // Not `async`: the answer is the proposal's own promise, no hop behind it on every write.
    try {
      this.checkServing();
      this.diskFull.refuseWrites();
      if (this.waiting.proposalCount >= this.options.pendingProposalsMax) {
        throw new BusyError(`${this.waiting.proposalCount} proposals are waiting (pendingProposalsMax): retry shortly`);
      }
      const envelope: CommandEnvelope = { stampMs: this.nextStamp(), command };
      this.lastProposalAtMs = this.scheduler.now();
      const result = this.raft.propose(encodeCommand(envelope));
      // A command's entry always applies with a result: only no-ops and configuration changes have none.
      return this.track(result, requestId) as Promise<KvResult>;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  async proposeConfChange(change: ConfChange): Promise<{ index: number }> {
    this.checkServing();
    this.diskFull.refuseWrites();
    const result = this.raft.proposeConfChange(change);
    await this.track(result);
    return { index: result.ok ? result.index : 0 };
  }

  /**
   * Proposes a membership change and answers with the core's verdict at once, without
   * waiting for it to apply (as transferLeadership does): the simulator's admin path,
   * which must see a refusal's code as it happens.
   */
  offerConfChange(change: ConfChange): ProposalResult {
    const result = this.raft.proposeConfChange(change);
    this.kick();
    return result;
  }

  transferLeadership(to: NodeId): ProposalResult {
    const result = this.raft.transferLeadership(to);
    this.kick();
    return result;
  }

  private track(result: ProposalResult, requestId?: string): Promise<KvResult | undefined> {
    if (!result.ok) {
      const { code, message, leader } = result.error;
      if (code === "not-leader" || code === "transferring") throw new NotLeaderError({ leaderId: leader }, message);
      if (code === "busy" || code === "conf-change-pending" || code === "not-ready" || code === "learner-behind") throw new BusyError(message);
      throw new InvalidRequestError(message);
    }
    const applied = this.waiting.proposal(result.index, result.term, requestId);
    this.kick();
    return applied;
  }

  /**
   * A linearizable read point: resolves with an index once this node has applied past
   * the index a leader confirmed (ReadIndex); on a follower the core asks the leader.
   */
  readIndex(): Promise<number> {
    // Not `async`: the read's own promise, no hop behind it on every linearizable read.
    try {
      this.checkServing();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const { requestId, index } = this.waiting.read();
    this.raft.readIndex(requestId);
    this.kick();
    return index;
  }

  /** The state machine as applied now (callers make reads linearizable first). */
  state(): KvStateMachine {
    return this.kv;
  }

  /** Resolves once this node has applied at least `index`; rejects (UnavailableError) when it stops first. */
  waitApplied(index: number): Promise<void> {
    if (this.kv.appliedIndex >= index) return Promise.resolve();
    try {
      this.checkServing();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.waiting.appliedAtLeast(index);
  }

  /** Who leads as this member sees it (0: none known); per request, where status() would allocate. */
  leaderId(): NodeId {
    return this.raft.leaderId();
  }

  /** Whether this member leads now; per request, where status() would allocate. */
  isLeader(): boolean {
    return this.raft.currentRole() === "leader";
  }

  status(): RaftStatus {
    return this.raft.status();
  }

  /** The core's term, commit index and last index, each without building status() (the simulator reads them after every input). */
  currentTerm(): number {
    return this.raft.currentTerm();
  }

  commitIndex(): number {
    return this.raft.commitIndex();
  }

  logLastIndex(): number {
    return this.raft.logLastIndex();
  }

  configuration(): Configuration {
    return this.raft.configuration();
  }

  /** The term of the entry at `index` in this member's log; undefined once compacted away. */
  logTerm(index: number): number | undefined {
    return this.raft.logTerm(index);
  }

  /** The first index this member's log holds (the simulator checks leader completeness from it). */
  logFirstIndex(): number {
    return this.raft.logFirstIndex();
  }

  /** Configuration changes in the log not yet committed (the simulator checks there is at most one). */
  pendingConfChangeCount(): number {
    return this.raft.pendingConfChangeCount();
  }

  readStampMs(): number {
    return Math.max(this.lastStampMs, this.kv.lastStampMs, this.scheduler.now());
  }

  /** While the disk is full: why writes are refused (undefined otherwise). */
  diskFullMessage(): string | undefined {
    return this.diskFull.message();
  }

  private nextStamp(): number {
    this.lastStampMs = Math.max(this.lastStampMs, this.kv.lastStampMs, this.scheduler.now());
    return this.lastStampMs;
  }

  private checkServing(): void {
    if (this.fatal !== undefined) throw new UnavailableError(`this member stopped serving after a storage failure: ${this.fatal.message}`);
    if (this.stopped) throw new UnavailableError("this member is shutting down: retry on another member");
  }

  // ---------------------------------------------------------------- the ready loop

  private kick(): void {
    if (this.looping || this.stopped) return;
    this.looping = true;
    void this.loop();
  }

  /**
   * Takes Readies until the core has none; the next input kicks it again. `looping` falls
   * in the same turn as the last hasReady() said no, so no input can fall in between.
   */
  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.raft.hasReady()) {
        const ready = this.raft.ready();
        this.admission.taken(ready.snapshotChunks);
        // Role and commit first: the core changed them before this Ready, so the trace shows them before its sends.
        this.noteRole();
        this.trace.commit(ready);
        const handling = this.handleReady(ready);
        if (handling !== undefined) await handling;
        this.raft.advance(ready);
        this.noteRole();
      }
    } catch (error) {
      if (!(error instanceof DiskFullRetryCancelled)) this.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.looping = false;
    }
  }

  /**
   * Handles one Ready: undefined when done at once (nothing to write: no promise, no turn
   * of the microtask queue, and the loop takes the next Ready in the same turn), else the
   * promise of its write and what waits for it.
   */
  private handleReady(ready: Ready): Promise<void> | undefined {
    if (ready.snapshot !== undefined || ready.snapshotChunks.length > 0) return this.installSnapshotReady(ready);
    // The write starts first, so the disk works while messages go out. Committed entries
    // are durable here and on a quorum already (the core hands out only entries this
    // node has persisted): applying them need not wait for this Ready's write, so
    // replies leave while its fsync is under way.
    this.sendAfterPersist(ready, true);
    const persisting = this.log.persist(ready);
    this.sendMessages(ready);
    if (persisting === undefined) {
      this.applyCommitted(ready);
      this.sendAfterPersist(ready, false);
      return this.afterReady();
    }
    persisting.catch(() => undefined); // Awaited below; handled here in case apply throws first.
    return this.applyWhileWriting(ready, persisting);
  }

  private async applyWhileWriting(ready: Ready, persisting: Promise<void>): Promise<void> {
    // One turn of the microtask queue later, behind the start of the group commit: the
    // write goes to the disk before the CPU goes to applying. Queued before the await
    // below, it has run when the await returns (the queue is first in, first out).
    // A promise reaction, not queueMicrotask: Node wraps each of those in an async resource.
    let applyFailure: { readonly error: unknown } | undefined;
    void NEXT_TURN.then(() => {
      try {
        this.applyCommitted(ready);
      } catch (error) {
        applyFailure = { error };
      }
    });
    await persisting;
    if (this.plant === "answer-before-quorum") answerFromScratchCopy(this.kv, this.options.storage, ready.entries, this.waiting);
    if (applyFailure !== undefined) throw applyFailure.error;
    this.sendAfterPersist(ready, false);
    const after = this.afterReady();
    if (after !== undefined) await after;
  }

  /** A snapshot to install is written, then installed, before anything after it applies. */
  private async installSnapshotReady(ready: Ready): Promise<void> {
    for (const m of ready.messages) this.notices.sendNow(m);
    this.sendAfterPersist(ready, true);
    // Retried as a whole after a full disk: the chunks already written are skipped, a chunk at offset 0 starts over.
    await this.diskFull.persist(() => this.incoming.persist(ready));
    await this.log.persist(ready);
    this.sendAfterPersist(ready, false);
    if (ready.snapshot !== undefined) await this.restoreSnapshot(ready.snapshot);
    this.applyCommitted(ready);
    await this.afterReady();
  }

  /** After each Ready: a local snapshot if one is due (undefined: nothing to wait for). */
  private afterReady(): Promise<void> | undefined {
    // A local snapshot must not pass the durable commit index.
    const flushing = this.snapshotDue() ? this.log.flushCommit() : undefined;
    if (flushing !== undefined) return flushing.then(() => this.maybeSnapshot());
    this.maybeSnapshot();
    return undefined;
  }

  /** A commit-only append goes out with the next append to its follower, or shortly (CommitNotices). */
  private sendMessages(ready: Ready): void {
    for (const m of ready.messages) {
      if (ready.committedEntries.length > 0 && CommitNotices.isNotice(m)) this.notices.hold(m);
      else this.notices.sendNow(m);
    }
  }

  /** The messages that wait for the Ready's write, once it is durable (`early`: those a test-only plant sends before). */
  private sendAfterPersist(ready: Ready, early: boolean): void {
    if (early && this.plant === undefined) return; // Servers send nothing early: no pass over the messages per Ready.
    for (const m of ready.messagesAfterPersist) if (sentBeforeDurable(this.plant, m) === early) this.notices.sendNow(m);
  }

  private applyCommitted(ready: Ready): void {
    const entries = this.plant === "apply-before-commit" ? entriesToApplyEarly(ready, () => this.kv.appliedIndex) : ready.committedEntries;
    for (const entry of entries) this.apply(entry);
    for (const state of ready.readStates) this.waiting.confirmed(state);
    this.waiting.serve(this.kv.appliedIndex);
  }

  /** Snapshots from the leader refused because their data did not match their checksum or did not decode. */
  snapshotsRefused(): number {
    return this.incoming.refused;
  }

  private async restoreSnapshot(meta: SnapshotMeta): Promise<void> {
    this.waiting.lostToSnapshot(meta.index);
    // Decoded on receipt, before Raft installed it; from storage only if not (never expected).
    this.kv = this.admission.take(meta) ?? await restoreFromStorage(this.options.storage, meta, () => this.scheduler.nextTurn(), this.kv.config);
    if (this.plant === "restore-interleaves-apply") void restoreOverApplies(this.options.storage, meta, this.scheduler, () => this.kv, (kv) => { this.kv = kv; });
    this.appliedConfig = meta.config;
    this.options.onEvent?.({ type: "snapshot-installed", index: meta.index, sizeBytes: meta.sizeBytes });
  }

  private apply(entry: Entry): void {
    let result: KvResult | undefined;
    if (entry.type === EntryType.Normal) {
      result = this.kv.apply(entry.index, entry.data);
    } else {
      this.kv.applyNoop(entry.index);
      if (entry.type === EntryType.ConfChange) this.appliedConfig = applyConfChange(this.appliedConfig, decodeConfChange(entry.data));
    }
    if (this.trace.tracer.enabled) this.trace.applied(entry, this.waiting.requestIdOf(entry));
    this.options.onApplied?.(entry, result, this.waiting.requestIdOf(entry));
    this.waiting.applied(entry, result);
  }

  /**
   * Local snapshots keep the log short. The state is captured at once (references only)
   * and encoded a slice at a time between turns of the event loop, so a large state never
   * stalls heartbeats; entries go on being applied meanwhile.
   */
  private snapshotDue(): boolean {
    return !this.snapshotInFlight && this.kv.appliedIndex - this.options.storage.snapshotMeta().index >= this.options.snapshotEveryEntries;
  }

  private maybeSnapshot(): void {
    const applied = this.kv.appliedIndex;
    const storage = this.options.storage;
    if (!this.snapshotDue() || !this.diskFull.snapshotMayStart()) return;
    const term = storage.term(applied);
    if (term === undefined) return;
    const started = this.scheduler.now();
    const kv = this.kv;
    this.snapshotInFlight = true;
    saveLocalSnapshot(kv.beginSnapshot(), storage, { index: applied, term, config: this.appliedConfig }, () => this.scheduler.nextTurn()).then((meta) => {
      if (meta !== undefined) this.options.onEvent?.({ type: "snapshot-saved", index: meta.index, sizeBytes: meta.sizeBytes, ms: this.scheduler.now() - started });
    }).catch((error: unknown) => {
      // Stopping closes storage under a snapshot still being written: it is dropped, nothing failed.
      if (this.stopped) return;
      if (!this.diskFull.snapshotFailed(error)) this.fail(error instanceof Error ? error : new Error(String(error)));
    }).finally(() => { this.snapshotInFlight = false; });
  }

  private noteRole(): void {
    const role = this.raft.currentRole();
    const leader = this.raft.leaderId();
    if (role !== this.lastRole || leader !== this.lastLeader) {
      this.lastRole = role;
      this.lastLeader = leader;
      this.trace.role(role, this.raft.currentTerm(), leader);
      this.options.onEvent?.({ type: "role-changed", role, term: this.raft.currentTerm(), leader });
    }
  }

  private fail(error: Error): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.options.onEvent?.({ type: "fatal", error });
    void this.stop();
  }

  /** Stops ticking and fails everything waiting; the storage is the caller's to close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTicking?.();
    this.diskFull.cancel();
    this.admission.close();
    this.notices.clear();
    this.waiting.failAll(new UnavailableError("this member is shutting down: retry on another member"));
    while (this.looping) await this.scheduler.nextTurn();
    await this.incoming.abort();
  }

  fatalError(): Error | undefined {
    return this.fatal;
  }
}
