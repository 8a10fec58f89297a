import type { RequestContext, Tracer } from "../../trace/index.js";
import { FRAME_BYTES_MAX_DEFAULT, FRAME_BYTES_MAX_LIMIT, FRAME_BYTES_MAX_MIN } from "../../protocol/index.js";
import { VERSION } from "../../version.js";
import { CONNECTIONS_MAX_BOUNDS, IDLE_TIMEOUT_MS_BOUNDS, IDLE_TIMEOUT_MS_DEFAULT, PORT_BOUNDS, REQUEST_TIMEOUT_MS_BOUNDS, validatePortOptions, type NumericBounds } from "../tcp-port/options.js";
import { CONNECTIONS_PER_ADDRESS_MAX_BOUNDS, CONNECTIONS_PER_ADDRESS_MAX_DEFAULT } from "../../transport/per-address.js";
import type { RequestObserver } from "../request-observer.js";
import type { WriteRelay } from "../forwarding.js";

/** Who leads, as this member sees it; drives REDIRECT before a request reaches the service. */
export interface LeadershipView {
  /** This member's id; 0 when unknown. */
  readonly memberId: number;
  /** 0 when no leader is known (an election is under way). */
  readonly leaderId: number;
  /** The leader's advertised client-protocol address, when known. */
  readonly leaderClientAddress?: string;
}

/**
 * Options of the binary client port. Every limit is a named field with a default and
 * bounds; `validateClientPortOptions` names the first field out of range.
 */
export interface ClientPortOptions {
  readonly host: string;
  /** 0 picks a free port (see `start()`'s answer). */
  readonly port: number;
  /** Open connections; one more gets an ERROR frame and is closed. */
  readonly connectionsMax: number;
  /** Open connections from one remote address; one more gets an ERROR frame and is closed. */
  readonly connectionsPerAddressMax: number;
  /** A connection that has not sent its HELLO by then is answered PROTOCOL_ERROR and closed. */
  readonly handshakeTimeoutMs: number;
  /**
   * Bytes read before HELLO: the HELLO frame must fit. Until a client has said HELLO it
   * gets this much buffer, not a whole frameBytesMax (4 MiB by default) per connection.
   */
  readonly handshakeBytesMax: number;
  /** A connection with no request (no bytes) for this long, and no watch or request running, is closed. */
  readonly idleTimeoutMs: number;
  /**
   * Requests running at once on one connection (watches not counted). One more is
   * answered BUSY at once instead of being queued, so memory stays bounded however
   * fast a client pipelines.
   */
  readonly inFlightPerConnectionMax: number;
  /** Open watches on one connection; one more is answered BUSY. */
  readonly watchesPerConnectionMax: number;
  /** The largest frame, header included, read or written. Keep it above the KV valueBytesMax. */
  readonly frameBytesMax: number;
  /**
   * Reply bytes queued in a connection's socket before the server stops reading from it:
   * a client that pipelines without reading its replies is paused, not buffered for.
   */
  readonly outputBufferBytesMax: number;
  /** A request with no answer by then is answered TIMEOUT (retryable). */
  readonly requestTimeoutMs: number;
  /** The member's status document, answered to STATUS (the same JSON as HTTP /v1/status). */
  readonly statusJson: () => unknown;
  /**
   * Lets a client ask (in HELLO) for its reads and writes to be forwarded to the leader
   * by this member instead of redirected: for clients that cannot reach members by their
   * advertised addresses (behind a Service or a port-forward).
   */
  readonly forwardWhenAsked: boolean;
  /**
   * Who leads. With it, requests that need the leader are redirected before they reach
   * the service (which would forward them); without it, only a NotLeaderError thrown by
   * the service is turned into a REDIRECT.
   */
  readonly leadership?: () => LeadershipView;
  /** Sent in HELLO_OK. */
  readonly serverVersion: string;
  /** The member's tracer (--trace-log): each request a receive, each reply a send whose stamp goes back. Off when absent. */
  readonly tracer?: Tracer;
  /** Told of each request answered: its kind, "ok" or the error code, and its seconds. */
  readonly onRequest?: RequestObserver;
  /**
   * Told of each request answered that carried a request id (the member's debug log: a
   * request a follower forwarded shows up in the leader's log under the client's id).
   * Given only when that log is on, so the hot path pays nothing otherwise.
   */
  readonly onServed?: (served: { readonly request: RequestContext; readonly kind: string; readonly result: string; readonly clientName: string }) => void;
  /**
   * A follower's fast path for the writes its forwarding clients send (the member's
   * BinaryForwarder): the frame goes on to the leader without being decoded into a
   * command and encoded again. Without it, or when it cannot take a write, the write
   * goes through the service, which forwards it as well.
   */
  readonly relay?: WriteRelay;
}

