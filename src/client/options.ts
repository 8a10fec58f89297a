import { checkBounds, type NumericBounds } from "../assert/bounds.js";
import { CLIENT_NAME_BYTES_MAX, FRAME_BYTES_MAX_DEFAULT, FRAME_BYTES_MAX_LIMIT, FRAME_BYTES_MAX_MIN } from "../protocol/index.js";
import { parseAddress } from "./address.js";
import type { ClientEventListener } from "./events.js";
import type { Dialer } from "../protocol-link/dialer.js";
import { type ClientTlsOptions, validateTlsOptions, validateToken } from "../security/client-credentials.js";
import { NO_TRACE, type Tracer } from "../trace/index.js";

export interface ClientOptions {
  /** Members' client-protocol addresses (host:port). Tried in turn to find the leader. */
  readonly endpoints?: readonly string[];
  /** The coordinator's base URL (http://host:port); asked first who leads. Optional. */
  readonly coordinator?: string;
  /** Default time a call may take, retries included, before TimeoutError. */
  readonly deadlineMs?: number;
  /** One attempt's wait for a reply; past it the client reconnects and retries. */
  readonly requestTimeoutMs?: number;
  /** One attempt to connect to a member and exchange HELLO. */
  readonly connectTimeoutMs?: number;
  /** Sent in HELLO; servers use it in logs. */
  readonly clientName?: string;
  /**
   * Ask members to forward reads and writes to the leader instead of redirecting: for a
   * client that cannot reach members by their advertised addresses (behind a Service or
   * a port-forward). Session registrations are forwarded too, so writes stay exactly-once.
   */
  readonly forward?: boolean;
  /**
   * TLS for every connection: the binary port (tls.connect), the HTTP API and the
   * coordinator (https). Give the cluster's CA (`ca`) unless its certificates chain to
   * the system's CAs. Without it the client speaks plain TCP and HTTP.
   */
  readonly tls?: ClientTlsOptions;
  /**
   * The bearer token (a line of the cluster's --auth-token-file): sent in HELLO on the
   * binary port and as `Authorization: Bearer` on HTTP. Its role bounds what the client
   * may do (read-only, read-write, admin).
   */
  readonly token?: string;
  /** Bearer token for the admin verbs (the cluster's --admin-token-file); default: `token`. */
  readonly adminToken?: string;
  /** Largest frame accepted from a server; keep it equal to the servers' frameBytesMax. */
  readonly frameBytesMax?: number;
  /**
   * Writes sent and not yet answered, per session. Stays below the cluster's
   * sessionRepliesMax (256 by default), which bounds the replies a session caches.
   */
  readonly writesInFlightMax?: number;
  /** Status events (connections, redirects, retries); the library never logs. */
  readonly onEvent?: ClientEventListener;
  /** How to open a byte stream to a member; TCP by default. */
  readonly dialer?: Dialer;
  /**
   * Traces every call (a VectorClockTracer, src/trace/): each attempt is a send to the
   * member, its stamp in the request frame, and each reply a receive of the member's
   * stamp. Off (NO_TRACE) by default, at the cost of one property read per call.
   */
  readonly tracer?: Tracer;
}

export type ResolvedClientOptions = Required<Omit<ClientOptions, "coordinator" | "tls" | "token" | "adminToken" | "onEvent" | "dialer" | "tracer">> & {
  readonly tracer: Tracer;
  readonly coordinator: string | undefined;
  readonly tls: ClientTlsOptions | undefined;
  readonly token: string | undefined;
  readonly adminToken: string | undefined;
  readonly onEvent: ClientEventListener;
  readonly dialer: Dialer | undefined;
};

export const DEFAULT_DEADLINE_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_WRITES_IN_FLIGHT_MAX = 128;

/** Inclusive bounds of the numeric options. */
const BOUNDS: NumericBounds<ResolvedClientOptions> = {
  deadlineMs: [1, 24 * 60 * 60 * 1000],
  requestTimeoutMs: [1, 24 * 60 * 60 * 1000],
  connectTimeoutMs: [1, 10 * 60 * 1000],
  frameBytesMax: [FRAME_BYTES_MAX_MIN, FRAME_BYTES_MAX_LIMIT],
  writesInFlightMax: [1, 100_000],
};

/** The options with defaults filled in; a RangeError names the first bad one. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const endpoints = [...(options.endpoints ?? [])];
  for (const endpoint of endpoints) parseAddress(endpoint);
  if (endpoints.length === 0 && options.coordinator === undefined) {
    throw new RangeError("createClient: give endpoints (members' client addresses, host:port) or a coordinator URL, or both");
  }
  const resolved: ResolvedClientOptions = {
    endpoints,
    coordinator: options.coordinator,
    deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    clientName: options.clientName ?? "kvraft-client",
    forward: options.forward ?? false,
    tls: options.tls,
    token: options.token,
    adminToken: options.adminToken ?? options.token,
    frameBytesMax: options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT,
    writesInFlightMax: options.writesInFlightMax ?? DEFAULT_WRITES_IN_FLIGHT_MAX,
    onEvent: options.onEvent ?? (() => undefined),
    dialer: options.dialer,
    tracer: options.tracer ?? NO_TRACE,
  };
  checkBounds(resolved, BOUNDS, (field, value, problem) => new RangeError(`createClient: ${field} ${problem}, got ${String(value)}`));
  if (new TextEncoder().encode(resolved.clientName).length > CLIENT_NAME_BYTES_MAX) {
    throw new RangeError(`createClient: clientName must be at most ${CLIENT_NAME_BYTES_MAX} bytes of UTF-8`);
  }
  for (const [field, token] of [["token", resolved.token], ["adminToken", resolved.adminToken]] as const) {
    if (token !== undefined) validateToken(token, `createClient: ${field}`);
  }
  if (resolved.tls !== undefined) validateTlsOptions(resolved.tls, "createClient");
  return resolved;
}

