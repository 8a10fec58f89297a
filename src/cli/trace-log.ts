import { appendFileSync } from "node:fs";
import { newRequestId } from "../request-id.js";
import {
  REQUEST_ID_HEADER,
  TRACE_STAMP_HEADER,
  VectorClockTracer,
  stampFromOptionalText,
  stampSender,
  stampToText,
  type Tracer,
} from "../trace/index.js";

/**
 * `--trace-log FILE` on the client verbs: the verb is one traced host, `client-PID`, whose
 * HTTP requests are sends (their stamp in TRACE_STAMP_HEADER) and whose answers are
 * receives of the member's stamp, appended to FILE in GoVector's format for `kvraft
 * trace merge`. Appended, not truncated: each verb is its own host (its own pid), so one
 * file may hold many. A verb sends a handful of events, so each is written at once,
 * synchronously; a failed write is said once on stderr and tracing goes on without it.
 */
export class CliTrace {
  readonly tracer: Tracer;
  /** The verb's request id: the same on every attempt, in every member's log line about it. */
  readonly requestId = newRequestId();
  private failed = false;

  constructor(readonly path: string, host = `client-${process.pid}`) {
    this.tracer = new VectorClockTracer(host, (lines) => this.append(lines));
  }

  /** The headers of one attempt to `endpoint`: the request id and the send's stamp. */
  attempt(kind: string, endpoint: string): Record<string, string> {
    const stamp = this.tracer.send({ kind, to: endpoint, requestId: this.requestId });
    return { [REQUEST_ID_HEADER]: this.requestId, ...(stamp === undefined ? {} : { [TRACE_STAMP_HEADER]: stampToText(stamp) }) };
  }

  /** The answer from `endpoint`: a receive of the member's stamp (a local event when it sent none). */
  answered(endpoint: string, status: number, headers: Headers): void {
    const stamp = stampFromOptionalText(headers.get(TRACE_STAMP_HEADER) ?? undefined);
    this.tracer.receive({ kind: "reply", from: stamp === undefined ? endpoint : stampSender(stamp), stamp, requestId: this.requestId, details: `status=${status}` });
  }

  private append(lines: string): void {
    if (this.failed) return;
    try {
      appendFileSync(this.path, lines);
    } catch (error) {
      this.failed = true;
      process.stderr.write(`kvraft: --trace-log ${this.path} cannot be written (${(error as Error).message}): going on without the trace\n`);
    }
  }
}
