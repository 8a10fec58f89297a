import type { KvInput, KvOutput } from "../../lincheck/history.js";

/**
 * The simulator's vocabulary for client writes and their outcomes: string keys and values,
 * translated to and from the KV module's bytes and results in `kv-adapter.ts`.
 */
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
