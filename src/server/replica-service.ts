import { invariant } from "../assert/invariant.js";
import { ListingExpiredError, type EventsResult, type KvResult, type ListResult, type WriteCommand } from "../kv/index.js";
import { CompactedError, NoSpaceError, NotLeaderError, UnavailableError } from "./errors.js";
import type { GetOutcome, KvService, LeaderHint, ListPageOptions, ReadOptions, WatchOptions, WriteOptions } from "./kv-service.js";
import type { Replica } from "./replica.js";
import { testPlantActive } from "./test-plant.js";
import { ApplyWakeup } from "./apply-wakeup.js";
import { NO_SCOPE } from "./request-scope.js";
import { NO_TRACE, type Tracer } from "../trace/index.js";
import type { LeaderForwarder } from "./forwarding.js";

export interface ReplicaServiceOptions {
  /** Writes that would grow the data past this are refused (NOSPACE); 0 = no quota. */
  readonly quotaBytes: number;
  /** Forwards requests to the leader; without one, a follower answers NotLeaderError. */
  readonly forwarder?: LeaderForwarder;
  /** Where a member's client and HTTP endpoints are, for NotLeader hints. */
  readonly leaderHint: (leaderId: number) => LeaderHint;
  /** This member's tracer (--trace-log), the same one its Raft messages use; NO_TRACE when not given. */
  readonly tracer?: Tracer;
}

/**
 * KvService over a local Replica. Linearizable reads: on the leader, a ReadIndex round
 * then a local read; on a follower, forwarded to the leader (or NotLeader without a
 * forwarder). "follower" reads do the ReadIndex round trip and read locally;
 * "serializable" reads read locally at once.
 */
export class ReplicaService implements KvService {
  private quotaAlarm = false;
  /** Aborted by close(): every watch ends at once, so closing the listeners never waits on a stream. */
  private readonly closing = new AbortController();
  /** Settles at close(); one promise for all watches, so a long watch adds no listener per round. */
  private readonly closed = new Promise<void>((resolve) => this.closing.signal.addEventListener("abort", () => resolve(), { once: true }));

  /**
   * This member's tracer, for the client ports and forwarding (HTTP, binary, memcached)
   * to record their requests' sends and receives on the same clock as Raft's messages.
   */
  readonly tracer: Tracer;
  /** Idle watches wait here for the next applied entry (one waiter on the Replica for all of them). */
  private readonly wakeup: ApplyWakeup;

  constructor(private readonly replica: Replica, private readonly options: ReplicaServiceOptions) {
    this.tracer = options.tracer ?? NO_TRACE;
    this.wakeup = new ApplyWakeup((index) => replica.waitApplied(index), () => replica.state().appliedIndex);
  }

  nowMs(): number {
    return this.replica.readStampMs();
  }

  /** True while writes are refused because the data reached its quota. */
  quotaExceeded(): boolean {
    return this.quotaAlarm;
  }

  async get(key: Uint8Array, options?: ReadOptions): Promise<GetOutcome> {
    const { revision, kvs } = await this.getMany([key], options);
    return { revision, kv: kvs[0] };
  }

  getMany(keys: readonly Uint8Array[], options: ReadOptions = {}): Promise<{ revision: number; kvs: GetOutcome["kv"][] }> {
    return this.read(options, (forwarder) => forwarder.getMany(keys, options.timeoutMs, options.scope ?? NO_SCOPE), () => this.readHere(keys));
  }

  /** Reads `keys` from the state machine as applied now (the caller made the read linearizable first, if asked to). */
  private readHere(keys: readonly Uint8Array[]): { revision: number; kvs: GetOutcome["kv"][] } {
    const kv = this.replica.state();
    const stamp = this.replica.readStampMs();
    const kvs = keys.map((key) => {
      const result = kv.get(key, stamp);
      return result.ok ? result.kv : undefined;
    });
    return { revision: kv.appliedIndex, kvs };
  }

  list(prefix: Uint8Array, options: ListPageOptions & ReadOptions): Promise<ListResult> {
    const page = { limit: options.limit, after: options.after, revision: options.revision };
    return this.read(options, (forwarder) => forwarder.list(prefix, page, options.timeoutMs, options.scope ?? NO_SCOPE), () => this.listHere(prefix, page));
  }

