import type { LeaderHint } from "./kv-service.js";

/**
 * Failures a client can act on, as classes (callers use instanceof) with a stable
 * `code` that every protocol maps to its own error reply.
 */
export abstract class KvServiceError extends Error {
  abstract readonly code: string;
  /** Whether retrying the same request (elsewhere, or later) may succeed. */
  abstract readonly retryable: boolean;

  /**
   * Without a stack: these are answers to a client, not bugs, and a stack would name only
   * this member's internals; capturing one cost more than the refusal itself (a follower
   * refuses every write it is sent: 2.6% of a simulated run's time went to it).
   */
  constructor(message?: string, options?: ErrorOptions) {
    const stackFramesMax = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = stackFramesMax;
  }
}

/** This node is not the leader; `leader` says where it is, if known. */
export class NotLeaderError extends KvServiceError {
  override readonly name = "NotLeaderError";
  readonly code = "NOT_LEADER";
  readonly retryable = true;
  constructor(readonly leader: LeaderHint | undefined, message?: string) {
    super(message ?? (leader === undefined || leader.leaderId === 0
      ? "no leader is known right now (an election is under way): retry shortly"
      : `member ${leader.leaderId} is the leader: send the request there`));
  }
}

/** Too much in flight: proposals or reads past their limit. Retry after a pause. */
export class BusyError extends KvServiceError {
  override readonly name = "BusyError";
  readonly code = "BUSY";
  readonly retryable = true;
}

export class KvTimeoutError extends KvServiceError {
  override readonly name = "KvTimeoutError";
  readonly code = "TIMEOUT";
  readonly retryable = true;
}

/**
 * The data size quota is reached (writes that grow the data are refused until keys are
 * deleted), or the member's disk is full (retryable: writes resume once space is back).
 */
export class NoSpaceError extends KvServiceError {
  override readonly name = "NoSpaceError";
  readonly code = "NOSPACE";
  constructor(message: string, readonly retryable = false) {
    super(message);
  }
}

/** The request itself is wrong (key too long, bad argument): retrying will not help. */
export class InvalidRequestError extends KvServiceError {
  override readonly name = "InvalidRequestError";
  readonly code = "INVALID_ARGUMENT";
  readonly retryable = false;
}

/** The watch asked for history that was compacted away. */
export class CompactedError extends KvServiceError {
  override readonly name = "CompactedError";
  readonly code = "COMPACTED";
  readonly retryable = false;
  constructor(readonly compactRevision: number, message: string) {
    super(message);
  }
}

/** The node cannot serve (stopping, disk failed). */
export class UnavailableError extends KvServiceError {
  override readonly name = "UnavailableError";
  readonly code = "UNAVAILABLE";
  readonly retryable = true;
}
