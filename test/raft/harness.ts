import { crc32c } from "@node-rs/crc32";
/**
 * An in-process cluster of RaftNode over SimStorage with a manual network, for the
 * Raft core's specification tests.
 *
 * The driver is the one the Ready contract asks for (src/raft/ready.ts): send
 * `messages`, make the Ready durable through `SimStorage.apply`, send
 * `messagesAfterPersist`, apply, `advance`. Writes complete at once, so a crash loses
 * nothing that a Ready already handed out. Messages wait in one queue until a test
 * delivers, drops or duplicates them; `stabilize()` delivers everything that is not
 * held until the cluster is quiet. Nothing ticks unless a test ticks it.
 *
 * The harness checks three things on every step, whatever the test: the persisted
 * commit never exceeds the log it is persisted with, each term has at most one leader,
 * and no two nodes apply different entries at the same index.
 *
 * Why not the production loop (server/replica.ts), as the simulator runs: these tests
 * step the core message by message and read its Ready, which the Replica's ready loop
 * consumes by itself; the Replica's own tests are test/server/ and test/sim/.
 */
import { defaultRaftConfig } from "../../src/raft/config.js";
import type { RaftConfig } from "../../src/raft/config.js";
import type { Message } from "../../src/raft/messages.js";
import { RaftNode } from "../../src/raft/raft.js";
import type { RaftNodeOptions } from "../../src/raft/raft.js";
import { SeededRandom } from "../../src/raft/random.js";
import type { ProgressStatus, ProposalResult, RaftStatus, ReadState, Ready } from "../../src/raft/ready.js";
import type { Entry, HardState, NodeId, SnapshotMeta } from "../../src/raft/types.js";
import { EntryType, NONE } from "../../src/raft/types.js";
import { SimStorage } from "../../src/sim/core/sim-storage.js";

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const fromUtf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** How every initial member of a cluster starts, as the simulator bootstraps it. */
export function bootstrapMeta(voters: readonly NodeId[]): SnapshotMeta {
  return { index: 1, term: 1, config: { voters: [...voters], learners: [] }, sizeBytes: 0 };
}

/** How a member that joins later starts: nothing at all. */
export const EMPTY_META: SnapshotMeta = { index: 0, term: 0, config: { voters: [], learners: [] }, sizeBytes: 0 };

/** The defaults, except for the fields a test overrides. */
export function testConfig(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return { ...defaultRaftConfig(id), ...overrides, id };
}

/**
 * A bootstrapped storage whose log after the bootstrap snapshot (index 1, term 1)
 * holds one entry per element of `terms`, at indexes 2, 3, ...
 */
export function storageWithLog(voters: readonly NodeId[], terms: readonly number[], hardState: Partial<HardState> = {}): SimStorage {
  const storage = new SimStorage(bootstrapMeta(voters));
  const entries: Entry[] = terms.map((term, i) => ({ term, index: i + 2, type: EntryType.Normal, data: utf8(`e${i + 2}t${term}`) }));
  const term = Math.max(1, ...terms);
  storage.apply({
    hardState: { term, vote: NONE, commit: 1, nonVoting: false, ...hardState },
    entries,
    snapshot: undefined,
  });
  return storage;
}

