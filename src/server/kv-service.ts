import type { EventsResult, KeyValue, KvResult, ListResult, WriteCommand } from "../kv/index.js";
import type { NodeId } from "../raft/types.js";
import type { RequestScope } from "./request-scope.js";

/**
 * The one request handler every client protocol ends in (binary, HTTP/JSON,
 * memcached). It hides where the data lives: on a follower it forwards to the leader
 * or reports where the leader is, and it makes reads linearizable unless asked not to.
 * Results are data; failures a client can act on are the error classes in errors.ts.
 */
export type ReadConsistency =
  /** Confirmed by the leader's ReadIndex round: sees every write acknowledged before it. */
  | "linearizable"
  /** A follower asks the leader for a read index and serves locally once applied past it. */
  | "follower"
  /** This node's state as applied now: possibly stale, never waits for the leader. */
  | "serializable";

export interface ReadOptions {
  readonly consistency?: ReadConsistency;
  /** Give up after this long (KvTimeoutError). */
  readonly timeoutMs?: number;
  /** The client request served and its caller, sent on when the read is forwarded. */
  readonly scope?: RequestScope;
}

export interface GetOutcome {
  /** The applied index the read reflects. */
  readonly revision: number;
  /** The key, or undefined when it does not exist (or has expired). */
  readonly kv: KeyValue | undefined;
}

export interface WriteOptions {
  readonly timeoutMs?: number;
  /** The client request served and its caller, sent on when the write is forwarded. */
  readonly scope?: RequestScope;
}

export interface WatchOptions {
  /** Start at this revision (inclusive); events before it are not sent. */
  readonly fromRevision: number;
  readonly signal: AbortSignal;
}

export interface ListPageOptions {
  readonly limit: number;
  readonly after?: Uint8Array;
  readonly revision?: number;
}

export interface KvService {
  get(key: Uint8Array, options?: ReadOptions): Promise<GetOutcome>;
  /** Many keys read at one revision (memcached `get a b c`). */
  getMany(keys: readonly Uint8Array[], options?: ReadOptions): Promise<{ revision: number; kvs: (KeyValue | undefined)[] }>;
  /** One page; later pages pass the first page's revision and the previous page's nextAfter. */
  list(prefix: Uint8Array, options: ListPageOptions & ReadOptions): Promise<ListResult>;
  /**
   * Applies a write through the log and answers with its result (a KvResult failure
   * such as version-mismatch is a normal answer, not an exception). A write without a
   * session is applied once per call; protocols whose clients retry pass a session.
   */
  write(command: WriteCommand, options?: WriteOptions): Promise<KvResult>;
  /**
   * Starts an exactly-once session (Raft thesis §6.3) through the log; its id goes with
   * every later write as { sessionId, seq, lowestUnackedSeq }. Through the leader: a
   * follower forwards it like a write, or answers NotLeaderError without a forwarder.
   */
  registerSession(options?: WriteOptions): Promise<number>;
  /** Events under a prefix from a revision; resolves when there are some, or on abort. */
  watch(prefix: Uint8Array, options: WatchOptions): Promise<EventsResult>;
  /** The server's clock in ms (for memcached's absolute exptime). */
  nowMs(): number;
}

/** Where the leader is, for errors that tell a client to go elsewhere. */
export interface LeaderHint {
  readonly leaderId: NodeId;
  readonly clientAddress?: string;
  readonly httpAddress?: string;
}
