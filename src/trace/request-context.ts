import type { TraceStamp } from "./tracer.js";

/**
 * What identifies one client request end to end: its request id (made by the client or
 * the first member that sees it) and, when the caller sends them, W3C Trace Context's
 * `traceparent` and `tracestate`, which KVRaft passes through untouched so a caller's
 * own tracing links to ours. All of it arrives from the network, so each piece is
 * validated and bounded here; an invalid one is replaced (id) or dropped (trace context),
 * never fatal. Pure.
 */

/** The HTTP header a request id travels in (and is echoed back in). */
export const REQUEST_ID_HEADER = "x-request-id";
export const TRACEPARENT_HEADER = "traceparent";
export const TRACESTATE_HEADER = "tracestate";
/** The longest request id accepted: room for a UUID or a caller's own scheme, not for data. */
export const REQUEST_ID_CHARS_MAX = 64;
/** W3C caps tracestate at 32 list members; 512 characters is the size it asks vendors to keep to. */
export const TRACESTATE_CHARS_MAX = 512;

/** Printable ASCII without spaces: it is written into log fields and `req=ID` in trace events, which split on spaces. */
const REQUEST_ID = new RegExp(`^[\\x21-\\x7e]{1,${REQUEST_ID_CHARS_MAX}}$`);
/** version-traceId-parentId-flags, lower-case hex (W3C Trace Context, level 1). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** A version-00 traceparent's length; later versions may be longer, past a dash at this offset. */
const TRACEPARENT_V0_CHARS = 55;
/** A header longer than this is not read at all; also the most a request frame's context may carry (context-codec.ts). */
export const TRACEPARENT_CHARS_MAX = 512;
const ALL_ZEROS = /^0+$/;
/** Printable ASCII with spaces and tabs, as tracestate's list members and separators are. */
const TRACESTATE = /^[\x20-\x7e\t]*$/;

/** The host that sent a stamp: its message id reads HOST#n (message-events.ts). */
export function stampSender(stamp: TraceStamp): string {
  return stamp.messageId.slice(0, stamp.messageId.lastIndexOf("#"));
}

export interface RequestContext {
  readonly requestId: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
}

export function isValidRequestId(text: string): boolean {
  return REQUEST_ID.test(text);
}

/** Why a request id is refused, for an error reply; undefined when it is fine. */
export function requestIdProblem(text: string): string | undefined {
  if (text.length === 0) return "a request id must not be empty";
  if (text.length > REQUEST_ID_CHARS_MAX) return `a request id of ${text.length} characters is longer than ${REQUEST_ID_CHARS_MAX}`;
  return isValidRequestId(text) ? undefined : "a request id must be printable ASCII without spaces";
}

/**
 * The traceparent if it is one W3C allows: version ff, an all-zero trace id or parent id
 * are invalid. A later version may append fields, which are dropped as the spec says a
 * version-00 reader does with what it does not know.
 */
export function validTraceparent(text: string | undefined): string | undefined {
  if (text === undefined || text.length > TRACEPARENT_CHARS_MAX) return undefined;
  const trimmed = text.trim();
  const laterVersionWithMore = trimmed.length > TRACEPARENT_V0_CHARS && !trimmed.startsWith("00-") && trimmed[TRACEPARENT_V0_CHARS] === "-";
  const head = laterVersionWithMore ? trimmed.slice(0, TRACEPARENT_V0_CHARS) : trimmed;
  const match = TRACEPARENT.exec(head);
  if (match === null) return undefined;
  const [, version, traceId, parentId] = match as unknown as [string, string, string, string];
  if (version === "ff" || ALL_ZEROS.test(traceId) || ALL_ZEROS.test(parentId)) return undefined;
  return head;
}

/** The tracestate if it can be passed on; only ever kept together with a valid traceparent. */
export function validTracestate(text: string | undefined): string | undefined {
  if (text === undefined || text === "" || text.length > TRACESTATE_CHARS_MAX || !TRACESTATE.test(text)) return undefined;
  return text;
}

/** A request context from what a caller sent: its id when valid, else `madeId`; trace context when valid. */
export function requestContextOf(sent: { requestId?: string; traceparent?: string; tracestate?: string }, madeId: () => string): RequestContext {
  const requestId = sent.requestId !== undefined && isValidRequestId(sent.requestId) ? sent.requestId : madeId();
  const traceparent = validTraceparent(sent.traceparent);
  if (traceparent === undefined) return { requestId };
  const tracestate = validTracestate(sent.tracestate);
  return tracestate === undefined ? { requestId, traceparent } : { requestId, traceparent, tracestate };
}

/** The HTTP headers that pass a request's context on (a follower forwarding to the leader). */
export function requestContextHeaders(context: RequestContext | undefined): Record<string, string> {
  if (context === undefined) return {};
  return {
    [REQUEST_ID_HEADER]: context.requestId,
    ...(context.traceparent === undefined ? {} : { [TRACEPARENT_HEADER]: context.traceparent }),
    ...(context.tracestate === undefined ? {} : { [TRACESTATE_HEADER]: context.tracestate }),
  };
}

/** The operation a request to the HTTP API is, in trace events: the KV operation, or `http`. */
export function httpOperation(method: string, path: string): string {
  const route = path.split("?")[0] ?? path;
  if (route === "/v1/kv" || route === "/v1/kv/") return "list";
  if (route.startsWith("/v1/kv/")) return method === "GET" || method === "HEAD" ? "get" : method.toLowerCase();
  return route.startsWith("/v1/watch") ? "watch" : "http";
}