export type ClientPortOptionsInput = Partial<ClientPortOptions> & Pick<ClientPortOptions, "statusJson">;

const MIB = 1024 * 1024;

/** Long enough for a client across a slow link (HELLO is its first frame, sent at connect). */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 10_000;
export const HANDSHAKE_TIMEOUT_MS_BOUNDS: readonly [number, number] = [10, 10 * 60_000];
/** A HELLO is a few dozen bytes plus the client's name. */
export const HANDSHAKE_BYTES_MAX_DEFAULT = 4096;
export const HANDSHAKE_BYTES_MAX_BOUNDS: readonly [number, number] = [256, MIB];

export const DEFAULT_CLIENT_PORT_OPTIONS: Omit<ClientPortOptions, "statusJson" | "leadership" | "tracer" | "onRequest" | "onServed" | "relay"> = Object.freeze({
  host: "127.0.0.1",
  port: 7100,
  connectionsMax: 1024,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_DEFAULT,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS_DEFAULT,
  handshakeBytesMax: HANDSHAKE_BYTES_MAX_DEFAULT,
  idleTimeoutMs: IDLE_TIMEOUT_MS_DEFAULT,
  inFlightPerConnectionMax: 256,
  watchesPerConnectionMax: 64,
  frameBytesMax: FRAME_BYTES_MAX_DEFAULT,
  outputBufferBytesMax: 8 * MIB,
  requestTimeoutMs: 10_000,
  forwardWhenAsked: true,
  serverVersion: VERSION,
});

const BOUNDS: NumericBounds<ClientPortOptions> = {
  port: PORT_BOUNDS,
  connectionsMax: CONNECTIONS_MAX_BOUNDS,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_BOUNDS,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS_BOUNDS,
  handshakeBytesMax: HANDSHAKE_BYTES_MAX_BOUNDS,
  idleTimeoutMs: IDLE_TIMEOUT_MS_BOUNDS,
  inFlightPerConnectionMax: [1, 1_000_000],
  watchesPerConnectionMax: [0, 100_000],
  frameBytesMax: [FRAME_BYTES_MAX_MIN, FRAME_BYTES_MAX_LIMIT],
  // At least one whole frame must fit, or a single large reply would stall the connection.
  outputBufferBytesMax: [FRAME_BYTES_MAX_MIN, 4 * FRAME_BYTES_MAX_LIMIT],
  requestTimeoutMs: REQUEST_TIMEOUT_MS_BOUNDS,
};

export class ClientPortConfigError extends Error {
  override readonly name = "ClientPortConfigError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`client port options: ${field} ${message}`);
  }
}

/** The full options (defaults filled in), or ClientPortConfigError naming the first bad field. */
export function validateClientPortOptions(input: ClientPortOptionsInput): ClientPortOptions {
  const options = validatePortOptions<ClientPortOptions>({
    input,
    defaults: DEFAULT_CLIENT_PORT_OPTIONS,
    fieldsWithoutDefault: ["statusJson", "leadership", "tracer", "onRequest", "onServed", "relay"],
    bounds: BOUNDS,
    portName: "client port",
    fail: (field, message) => new ClientPortConfigError(field, message),
  });
  if (options.outputBufferBytesMax < options.frameBytesMax) {
    throw new ClientPortConfigError("outputBufferBytesMax", `must be at least frameBytesMax (${options.frameBytesMax}), got ${options.outputBufferBytesMax}`);
  }
  if (typeof options.statusJson !== "function") throw new ClientPortConfigError("statusJson", "must be a function answering the status document");
  if (options.leadership !== undefined && typeof options.leadership !== "function") throw new ClientPortConfigError("leadership", "must be a function");
  if (options.tracer !== undefined && typeof options.tracer.send !== "function") throw new ClientPortConfigError("tracer", "must be a Tracer (src/trace/tracer.ts)");
  return Object.freeze(options);
}
