import { crc32c } from "@node-rs/crc32";
import { joinBytes } from "../../codec/bytes.js";
import { applyConfChange, decodeConfChange } from "../../raft/conf-change.js";
import type { RaftConfig } from "../../raft/config.js";
import { defaultRaftConfig } from "../../raft/config.js";
import type { Message } from "../../raft/messages.js";
import type { SeededRandom } from "../../raft/random.js";
import { RaftNode } from "../../raft/raft.js";
import type { ProposalResult, Ready, ReadState } from "../../raft/ready.js";
import type { Configuration, Entry, NodeId, SnapshotMeta } from "../../raft/types.js";
import { EntryType } from "../../raft/types.js";
import type { SafetyChecker } from "./checker.js";
import { fsyncDelayMs } from "./disk-timing.js";
import { MemberChecks } from "./member-checks.js";
import type { PlantName } from "./plants.js";
import { isCorePlant } from "./plants.js";
import type { PersistJob } from "./sim-storage.js";
import { SimStorage } from "./sim-storage.js";
import type { MessageLimits } from "./situations.js";
import type { SimStateMachine, SimStateMachineFactory } from "./state-machine.js";
import type { ClientReply, ClientRequest, SimStats } from "./types.js";
import type { Tracer } from "../../trace/index.js";

export interface NodeContext {
  now(): number;
  send(m: Message): void;
  after(delayMs: number, action: () => void): void;
  reply(request: ClientRequest, reply: ClientReply): void;
  readonly checker: SafetyChecker;
  readonly random: SeededRandom;
  readonly plant: PlantName | undefined;
  readonly stats: SimStats;
  readonly factory: SimStateMachineFactory;
  /** Disk faults of the run (set by the fault schedule). */
  readonly faults: { diskStallRate: number };
  /** This node's ShiViz tracer for local events (elected, apply); NO_TRACE without --shiviz. */
  readonly tracer: Tracer;
  /** The seed's small message limits (situations.ts), if it has them. */
  readonly messageLimits: MessageLimits | undefined;
}

/** Local snapshots are taken every this many applied entries, so lagging nodes need them. */
export const COMPACT_EVERY_ENTRIES = 40;

interface PendingWrite {
  readonly term: number;
  readonly request: ClientRequest;
}

/**
 * One simulated server: the real Raft core and the real state machine over a modelled
 * disk. It drives the core the way the real server does (Ready, persist, send, apply,
 * advance), with the disk write taking virtual time so a crash can land mid-write.
 */
export class SimNode {
  readonly storage: SimStorage;
  raft: RaftNode | undefined;
  private sm: SimStateMachine;
  private appliedConfig: Configuration;
  private persisting: { ready: Ready; generation: number } | undefined;
  private generation = 0;
  private incomingChunks: Uint8Array[] = [];
  private pendingWrites = new Map<number, PendingWrite>();
  private pendingReads = new Map<string, ClientRequest>();
  private readsAwaitingApply: { index: number; request: ClientRequest }[] = [];
  private lastStampMs = 0;
  private readonly checks: MemberChecks;
  /** When set, the node crashes at its next disk write, losing it, and this is called. */
  crashArmed: (() => void) | undefined;
  readonly raftConfig: RaftConfig;

  constructor(readonly id: NodeId, private readonly ctx: NodeContext, initialSnapshot: SnapshotMeta, readonly clockSkewMs: number) {
    const plant = ctx.plant;
    this.raftConfig = { ...defaultRaftConfig(id), ...(isCorePlant(plant) ? { testOnlyPlant: plant } : {}), snapshotChunkBytesMax: 512, messageEntriesMax: 64, ...ctx.messageLimits };
    const bootstrapData = initialSnapshot.index > 0 ? ctx.factory.bootstrapSnapshot() : undefined;
    this.storage = new SimStorage(initialSnapshot, bootstrapData);
    this.sm = bootstrapData !== undefined ? ctx.factory.restore(bootstrapData) : ctx.factory.create();
    this.appliedConfig = initialSnapshot.config;
    this.checks = new MemberChecks(id, ctx.checker, ctx.stats, ctx.tracer, this.storage);
    this.raft = new RaftNode(this.raftConfig, this.storage, ctx.random.fork());
  }

