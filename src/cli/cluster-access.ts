import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { join } from "node:path";
import { describeAuthRefusal, httpCall, HttpTimeoutError, httpTarget, TlsFailureError } from "../security/https-call.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";
import { type CredentialFlags, type Credentials, CredentialsError, loadCredentials, type LocalCluster, type Need, readLocalCluster } from "./credentials.js";
import { httpOperation } from "../trace/index.js";
import { CliTrace } from "./trace-log.js";

/**
 * Exit codes of the client verbs, as documented in each verb's --help (refused: the
 * cluster refused the token or its role, or TLS could not verify the cluster).
 */
export const EXIT = { ok: 0, notFound: 1, usage: 2, unavailable: 3, refused: 4 } as const;

/** A failure the CLI reports with its exit code; the message says what to do. */
export class CliError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

export interface AccessOptions extends CredentialFlags {
  coord?: string;
  endpoints?: string;
  clusterDir?: string;
  /** --timeout: how long one verb keeps trying the members, in ms. */
  timeout?: number;
  /** --trace-log: append this verb's trace events (as host client-PID) to the file. */
  traceLog?: string;
}

/** How long a verb keeps trying the members when --timeout is not given. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The options every client verb takes to find the cluster (and, with `output`, to print). */
export function withClusterOptions(command: Command, output = true): Command {
  const withAccess = command
    .option("--endpoints <list>", "members' HTTP addresses, host:port or https://host:port, comma separated (default: KVRAFT_ENDPOINTS)")
    .option("--coord <url>", "the coordinator (default: KVRAFT_COORD); used when --endpoints is not given")
    .option("--cluster-dir <dir>", "where the local cluster keeps cluster.json, the last resort", ".kvraft")
    .option("--timeout <ms>", `how long to keep trying the members before giving up (exit 3)`, parseTimeout, DEFAULT_TIMEOUT_MS)
    .option("--trace-log <file>", "append a trace event (vector clock, the format ShiViz draws) for each request and answer, as host client-PID; merge with the members' files: kvraft trace merge")
    .addOption(new Option("--cacert <file>", "the CA that signs the members' certificates; with it, host:port endpoints are https").env("KVRAFT_CACERT"))
    .addOption(new Option("--cert <file>", "this client's certificate (for members started with --client-cert-auth)").env("KVRAFT_CERT"))
    .addOption(new Option("--key <file>", "the key of --cert").env("KVRAFT_KEY"))
    .addOption(new Option("--token-file <file>", "a file holding the bearer token (or the token itself in KVRAFT_TOKEN)").env("KVRAFT_TOKEN_FILE"))
    .addHelpText("after", `
Security: a secured cluster serves HTTPS and wants a token. For the local cluster (kvraft local)
nothing is needed: its cluster.json names the CA and the tokens, used when the endpoints
are its members. Elsewhere give the CA and a token, as for etcdctl:
  kvraft get k --endpoints host:8080 --cacert ca.crt --token-file my.token
  export KVRAFT_CACERT=ca.crt KVRAFT_TOKEN=$(cat my.token)     # or set them once
An endpoint written https://host:port is https (checked against the system's CAs without
--cacert); http://host:port stays plain. Exit status 4: the token was refused (401), its
role is too weak (403: read-only reads, read-write writes, admin manages), or the
members' certificate is not signed by the CA given.`);
  return output ? withAccess.addOption(new Option("--output <format>", "table or json").choices(["table", "json"]).default("table")) : withAccess;
}

