import { KvError, type KeyValue, type KvEvent } from "../../kv/index.js";
import { INTERNAL_CODE, type LeaderRef, type Response } from "../../protocol/index.js";
import { BusyError, CompactedError, KvServiceError, NotLeaderError } from "../errors.js";
import type { LeaderHint } from "../kv-service.js";

/**
 * Turns what the service throws into reply frames, and sizes replies to fit a frame.
 * NotLeaderError becomes REDIRECT when the leader is known (the client follows it),
 * BusyError becomes BUSY, every other KvServiceError an ERROR with its stable code.
 */

/**
 * Upper bound of a key-value's encoding beyond its key and value bytes: two length
 * varints, flags, two versions and an expiry (8 bytes per varint at most) and a flag.
 */
const KEY_VALUE_OVERHEAD_BYTES_MAX = 8 + 8 + 4 + 8 + 8 + 1 + 8;
/** Upper bound of a reply's fixed fields: header, revision, counts, trailing flags and continuation key length. */
export const REPLY_OVERHEAD_BYTES_MAX = 64;

export function keyValueBytesMax(kv: KeyValue): number {
  return kv.key.length + kv.value.length + KEY_VALUE_OVERHEAD_BYTES_MAX;
}

export function eventBytesMax(event: KvEvent): number {
  switch (event.type) {
    case "put":
      return event.key.length + event.value.length + KEY_VALUE_OVERHEAD_BYTES_MAX + 9;
    case "delete":
      return event.key.length + 8 + 8 + 8 + 1 + 1;
    case "flush":
      return 1 + 8;
  }
}

export function leaderRef(hint: LeaderHint): LeaderRef {
  return hint.clientAddress === undefined ? { leaderId: hint.leaderId } : { leaderId: hint.leaderId, clientAddress: hint.clientAddress };
}

/** The reply that tells a client to go to the leader, or to wait for one when none is known. */
export function notLeaderReply(requestId: number, leader: LeaderRef | undefined, message?: string): Response {
  if (leader !== undefined && leader.leaderId !== 0) return { kind: "redirect", requestId, leader };
  return {
    kind: "error", requestId, code: "NOT_LEADER", retryable: true,
    message: message ?? "no leader is known right now (an election is under way): retry shortly",
  };
}

export interface ErrorReplyOutcome {
  readonly reply: Response;
  /** True for failures no error class explains: a bug below this layer, worth an event. */
  readonly internal: boolean;
}

export function errorReply(requestId: number, error: unknown): ErrorReplyOutcome {
  if (error instanceof NotLeaderError) {
    return { reply: notLeaderReply(requestId, error.leader === undefined ? undefined : leaderRef(error.leader), error.message), internal: false };
  }
  if (error instanceof BusyError) return { reply: { kind: "busy", requestId, message: error.message }, internal: false };
  if (error instanceof CompactedError) {
    return {
      reply: { kind: "error", requestId, code: error.code, message: error.message, retryable: false, compactRevision: error.compactRevision },
      internal: false,
    };
  }
  if (error instanceof KvServiceError) {
    return { reply: { kind: "error", requestId, code: error.code, message: error.message, retryable: error.retryable }, internal: false };
  }
  // The kv layer's argument errors (a list limit out of range, a value the codec cannot hold) and RangeErrors from validation.
  if (error instanceof KvError || error instanceof RangeError) {
    return { reply: { kind: "error", requestId, code: "INVALID_ARGUMENT", message: error.message, retryable: false }, internal: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    reply: { kind: "error", requestId, code: INTERNAL_CODE, message: `the server failed to handle the request: ${message}`, retryable: false },
    internal: true,
  };
}
