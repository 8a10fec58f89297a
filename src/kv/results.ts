/**
 * Results of applied commands: plain data, the same on every replica, cached in
 * sessions and carried in snapshots (see result-codec.ts). Every result carries the
 * revision (log index) of the entry that produced it.
 */

export type KvOk =
  | { readonly ok: true; readonly kind: "session-registered"; readonly revision: number; readonly sessionId: number }
  | { readonly ok: true; readonly kind: "session-closed"; readonly revision: number }
  | { readonly ok: true; readonly kind: "ticked"; readonly revision: number }
  /** put, add, replace, append, prepend: the key's version is now `revision`. */
  | {
      readonly ok: true;
      readonly kind: "stored";
      readonly revision: number;
      readonly version: number;
      readonly createVersion: number;
    }
  /** touch: the value and so the version are unchanged. */
  | {
      readonly ok: true;
      readonly kind: "touched";
      readonly revision: number;
      readonly version: number;
      readonly expiresAtMs?: number;
    }
  | { readonly ok: true; readonly kind: "deleted"; readonly revision: number; readonly previousVersion: number }
  | {
      readonly ok: true;
      readonly kind: "counter";
      readonly revision: number;
      readonly version: number;
      readonly value: bigint;
    }
  | { readonly ok: true; readonly kind: "flushed"; readonly revision: number; readonly deletedCount: number };

export type KvOkKind = KvOk["kind"];

/**
 * Why a command was not applied. Codes are stable (they are persisted in snapshots
 * as their position in this list: append only).
 */
export const KV_ERROR_CODES = [
  /** expectVersion did not match; `currentVersion` is the key's version (0: absent). */
  "version-mismatch",
  "not-found",
  /** add on a present key; `currentVersion` is its version. */
  "exists",
  /** The session is unknown: expired, evicted or closed. Register a new one. */
  "session-expired",
  /** incr/decr on a value that is not a decimal uint64. */
  "not-a-number",
  /** A key or value longer than the configured limit. */
  "too-large",
  /** A malformed argument (empty key, zero ttl, seq below lowestUnackedSeq). */
  "invalid-argument",
  /** A retry of a write the client already acknowledged: its reply is gone. */
  "stale-sequence",
  /** The session holds sessionRepliesMax unacknowledged replies; ack some first. */
  "too-many-pending",
] as const;

export type KvErrorCode = (typeof KV_ERROR_CODES)[number];

export interface KvFailure {
  readonly ok: false;
  readonly revision: number;
  readonly error: KvErrorCode;
  /** For people: what failed and what to do. Deterministic (no clocks, no node names). */
  readonly message: string;
  readonly currentVersion?: number;
}

export type KvResult = KvOk | KvFailure;

export function failure(revision: number, error: KvErrorCode, message: string, currentVersion?: number): KvFailure {
  return currentVersion === undefined
    ? { ok: false, revision, error, message }
    : { ok: false, revision, error, message, currentVersion };
}
