import express from "express";
import type { Express, Request, Response } from "express";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { httpOperation, type Tracer } from "../../trace/index.js";
import type { KvService } from "../kv-service.js";
import type { ServerStatus } from "../../protocol/status.js";
import type { HttpAuth } from "./auth.js";
import { sendError, sendServiceError } from "./errors.js";
import { kvRoutes } from "./kv-routes.js";
import { requestContextMiddleware } from "./request-context.js";
import type { RequestObserver } from "../request-observer.js";

export interface HttpAppOptions {
  readonly service: KvService;
  readonly status: () => ServerStatus;
  readonly registry: Registry;
  readonly health: () => { ok: boolean; reason?: string };
  readonly readiness: () => { ok: boolean; reason?: string };
  readonly extraRoutes: readonly express.Router[];
  readonly valueBytesMax: number;
  readonly listLimitMax: number;
  readonly leaderHttpIfFollower?: () => string | undefined;
  readonly onRequest?: RequestObserver;
  /** Who may do what (src/server/http/auth.ts); without it every route is open (tests of the routes alone). */
  readonly auth?: HttpAuth;
  /** Where log lines about requests go (each with its request id); without it requests are not logged. */
  readonly log?: Logger;
  /** The member's tracer (--trace-log): requests with a trace stamp and their replies become trace events. */
  readonly tracer?: Tracer;
}

/** The HTTP/JSON API for people, curl and tests (express). */
export function buildHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestContextMiddleware({ operationOf: (req) => httpOperation(req.method, req.path), ...(options.log === undefined ? {} : { log: options.log }), ...(options.tracer === undefined ? {} : { tracer: options.tracer }) }));
  app.get("/healthz", (_req, res) => probe(res, options.health()));
  app.get("/readyz", (_req, res) => probe(res, options.readiness()));
  app.get("/metrics", async (_req, res) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
  app.get("/v1/status", (_req, res) => {
    res.json(options.status());
  });
  const auth = options.auth;
  if (auth !== undefined) {
    app.use("/v1/kv", auth.data((req) => (req.method === "GET" || req.method === "HEAD" ? "read" : "write"), kvOperation));
    app.use("/v1/watch", auth.data(() => "read", () => "watch"));
  }
  app.use(kvRoutes(options.service, {
    valueBytesMax: options.valueBytesMax, listLimitMax: options.listLimitMax,
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
    ...(options.leaderHttpIfFollower === undefined ? {} : { leaderHttpIfFollower: options.leaderHttpIfFollower }),
  }));
  for (const router of options.extraRoutes) app.use(router);
  addFallbacks(app, options.valueBytesMax);
  return app;
}

/**
 * The admin API on its own port (--admin-port): the admin routes and /v1/status, which
 * is what the operator reads, and nothing else.
 */
export function buildAdminApp(options: { readonly status: () => ServerStatus; readonly adminRoutes: express.Router; readonly valueBytesMax: number; readonly log?: Logger }): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestContextMiddleware({ operationOf: () => "admin", ...(options.log === undefined ? {} : { log: options.log }) }));
  app.get("/v1/status", (_req, res) => {
    res.json(options.status());
  });
  app.use(options.adminRoutes);
  addFallbacks(app, options.valueBytesMax);
  return app;
}

/** 404 for unknown routes; body-parsing errors (too large, bad JSON) and anything thrown past a route. */
function addFallbacks(app: Express, valueBytesMax: number): void {
  app.use((req, res) => sendError(res, 404, "NOT_FOUND", `no route for ${req.method} ${req.path}: see the API in the README`));
  app.use((error: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 500;
    if (status === 413) return sendError(res, 413, "TOO_LARGE", `the request body is larger than the limit (${valueBytesMax} bytes for a value)`);
    if (status >= 400 && status < 500) return sendError(res, status, "BAD_REQUEST", (error as Error).message);
    sendServiceError(res, error);
  });
}

/** The operation a /v1/kv request is, for refusals ("put needs read-write"). */
function kvOperation(req: Request): string {
  if (req.method === "GET" || req.method === "HEAD") return req.path === "/" || req.path === "" ? "list" : "get";
  return req.method === "PUT" ? "put" : req.method.toLowerCase();
}

function probe(res: Response, result: { ok: boolean; reason?: string }): void {
  res.status(result.ok ? 200 : 503).json(result);
}
