import express from "express";
import type { Express, NextFunction, Request, Response } from "express";
import type { CoordinatorConfig } from "./config.js";
import type { HeartbeatKind } from "./heartbeat.js";
import { InvalidHeartbeatError, parseHeartbeat } from "./heartbeat.js";
import type { CoordinatorMetrics } from "./metrics.js";
import { authenticateReport, memberAuthSettings, type MemberAuthSettings } from "./member-auth.js";
import { registerStatusPage } from "./page/status-page.js";
import type { Registry } from "./registry.js";
import type { CoordEvent } from "./view-changes.js";
import { traceReport } from "./report-trace.js";
import { NO_TRACE, type Tracer } from "../trace/index.js";
import type { ViewStream } from "./view-stream.js";

export interface CoordinatorAppOptions {
  readonly registry: Registry;
  readonly metrics: CoordinatorMetrics;
  readonly config: Pick<CoordinatorConfig, "bodyBytesMax" | "unreachableAfterMs" | "clusterId">;
  /** The clock, injected so tests can move time without waiting. */
  readonly now: () => number;
  readonly onEvent?: (event: CoordEvent) => void;
  /** Who may report (member certificates, a token); default: anyone (see member-auth.ts). */
  readonly memberAuth?: MemberAuthSettings;
  /** Records members' reports and the answers (--trace-log); NO_TRACE when not given. */
  readonly tracer?: Tracer;
  /** The status streams (GET /v1/events); without it the route is not served. */
  readonly stream?: ViewStream;
  /** Called after a report changed the registry, so that the view is read again at once. */
  readonly onAccepted?: () => void;
}

const NO_MEMBER_AUTH = memberAuthSettings(undefined, false);

/**
 * The coordinator's HTTP API:
 *   POST /v1/register, POST /v1/heartbeat   { clusterId, status } from each server (with
 *                                           config.clusterId, of that cluster only: 409 otherwise)
 *   GET  /v1/cluster[?clusterId=ID]          who leads and who is there
 *   GET  /v1/clusters                        the cluster ids tracked
 *   GET  /v1/events                          the view as server-sent events (view-stream.ts)
 *   GET  /                                   the live status page that follows them
 *   GET  /metrics, GET /healthz
 * Reads (the view, the stream, the page) are open like the view itself: it holds
 * addresses and Raft positions, no data and no credentials (docs/SECURITY.md).
 * Errors are JSON `{ error: { code, message } }`, like the servers' API.
 */
export function buildCoordinatorApp(options: CoordinatorAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const body = express.json({ limit: options.config.bodyBytesMax });
  app.post("/v1/register", body, (req, res) => receive(options, "register", req, res));
  app.post("/v1/heartbeat", body, (req, res) => receive(options, "heartbeat", req, res));
  app.get("/v1/cluster", (req, res) => answerCluster(options, req, res));
  app.get("/v1/clusters", (_req, res) => {
    res.json({ clusters: options.registry.clusterIds() });
  });
  const { stream } = options;
  if (stream !== undefined) app.get("/v1/events", (req, res) => stream.attach(req, res));
  registerStatusPage(app);
  app.get("/metrics", async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  // The coordinator has no dependency to be unhealthy about: answering is being healthy.
  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });
  app.use((req, res) => sendError(res, 404, "NOT_FOUND", `no route for ${req.method} ${req.path}: the coordinator answers /, /v1/cluster, /v1/clusters, /v1/events, /v1/register, /v1/heartbeat, /metrics, /healthz`));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 500;
    if (status === 413) return sendError(res, 413, "TOO_LARGE", `the request body is larger than the limit of ${options.config.bodyBytesMax} bytes (bodyBytesMax)`);
    if (status >= 400 && status < 500) return sendError(res, status, "BAD_REQUEST", (error as Error).message);
    sendError(res, 500, "INTERNAL", `the coordinator failed to handle the request: ${(error as Error).message}`);
  });
  return app;
}

