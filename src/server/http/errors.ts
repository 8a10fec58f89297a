import type { Response } from "express";
import { CompactedError, KvServiceError, NotLeaderError } from "../errors.js";

/** HTTP status for each service error code. */
const STATUS_BY_CODE: Record<string, number> = {
  NOT_LEADER: 503,
  BUSY: 429,
  TIMEOUT: 504,
  NOSPACE: 507,
  INVALID_ARGUMENT: 400,
  COMPACTED: 410,
  UNAVAILABLE: 503,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
};

/** Errors are JSON with a code and a message a person can act on. */
export function sendError(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ error: { code, message, ...extra } });
}

export function sendServiceError(res: Response, error: unknown): void {
  if (error instanceof NotLeaderError) {
    sendError(res, 503, error.code, error.message, { leader: error.leader ?? null, retryable: true });
    return;
  }
  if (error instanceof CompactedError) {
    sendError(res, 410, error.code, error.message, { compactRevision: error.compactRevision, retryable: false });
    return;
  }
  if (error instanceof KvServiceError) {
    sendError(res, STATUS_BY_CODE[error.code] ?? 500, error.code, error.message, { retryable: error.retryable });
    return;
  }
  if (error instanceof RangeError) {
    sendError(res, 400, "INVALID_ARGUMENT", error.message);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  sendError(res, 500, "INTERNAL", `the server failed to handle the request: ${message}`);
}
