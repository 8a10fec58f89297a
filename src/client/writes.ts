import type { KvResult, WriteCommand } from "../kv/index.js";
import type { Response } from "../protocol/index.js";
import type { RequestContext } from "../trace/index.js";
import { runCall, unexpected, type AttemptReport, type CallContext } from "./call.js";
import { BusyError, SessionExpiredError, withRequestId } from "./errors.js";
import { WriteSession } from "./session.js";

/**
 * Exactly-once writes. The session is registered lazily, on the first write; each write
 * takes a seq and is resent with the same (session, seq) after a broken connection, a
 * timeout or a redirect, so the cluster applies it once and answers retries from its
 * cache. If the cluster no longer knows the session, a write that surely never reached
 * the log starts over once in a new session; one whose earlier attempt may have been
 * applied fails with SessionExpiredError, since starting over could apply it twice.
 */
export class SessionWriter {
  private session: WriteSession | undefined;
  private registering: Promise<WriteSession> | undefined;

  constructor(
    private readonly context: CallContext,
    private readonly windowMax: number,
  ) {}

  async write(operation: string, command: WriteCommand, deadlineMs: number, request: RequestContext): Promise<KvResult> {
    const { runtime } = this.context;
    const deadlineAt = runtime.now() + deadlineMs;
    for (let startedOver = false; ; startedOver = true) {
      const session = await this.current(deadlineAt);
      const seq = await session.acquire(deadlineAt, deadlineMs, operation);
      const report: AttemptReport = { uncertain: false };
      let result: KvResult;
      try {
        result = await runCall(this.context, { operation, request }, Math.max(1, deadlineAt - runtime.now()), (connection, timeoutMs, context) =>
          connection.request((frameId) => ({ kind: "write", requestId: frameId, command: { ...command, session: session.ref(seq) } }), timeoutMs, context),
        acceptWrite(operation), report);
      } finally {
        session.release(seq);
      }
      if (result.ok || result.error !== "session-expired") return result;
      this.forget(session);
      if (report.uncertain || startedOver) {
        throw withRequestId(new SessionExpiredError(session.sessionId, `${operation}: session ${session.sessionId} expired while the write's outcome was unknown (an earlier attempt may have been applied); read the key to find out, then retry if need be`), request.requestId);
      }
    }
  }

  close(): void {
    this.session?.close();
  }

  private current(deadlineAt: number): Promise<WriteSession> {
    if (this.session !== undefined) return Promise.resolve(this.session);
    const { runtime } = this.context;
    this.registering ??= runCall(this.context, { operation: "register-session", request: { requestId: runtime.newRequestId() } }, Math.max(1, deadlineAt - runtime.now()), (connection, timeoutMs, context) =>
      connection.request((requestId) => ({ kind: "register-session", requestId }), timeoutMs, context),
    (response) => {
      if (response.kind !== "session-ok") throw unexpected("register-session", response);
      return response.sessionId;
    }).then((sessionId) => {
      this.session = new WriteSession(sessionId, this.windowMax, this.context.runtime);
      this.context.emit({ type: "session-registered", sessionId });
      return this.session;
    }).finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  /** Drops an expired session so the next write registers a new one (once, however many writes saw it expire). */
  private forget(session: WriteSession): void {
    if (this.session !== session) return;
    this.session = undefined;
    // Not closed: writes still in flight in it finish (or see it expired) on their own.
    this.context.emit({ type: "session-expired", sessionId: session.sessionId });
  }
}

function acceptWrite(operation: string): (response: Response) => KvResult {
  return (response) => {
    if (response.kind !== "write-ok") throw unexpected(operation, response);
    // The session holds as many unacknowledged replies as it may: wait for earlier writes, then resend.
    if (!response.result.ok && response.result.error === "too-many-pending") throw new BusyError(response.result.message);
    return response.result;
  };
}
