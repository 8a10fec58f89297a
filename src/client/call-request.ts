import { newRequestId } from "../request-id.js";
import { TRACESTATE_CHARS_MAX, requestIdProblem, validTraceparent, validTracestate, type RequestContext } from "../trace/index.js";
import { InvalidArgumentError } from "./errors.js";

export interface CallRequestOptions {
  /**
   * The id the members log this call under and its trace events carry (1..64 printable
   * ASCII characters without spaces); by default a new random one. Errors name it.
   */
  readonly requestId?: string;
  /**
   * The caller's W3C trace context, passed through untouched as the HTTP API passes its
   * headers: the members log it with the request id, and a follower forwards it to the
   * leader. A member from before it answers such a call INVALID_ARGUMENT (unknown request
   * context flags): leave it out for those.
   */
  readonly traceparent?: string;
  /** Only with a traceparent (W3C's rule): at most TRACESTATE_CHARS_MAX printable characters. */
  readonly tracestate?: string;
}

/**
 * The call's request context: the caller's id and trace context, checked (a bad one is
 * the caller's mistake, said at once rather than dropped on a member), or a new id.
 */
export function callRequestOf(options: CallRequestOptions): RequestContext {
  const requestId = options.requestId ?? newRequestId();
  const problem = requestIdProblem(requestId);
  if (problem !== undefined) throw new InvalidArgumentError(`requestId: ${problem}`);
  const { traceparent, tracestate } = options;
  if (traceparent === undefined) {
    if (tracestate !== undefined) throw new InvalidArgumentError("tracestate: goes only with a traceparent (W3C Trace Context)");
    return { requestId };
  }
  if (validTraceparent(traceparent) !== traceparent) {
    throw new InvalidArgumentError("traceparent: not a W3C traceparent (version-traceid-parentid-flags in lower-case hex, ids not all zeros, e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01)");
  }
  if (tracestate === undefined) return { requestId, traceparent };
  if (validTracestate(tracestate) !== tracestate) throw new InvalidArgumentError(`tracestate: must be 1..${TRACESTATE_CHARS_MAX} printable ASCII characters (W3C Trace Context)`);
  return { requestId, traceparent, tracestate };
}
