/**
 * The commands the leader proposes through the Raft log. Keys and values are bytes.
 * A command is wrapped in an envelope with the leader's clock at proposal; replicas
 * judge expiry by these stamps only, never by their own clocks, so that every replica
 * expires the same keys at the same log position.
 */

/**
 * Names a client's write for exactly-once execution (Raft thesis §6.3). `seq` numbers
 * the client's writes; `lowestUnackedSeq` is the lowest seq the client has not yet seen
 * a reply for, so replies below it may be forgotten.
 */
export interface SessionRef {
  readonly sessionId: number;
  readonly seq: number;
  readonly lowestUnackedSeq: number;
}

interface WriteBase {
  /** Present for exactly-once writes; absent writes are applied every time. */
  readonly session?: SessionRef;
}

/** Starts a session; its id is the log index of this entry. */
export interface RegisterSessionCommand {
  readonly type: "register-session";
}

/** Ends a session early so that its slot and cached replies are freed. */
export interface CloseSessionCommand {
  readonly type: "close-session";
  readonly sessionId: number;
}

/** Carries only a stamp: lets an idle leader drive key and session expiry forward. */
export interface TickCommand {
  readonly type: "tick";
}

/** Stores a value. `expectVersion` makes it a compare-and-swap; 0 means "must not exist". */
export interface PutCommand extends WriteBase {
  readonly type: "put";
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** memcached client flags (uint32), stored with the key; 0 when absent. */
  readonly flags?: number;
  readonly expectVersion?: number;
  /** Time to live from this entry's stamp; absent means the key never expires. */
  readonly ttlMs?: number;
}

export interface DeleteCommand extends WriteBase {
  readonly type: "delete";
  readonly key: Uint8Array;
  readonly expectVersion?: number;
}

/** memcached `add` (store only if absent) and `replace` (only if present). */
export interface AddReplaceCommand extends WriteBase {
  readonly type: "add" | "replace";
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly flags?: number;
  readonly ttlMs?: number;
}

/** memcached `append`/`prepend`: only if present; flags and expiry are kept. */
export interface AppendPrependCommand extends WriteBase {
  readonly type: "append" | "prepend";
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * memcached `incr`/`decr` on a value holding a decimal uint64. `delta` is a uint64:
 * incr wraps at 2^64, decr stops at 0.
 */
export interface CounterCommand extends WriteBase {
  readonly type: "incr" | "decr";
  readonly key: Uint8Array;
  readonly delta: bigint;
}

/** Sets a present key's expiry from this entry's stamp; absent `ttlMs` removes it. */
export interface TouchCommand extends WriteBase {
  readonly type: "touch";
  readonly key: Uint8Array;
  readonly ttlMs?: number;
}

/**
 * Removes every key (memcached `flush_all`); sessions are kept. With `ttlMs`, the keys
 * that exist at this entry's stamp + ttlMs are removed then, judged by the stamps in
 * the log like expiry (a later flush-all replaces a pending one).
 */
export interface FlushAllCommand extends WriteBase {
  readonly type: "flush-all";
  readonly ttlMs?: number;
}

export type KeyWriteCommand =
  | PutCommand
  | DeleteCommand
  | AddReplaceCommand
  | AppendPrependCommand
  | CounterCommand
  | TouchCommand;

/** Commands that may carry a session ref. */
export type WriteCommand = KeyWriteCommand | FlushAllCommand;

export type KvCommand = RegisterSessionCommand | CloseSessionCommand | TickCommand | WriteCommand;

export type KvCommandType = KvCommand["type"];

/** What the leader proposes: the command and the leader's clock when it proposed it. */
export interface CommandEnvelope {
  /** Milliseconds since the Unix epoch on the leader; a replica clamps it to be monotonic. */
  readonly stampMs: number;
  readonly command: KvCommand;
}

/**
 * Latest stamp accepted (2^52 ms, far beyond any real clock): a stamp plus the
 * largest ttlMsMax stays below 2^53, so every expiry is an exact integer.
 */
export const STAMP_MS_MAX = 2 ** 52;

/** Largest uint64, the range of memcached counters and of `delta`. */
export const UINT64_MAX = (1n << 64n) - 1n;
/** Largest uint32, the range of memcached client flags. */
export const UINT32_MAX = 0xffff_ffff;

export function isWriteCommand(command: KvCommand): command is WriteCommand {
  return command.type !== "register-session" && command.type !== "close-session" && command.type !== "tick";
}
