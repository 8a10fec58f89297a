import type { Response, WireRequestContext } from "../protocol/index.js";
import type { RequestContext, Tracer } from "../trace/index.js";
import { CallTrace } from "./call-trace.js";
import type { CallConnection } from "./connection.js";
import {
  AttemptTimeoutError,
  AuthenticationError,
  BusyError,
  CompactedError,
  InvalidArgumentError,
  KvClientError,
  NoSpaceError,
  NotLeaderError,
  PermissionDeniedError,
  ProtocolError,
  ServerError,
  TimeoutError,
  UnavailableError,
  withRequestId,
} from "./errors.js";
import type { ClientEventListener } from "./events.js";
import type { CallRouter } from "./router.js";
import { sleep, type ClientRuntime } from "./runtime.js";

/** First pause between retries; doubled each time up to RETRY_PAUSE_MS_MAX, with jitter. */
const RETRY_PAUSE_MS_MIN = 20;
/** Longest pause: an election takes about one election timeout, so retry well within it. */
const RETRY_PAUSE_MS_MAX = 500;

export interface CallContext {
  readonly router: CallRouter;
  /** The clock, timers and chance the retries use: SYSTEM_RUNTIME, except in the simulator. */
  readonly runtime: ClientRuntime;
  readonly requestTimeoutMs: number;
  readonly emit: ClientEventListener;
  readonly tracer: Tracer;
}

/** What happened to a call's attempts, for a write deciding whether it may start over. */
export interface AttemptReport {
  /** Some attempt may have reached the log (lost connection, timeout, error after proposal). */
  uncertain: boolean;
}

/** Sends one attempt; `context` (the call's request id and trace stamp) goes in its frame. */
export type Sender = (connection: CallConnection, timeoutMs: number, context: WireRequestContext) => Promise<Response>;

/**
 * Runs one call until it succeeds, fails for good, or its deadline passes. Retried:
 * a lost connection or a timed-out attempt (the connection is dropped and the leader
 * found again), REDIRECT (go to the leader named), BUSY and retryable errors (pause,
 * then again). `accept` turns a final reply into the result or a typed error; a
 * BusyError from it is retried too. A write retried here carries the same session and
 * seq every time, so the cluster applies it at most once. Every attempt carries the
 * call's request id (and trace context), and what the call throws names the id.
 */
export async function runCall<T>(
  context: CallContext,
  call: { readonly operation: string; readonly request: RequestContext },
  deadlineMs: number,
  send: Sender,
  accept: (response: Response) => T,
  report: AttemptReport = { uncertain: false },
): Promise<T> {
  try {
    return await runAttempts(context, new CallTrace(context.tracer, call.operation, call.request), deadlineMs, send, accept, report);
  } catch (error) {
    throw withRequestId(error, call.request.requestId);
  }
}

async function runAttempts<T>(
  context: CallContext,
  trace: CallTrace,
  deadlineMs: number,
  send: Sender,
  accept: (response: Response) => T,
  report: AttemptReport,
): Promise<T> {
  const { operation } = trace;
  const { runtime } = context;
  const deadlineAt = runtime.now() + deadlineMs;
  const tried = new Set<string>();
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      const pauseMs = await pauseBeforeRetry(runtime, attempt, deadlineAt);
      context.emit({ type: "retrying", operation, attempt, delayMs: pauseMs, reason: (lastError as Error).message });
    }
    const remainingMs = deadlineAt - runtime.now();
    if (remainingMs <= 0) throw new TimeoutError(operation, deadlineMs, [...tried], lastError);
    let connection: CallConnection;
    try {
      connection = await context.router.connection(deadlineAt, tried);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      lastError = error;
      continue;
    }
    let response: Response;
    try {
      response = await send(connection, Math.min(context.requestTimeoutMs, remainingMs), trace.attempt(connection));
      trace.replied(connection, response);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      report.uncertain = true;
      lastError = error;
      context.router.invalidate(connection, (error as Error).message);
      continue;
    }
    switch (response.kind) {
      case "redirect":
        lastError = new NotLeaderError(response.leader.leaderId, response.leader.clientAddress, `${connection.address} redirected to member ${response.leader.leaderId}`);
        context.router.redirect(connection, response.leader);
        continue;
      case "busy":
        lastError = new BusyError(`${connection.address}: ${response.message}`);
        continue;
      case "error": {
        const error = errorFromReply(response);
        if (!error.retryable) throw error;
        report.uncertain = true;
        lastError = error;
        if (error instanceof NotLeaderError) context.router.invalidate(connection, error.message);
        continue;
      }
      default:
        try {
          return accept(response);
        } catch (error) {
          if (!(error instanceof BusyError)) throw error;
          lastError = error;
        }
    }
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof KvClientError && error.retryable;
}

/** Waits before the next attempt (exponential, jittered, never past the deadline); answers how long. */
async function pauseBeforeRetry(runtime: ClientRuntime, attempt: number, deadlineAt: number): Promise<number> {
  const ceilingMs = Math.min(RETRY_PAUSE_MS_MAX, RETRY_PAUSE_MS_MIN * 2 ** Math.min(attempt - 1, 10));
  // Jitter spreads the retries of many clients after a failover, instead of a stampede at the new leader.
  const pauseMs = Math.max(0, Math.min(ceilingMs * (0.5 + runtime.random() / 2), deadlineAt - runtime.now()));
  await sleep(runtime, pauseMs);
  return Math.round(pauseMs);
}

/** The typed error for an ERROR reply. */
export function errorFromReply(reply: Extract<Response, { kind: "error" }>): KvClientError {
  switch (reply.code) {
    case "NOT_LEADER":
      return new NotLeaderError(reply.leader?.leaderId ?? 0, reply.leader?.clientAddress, reply.message);
    case "TIMEOUT":
      return new AttemptTimeoutError(reply.message);
    case "UNAVAILABLE":
      return new UnavailableError(reply.message);
    case "BUSY":
      return new BusyError(reply.message);
    case "NOSPACE":
      return new NoSpaceError(reply.message);
    case "INVALID_ARGUMENT":
    case "TOO_LARGE":
      return new InvalidArgumentError(reply.message, reply.code);
    case "COMPACTED":
      return new CompactedError(reply.compactRevision ?? 0, reply.message);
    case "PROTOCOL_ERROR":
      return new ProtocolError(reply.message);
    case "UNAUTHENTICATED":
      return new AuthenticationError(`the token was refused: ${reply.message}`);
    case "PERMISSION_DENIED":
      return new PermissionDeniedError(`the token's role is too weak for this: ${reply.message}`);
    default:
      return reply.retryable ? new UnavailableError(`${reply.code}: ${reply.message}`) : new ServerError(reply.code, reply.message);
  }
}

/** A reply of the wrong kind for the request: the server broke the protocol. */
export function unexpected(operation: string, response: Response): ProtocolError {
  return new ProtocolError(`${operation} was answered with ${response.kind}`);
}
