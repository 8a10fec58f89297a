import { HANDSHAKE_BYTES_MAX_BOUNDS, HANDSHAKE_BYTES_MAX_DEFAULT, HANDSHAKE_TIMEOUT_MS_BOUNDS, HANDSHAKE_TIMEOUT_MS_DEFAULT } from "./client-port/config.js";
import { checkFlagBounds, HTTP_LIMITS_BOUNDS, HTTP_LIMITS_DEFAULTS, validateHttpLimits, type FlagBounds, type HttpLimits } from "./http/limits.js";
import { CONNECTIONS_MAX_BOUNDS, IDLE_TIMEOUT_MS_BOUNDS, IDLE_TIMEOUT_MS_DEFAULT } from "./tcp-port/options.js";
import { CONNECTIONS_PER_ADDRESS_MAX_BOUNDS, CONNECTIONS_PER_ADDRESS_MAX_DEFAULT } from "../transport/per-address.js";

/**
 * The limits every client port of a member shares (binary, memcached, HTTP and admin),
 * one flag each: what a single client, or a flood of them, can hold of a member.
 */
export interface ClientLimits {
  /** Open connections per port. */
  readonly connectionsMax: number;
  /** Open connections per port from one remote address. */
  readonly connectionsPerAddressMax: number;
  /** Binary and memcached ports: a connection with no request for this long (no watch open) is closed. */
  readonly idleTimeoutMs: number;
  /** Binary port: HELLO must come by then; binary and memcached ports with TLS: the TLS handshake too. */
  readonly handshakeTimeoutMs: number;
  /** Binary port: bytes accepted before HELLO. */
  readonly handshakeBytesMax: number;
  readonly httpHeadersTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
  readonly httpKeepAliveTimeoutMs: number;
  readonly httpHeaderBytesMax: number;
}

export const CLIENT_LIMITS_DEFAULTS: ClientLimits = Object.freeze({
  connectionsMax: 1024,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_DEFAULT,
  idleTimeoutMs: IDLE_TIMEOUT_MS_DEFAULT,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS_DEFAULT,
  handshakeBytesMax: HANDSHAKE_BYTES_MAX_DEFAULT,
  httpHeadersTimeoutMs: HTTP_LIMITS_DEFAULTS.headersTimeoutMs,
  httpRequestTimeoutMs: HTTP_LIMITS_DEFAULTS.requestTimeoutMs,
  httpKeepAliveTimeoutMs: HTTP_LIMITS_DEFAULTS.keepAliveTimeoutMs,
  httpHeaderBytesMax: HTTP_LIMITS_DEFAULTS.headerBytesMax,
});

/** Each limit's flag (named in errors) and inclusive bounds: the ports' own bounds. */
export const CLIENT_LIMITS_FLAGS: FlagBounds<ClientLimits> = {
  connectionsMax: { flag: "--connections-max", bounds: CONNECTIONS_MAX_BOUNDS },
  connectionsPerAddressMax: { flag: "--connections-per-address-max", bounds: CONNECTIONS_PER_ADDRESS_MAX_BOUNDS },
  idleTimeoutMs: { flag: "--client-idle-timeout-ms", bounds: IDLE_TIMEOUT_MS_BOUNDS },
  handshakeTimeoutMs: { flag: "--client-handshake-timeout-ms", bounds: HANDSHAKE_TIMEOUT_MS_BOUNDS },
  handshakeBytesMax: { flag: "--client-handshake-bytes-max", bounds: HANDSHAKE_BYTES_MAX_BOUNDS },
  httpHeadersTimeoutMs: HTTP_LIMITS_BOUNDS.headersTimeoutMs,
  httpRequestTimeoutMs: HTTP_LIMITS_BOUNDS.requestTimeoutMs,
  httpKeepAliveTimeoutMs: HTTP_LIMITS_BOUNDS.keepAliveTimeoutMs,
  httpHeaderBytesMax: HTTP_LIMITS_BOUNDS.headerBytesMax,
};

/** The limits with defaults filled in; RangeError naming the flag of the first one out of bounds. */
export function validateClientLimits(input: Partial<ClientLimits> = {}): ClientLimits {
  for (const field of Object.keys(input)) {
    if (!(field in CLIENT_LIMITS_FLAGS)) throw new RangeError(`client limits: ${field} is not a limit (known: ${Object.keys(CLIENT_LIMITS_FLAGS).join(", ")})`);
  }
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const limits = { ...CLIENT_LIMITS_DEFAULTS, ...defined } as ClientLimits;
  checkFlagBounds(limits, CLIENT_LIMITS_FLAGS);
  // The relations between the HTTP limits.
  validateHttpLimits(httpLimitsOf(limits));
  return Object.freeze(limits);
}

/** What the HTTP listeners take. */
export function httpLimitsOf(limits: ClientLimits): HttpLimits {
  return {
    headersTimeoutMs: limits.httpHeadersTimeoutMs, requestTimeoutMs: limits.httpRequestTimeoutMs, keepAliveTimeoutMs: limits.httpKeepAliveTimeoutMs,
    headerBytesMax: limits.httpHeaderBytesMax, connectionsMax: limits.connectionsMax, connectionsPerAddressMax: limits.connectionsPerAddressMax,
  };
}

/** What the binary client port takes. */
export function clientPortLimitsOf(limits: ClientLimits): { connectionsMax: number; connectionsPerAddressMax: number; idleTimeoutMs: number; handshakeTimeoutMs: number; handshakeBytesMax: number } {
  const { connectionsMax, connectionsPerAddressMax, idleTimeoutMs, handshakeTimeoutMs, handshakeBytesMax } = limits;
  return { connectionsMax, connectionsPerAddressMax, idleTimeoutMs, handshakeTimeoutMs, handshakeBytesMax };
}

/** What the memcached port takes. */
export function memcachedLimitsOf(limits: ClientLimits): { connectionsMax: number; connectionsPerAddressMax: number; idleTimeoutMs: number; handshakeTimeoutMs: number } {
  const { connectionsMax, connectionsPerAddressMax, idleTimeoutMs, handshakeTimeoutMs } = limits;
  return { connectionsMax, connectionsPerAddressMax, idleTimeoutMs, handshakeTimeoutMs };
}
