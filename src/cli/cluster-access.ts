import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { join } from "node:path";

/** Exit codes of the client verbs, as documented in each verb's --help. */
export const EXIT = { ok: 0, notFound: 1, usage: 2, unavailable: 3 } as const;

/** A failure the CLI reports with its exit code; the message says what to do. */
export class CliError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

export interface AccessOptions {
  coord?: string;
  endpoints?: string;
  clusterDir?: string;
  /** --timeout: how long one verb keeps trying the members, in ms. */
  timeout?: number;
}

/** How long a verb keeps trying the members when --timeout is not given. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The options every client verb takes to find the cluster (and, with `output`, to print). */
export function withClusterOptions(command: Command, output = true): Command {
  const withAccess = command
    .option("--endpoints <list>", "members' HTTP host:port, comma separated (default: KVRAFT_ENDPOINTS)")
    .option("--coord <url>", "the coordinator (default: KVRAFT_COORD); used when --endpoints is not given")
    .option("--cluster-dir <dir>", "where the local cluster keeps cluster.json, the last resort", ".kvraft")
    .option("--timeout <ms>", `how long to keep trying the members before giving up (exit 3)`, parseTimeout, DEFAULT_TIMEOUT_MS);
  return output ? withAccess.addOption(new Option("--output <format>", "table or json").choices(["table", "json"]).default("table")) : withAccess;
}

function parseTimeout(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected milliseconds, a whole number >= 1, got "${value}"`);
  return n;
}

/**
 * Where to find the cluster: --endpoints (HTTP host:port list), then --coord, then the
 * environment (KVRAFT_ENDPOINTS, then KVRAFT_COORD: a flag on the command line beats a
 * variable set long ago), then the local cluster started in this directory
 * (./.kvraft/cluster.json). Members forward to the leader, so any member answers; the
 * CLI tries them in turn and reports what it tried.
 */
export async function discoverEndpoints(options: AccessOptions): Promise<string[]> {
  const list = nonEmpty(options.endpoints) ?? (nonEmpty(options.coord) === undefined ? nonEmpty(process.env["KVRAFT_ENDPOINTS"]) : undefined);
  if (list !== undefined) {
    const endpoints = list.split(",").map((e) => e.trim()).filter((e) => e !== "");
    if (endpoints.length > 0) return endpoints;
  }
  const coord = nonEmpty(options.coord) ?? nonEmpty(process.env["KVRAFT_COORD"]);
  if (coord !== undefined && coord !== "") {
    try {
      const response = await fetch(`${coord.replace(/\/$/, "")}/v1/cluster`, { signal: AbortSignal.timeout(options.timeout ?? 3000) });
      const view = (await response.json()) as { leader?: { addresses?: { http?: string } } | null; members?: { addresses?: { http?: string } }[] };
      const leader = view.leader?.addresses?.http;
      const members = (view.members ?? []).map((m) => m.addresses?.http).filter((h): h is string => typeof h === "string");
      const all = [...new Set([...(leader === undefined ? [] : [leader]), ...members])];
      if (all.length > 0) return all;
    } catch (error) {
      throw new CliError(EXIT.unavailable, `the coordinator at ${coord} did not answer (${(error as Error).message}): check --coord / KVRAFT_COORD, or pass --endpoints`);
    }
  }
  const file = join(options.clusterDir ?? ".kvraft", "cluster.json");
  try {
    const cluster = JSON.parse(await readFile(file, "utf8")) as { members?: { http?: string }[] };
    const endpoints = (cluster.members ?? []).map((m) => m.http).filter((h): h is string => typeof h === "string");
    if (endpoints.length > 0) return endpoints;
  } catch {
    // Fall through to the error below.
  }
  throw new CliError(EXIT.unavailable, `no cluster to talk to: no --endpoints or KVRAFT_ENDPOINTS, no --coord or KVRAFT_COORD, and no ${file} (start one with \`npm start\` in this directory)`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  readonly endpoint: string;
}

/**
 * Sends one request to the first member that answers as KVRaft; 5xx, network errors and
 * answers from something that is not a KVRaft server try the next. When none answers
 * within `timeoutMs` the error has one line per member with its last cause.
 *
 * node:http, not fetch: fetch parses the URL as a WHATWG URL, which removes `.` and `..`
 * segments (`%2E%2E` included), and a key is bytes, never a path (src/codec/key-path.ts).
 */
export async function request(endpoints: readonly string[], method: string, path: string, body?: Uint8Array | string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpAnswer> {
  const lastCause = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; Date.now() < deadline; round++) {
    // Something else on every port will not become KVRaft by waiting: stop after one round.
    let othersOnly = true;
    for (const endpoint of endpoints) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const answer = await send(endpoint, method, path, body, left);
        const notKvraft = notKvraftReason(answer);
        if (notKvraft !== undefined) {
          lastCause.set(endpoint, notKvraft);
          continue;
        }
        othersOnly = false;
        if (answer.status < 500) return answer;
        lastCause.set(endpoint, `HTTP ${answer.status} ${errorMessage(answer)}`.trim());
      } catch (error) {
        othersOnly = false;
        lastCause.set(endpoint, describeNetworkError(error, left));
      }
    }
    if (othersOnly) break;
    const pause = Math.min(200 * (round + 1), 1000, deadline - Date.now());
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const lines = endpoints.map((e) => `${e}: ${lastCause.get(e) ?? "not tried (out of time)"}`);
  throw new CliError(EXIT.unavailable, `no KVRaft member answered (--timeout ${timeoutMs} ms); tried:\n  ${lines.join("\n  ")}\ncheck --endpoints / KVRAFT_ENDPOINTS and that the servers run (kvraft status)`);
}

