import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { newRequestId } from "../../request-id.js";
import {
  NO_TRACE,
  REQUEST_ID_HEADER,
  TRACE_STAMP_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  requestContextOf,
  stampFromOptionalText,
  stampSender,
  stampToText,
  type RequestContext,
  type Tracer,
} from "../../trace/index.js";
import { requestLogFields } from "../request-scope.js";

export interface HttpRequestContextOptions {
  /** Where log lines about requests go; each request gets a child with its `reqId`. */
  readonly log?: Logger;
  /** The member's tracer: a request with a stamp is a receive, its reply a send. */
  readonly tracer?: Tracer;
  /** The operation a request is, for trace events (`put`, `get`, `forward`). */
  readonly operationOf: (req: Request) => string;
}

/**
 * The first middleware of the HTTP API: gives every request an id (the caller's
 * X-Request-Id when it is a valid one, else a new one), echoes it in the response, keeps
 * a valid W3C traceparent/tracestate with it, and keeps that context for the routes
 * (requestContextOfResponse), which pass it with their service calls so that a
 * follower forwarding one sends the same id on (request-scope.ts).
 * Routes log through `requestLog(res)`, a pino child carrying `reqId`. A request is
 * logged at debug level when it is answered, at warn when the answer is a server error.
 */
export function requestContextMiddleware(options: HttpRequestContextOptions): RequestHandler {
  const tracer = options.tracer ?? NO_TRACE;
  return (req: Request, res: Response, next: NextFunction) => {
    const context = requestContextOf({
      requestId: req.get(REQUEST_ID_HEADER), traceparent: req.get(TRACEPARENT_HEADER), tracestate: req.get(TRACESTATE_HEADER),
    }, newRequestId);
    res.setHeader(REQUEST_ID_HEADER, context.requestId);
    res.locals["requestContext"] = context;
    if (options.log !== undefined) logRequest(options.log, context, req, res);
    if (tracer.enabled) traceRequest(tracer, options.operationOf(req), context, req, res);
    next();
  };
}

/** The request's context (set by requestContextMiddleware); routes built without it get a fresh id. */
export function requestContextOfResponse(res: Response): RequestContext {
  const context = res.locals["requestContext"] as RequestContext | undefined;
  return context ?? { requestId: newRequestId() };
}

/** The request's logger (a child carrying its reqId), when the app logs; made on first use. */
export function requestLog(res: Response): Logger | undefined {
  const made = res.locals["log"] as Logger | undefined;
  if (made !== undefined) return made;
  const base = res.locals["baseLog"] as Logger | undefined;
  if (base === undefined) return undefined;
  const child = base.child(requestLogFields(requestContextOfResponse(res)));
  res.locals["log"] = child;
  return child;
}

/** One line per answer: at warn for a server error, else at debug, and then only when debug is on (no child made per request otherwise). */
function logRequest(log: Logger, context: RequestContext, req: Request, res: Response): void {
  res.locals["baseLog"] = log;
  const started = performance.now();
  res.once("finish", () => {
    const serverError = res.statusCode >= 500;
    if (!serverError && !log.isLevelEnabled("debug")) return;
    const line = requestLog(res) ?? log.child(requestLogFields(context));
    const fields = { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(performance.now() - started) };
    if (serverError) line.warn(fields, `http ${req.method} ${req.path} answered ${res.statusCode}`);
    else line.debug(fields, `http ${req.method} ${req.path} answered ${res.statusCode}`);
  });
}

/**
 * A request that came with a stamp is a receive from the stamp's host; its answer is a
 * send back, whose stamp goes in the response's TRACE_STAMP_HEADER. The header has to be
 * set before the head is written, which routes do in many places: writeHead is wrapped.
 */
function traceRequest(tracer: Tracer, kind: string, context: RequestContext, req: Request, res: Response): void {
  const stamp = stampFromOptionalText(req.get(TRACE_STAMP_HEADER));
  const from = stamp === undefined ? "client" : stampSender(stamp);
  tracer.receive({ kind, from, stamp, requestId: context.requestId });
  if (stamp === undefined) return;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
  (res as unknown as { writeHead: (...args: unknown[]) => Response }).writeHead = (...args: unknown[]) => {
    const status = typeof args[0] === "number" ? args[0] : res.statusCode;
    const reply = tracer.send({ kind: "reply", to: from, requestId: context.requestId, details: `status=${status}` });
    if (reply !== undefined && !res.headersSent) res.setHeader(TRACE_STAMP_HEADER, stampToText(reply));
    return writeHead(...args);
  };
}