  /** Lists `prefix` from the state machine as applied now (the caller made the read linearizable first, if asked to). */
  private listHere(prefix: Uint8Array, page: ListPageOptions): ListResult {
    try {
      return this.replica.state().list(prefix, { ...page, readStampMs: this.replica.readStampMs() });
    } catch (error) {
      if (error instanceof ListingExpiredError) throw new CompactedError(error.appliedIndex, error.message);
      throw error;
    }
  }

  /** Not `async`: the answer is the proposal's (or the forward's) own promise, no hop behind it on every write. */
  write(command: WriteCommand, options: WriteOptions = {}): Promise<KvResult> {
    try {
      if (!this.isLeader()) {
        // A member whose disk is full and that knows no leader says why, rather than "no leader".
        if (this.replica.leaderId() === 0) this.replica.diskFull.refuseWrites();
        return this.leaderForwarder().write(command, options.timeoutMs, options.scope ?? NO_SCOPE);
      }
      this.checkQuota(command);
      // The request id rides to the trace's apply event, so a write can be followed to its entry.
      return this.replica.propose(command, this.tracer.enabled ? options.scope?.request?.requestId : undefined);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  async registerSession(options: WriteOptions = {}): Promise<number> {
    // Forwarded like a write, so a client that reaches only followers still gets exactly-once writes.
    if (!this.isLeader()) return this.leaderForwarder().registerSession(options.timeoutMs, options.scope ?? NO_SCOPE);
    const result = await this.replica.propose({ type: "register-session" });
    invariant(result.ok && result.kind === "session-registered", () => `registering a session answered ${JSON.stringify(result)}`);
    return result.sessionId;
  }

  /**
   * Ends every watch, now and later, with UnavailableError: a member shutting down
   * stops applying entries, so a watch would otherwise wait forever and hold its
   * connection (and the process) open. Clients resume from their last revision on
   * another member.
   */
  close(): void {
    this.closing.abort();
    this.options.forwarder?.close();
  }

  async watch(prefix: Uint8Array, options: WatchOptions): Promise<EventsResult> {
    const closed = (): UnavailableError => new UnavailableError(`this member is shutting down: watch again from revision ${options.fromRevision} on another member`);
    for (;;) {
      if (this.closing.signal.aborted) throw closed();
      const result = this.replica.state().eventsSince(options.fromRevision, prefix);
      if (!result.ok) throw new CompactedError(result.compactRevision, `events before revision ${result.compactRevision} were compacted away: list the prefix again and watch from its revision + 1`);
      if (result.events.length > 0 || options.signal.aborted) return result;
      await Promise.race([this.wakeup.afterNextApply(options.signal), this.closed]);
    }
  }

  /**
   * A read as `options` ask: forwarded to the leader when it must be (`forward`), or served
   * here (`here`) once its ReadIndex round says the state is recent enough. Not `async`: a
   * read served here settles in the turn its round does, with no hop behind it.
   */
  private read<T>(options: ReadOptions, forward: (forwarder: LeaderForwarder) => Promise<T>, here: () => T): Promise<T> {
    try {
      const consistency = options.consistency ?? "linearizable";
      if (consistency === "serializable") return Promise.resolve(here());
      if (testPlantActive("stale-follower-reads") && !this.isLeader()) return Promise.resolve(here()); // test-only: see test-plant.ts
      if (consistency === "linearizable" && !this.isLeader()) return forward(this.leaderForwarder());
      const replica = this.replica;
      return replica.readIndex().then((index) => (replica.state().appliedIndex >= index ? here() : replica.waitApplied(index).then(here)));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  private leaderForwarder(): LeaderForwarder {
    const forwarder = this.options.forwarder;
    if (forwarder === undefined) throw this.notLeader();
    return forwarder;
  }

  private isLeader(): boolean {
    return this.replica.isLeader();
  }

  private notLeader(): NotLeaderError {
    const leader = this.replica.leaderId();
    return new NotLeaderError(leader === 0 ? undefined : this.options.leaderHint(leader));
  }

  private checkQuota(command: WriteCommand): void {
    const quota = this.options.quotaBytes;
    if (quota <= 0) return;
    const kv = this.replica.state();
    this.quotaAlarm = kv.sizeBytes() >= quota;
    if (kv.wouldExceedQuota(command, quota)) {
      this.quotaAlarm = true;
      throw new NoSpaceError(`the data size quota (${quota} bytes) is reached: delete keys to free space (deletes still work)`);
    }
  }
}