/** The cluster a verb talks to: where its members are and how to prove who we are. */
export interface ClusterAccess extends Credentials {
  /** host:port (https when `tls` is set) or http(s)://host:port. */
  readonly endpoints: readonly string[];
  /** With --trace-log: the verb's tracer and request id. */
  readonly trace?: CliTrace;
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
 * CLI tries them in turn and reports what it tried. The credentials come with them:
 * flags and environment first, else the local cluster's when its members are the
 * endpoints (`need` "admin" takes its admin token).
 */
export async function discoverEndpoints(options: AccessOptions, need: Need = "data"): Promise<ClusterAccess> {
  const local = await readLocalCluster(options.clusterDir ?? ".kvraft");
  const endpoints = await endpointsOf(options, local?.httpEndpoints, (coord) => coordinatorTls(options, local, coord, need));
  const isLocal = local !== undefined && endpoints.every((e) => local.httpEndpoints.includes(e.replace(/^https?:\/\//i, "").replace(/\/+$/, "")));
  const credentials = await credentialsOf(options, isLocal ? local : undefined, need);
  // An https:// endpoint without --cacert: the system's CAs, and host:port addresses learned
  // from the members (status's directory) are https too.
  const anyHttps = endpoints.some((e) => /^https:\/\//i.test(e));
  const trace = options.traceLog === undefined ? {} : { trace: new CliTrace(options.traceLog) };
  return { endpoints, ...credentials, tls: credentials.tls ?? (anyHttps ? {} : undefined), ...trace };
}

/** The coordinator is asked with the CA given, or the local cluster's when it is the local coordinator. */
async function coordinatorTls(options: AccessOptions, local: LocalCluster | undefined, coord: string, need: Need): Promise<ClientTlsOptions | undefined> {
  return (await credentialsOf(options, local?.coordinator === coord.replace(/\/+$/, "") ? local : undefined, need)).tls;
}

/** A coordinator to follow and how to reach it. */
export interface CoordinatorAccess {
  readonly url: string;
  readonly tls: ClientTlsOptions | undefined;
}

/**
 * The coordinator this invocation knows of, if any: --coord, else KVRAFT_COORD, else the
 * local cluster's (cluster.json), unless members were named (--endpoints, or
 * KVRAFT_ENDPOINTS without --coord): then the caller asks them.
 */
export async function findCoordinator(options: AccessOptions): Promise<CoordinatorAccess | undefined> {
  if (nonEmpty(options.endpoints) !== undefined) return undefined;
  if (nonEmpty(options.coord) === undefined && nonEmpty(process.env["KVRAFT_ENDPOINTS"]) !== undefined) return undefined;
  const local = await readLocalCluster(options.clusterDir ?? ".kvraft");
  const url = nonEmpty(options.coord) ?? nonEmpty(process.env["KVRAFT_COORD"]) ?? local?.coordinator;
  if (url === undefined) return undefined;
  const tls = await coordinatorTls(options, local, url, "data");
  return { url: url.replace(/\/+$/, ""), tls: tls ?? (/^https:\/\//i.test(url) ? {} : undefined) };
}

/** The credentials, with a bad file (unreadable, empty, not PEM) as a usage error naming it. */
async function credentialsOf(options: AccessOptions, local: LocalCluster | undefined, need: Need): Promise<Credentials> {
  try {
    return await loadCredentials(options, local, need);
  } catch (error) {
    if (error instanceof CredentialsError || error instanceof RangeError) throw new CliError(EXIT.usage, error.message);
    throw error;
  }
}

async function endpointsOf(options: AccessOptions, localEndpoints: readonly string[] | undefined, coordinatorTls: (coord: string) => Promise<ClientTlsOptions | undefined>): Promise<string[]> {
  const list = nonEmpty(options.endpoints) ?? (nonEmpty(options.coord) === undefined ? nonEmpty(process.env["KVRAFT_ENDPOINTS"]) : undefined);
  if (list !== undefined) {
    const endpoints = list.split(",").map((e) => e.trim()).filter((e) => e !== "");
    if (endpoints.length > 0) return endpoints;
  }
  const coord = nonEmpty(options.coord) ?? nonEmpty(process.env["KVRAFT_COORD"]);
  if (coord !== undefined && coord !== "") {
    const tls = await coordinatorTls(coord);
    try {
      const answer = await httpCall(httpTarget(coord, "/v1/cluster", tls), { method: "GET", tls, timeoutMs: options.timeout ?? 3000 });
      const view = JSON.parse(new TextDecoder().decode(answer.body)) as { leader?: { addresses?: { http?: string } } | null; members?: { addresses?: { http?: string } }[] };
      const leader = view.leader?.addresses?.http;
      const members = (view.members ?? []).map((m) => m.addresses?.http).filter((h): h is string => typeof h === "string");
      const all = [...new Set([...(leader === undefined ? [] : [leader]), ...members])];
      if (all.length > 0) return all;
    } catch (error) {
      throw new CliError(EXIT.unavailable, `the coordinator at ${coord} did not answer (${describeNetworkError(error, options.timeout ?? 3000)}): check --coord / KVRAFT_COORD, or pass --endpoints`);
    }
  }
  if (localEndpoints !== undefined && localEndpoints.length > 0) return [...localEndpoints];
  const file = join(options.clusterDir ?? ".kvraft", "cluster.json");
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
 * within `timeoutMs` the error has one line per member with its last cause. A TLS
 * failure or a refused token ends the verb at once (exit 4): another member has the
 * same certificate authority and knows the same tokens.
 */
export async function request(to: ClusterAccess | readonly string[], method: string, path: string, body?: Uint8Array | string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpAnswer> {
  // A bare list: plain HTTP without a token (tests, and members that need neither).
  const access: ClusterAccess = isEndpointList(to) ? { endpoints: to, tls: undefined, token: undefined, tokenSource: undefined } : to;
  const { endpoints } = access;
  const lastCause = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; Date.now() < deadline; round++) {
    // Something else on every port will not become KVRaft by waiting: stop after one round.
    let othersOnly = true;
    for (const endpoint of endpoints) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const answer = await send(access, endpoint, method, path, body, left);
        // Before the KVRaft check: an authentication layer may answer with a body of its own.
        const refusal = describeAuthRefusal(answer.status, errorMessage(answer), access.tokenSource);
        if (refusal !== undefined) throw new CliError(EXIT.refused, `${endpoint}: ${refusal}`);
        const notKvraft = notKvraftReason(answer);
        if (notKvraft !== undefined) {
          lastCause.set(endpoint, notKvraft);
          continue;
        }
        othersOnly = false;
        if (answer.status < 500) return answer;
        lastCause.set(endpoint, `HTTP ${answer.status} ${errorMessage(answer)}`.trim());
      } catch (error) {
        if (error instanceof CliError) throw error;
        if (error instanceof TlsFailureError) throw new CliError(EXIT.refused, error.message);
        othersOnly = false;
        // A retry the deadline cut short says less than what the member answered before it
        // (a plain-HTTP request to a TLS port, a refused connection): that is kept.
        if (!(error instanceof HttpTimeoutError && lastCause.has(endpoint))) lastCause.set(endpoint, describeNetworkError(error, left, access));
      }
    }
    if (othersOnly) break;
    const pause = Math.min(200 * (round + 1), 1000, deadline - Date.now());
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const lines = endpoints.map((e) => `${e}: ${lastCause.get(e) ?? "not tried (out of time)"}`);
  throw new CliError(EXIT.unavailable, `no KVRaft member answered (--timeout ${timeoutMs} ms); tried:\n  ${lines.join("\n  ")}\ncheck --endpoints / KVRAFT_ENDPOINTS and that the servers run (kvraft status)`);
}

function isEndpointList(to: ClusterAccess | readonly string[]): to is readonly string[] {
  return Array.isArray(to);
}

async function send(access: ClusterAccess, endpoint: string, method: string, path: string, body: Uint8Array | string | undefined, timeoutMs: number): Promise<HttpAnswer> {
  const target = httpTarget(endpoint, path, access.tls);
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const headers = {
    ...(typeof body === "string" ? { "content-type": "application/json" } : {}),
    ...access.trace?.attempt(httpOperation(method, path), endpoint),
  };
  const answer = await httpCall(target, { method, timeoutMs, tls: access.tls, token: access.token, body: bytes, headers });
  access.trace?.answered(endpoint, answer.status, answer.headers);
  return { ...answer, endpoint };
}

/**
 * The cause of a failed exchange, said so that the reader knows what to check. fetch
 * says only "fetch failed" and keeps the system error in `cause`: look there too.
 */
export function describeNetworkError(error: unknown, timeoutMs: number, access?: Pick<ClusterAccess, "tls">): string {
  if (error instanceof HttpTimeoutError) return `timed out: no answer within ${timeoutMs} ms (busy, partitioned, or --timeout too short)`;
  const cause: unknown = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && (error as Error).message === "fetch failed") return describeNetworkError(cause, timeoutMs, access);
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  const plain = access?.tls === undefined;
  switch (code) {
    case "ECONNREFUSED": return "connection refused (ECONNREFUSED): nothing listens on that port; is the server running?";
    case "ENOTFOUND": case "EAI_AGAIN": return `host not found (${code}): check the host name`;
    case "ECONNRESET": return plain
      ? "connection reset (ECONNRESET): the server closed the connection; an HTTPS port (give --cacert, or write https://HOST:PORT), or it stopped"
      : "connection reset (ECONNRESET): the server closed the connection during or after the TLS handshake; it may want a client certificate (--cert, --key), or it stopped";
    case "EHOSTUNREACH": case "ENETUNREACH": return `unreachable (${code}): check the network and the address`;
    default:
      // An HTTP parser error on the first bytes: the port speaks something else, TLS most often.
      if (typeof code === "string" && code.startsWith("HPE_")) return `not HTTP (${code}): an HTTPS port? give --cacert (or write https://HOST:PORT); else not KVRaft's HTTP port`;
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
