import type { Request, Response } from "../../protocol/index.js";
import { stampSender, type Tracer } from "../../trace/index.js";

/** What a traced request's reply needs: who to send it to, and whether the client wants a stamp back. */
export interface RequestTrace {
  readonly from: string;
  readonly requestId: string | undefined;
  /** The request carried a stamp: its reply carries one (an old client never sent one, so never gets a flagged reply). */
  readonly stamped: boolean;
}

/**
 * Records the receive of a client request on the member's tracer: the client's stamp
 * merged when it sent one (`from` is the stamp's host), a local event otherwise.
 * Undefined when tracing is off, so the hot path pays one property read.
 */
export function traceRequest(tracer: Tracer, request: Request): RequestTrace | undefined {
  if (!tracer.enabled) return undefined;
  const stamp = request.context?.stamp;
  const from = stamp === undefined ? "client" : stampSender(stamp);
  const requestId = request.context?.requestId;
  tracer.receive({ kind: request.kind, from, stamp, requestId });
  return { from, requestId, stamped: stamp !== undefined };
}

/** The reply as sent: a send event on the tracer, and its stamp on the reply when the request had one. */
export function traceReply(tracer: Tracer, trace: RequestTrace | undefined, response: Response): Response {
  if (trace === undefined) return response;
  const stamp = tracer.send({ kind: "reply", to: trace.from, requestId: trace.requestId, details: response.kind });
  return stamp === undefined || !trace.stamped ? response : { ...response, stamp };
}