function receive(options: CoordinatorAppOptions, kind: HeartbeatKind, req: Request, res: Response): void {
  let heartbeat;
  try {
    heartbeat = parseHeartbeat(req.body);
  } catch (error) {
    if (!(error instanceof InvalidHeartbeatError)) throw error;
    options.metrics.countHeartbeat(kind, "invalid");
    return sendError(res, 400, "INVALID_ARGUMENT", error.message);
  }
  // Before the registry sees it: a report without credentials never changes the view.
  const authenticated = authenticateReport(options.memberAuth ?? NO_MEMBER_AUTH, req, heartbeat);
  if (!authenticated.ok) {
    options.metrics.countHeartbeat(kind, "unauthenticated");
    options.onEvent?.({ type: "unauthenticated", clusterId: heartbeat.clusterId, id: heartbeat.status.memberId, remoteAddress: req.socket.remoteAddress, reason: authenticated.reason });
    res.setHeader("WWW-Authenticate", "Bearer");
    return sendError(res, 401, "UNAUTHENTICATED", authenticated.reason);
  }
  traceReport(options.tracer ?? NO_TRACE, kind, heartbeat, req, res);
  const outcome = options.registry.observe(heartbeat, options.now(), kind);
  options.metrics.countHeartbeat(kind, outcome.result);
  if (outcome.result === "accepted") options.onAccepted?.();
  if (outcome.result === "refused") {
    options.onEvent?.({ type: "refused", clusterId: heartbeat.clusterId, id: heartbeat.status.memberId, reason: outcome.reason });
    return sendError(res, 429, "LIMIT_REACHED", outcome.reason, { limit: outcome.limit });
  }
  if (outcome.result === "mismatch") {
    options.onEvent?.({ type: "refused", clusterId: heartbeat.clusterId, id: heartbeat.status.memberId, reason: outcome.reason });
    // 409: the report conflicts with what this coordinator is for; retrying cannot help.
    return sendError(res, 409, "CLUSTER_MISMATCH", outcome.reason, { servedClusterId: outcome.servedClusterId });
  }
  // A stale report is not the sender's fault (a delayed request): 200, and it is told.
  res.json({
    result: outcome.result,
    ...(outcome.result === "stale" ? { reason: outcome.reason } : {}),
    unreachableAfterMs: options.config.unreachableAfterMs,
  });
}

function answerCluster(options: CoordinatorAppOptions, req: Request, res: Response): void {
  const now = options.now();
  const asked = typeof req.query.clusterId === "string" && req.query.clusterId !== "" ? req.query.clusterId : undefined;
  const ids = options.registry.clusterIds();
  if (asked !== undefined) {
    const view = options.registry.clusterView(asked, now);
    if (view === undefined) {
      return sendError(res, 404, "UNKNOWN_CLUSTER", `no member of cluster ${asked} has reported to this coordinator (it knows ${ids.length === 0 ? "none" : ids.join(", ")})${servedNote(options.config)}`, { clusters: ids });
    }
    res.json(view);
    return;
  }
  if (ids.length === 0) {
    return sendError(res, 404, "NO_CLUSTER", `no server has registered yet${servedNote(options.config)}: start servers with --coord pointing here, or wait one heartbeat after a coordinator restart`, { clusters: [] });
  }
  if (ids.length > 1) {
    return sendError(res, 409, "AMBIGUOUS_CLUSTER", `this coordinator tracks ${ids.length} clusters: ask for one with ?clusterId= (${ids.join(", ")})`, { clusters: ids });
  }
  res.json(options.registry.clusterView(ids[0] as string, now));
}

/** For a coordinator that serves one cluster, so that an empty answer says which one it waits for. */
function servedNote(config: CoordinatorAppOptions["config"]): string {
  return config.clusterId === undefined ? "" : ` (this coordinator serves cluster ${config.clusterId} only)`;
}

function sendError(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ error: { code, message, ...extra } });
}
