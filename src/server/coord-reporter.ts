import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ServerStatus } from "../protocol/status.js";
import { COORDINATOR_HOST, NO_TRACE, stampFromOptionalText, stampToText, TRACE_STAMP_HEADER, type Tracer } from "../trace/index.js";

/** What proves to the coordinator that the reports come from this member (see member-auth.ts). */
export interface CoordReporterCredentials {
  /** Sent as `Authorization: Bearer` (the server's --coord-token-file). */
  readonly token?: string;
  /**
   * For an https:// coordinator: the member certificate and key (presented as the
   * client certificate) and the CA to trust. Read per request, so a rotated certificate
   * is used from the next heartbeat on.
   */
  readonly tls?: () => { readonly cert?: string; readonly key?: string; readonly ca?: string | undefined };
}

export interface CoordReporterOptions {
  /** The coordinator's base URL, e.g. http://127.0.0.1:7070 (the server's --coord). */
  readonly coordinatorUrl: string;
  /** Time between heartbeats while the coordinator answers. */
  readonly intervalMs: number;
  readonly clusterId: string;
  /** Read fresh for every heartbeat: the same object the server answers at /v1/status. */
  readonly status: () => ServerStatus;
  readonly onEvent?: (event: CoordReporterEvent) => void;
  /** A request not answered within this is abandoned and counted as a failure (default: intervalMs, at least 500 ms). */
  readonly requestTimeoutMs?: number;
  /** The longest wait between attempts while the coordinator fails (default: max(5000, intervalMs)). */
  readonly backoffMsMax?: number;
  readonly credentials?: CoordReporterCredentials;
  /**
   * The member's tracer (--trace-log): each report carries the send's stamp in
   * TRACE_STAMP_HEADER and the coordinator's answer's stamp is merged. NO_TRACE when not given.
   */
  readonly tracer?: Tracer;
}

/** A coordinator answer larger than this is cut: it is a short JSON object. */
const ANSWER_BYTES_MAX = 64 * 1024;

/**
 * What the reporter tells its server. Failures are events, never exceptions: the
 * coordinator is for discovery only, and nothing in the server waits on it.
 * A caller that logs should log "failed" when consecutiveFailures is 1 (and perhaps
 * every so often after), and "recovered", so a long coordinator outage is two lines.
 */
export type CoordReporterEvent =
  | { readonly type: "registered"; readonly coordinatorUrl: string }
  | { readonly type: "failed"; readonly phase: "register" | "heartbeat"; readonly error: string; readonly consecutiveFailures: number; readonly retryInMs: number }
  | { readonly type: "recovered"; readonly phase: "register" | "heartbeat"; readonly afterFailures: number };

export interface CoordReporter {
  /** Stops the loop and abandons a request in flight. Idempotent. */
  stop(): void;
}

export const REPORTER_INTERVAL_MS_MIN = 10;
export const REPORTER_INTERVAL_MS_MAX = 60_000;
/** Backoff grows by this factor per consecutive failure, from intervalMs up to backoffMsMax. */
const BACKOFF_FACTOR = 2;
/** Up to this fraction is added at random, so a fleet restarted together does not retry in step. */
const BACKOFF_JITTER = 0.2;

/**
 * Registers with the coordinator, then heartbeats the server's status every intervalMs.
 * One request at a time; its timers are unref'd, so it never keeps a process alive and
 * never delays a shutdown. Register happens once per process start (a new incarnation
 * for the coordinator); a restarted coordinator needs no new register, because it takes
 * a heartbeat from a member it does not know as the member joining.
 */
export function startCoordReporter(options: CoordReporterOptions): CoordReporter {
  const { intervalMs } = options;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < REPORTER_INTERVAL_MS_MIN || intervalMs > REPORTER_INTERVAL_MS_MAX) {
    throw new RangeError(`coordinator reporter intervalMs must be ${REPORTER_INTERVAL_MS_MIN}..${REPORTER_INTERVAL_MS_MAX}, got ${intervalMs}`);
  }
  const base = options.coordinatorUrl.replace(/\/+$/, "");
  if (!/^https?:\/\//.test(base)) throw new RangeError(`--coord must be an http:// or https:// URL, got "${options.coordinatorUrl}"`);
  const requestTimeoutMs = options.requestTimeoutMs ?? Math.max(500, intervalMs);
  const backoffMsMax = options.backoffMsMax ?? Math.max(5000, intervalMs);

  let phase: "register" | "heartbeat" = "register";
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: AbortController | undefined;
  const emit = (event: CoordReporterEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing listener must not stop the heartbeats.
    }
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void attempt(), delayMs);
    timer.unref();
  };

  const attempt = async (): Promise<void> => {
    const current = phase;
    const error = await send(base, current, options, requestTimeoutMs, (controller) => { inFlight = controller; });
    inFlight = undefined;
    if (stopped) return;
    if (error === undefined) {
      if (failures > 0) emit({ type: "recovered", phase: current, afterFailures: failures });
      if (current === "register") emit({ type: "registered", coordinatorUrl: base });
      failures = 0;
      phase = "heartbeat";
      schedule(intervalMs);
      return;
    }
    failures += 1;
    const backoff = Math.min(backoffMsMax, intervalMs * BACKOFF_FACTOR ** Math.min(failures, 30));
    const retryInMs = Math.round(backoff * (1 + Math.random() * BACKOFF_JITTER));
    emit({ type: "failed", phase: current, error, consecutiveFailures: failures, retryInMs });
    schedule(retryInMs);
  };

  schedule(0);
  return {
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      inFlight?.abort();
    },
  };
}