function send(endpoint: string, method: string, path: string, body: Uint8Array | string | undefined, timeoutMs: number): Promise<HttpAnswer> {
  const { host, port } = splitEndpoint(endpoint);
  const payload = body === undefined ? undefined : typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host, port, path, method, timeout: timeoutMs,
      // The length always: node:http sends a DELETE's body with neither a length nor
      // chunking, and the server then reads that body as a second (bad) request.
      headers: { ...(typeof body === "string" ? { "content-type": "application/json" } : {}), ...(payload === undefined ? {} : { "content-length": String(payload.length) }) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (chunk: Buffer) => parts.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        resolve({ status: res.statusCode ?? 0, headers, body: new Uint8Array(Buffer.concat(parts)), endpoint });
      });
    });
    // node:http's timeout is idle time; the verb's deadline bounds the whole exchange.
    const timer = setTimeout(() => req.destroy(new TimeoutError(timeoutMs)), timeoutMs);
    req.on("timeout", () => req.destroy(new TimeoutError(timeoutMs)));
    req.on("close", () => clearTimeout(timer));
    req.on("error", reject);
    req.end(payload);
  });
}

class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** host:port, [v6]:port or host (port 80). */
function splitEndpoint(endpoint: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(endpoint.replace(/^http:\/\//, "").replace(/\/$/, ""));
  return { host: match?.[1] ?? endpoint, port: Number(match?.[2] ?? 80) };
}

/**
 * The cause of a failed exchange, said so that the reader knows what to check. fetch
 * says only "fetch failed" and keeps the system error in `cause`: look there too.
 */
export function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `timed out: no answer within ${timeoutMs} ms (busy, partitioned, or --timeout too short)`;
  const cause: unknown = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && (error as Error).message === "fetch failed") return describeNetworkError(cause, timeoutMs);
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  switch (code) {
    case "ECONNREFUSED": return "connection refused (ECONNREFUSED): nothing listens on that port; is the server running?";
    case "ENOTFOUND": case "EAI_AGAIN": return `host not found (${code}): check the host name`;
    case "ECONNRESET": return "connection reset (ECONNRESET): the server closed the connection; a TLS port, or it stopped";
    case "EHOSTUNREACH": case "ENETUNREACH": return `unreachable (${code}): check the network and the address`;
    default:
      // An HTTP parser error on the first bytes: the port speaks something else, TLS most often.
      if (typeof code === "string" && code.startsWith("HPE_")) return `not HTTP (${code}): a TLS or non-HTTP port? KVRaft's HTTP API is plain HTTP`;
      return typeof code === "string" ? `${message} (${code})` : message;
  }
}

/** A KVRaft error body: {"error":{"code":..., "message":...}}. */
export function kvraftError(answer: HttpAnswer): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(answer.body)) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    return typeof code === "string" && typeof message === "string" ? { code, message } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why an answer cannot be from KVRaft, if it cannot: every KVRaft error (4xx, 5xx) is a
 * JSON body with a code, so a 404 HTML page is some other server, not a missing key.
 */
function notKvraftReason(answer: HttpAnswer): string | undefined {
  if (answer.status < 400 || kvraftError(answer) !== undefined) return undefined;
  if (answer.status >= 500 && answer.status !== 501) return undefined; // a proxy's 502/503/504: retry as before
  const type = answer.headers.get("content-type") ?? "no content type";
  return `not a KVRaft server: HTTP ${answer.status} (${type.split(";")[0]}) without a KVRaft error body; check the port (the HTTP API is --http-port)`;
}

/** Parses a 2xx JSON answer; anything else there is not KVRaft talking. */
export function json<T>(answer: HttpAnswer): T {
  try {
    return JSON.parse(new TextDecoder().decode(answer.body)) as T;
  } catch {
    throw new CliError(EXIT.unavailable, `${answer.endpoint} answered HTTP ${answer.status} with something that is not JSON: not a KVRaft server? check the port (the HTTP API is --http-port)`);
  }
}

export function errorMessage(answer: HttpAnswer): string {
  return kvraftError(answer)?.message ?? "";
}
