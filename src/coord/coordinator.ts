import type { Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { TlsMaterial, type TlsFiles } from "../security/tls-material.js";
import { buildCoordinatorApp } from "./app.js";
import type { ClusterView } from "./cluster-view.js";
import type { CoordinatorConfig } from "./config.js";
import { validateCoordinatorConfig } from "./config.js";
import { authRequired, memberAuthSettings } from "./member-auth.js";
import { CoordinatorMetrics } from "./metrics.js";
import { Registry } from "./registry.js";
import type { CoordEvent } from "./view-changes.js";
import { openProcessTrace } from "../trace-file.js";
import { COORDINATOR_HOST } from "../trace/index.js";
import { ViewHistory } from "./view-history.js";
import { ViewStream } from "./view-stream.js";
import { ViewWatcher } from "./view-watcher.js";

export interface CoordinatorOptions extends Partial<CoordinatorConfig> {
  /** Injected for tests; Date.now otherwise. */
  readonly now?: () => number;
  /** Changes of the view (joins, liveness, leader, membership), for the program to log. */
  readonly onEvent?: (event: CoordEvent) => void;
  /**
   * Serve HTTPS (`--cert-file`, `--key-file`; reloaded on change). With a trusted CA
   * (`--trusted-ca-file`) a client certificate is asked for, and a member certificate
   * signed by it authenticates that member's reports; readers of the view need none.
   */
  readonly tls?: TlsFiles;
  /** The token members present as `Authorization: Bearer` (`--auth-token-file`). */
  readonly authToken?: string;
  /** A certificate or key change that does not load (the old one stays in use). */
  readonly onTlsReloadError?: (error: Error) => void;
  /** Write a trace event per member report and answer here (`--trace-log`); undefined: no tracing. */
  readonly traceLog?: string;
  /** A write of the trace log failed (told once; the coordinator carries on, dropping events). */
  readonly onTraceWriteError?: (error: Error) => void;
}

export interface RunningCoordinator {
  readonly port: number;
  /** http(s)://HOST:PORT, for servers' --coord. */
  readonly url: string;
  /** False when any report is taken as it comes (no certificate authority or token configured). */
  readonly authenticatesReports: boolean;
  view(): ClusterView[];
  stop(): Promise<void>;
}

/** The port is taken (or not bindable); the message names it and says what to do. */
export class CoordinatorListenError extends Error {
  override readonly name = "CoordinatorListenError";
  constructor(readonly host: string, readonly port: number, override readonly cause: Error) {
    super(`the coordinator port ${host}:${port} could not be bound (${cause.message}): pick another with --port`);
  }
}

/**
 * Starts the coordinator: the registry behind its HTTP API, and a watch that re-reads
 * the view every watchIntervalMs to notice members going silent (time alone changes
 * liveness; no request does) and to forget long-silent ones. Each accepted report is
 * looked at at once too, so the status page shows a new leader with its first report.
 */
export async function startCoordinator(options: CoordinatorOptions = {}): Promise<RunningCoordinator> {
  const { now = Date.now, onEvent, tls, authToken, onTlsReloadError, traceLog, onTraceWriteError, ...partial } = options;
  const config = validateCoordinatorConfig(partial);
  const registry = new Registry(config);
  const metrics = new CoordinatorMetrics(() => registry.view(now()));
  const memberAuth = memberAuthSettings(authToken, tls?.trustedCaFile !== undefined);
  const trace = await openProcessTrace(traceLog, COORDINATOR_HOST, onTraceWriteError === undefined ? {} : { onWriteError: onTraceWriteError });
  const history = new ViewHistory(config.historyEntriesMax);
  const stream = new ViewStream(config, () => ({ atMs: now(), clusters: registry.view(now()), history: history.list() }));
  const watcher = new ViewWatcher({ registry, history, stream, refreshMs: config.streamRefreshMs, ...(onEvent === undefined ? {} : { onEvent }) });
  const app = buildCoordinatorApp({ registry, metrics, config, now, memberAuth, tracer: trace.tracer, stream, onAccepted: () => watcher.look(now()), ...(onEvent === undefined ? {} : { onEvent }) });
  const material = tls === undefined ? undefined : TlsMaterial.load(tls);
  let server: HttpServer;
  try {
    server = await listen(app, config.host, config.port, material, onTlsReloadError);
  } catch (error) {
    material?.close();
    await trace.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;

  const watch = setInterval(() => watcher.look(now()), config.watchIntervalMs);
  // The watch only reports; it must not keep a process alive that is otherwise done.
  watch.unref();

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `${material === undefined ? "http" : "https"}://${urlHost(config.host)}:${port}`,
    authenticatesReports: authRequired(memberAuth),
    view: () => registry.view(now()),
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        clearInterval(watch);
        stream.close();
        material?.close();
        server.close(() => resolve());
        // Keep-alive connections from reporters would hold close() open until they idle out.
        server.closeAllConnections();
      }).then(async () => {
        await trace.close();
      });
      return stopping;
    },
  };
}

function listen(app: ReturnType<typeof buildCoordinatorApp>, host: string, port: number, material: TlsMaterial | undefined, onTlsReloadError: (error: Error) => void = () => undefined): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    let server: HttpServer;
    if (material === undefined) {
      server = app.listen(port, host);
    } else {
      // A certificate is asked for but not required: clients reading the view have none;
      // reports are checked per request (member-auth.ts).
      const https = createHttpsServer({ ...material.serverOptions(), requestCert: material.files.trustedCaFile !== undefined, rejectUnauthorized: false }, app);
      material.keepServerCurrent(https, onTlsReloadError);
      server = https.listen(port, host);
    }
    server.once("listening", () => resolve(server));
    server.once("error", (error: Error) => reject(new CoordinatorListenError(host, port, error)));
  });
}

/** A wildcard bind is reached through loopback on this machine. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}