/** Makes one Ready durable in `storage`, with the snapshot bytes its chunks carried. */
export function persist(storage: SimStorage, ready: Ready, incoming: Uint8Array[] = []): void {
  const last = ready.entries[ready.entries.length - 1];
  const lastAfter = last !== undefined ? last.index : ready.snapshot !== undefined ? ready.snapshot.index : storage.lastIndex();
  if (ready.hardState !== undefined && ready.hardState.commit > lastAfter) {
    throw new Error(`durability: a hard state with commit ${ready.hardState.commit} is persisted with a log ending at ${lastAfter}`);
  }
  for (const chunk of ready.snapshotChunks) {
    if (chunk.offset === 0 || chunk.refusal !== undefined) incoming.length = 0;
    if (chunk.refusal === undefined) incoming.push(chunk.data);
  }
  let snapshot: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  if (ready.snapshot !== undefined) {
    const data = concat(incoming);
    incoming.length = 0;
    if (data.length !== ready.snapshot.sizeBytes) {
      throw new Error(`snapshot: installing ${data.length} bytes of a snapshot of ${ready.snapshot.sizeBytes}`);
    }
    snapshot = { meta: ready.snapshot, data };
  }
  storage.apply({ hardState: ready.hardState, entries: ready.entries, snapshot });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * One node driven by hand: step messages into it, then `flush()` takes its Ready,
 * persists it and advances, returning what it said.
 */
export class Solo {
  readonly raft: RaftNode;
  private readonly incoming: Uint8Array[] = [];

  constructor(readonly storage: SimStorage, config: RaftConfig, options: RaftNodeOptions = {}, seed = 1) {
    this.raft = new RaftNode(config, storage, new SeededRandom(seed), options);
  }

  /** Takes the Ready, persists it and advances; returns the Ready. */
  flush(): Ready {
    const ready = this.raft.ready();
    persist(this.storage, ready, this.incoming);
    this.raft.advance(ready);
    return ready;
  }

  /** Steps `m` and returns every message the node sends in answer (after its write). */
  answer(m: Message): Message[] {
    this.raft.step(m);
    const ready = this.flush();
    return [...ready.messages, ...ready.messagesAfterPersist];
  }
}

export interface ClusterOptions {
  readonly seed?: number;
  /** Overrides for every node's config. */
  readonly config?: Partial<RaftConfig>;
  /** Overrides for one node's config (applied after `config`). */
  readonly nodeConfig?: Readonly<Record<NodeId, Partial<RaftConfig>>>;
  /** A node's log after the bootstrap snapshot, as the term of each entry from index 2. */
  readonly logs?: Readonly<Record<NodeId, readonly number[]>>;
  /** A node's persisted current term (defaults to the highest term in its log). */
  readonly terms?: Readonly<Record<NodeId, number>>;
}

export class Member {
  raft: RaftNode | undefined;
  /** The index the application has applied (a snapshot install moves it). */
  appliedIndex: number;
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly incoming: Uint8Array[] = [];
  restarts = 0;

  constructor(readonly id: NodeId, readonly storage: SimStorage, public config: RaftConfig) {
    this.appliedIndex = storage.snapshotMeta().index;
  }
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  /** Messages sent and not yet delivered or dropped, oldest first. */
  queue: Message[] = [];
  /** Every message any node sent, including the ones the network dropped. */
  readonly sent: Message[] = [];
  /** Drop a message at send and at delivery time. */
  drop: (m: Message) => boolean = () => false;
  /** Keep a message queued: `stabilize()` does not deliver it. */
  hold: (m: Message) => boolean = () => false;
  private readonly isolated = new Set<NodeId>();
  /** Term -> the node that led it (election safety, Raft §5.2). */
  readonly leaders = new Map<number, NodeId>();
  /** Index -> the first entry any node applied there (state machine safety, §5.4.3). */
  readonly committed = new Map<number, Entry>();
  private readonly seed: number;

  constructor(voters: readonly NodeId[], private readonly options: ClusterOptions = {}) {
    this.seed = options.seed ?? 1;
    for (const id of voters) {
      const log = options.logs?.[id];
      const term = options.terms?.[id];
      const storage = log !== undefined || term !== undefined
        ? storageWithLog(voters, log ?? [], term !== undefined ? { term } : {})
        : new SimStorage(bootstrapMeta(voters));
      this.addMember(id, storage);
    }
  }

  /** A member that is not in any configuration yet, starting with an empty disk. */
  addJoiner(id: NodeId, options: RaftNodeOptions = {}): Member {
    return this.addMember(id, new SimStorage(EMPTY_META), options);
  }

  private addMember(id: NodeId, storage: SimStorage, options: RaftNodeOptions = {}): Member {
    const config = testConfig(id, { ...this.options.config, ...this.options.nodeConfig?.[id] });
    const member = new Member(id, storage, config);
    member.raft = new RaftNode(config, storage, new SeededRandom(this.seedFor(member)), options);
    this.members.set(id, member);
    return member;
  }

  private seedFor(member: Member): number {
    return this.seed * 1_000_003 + member.id * 101 + member.restarts;
  }

  // ---------------------------------------------------------------- observers

  member(id: NodeId): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`cluster: no member ${id}`);
    return member;
  }

  node(id: NodeId): RaftNode {
    const raft = this.member(id).raft;
    if (raft === undefined) throw new Error(`cluster: node ${id} is down`);
    return raft;
  }

  status(id: NodeId): RaftStatus {
    return this.node(id).status();
  }

  progress(leader: NodeId, of: NodeId): ProgressStatus {
    const pr = this.status(leader).progress.find((p) => p.id === of);
    if (pr === undefined) throw new Error(`cluster: leader ${leader} has no progress for ${of}`);
    return pr;
  }

  live(): Member[] {
    return [...this.members.values()].filter((m) => m.raft !== undefined);
  }

  /** The live leader of the highest term, if any. */
  leader(): NodeId | undefined {
    let best: RaftStatus | undefined;
    for (const member of this.live()) {
      const status = (member.raft as RaftNode).status();
      if (status.role === "leader" && (best === undefined || status.term > best.term)) best = status;
    }
    return best?.id;
  }

  /** The terms of a node's log, from its first index to its last (snapshot index at 0). */
  logTerms(id: NodeId, from = 1): (number | undefined)[] {
    const raft = this.node(id);
    const terms: (number | undefined)[] = [];
    for (let index = from; index <= raft.status().lastIndex; index++) terms.push(raft.logTerm(index));
    return terms;
  }

  /** Messages sent so far that match `pred`. */
  sentWhere<T extends Message>(pred: (m: Message) => m is T): T[];
  sentWhere(pred: (m: Message) => boolean): Message[];
  sentWhere(pred: (m: Message) => boolean): Message[] {
    return this.sent.filter(pred);
  }

  // ---------------------------------------------------------------- the network

  isolate(...ids: NodeId[]): void {
    for (const id of ids) this.isolated.add(id);
  }

  heal(): void {
    this.isolated.clear();
  }

  private blocked(m: Message): boolean {
    return this.isolated.has(m.from) || this.isolated.has(m.to) || this.drop(m);
  }

  private send(m: Message): void {
    this.sent.push(m);
    if (!this.blocked(m)) this.queue.push(m);
  }

  /** Delivers one message now (whether or not it is still queued). */
  deliver(m: Message): void {
    const member = this.members.get(m.to);
    if (member?.raft === undefined || this.blocked(m)) return;
    member.raft.step(m);
    this.observe(member);
  }

  /** Removes the queued messages matching `pred` and returns them, in order. */
  take(pred: (m: Message) => boolean = () => true): Message[] {
    const taken = this.queue.filter(pred);
    this.queue = this.queue.filter((m) => !pred(m));
    return taken;
  }

  /** Delivers the queued messages matching `pred` (not the ones they cause). */
  deliverWhere(pred: (m: Message) => boolean = () => true): number {
    const taken = this.take(pred);
    for (const m of taken) this.deliver(m);
    return taken.length;
  }

  // ---------------------------------------------------------------- driving

  /** Processes one Ready of `id` if it has one; returns whether it had. */
  processReady(id: NodeId, sendMessages = true): boolean {
    const member = this.member(id);
    const raft = member.raft;
    if (raft === undefined || !raft.hasReady()) return false;
    const ready = raft.ready();
    if (sendMessages) for (const m of ready.messages) this.send(m);
    persist(member.storage, ready, member.incoming);
    if (sendMessages) for (const m of ready.messagesAfterPersist) this.send(m);
    this.apply(member, ready);
    raft.advance(ready);
    this.observe(member);
    return true;
  }

  /** Processes every node's Readies until none has one; delivers nothing. */
  flush(): boolean {
    let any = false;
    for (let busy = true; busy;) {
      busy = false;
      for (const member of this.live()) {
        while (this.processReady(member.id)) busy = any = true;
      }
    }
    return any;
  }

  /** Processes Readies and delivers every message not held until nothing moves. */
  stabilize(roundsMax = 10_000): void {
    for (let round = 0; round < roundsMax; round++) {
      const busy = this.flush();
      const deliverable = this.queue.filter((m) => !this.hold(m));
      if (deliverable.length === 0 && !busy) return;
      this.queue = this.queue.filter((m) => this.hold(m));
      for (const m of deliverable) this.deliver(m);
    }
    throw new Error(`stabilize: the cluster still had work after ${roundsMax} rounds`);
  }

  tick(id: NodeId, times = 1): void {
    const member = this.member(id);
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.observe(member);
    }
  }

  /** Ticks every live node once, then stabilizes; `times` rounds. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const member of this.live()) this.tick(member.id);
      this.stabilize();
    }
  }

  /**
   * Elects `id` the way the cluster would: the other followers first forget any leader
   * they follow (their lease runs out, see `expireLease`), then `id` is ticked until its
   * election timeout fires, as often as it takes to win.
   */
  elect(id: NodeId): void {
    for (const member of this.live()) {
      if (member.id === id) continue;
      const status = (member.raft as RaftNode).status();
      if (status.role !== "leader" && status.leader !== NONE) this.expireLease(member.id);
    }
    const ticksMax = 20 * this.member(id).config.electionTicks;
    for (let i = 0; i < ticksMax; i++) {
      if (this.status(id).role === "leader") return;
      this.tick(id);
      this.stabilize();
    }
    throw new Error(`elect: node ${id} did not win an election in ${ticksMax} ticks (${JSON.stringify(this.status(id))})`);
  }

  /**
   * Ticks a follower through one election timeout without a word from its leader, so
   * that it no longer ignores candidates. It may start a pre-vote meanwhile: what it
   * sends then is discarded (a pre-vote changes no state anywhere).
   */
  expireLease(id: NodeId): void {
    const ticks = this.member(id).config.electionTicks;
    for (let i = 0; i < ticks && this.status(id).role === "follower"; i++) this.tick(id);
    while (this.processReady(id, false));
  }

  crash(id: NodeId): void {
    const member = this.member(id);
    member.raft = undefined;
    member.incoming.length = 0;
  }

  /** Starts a node again from what its disk holds (nothing, when `wipe`). */
  restart(id: NodeId, options: RaftNodeOptions & { readonly wipe?: boolean } = {}): RaftNode {
    const member = this.member(id);
    this.crash(id);
    if (options.wipe === true) member.storage.wipe(EMPTY_META);
    member.restarts++;
    member.appliedIndex = member.storage.snapshotMeta().index;
    member.raft = new RaftNode(member.config, member.storage, new SeededRandom(this.seedFor(member)), options);
    this.observe(member);
    return member.raft;
  }

  propose(id: NodeId, text: string): ProposalResult {
    return this.node(id).propose(utf8(text));
  }

  /** Proposes and expects success; returns the entry's index. */
  mustPropose(id: NodeId, text: string): number {
    const result = this.propose(id, text);
    if (!result.ok) throw new Error(`propose at ${id}: ${result.error.code}: ${result.error.message}`);
    return result.index;
  }

  /**
   * Compacts a node's storage at an applied index, as its application does after
   * taking a snapshot of `sizeBytes` bytes (a recognisable pattern).
   */
  compact(id: NodeId, index: number, sizeBytes: number): Uint8Array {
    const member = this.member(id);
    if (index > member.appliedIndex) throw new Error(`compact: node ${id} applied only ${member.appliedIndex}, not ${index}`);
    const term = member.storage.term(index);
    if (term === undefined) throw new Error(`compact: node ${id} has no entry at ${index}`);
    const data = new Uint8Array(sizeBytes).map((_, i) => (i * 7 + index) & 0xff);
    member.storage.compact({ index, term, config: this.node(id).configuration(), sizeBytes, checksum: crc32c(data) }, data);
    return data;
  }

  // ---------------------------------------------------------------- checks

  private apply(member: Member, ready: Ready): void {
    if (ready.snapshot !== undefined) member.appliedIndex = ready.snapshot.index;
    for (const entry of ready.committedEntries) {
      if (entry.index !== member.appliedIndex + 1) {
        throw new Error(`apply order: node ${member.id} applies index ${entry.index} after ${member.appliedIndex}`);
      }
      member.appliedIndex = entry.index;
      member.applied.push(entry);
      const first = this.committed.get(entry.index);
      if (first === undefined) {
        this.committed.set(entry.index, entry);
      } else if (first.term !== entry.term || first.type !== entry.type || fromUtf8(first.data) !== fromUtf8(entry.data)) {
        throw new Error(`state machine safety: node ${member.id} applies ${describe(entry)} where another applied ${describe(first)}`);
      }
    }
    for (const state of ready.readStates) member.readStates.push(state);
  }

  private observe(member: Member): void {
    const raft = member.raft;
    if (raft === undefined) return;
    const status = raft.status();
    if (status.role !== "leader") return;
    const known = this.leaders.get(status.term);
    if (known === undefined) this.leaders.set(status.term, status.id);
    else if (known !== status.id) throw new Error(`election safety: nodes ${known} and ${status.id} both lead term ${status.term}`);
  }
}