/** One POST; resolves to undefined on success or to what went wrong, never rejects. */
async function send(base: string, phase: "register" | "heartbeat", options: CoordReporterOptions, timeoutMs: number, track: (controller: AbortController) => void): Promise<string | undefined> {
  let body: string;
  try {
    body = JSON.stringify({ clusterId: options.clusterId, status: options.status() });
  } catch (error) {
    return `reading the server status failed: ${(error as Error).message}`;
  }
  const controller = new AbortController();
  track(controller);
  const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  timeout.unref();
  const url = `${base}/v1/${phase}`;
  const tracer = options.tracer ?? NO_TRACE;
  const sent = tracer.enabled ? tracer.send({ kind: phase, to: COORDINATOR_HOST }) : undefined;
  try {
    const { status, text, stampText } = await post(url, body, options.credentials, controller.signal, sent === undefined ? undefined : stampToText(sent));
    // Only a stamped answer is recorded: an answer from a coordinator that does not trace pairs with nothing.
    const answerStamp = tracer.enabled ? stampFromOptionalText(stampText) : undefined;
    if (answerStamp !== undefined) tracer.receive({ kind: `${phase}-answer`, from: COORDINATOR_HOST, stamp: answerStamp, details: `status=${status}` });
    if (status >= 200 && status < 300) return undefined;
    const hint = status === 401 ? " (the coordinator wants this member's certificate, --peer-cert-file with an https:// --coord, or --coord-token-file)" : "";
    return `${url} answered ${status}: ${errorMessage(text)}${hint}`;
  } catch (error) {
    const reason = controller.signal.reason instanceof Error ? controller.signal.reason.message : describeRequestError(error);
    return `${url}: ${reason}`;
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * node:http(s) rather than fetch: fetch takes neither a CA nor a client certificate.
 * Resolves with the status, the start of the body and the answer's trace stamp header;
 * rejects on a network error.
 */
function post(url: string, body: string, credentials: CoordReporterCredentials | undefined, signal: AbortSignal, stampText: string | undefined): Promise<{ status: number; text: string; stampText: string | undefined }> {
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  if (stampText !== undefined) headers[TRACE_STAMP_HEADER] = stampText;
  if (credentials?.token !== undefined) headers["authorization"] = `Bearer ${credentials.token}`;
  const https = url.startsWith("https:");
  const tls = https ? credentials?.tls?.() : undefined;
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage): void => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (text.length < ANSWER_BYTES_MAX) text += chunk;
      });
      const stamp = response.headers[TRACE_STAMP_HEADER];
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text, stampText: typeof stamp === "string" ? stamp : undefined }));
      response.on("error", reject);
      // An abort mid-answer may end in 'close' alone: settle anyway (a settled promise ignores this).
      response.on("close", () => reject(new Error("the connection closed before the answer ended")));
    };
    const request = https
      ? httpsRequest(url, {
        method: "POST", headers, signal,
        ...(tls?.cert === undefined ? {} : { cert: tls.cert }), ...(tls?.key === undefined ? {} : { key: tls.key }), ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
      }, onResponse)
      : httpRequest(url, { method: "POST", headers, signal }, onResponse);
    request.on("error", reject);
    request.end(body);
  });
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === "string") return parsed.error.message;
  } catch {
    // Not JSON: show the start of it.
  }
  return text.slice(0, 200);
}

/** The code first (ECONNREFUSED, CERT_HAS_EXPIRED ...): what a person searches for. */
function describeRequestError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string") return `${code}${typeof message === "string" ? ` (${message})` : ""}`;
  return error instanceof Error ? error.message : String(error);
}
