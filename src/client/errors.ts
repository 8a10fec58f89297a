/**
 * Every failure the client library reports, as a class (callers use `instanceof`),
 * each with a stable `code`, whether retrying may help (`retryable`), and typed fields
 * where there is something to act on. The library has retried retryable failures
 * until the call's deadline before any of them reaches the caller.
 */
export abstract class KvClientError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  /** The id of the call that failed, as the members' log lines and trace events name it (set once the call has one). */
  requestId: string | undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The error with the failed call's request id in `requestId` and its message, so it can be found in the members' logs. */
export function withRequestId(error: unknown, requestId: string): unknown {
  if (error instanceof KvClientError && error.requestId === undefined) {
    error.requestId = requestId;
    error.message = `${error.message} (request ${requestId})`;
  }
  return error;
}

/** The member is not the leader; `leaderId` (0: unknown) and its client address say where to go. */
export class NotLeaderError extends KvClientError {
  readonly code = "NOT_LEADER";
  readonly retryable = true;
  constructor(readonly leaderId: number, readonly clientAddress: string | undefined, message?: string) {
    super(message ?? (leaderId === 0 ? "no leader is known (an election is under way)" : `member ${leaderId}${clientAddress === undefined ? "" : ` at ${clientAddress}`} is the leader`));
  }
}

/** A delete (or another write that needs the key) found no such key. `get` answers undefined instead. */
export class KeyNotFoundError extends KvClientError {
  readonly code = "KEY_NOT_FOUND";
  readonly retryable = false;
  constructor(readonly key: Uint8Array, readonly revision: number, message: string) {
    super(message);
  }
}

/** expectVersion did not match; `currentVersion` is the key's version now (0: absent). */
export class VersionMismatchError extends KvClientError {
  readonly code = "VERSION_MISMATCH";
  readonly retryable = false;
  constructor(readonly currentVersion: number, readonly revision: number, message: string) {
    super(message);
  }
}

/** The cluster (or this client's session) has too much in flight; it stayed busy until the deadline. */
export class BusyError extends KvClientError {
  readonly code = "BUSY";
  readonly retryable = true;
}

/**
 * The call's deadline passed. The message lists the members tried and the last error;
 * a write that timed out may or may not have been applied (exactly once, if at all).
 */
export class TimeoutError extends KvClientError {
  readonly code = "TIMEOUT";
  readonly retryable = true;
  constructor(
    readonly operation: string,
    readonly deadlineMs: number,
    readonly tried: readonly string[],
    readonly lastError: unknown,
  ) {
    const last = lastError instanceof Error ? lastError.message : lastError === undefined ? "none" : String(lastError);
    super(
      `${operation} did not complete within ${deadlineMs} ms; tried ${tried.length === 0 ? "no member" : tried.join(", ")}; last error: ${last}`,
      { cause: lastError },
    );
  }
}

/** No member could serve: none reachable, the member is stopping, or the connection broke. */
export class UnavailableError extends KvClientError {
  readonly code = "UNAVAILABLE";
  readonly retryable = true;
}

/** The connection to a member broke while requests were in flight. */
export class ConnectionLostError extends UnavailableError {}

/**
 * The exactly-once session is gone (expired or evicted) and this write had been sent
 * before in a way whose outcome is unknown: it may have been applied once. (When the
 * write surely was not applied, the client registers a new session and retries instead.)
 */
export class SessionExpiredError extends KvClientError {
  readonly code = "SESSION_EXPIRED";
  readonly retryable = false;
  constructor(readonly sessionId: number, message: string) {
    super(message);
  }
}

/** A retry of a write the client had already acknowledged: a client bug, never applied twice. */
export class StaleSequenceError extends KvClientError {
  readonly code = "STALE_SEQUENCE";
  readonly retryable = false;
}

/** The request is wrong (key or value too large, bad argument): retrying will not help. */
export class InvalidArgumentError extends KvClientError {
  readonly code: string;
  readonly retryable = false;
  constructor(message: string, code = "INVALID_ARGUMENT") {
    super(message);
    this.code = code;
  }
}

/** The cluster's data quota is reached; deletes still work. */
export class NoSpaceError extends KvClientError {
  readonly code = "NOSPACE";
  readonly retryable = false;
}

/** A watch asked for history that was compacted away: list again and watch from its revision + 1. */
export class CompactedError extends KvClientError {
  readonly code = "COMPACTED";
  readonly retryable = false;
  constructor(readonly compactRevision: number, message: string) {
    super(message);
  }
}

/** The server broke the protocol, or refused this client's bytes. */
export class ProtocolError extends KvClientError {
  readonly code = "PROTOCOL_ERROR";
  readonly retryable = false;
}

/** The server failed in a way it has no better code for. */
export class ServerError extends KvClientError {
  readonly retryable = false;
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** An admin call over HTTP was refused; `status` and `code` are the server's. */
export class AdminError extends KvClientError {
  readonly retryable = false;
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The cluster did not accept this client's credentials: no token, or one it does not
 * know (the server's UNAUTHENTICATED, HTTP 401). Retrying with the same token will not help.
 */
export class AuthenticationError extends KvClientError {
  readonly code = "UNAUTHENTICATED";
  readonly retryable = false;
}

/** The token (or certificate) is known but its role may not do this (PERMISSION_DENIED, HTTP 403). */
export class PermissionDeniedError extends KvClientError {
  readonly code = "PERMISSION_DENIED";
  readonly retryable = false;
}

/**
 * The server's certificate did not verify against the client's `tls` settings (another
 * CA, expired, another name): the message says which and what to give instead.
 */
export class TlsVerificationError extends KvClientError {
  readonly code = "TLS_VERIFICATION";
  readonly retryable = false;
}

/** The client was closed; no more calls. */
export class ClientClosedError extends KvClientError {
  readonly code = "CLIENT_CLOSED";
  readonly retryable = false;
}

/** One attempt got no reply in requestTimeoutMs; the client reconnects and retries until the deadline. */
export class AttemptTimeoutError extends UnavailableError {}