  get alive(): boolean {
    return this.raft !== undefined;
  }

  /** True from a lost disk until the node has caught up again (it is non-voting meanwhile). */
  get catchingUpAfterLostDisk(): boolean {
    return this.checks.catchingUpAfterLostDisk;
  }

  /** Whether this node's disk holds (index, term): snapshots hold only committed entries. */
  holdsDurably(index: number, term: number): boolean {
    return index <= this.storage.snapshotMeta().index || this.storage.term(index) === term;
  }

  clockMs(): number {
    return this.ctx.now() + this.clockSkewMs;
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.raft === undefined) return;
    this.raft.tick();
    this.afterInput();
  }

  /** The connection to `peerId` closed: its process died (raft/elections.ts leaderConnectionLost). */
  connectionLost(peerId: NodeId): void {
    if (this.raft === undefined) return;
    this.raft.connectionLost(peerId);
    this.afterInput();
  }

  receive(m: Message): void {
    if (this.raft === undefined) return;
    if (!this.checks.admits(m, this.raft.refusalOf(m), this.raft.configuration())) return;
    this.raft.step(m);
    this.afterInput();
  }

  /** The simulator's admin path: membership changes and transfers go through here. */
  admin(action: (raft: RaftNode) => ProposalResult): ProposalResult | undefined {
    if (this.raft === undefined) return undefined;
    const result = action(this.raft);
    this.afterInput();
    return result;
  }

  handleClient(request: ClientRequest): void {
    const raft = this.raft;
    if (raft === undefined) return;
    if (request.op.kind === "read") {
      this.pendingReads.set(request.requestId, request);
      raft.readIndex(request.requestId);
    } else {
      const stampMs = this.nextStamp();
      const factory = this.ctx.factory;
      const op = request.op;
      const data = op.kind === "register" ? factory.encodeRegister(stampMs)
        : op.kind === "probe" ? factory.encodeProbe(stampMs)
          : op.kind === "expiring-put" ? factory.encodeExpiringPut(stampMs, op.session, op.key, op.value, op.ttlMs)
            : factory.encodeWrite(stampMs, op.session, op.input);
      const result = raft.propose(data);
      if (result.ok) this.pendingWrites.set(result.index, { term: result.term, request });
      else this.ctx.reply(request, { ok: false, error: result.error.code, leader: result.error.leader });
    }
    this.afterInput();
  }

  /** The leader stamps entries with its clock, never going backwards (expiry depends on it). */
  private nextStamp(): number {
    this.lastStampMs = Math.max(this.lastStampMs, Math.floor(this.clockMs()));
    return this.lastStampMs;
  }

  private afterInput(): void {
    const raft = this.raft;
    if (raft === undefined) return;
    this.checks.afterInput(raft);
    this.pump();
  }

  // ---------------------------------------------------------------- the ready loop

  private pump(): void {
    const raft = this.raft;
    if (raft === undefined || this.persisting !== undefined || !raft.hasReady()) return;
    const ready = raft.ready();
    for (const m of ready.messages) this.send(m);
    // Planted: acknowledgements that leave before the write they acknowledge is durable.
    for (const m of ready.messagesAfterPersist) if (isEarly(m, this.ctx.plant)) this.send(m);
    const generation = this.generation;
    this.persisting = { ready, generation };
    const writes = ready.hardState !== undefined || ready.entries.length > 0 || ready.snapshot !== undefined || ready.snapshotChunks.length > 0;
    if (!writes) {
      this.completePersist(generation);
      return;
    }
    const onCrash = this.crashArmed;
    if (onCrash !== undefined) {
      this.crash();
      onCrash();
      return;
    }
    this.ctx.after(fsyncDelayMs(this.ctx.random, this.ctx.faults.diskStallRate), () => this.completePersist(generation));
  }

  /** Every message leaves through here, checked against what the disk holds now. */
  private send(m: Message): void {
    this.checks.beforeSend(m);
    this.ctx.send(m);
  }

  private persistJob(ready: Ready): PersistJob {
    for (const chunk of ready.snapshotChunks) {
      if (chunk.refusal !== undefined) this.ctx.stats.snapshotsRefused++;
      if (chunk.offset === 0 || chunk.refusal !== undefined) this.incomingChunks = [];
      if (chunk.refusal === undefined) this.incomingChunks.push(chunk.data);
    }
    const snapshot = ready.snapshot === undefined ? undefined : { meta: ready.snapshot, data: joinBytes(this.incomingChunks) };
    return { hardState: ready.hardState, entries: ready.entries, snapshot };
  }

  private completePersist(generation: number): void {
    const persisting = this.persisting;
    if (persisting === undefined || persisting.generation !== generation || generation !== this.generation) return;
    const { ready } = persisting;
    this.persisting = undefined;
    const job = this.persistJob(ready);
    this.storage.apply(job);
    for (const entry of ready.entries) {
      this.ctx.checker.entryPersisted(this.id, entry, this.storage.term(entry.index - 1));
    }
    for (const m of ready.messagesAfterPersist) if (!isEarly(m, this.ctx.plant)) this.send(m);
    if (job.snapshot !== undefined) this.restoreFromSnapshot(job.snapshot.meta, job.snapshot.data);
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    for (const state of ready.readStates) this.handleReadState(state);
    this.serveReads();
    this.raft?.advance(ready);
    this.maybeCompact();
    this.afterInput();
  }

  private restoreFromSnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    // Writes this node proposed at or below the snapshot will never be applied here one
    // by one: their outcome is unknown to this node (the client retries, exactly once).
    for (const [index, pending] of this.pendingWrites) {
      if (index > meta.index) continue;
      this.pendingWrites.delete(index);
      this.ctx.reply(pending.request, { ok: false, error: "retry", leader: 0 });
    }
    this.checks.snapshotInstalled(meta, data);
    this.sm = this.ctx.factory.restore(data);
    this.appliedConfig = meta.config;
  }

  private applyEntry(entry: Entry): void {
    this.checks.applyOrder(entry, this.sm.appliedIndex());
    let outcome: ReturnType<SimStateMachine["applyEntry"]> | undefined;
    if (entry.type === EntryType.Normal) {
      outcome = this.sm.applyEntry(entry.index, entry.data);
    } else {
      this.sm.applyNoop(entry.index);
      if (entry.type === EntryType.ConfChange) this.appliedConfig = applyConfChange(this.appliedConfig, decodeConfChange(entry.data));
    }
    const rendered = this.checks.applied(entry, outcome);
    const pending = this.pendingWrites.get(entry.index);
    if (this.ctx.tracer.enabled) {
      this.ctx.tracer.local(`apply index=${entry.index} term=${entry.term}${pending === undefined ? "" : ` req=${pending.request.requestId}`} ${rendered}`);
    }
    if (pending === undefined) return;
    this.pendingWrites.delete(entry.index);
    if (pending.term !== entry.term || outcome === undefined) {
      this.ctx.reply(pending.request, { ok: false, error: "retry", leader: 0 });
    } else {
      if (outcome.exactlyOnce !== undefined && outcome.refused === undefined) this.ctx.checker.writeAcknowledged(outcome.exactlyOnce.id, entry.index);
      this.ctx.reply(pending.request, { ok: true, outcome });
    }
  }

  private handleReadState(state: ReadState): void {
    const request = this.pendingReads.get(state.requestId);
    if (request === undefined) return;
    this.pendingReads.delete(state.requestId);
    if ("error" in state) {
      this.ctx.reply(request, { ok: false, error: state.error, leader: state.leader });
      return;
    }
    const status = this.raft?.status();
    if (status?.role === "leader") this.checks.readIndexConfirmed(status.term, state.index);
    this.readsAwaitingApply.push({ index: state.index, request });
  }

  private serveReads(): void {
    const applied = this.sm.appliedIndex();
    const waiting = this.readsAwaitingApply;
    this.readsAwaitingApply = [];
    for (const read of waiting) {
      if (read.index > applied) {
        this.readsAwaitingApply.push(read);
        continue;
      }
      const op = read.request.op;
      if (op.kind !== "read") continue;
      const output = this.sm.read(op.key, Math.max(this.lastStampMs, Math.floor(this.clockMs())));
      this.ctx.reply(read.request, { ok: true, outcome: { rendered: "read", output } });
    }
  }

  private maybeCompact(): void {
    const applied = this.sm.appliedIndex();
    if (applied - this.storage.snapshotMeta().index < COMPACT_EVERY_ENTRIES) return;
    const term = this.storage.term(applied);
    if (term === undefined) return;
    const data = this.sm.snapshot();
    this.storage.compact({ index: applied, term, config: this.appliedConfig, sizeBytes: data.length, checksum: crc32c(data) }, data);
    this.ctx.stats.snapshotsTaken++;
  }

  // ---------------------------------------------------------------- faults

  /** Stops the node; an unfinished write is lost or, torn, partly kept. */
  crash(): void {
    if (this.raft === undefined) return;
    const persisting = this.persisting;
    if (persisting !== undefined) {
      const job = this.persistJob(persisting.ready);
      const torn = this.ctx.random.next() < 0.5 && job.entries.length > 0;
      // A torn write lost its tail, and the hard state is its last record: keep a prefix
      // of the entries (possibly all of them) and the old hard state.
      if (torn && job.snapshot === undefined) this.storage.apply({ ...job, hardState: undefined }, this.ctx.random.int(job.entries.length + 1));
      this.ctx.stats.lossyCrashes++;
    }
    this.ctx.stats.crashes++;
    this.crashArmed = undefined;
    this.raft = undefined;
    this.persisting = undefined;
    this.generation++;
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.readsAwaitingApply = [];
    this.incomingChunks = [];
  }

  /** Starts again from what is durable; `wiped` means the disk was lost too. */
  restart(wiped: boolean): void {
    if (this.raft !== undefined) this.crash();
    const before = this.storage.hardState();
    if (wiped) {
      this.storage.wipe({ index: 0, term: 0, config: { voters: [], learners: [] }, sizeBytes: 0 });
      this.checks.diskLost();
      this.ctx.stats.wipes++;
    }
    const snapshot = this.storage.snapshotMeta();
    this.sm = snapshot.index > 0 ? this.ctx.factory.restore(this.storage.snapshotData()) : this.ctx.factory.create();
    this.appliedConfig = snapshot.config;
    if (wiped && this.ctx.plant !== "wiped-node-votes") {
      // As the server does: the non-voting mark is made durable before the node starts,
      // so a crash right after this restart cannot bring it back as a voter.
      this.storage.apply({ hardState: { ...this.storage.hardState(), nonVoting: true }, entries: [], snapshot: undefined });
    }
    this.raft = new RaftNode(this.raftConfig, this.storage, this.ctx.random.fork());
    this.checks.restarted();
    if (!wiped) {
      const status = this.raft.status();
      this.ctx.checker.checkRestart(this.id, before, { term: status.term, commit: status.commit });
    }
    this.afterInput();
  }

  appliedIndex(): number {
    return this.sm.appliedIndex();
  }

  digest(): string {
    return this.sm.digest();
  }
}

function isEarly(m: Message, plant: PlantName | undefined): boolean {
  if (plant === "ack-before-durable") return m.type === "AppResp";
  if (plant === "vote-before-durable") return m.type === "VoteResp" || m.type === "PreVoteResp";
  return false;
}
