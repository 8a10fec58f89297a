import type { RequestContext } from "../trace/index.js";
import type { Caller } from "./auth/caller.js";

/**
 * The client request a service call serves and, with authentication on, who sent it:
 * passed down with the call (the service's options) to the code below the ports that
 * passes them on. The forwarder (forwarding.ts) sends both to the leader in the frame's
 * context, so the leader's log lines carry the client's request id and the leader knows
 * whom the member acts for; a traced write carries the id to its entry's apply event.
 *
 * Explicit rather than in an AsyncLocalStorage: on Node 20 the first `run` of one (any
 * HTTP request did one) turns on promise hooks for the whole process, for good, and every
 * promise of every request then pays for them. In CPU profiles of put-64 the hook
 * functions alone took 0.7-1.9 µs per put on each member, and seven paired runs of the
 * two builds (put-64 to the leader and through a follower) averaged 6% less CPU per put
 * across the three members without them.
 */
export interface RequestScope {
  readonly request?: RequestContext | undefined;
  readonly caller?: Caller | undefined;
}

/** A call made for no client request (the member's own work). */
export const NO_SCOPE: RequestScope = {};

/** Log fields about a request: its id, and the caller's trace context when it sent one. */
export function requestLogFields(context: RequestContext): { reqId: string; traceparent?: string; tracestate?: string } {
  return {
    reqId: context.requestId,
    ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
    ...(context.tracestate === undefined ? {} : { tracestate: context.tracestate }),
  };
}

/** Log fields for a failure while serving a request: the error, and the request's id when it has one. */
export function failureLogFields(error: unknown, requestId: string | undefined): { err: unknown; reqId?: string } {
  return requestId === undefined ? { err: error } : { err: error, reqId: requestId };
}
