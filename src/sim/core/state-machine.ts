import type { KvInput, KvOutput } from "../../lincheck/history.js";

/**
 * What the simulator needs from the state machine it replicates. The implementation
 * (`kv-adapter.ts`) runs the real `src/kv/`; this seam only translates between the
 * simulator's string keys and values and the KV module's bytes and results.
 */
export interface SessionStamp {
  readonly sessionId: number;
  readonly seq: number;
  readonly lowestUnackedSeq: number;
}

export type WriteInput = Exclude<KvInput, { op: "get" }>;

/** What applying one committed entry returned, for the client and for the checks. */
export interface ApplyOutcome {
  /** A stable rendering of the result: every replica must render the same. */
  readonly rendered: string;
  /** The session id, when the entry registered one. */
  readonly sessionId?: number;
  /** The write's output, when the entry was a client write. */
  readonly output?: KvOutput;
  /** The write was refused (e.g. its session expired): it had no effect. */
  readonly refused?: string;
  /**
   * For a write with a session: its (session, seq) identity, and whether this entry
   * executed it (false when the state machine answered a retry from its cache).
   */
  readonly exactlyOnce?: { readonly id: string; readonly executed: boolean };
}

export interface SimStateMachine {
  appliedIndex(): number;
  applyEntry(index: number, data: Uint8Array): ApplyOutcome;
  applyNoop(index: number): void;
  read(key: string, readStampMs: number): KvOutput;
  snapshot(): Uint8Array;
  digest(): string;
}

export interface SimStateMachineFactory {
  create(): SimStateMachine;
  restore(snapshot: Uint8Array): SimStateMachine;
  /** The state at the bootstrap snapshot (index 1: nothing applied but the bootstrap). */
  bootstrapSnapshot(): Uint8Array;
  encodeRegister(stampMs: number): Uint8Array;
  encodeWrite(stampMs: number, session: SessionStamp, input: WriteInput): Uint8Array;
  encodeExpiringPut(stampMs: number, session: SessionStamp, key: string, value: string, ttlMs: number): Uint8Array;
  /** A write with no effect on keys, used to show the cluster can still commit. */
  encodeProbe(stampMs: number): Uint8Array;
}
