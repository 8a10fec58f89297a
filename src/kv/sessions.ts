import type { SessionRef } from "./commands.js";
import { failure, type KvResult } from "./results.js";

/**
 * Client sessions for exactly-once writes (Raft thesis §6.3). A session remembers the
 * reply of each write the client has not acknowledged, so that a retried write
 * returns its first result instead of being applied twice.
 */
export interface Session {
  /** The log index of the register-session entry. */
  readonly id: number;
  /** Stamp of the last entry that used the session. */
  lastUsedMs: number;
  /**
   * The highest lowestUnackedSeq the client has sent: writes below it were
   * acknowledged, their replies dropped, and a retry of one of them is refused.
   */
  ackedBelowSeq: number;
  /** Replies by seq, in the order they were made; snapshots sort them by seq. */
  readonly replies: Map<number, KvResult>;
}

export interface SessionLimits {
  readonly sessionsMax: number;
  readonly sessionTimeoutMs: number;
  readonly sessionRepliesMax: number;
}

/** What to do with a session write: apply it, or answer without applying. */
export type SessionGate =
  | { readonly apply: true; readonly session: Session }
  | { readonly apply: false; readonly result: KvResult };

export class SessionTable {
  /**
   * Map iteration follows insertion order, and a used session is re-inserted, so the
   * first entry is always the longest idle one: expiry and eviction look only there.
   * Every replica uses sessions in log order, so the order is the same everywhere.
   */
  private readonly sessions = new Map<number, Session>();

  constructor(private readonly limits: SessionLimits) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Sessions from the longest idle to the most recently used. */
  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Adds a session, evicting the longest idle one when the table is full. */
  register(id: number, stampMs: number): void {
    while (this.sessions.size >= this.limits.sessionsMax) this.removeLongestIdle();
    this.sessions.set(id, { id, lastUsedMs: stampMs, ackedBelowSeq: 0, replies: new Map() });
  }

  /** Adds a session exactly as read from a snapshot (already in idle order). */
  restore(session: Session): void {
    this.sessions.set(session.id, session);
  }

  close(id: number): boolean {
    return this.sessions.delete(id);
  }

  /** When the longest idle session expires (a stamp at or past it removes it); undefined: no sessions. */
  nextExpiryMs(): number | undefined {
    for (const session of this.sessions.values()) return session.lastUsedMs + this.limits.sessionTimeoutMs;
    return undefined;
  }

  /** Removes sessions not used for sessionTimeoutMs by `stampMs`. */
  expire(stampMs: number): void {
    for (const session of this.sessions.values()) {
      if (session.lastUsedMs + this.limits.sessionTimeoutMs > stampMs) return;
      this.sessions.delete(session.id);
    }
  }

  /**
   * Decides whether a write with `ref` is applied. Drops the replies the client has
   * acknowledged, answers a retry from the cache, and refuses writes on unknown
   * sessions or acknowledged seqs: none of those may run the command again.
   */
  admit(ref: SessionRef, stampMs: number, revision: number): SessionGate {
    const session = this.sessions.get(ref.sessionId);
    if (session === undefined) {
      const message = `session ${ref.sessionId} is unknown (expired, evicted or closed): register a new session`;
      return { apply: false, result: failure(revision, "session-expired", message) };
    }
    if (ref.lowestUnackedSeq > ref.seq) {
      const message =
        `lowestUnackedSeq ${ref.lowestUnackedSeq} is above seq ${ref.seq}: ` +
        "a client cannot have acknowledged a write it has not sent";
      return { apply: false, result: failure(revision, "invalid-argument", message) };
    }
    this.touch(session, stampMs);
    this.acknowledgeBelow(session, ref.lowestUnackedSeq);
    const cached = session.replies.get(ref.seq);
    if (cached !== undefined) return { apply: false, result: cached };
    if (ref.seq < session.ackedBelowSeq) {
      const message =
        `seq ${ref.seq} was already acknowledged (below ${session.ackedBelowSeq}): ` +
        "its reply is gone and it is not applied again";
      return { apply: false, result: failure(revision, "stale-sequence", message) };
    }
    if (session.replies.size >= this.limits.sessionRepliesMax) {
      const message =
        `session ${session.id} holds ${session.replies.size} unacknowledged replies (sessionRepliesMax): ` +
        "raise lowestUnackedSeq first";
      return { apply: false, result: failure(revision, "too-many-pending", message) };
    }
    return { apply: true, session };
  }

  /** Caches the result of an admitted write. */
  remember(session: Session, seq: number, result: KvResult): void {
    session.replies.set(seq, result);
  }

  private touch(session: Session, stampMs: number): void {
    session.lastUsedMs = stampMs;
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
  }

  private acknowledgeBelow(session: Session, lowestUnackedSeq: number): void {
    if (lowestUnackedSeq <= session.ackedBelowSeq) return;
    session.ackedBelowSeq = lowestUnackedSeq;
    for (const seq of session.replies.keys()) {
      if (seq < lowestUnackedSeq) session.replies.delete(seq);
    }
  }

  private removeLongestIdle(): void {
    const first = this.sessions.keys().next();
    if (!first.done) this.sessions.delete(first.value);
  }
}