function describe(entry: Entry): string {
  return `(index ${entry.index}, term ${entry.term}, type ${entry.type}, "${fromUtf8(entry.data)}")`;
}

// ---------------------------------------------------------------- message predicates

/** A message of a type; the guard narrows VoteRequest (type "PreVote" | "Vote") too. */
export const isType = <T extends Message["type"]>(type: T) =>
  (m: Message): m is Message & { readonly type: T } => m.type === type;

export const to = (id: NodeId) => (m: Message): boolean => m.to === id;

/**
 * Leader 1 commits 20 entries while node 3 is cut off, then compacts its log at its
 * commit index with a snapshot of `snapshotBytes` bytes, and node 3 comes back: it can
 * catch up only by that snapshot, sent in chunks of `chunkBytes`.
 */
export function laggingFollower(snapshotBytes: number, chunkBytes: number): { cluster: Cluster; data: Uint8Array; index: number } {
  const cluster = new Cluster([1, 2, 3], { config: { snapshotChunkBytesMax: chunkBytes } });
  cluster.elect(1);
  cluster.isolate(3);
  for (let i = 0; i < 20; i++) cluster.mustPropose(1, `v${i}`);
  cluster.stabilize();
  const index = cluster.status(1).commit;
  const data = cluster.compact(1, index, snapshotBytes);
  cluster.heal();
  return { cluster, data, index };
}
