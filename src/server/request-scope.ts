import { AsyncLocalStorage } from "node:async_hooks";
import type { RequestContext } from "../trace/index.js";

/**
 * The client request being served, for code below the ports that passes it on: the
 * forwarder (src/server/forwarding.ts) sends its id to the leader in the frame's context,
 * so the leader's log lines carry the same id. The service interface carries no
 * request, so the ports set it around each service call, as they do the caller
 * (auth/caller.ts).
 */
const current = new AsyncLocalStorage<RequestContext>();

export function runInRequest<T>(context: RequestContext, work: () => T): T {
  return current.run(context, work);
}

export function currentRequest(): RequestContext | undefined {
  return current.getStore();
}

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
