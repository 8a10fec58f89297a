import type { Server as HttpServer } from "node:http";
import { CONNECTIONS_PER_ADDRESS_MAX_BOUNDS, CONNECTIONS_PER_ADDRESS_MAX_DEFAULT, ConnectionsPerAddress, limitConnectionsPerAddress } from "../../transport/per-address.js";

/**
 * The limits of a member's HTTP listeners (the API port and the admin port), each a
 * node:http setting: without them a client that sends its headers one byte a minute
 * (slowloris) holds a socket for node's default 5 minutes, and nothing bounds the
 * sockets one address may hold.
 */
export interface HttpLimits {
  /** The request headers must have arrived by then (node's headersTimeout), or the socket is closed (408). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must have arrived by then (requestTimeout). */
  readonly requestTimeoutMs: number;
  /** A keep-alive socket with no request for this long is closed (keepAliveTimeout). */
  readonly keepAliveTimeoutMs: number;
  /** Request line and headers larger than this are answered 431 (maxHeaderSize). */
  readonly headerBytesMax: number;
  /** Open sockets of one listener; more are dropped at accept (server.maxConnections). */
  readonly connectionsMax: number;
  /** Open sockets from one remote address; more are answered 503 and closed. */
  readonly connectionsPerAddressMax: number;
}

export const HTTP_LIMITS_DEFAULTS: HttpLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  // A snapshot upload streams a whole store: a minute is slow, not stuck.
  requestTimeoutMs: 5 * 60_000,
  keepAliveTimeoutMs: 5000,
  headerBytesMax: 16 * 1024,
  connectionsMax: 1024,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_DEFAULT,
});

/** Per numeric field: the flag that sets it (named in errors) and its inclusive bounds. */
export type FlagBounds<T> = { readonly [K in keyof T]: { readonly flag: string; readonly bounds: readonly [number, number] } };

/** Throws a RangeError naming the flag of the first field of `values` that is not a whole number within its bounds. */
export function checkFlagBounds<T extends object>(values: T, table: FlagBounds<T>): void {
  for (const [field, { flag, bounds: [low, high] }] of Object.entries(table) as [string, { flag: string; bounds: readonly [number, number] }][]) {
    const value: unknown = (values as Record<string, unknown>)[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < low || value > high) throw new RangeError(`${flag} must be a whole number in [${low}, ${high}], got ${String(value)}`);
  }
}

/** Inclusive bounds per limit, and the flag that sets it (named in errors). */
export const HTTP_LIMITS_BOUNDS: FlagBounds<HttpLimits> = {
  headersTimeoutMs: { flag: "--http-headers-timeout-ms", bounds: [100, 10 * 60_000] },
  requestTimeoutMs: { flag: "--http-request-timeout-ms", bounds: [100, 24 * 60 * 60_000] },
  keepAliveTimeoutMs: { flag: "--http-keep-alive-timeout-ms", bounds: [100, 10 * 60_000] },
  // Below 1 KiB a bearer token and a few ordinary headers no longer fit.
  headerBytesMax: { flag: "--http-header-bytes-max", bounds: [1024, 1024 * 1024] },
  connectionsMax: { flag: "--connections-max", bounds: [1, 1_000_000] },
  connectionsPerAddressMax: { flag: "--connections-per-address-max", bounds: CONNECTIONS_PER_ADDRESS_MAX_BOUNDS },
};

/** The limits with defaults filled in; RangeError naming the flag of the first one out of bounds. */
export function validateHttpLimits(input: Partial<HttpLimits> = {}): HttpLimits {
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const limits = { ...HTTP_LIMITS_DEFAULTS, ...defined } as HttpLimits;
  checkFlagBounds(limits, HTTP_LIMITS_BOUNDS);
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(`--http-headers-timeout-ms (${limits.headersTimeoutMs}) must not be above --http-request-timeout-ms (${limits.requestTimeoutMs}): the headers are part of the request`);
  }
  return Object.freeze(limits);
}

const TOO_MANY_FROM_ADDRESS_BODY = JSON.stringify({ error: { code: "TOO_MANY_CONNECTIONS", message: "your address has too many open connections to this member (--connections-per-address-max): close some or reuse them" } });
const TOO_MANY_FROM_ADDRESS = `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(TOO_MANY_FROM_ADDRESS_BODY)}\r\nConnection: close\r\n\r\n${TOO_MANY_FROM_ADDRESS_BODY}`;

/**
 * Puts the limits on a server before it starts listening (or in the same turn as
 * listen(): node reads the timeouts' checking interval on 'listening').
 */
export function applyHttpLimits(server: HttpServer, input: HttpLimits, onRefused: (remoteAddress: string | undefined, openFromAddress: number) => void): void {
  const limits = validateHttpLimits(input);
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.connectionsMax;
  // Read by node per connection; it is a createServer option otherwise.
  (server as { maxHeaderSize?: number }).maxHeaderSize = limits.headerBytesMax;
  // Node checks the two timeouts every 30 s by default: a 10 s limit would hold for up to 40 s.
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4)));
  limitConnectionsPerAddress(server, new ConnectionsPerAddress(limits.connectionsPerAddressMax), TOO_MANY_FROM_ADDRESS, onRefused);
}
