import type { Response, WireRequestContext } from "../protocol/index.js";
import { memberHost, stampSender, type RequestContext, type Tracer } from "../trace/index.js";
import type { CallConnection } from "./connection.js";

/**
 * One call's attempts as trace events: a send to the member before each attempt (its
 * stamp goes in the request frame's context, with the call's request id and the
 * caller's W3C trace context) and a receive of the member's reply stamp. With tracing
 * off only the request id and trace context travel.
 */
export class CallTrace {
  private readonly requestId: string;

  constructor(
    private readonly tracer: Tracer,
    readonly operation: string,
    private readonly request: RequestContext,
  ) {
    this.requestId = request.requestId;
  }

  /** Records the attempt's send to `connection`; answers the context its request frame carries. */
  attempt(connection: CallConnection): WireRequestContext {
    if (!this.tracer.enabled) return this.request;
    const stamp = this.tracer.send({ kind: this.operation, to: traceHostOf(connection), requestId: this.requestId });
    return stamp === undefined ? this.request : { ...this.request, stamp };
  }

  /** Records the reply's receive (a local event when the member does not trace). */
  replied(connection: CallConnection, response: Response): void {
    if (!this.tracer.enabled) return;
    const from = response.stamp === undefined ? traceHostOf(connection) : stampSender(response.stamp);
    this.tracer.receive({ kind: "reply", from, stamp: response.stamp, requestId: this.requestId, details: response.kind });
  }
}

/** A member's host name in traces, `member-ID` as members name themselves, once HELLO_OK said the id; else its address. */
export function traceHostOf(connection: CallConnection): string {
  const memberId = connection.memberId;
  return memberId === 0 ? connection.address : memberHost(memberId);
}
