import { HANDSHAKE_TIMEOUT_MS_BOUNDS } from "../client-port/config.js";
import { TLS_HANDSHAKE_TIMEOUT_MS } from "../tcp-port/listener.js";
import { CONNECTIONS_MAX_BOUNDS, IDLE_TIMEOUT_MS_BOUNDS, IDLE_TIMEOUT_MS_DEFAULT, PORT_BOUNDS, REQUEST_TIMEOUT_MS_BOUNDS, validatePortOptions, type NumericBounds } from "../tcp-port/options.js";
import { CONNECTIONS_PER_ADDRESS_MAX_BOUNDS, CONNECTIONS_PER_ADDRESS_MAX_DEFAULT } from "../../transport/per-address.js";

/**
 * Options of the memcached front-end. Every limit is a named field with a default
 * and bounds; `validateMemcachedOptions` names the first field out of range.
 */
export interface MemcachedServerOptions {
  /** Address to listen on. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one (see `start()`'s answer). */
  readonly port: number;
  /**
   * Largest data block a storage command may carry. Keep it equal to the cluster's KV
   * valueBytesMax: a larger block is refused here without reaching the log.
   */
  readonly valueBytesMax: number;
  /** Open connections; one more is answered SERVER_ERROR and closed. */
  readonly connectionsMax: number;
  /** Open connections from one remote address; one more is answered SERVER_ERROR and closed. */
  readonly connectionsPerAddressMax: number;
  /** A connection that sends nothing for this long, with no request pending, is closed. */
  readonly idleTimeoutMs: number;
  /** TLS only: a connection that has not finished its TLS handshake by then is closed. */
  readonly handshakeTimeoutMs: number;
  /** Longest command line. memcached allows 2048 for most lines but more for multi-get. */
  readonly lineBytesMax: number;
  /** Most keys in one get/gets/gat/gats; bounds the memory of one reply. */
  readonly getKeysMax: number;
  /**
   * Requests read from a connection and not yet answered. At the limit the server stops
   * reading that connection until replies drain, so a client that pipelines without
   * reading cannot make it buffer without bound.
   */
  readonly pendingRequestsMax: number;
  /** Each service call gives up after this long (SERVER_ERROR). */
  readonly requestTimeoutMs: number;
  /**
   * What `version` answers: a memcached version, MEMCACHED_COMPATIBLE_VERSION by default.
   * Clients parse "x.y.z" from its end and decide what to speak from it; KVRaft's own
   * version is the `kvraft_version` stat.
   */
  readonly version: string;
}

/**
 * The memcached release whose text and meta protocols this server speaks. libmemcached
 * (memcping, memcstat, memcdump) refuses a server whose major version is 0, which is
 * what KVRaft's own 0.x version looked like; meta-protocol clients want 1.6 or later.
 */
export const MEMCACHED_COMPATIBLE_VERSION = "1.6.21";

const KIB = 1024;
const MIB = 1024 * KIB;

export const DEFAULT_MEMCACHED_OPTIONS: MemcachedServerOptions = Object.freeze({
  host: "127.0.0.1",
  port: 11211,
  valueBytesMax: MIB,
  connectionsMax: 1024,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_DEFAULT,
  idleTimeoutMs: IDLE_TIMEOUT_MS_DEFAULT,
  handshakeTimeoutMs: TLS_HANDSHAKE_TIMEOUT_MS,
  lineBytesMax: 64 * KIB,
  getKeysMax: 1024,
  pendingRequestsMax: 128,
  requestTimeoutMs: 10_000,
  version: MEMCACHED_COMPATIBLE_VERSION,
});

const BOUNDS: NumericBounds<MemcachedServerOptions> = {
  port: PORT_BOUNDS,
  valueBytesMax: [1, 64 * MIB],
  connectionsMax: CONNECTIONS_MAX_BOUNDS,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_BOUNDS,
  idleTimeoutMs: IDLE_TIMEOUT_MS_BOUNDS,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS_BOUNDS,
  // A line must hold at least a storage command with a 250-byte key.
  lineBytesMax: [512, 16 * MIB],
  getKeysMax: [1, 1_000_000],
  pendingRequestsMax: [1, 1_000_000],
  requestTimeoutMs: REQUEST_TIMEOUT_MS_BOUNDS,
};

export class MemcachedConfigError extends Error {
  override readonly name = "MemcachedConfigError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`memcached options: ${field} ${message}`);
  }
}

/** The full options (defaults filled in), or MemcachedConfigError naming the first bad field. */
export function validateMemcachedOptions(partial: Partial<MemcachedServerOptions> = {}): MemcachedServerOptions {
  const options = validatePortOptions<MemcachedServerOptions>({
    input: partial,
    defaults: DEFAULT_MEMCACHED_OPTIONS,
    bounds: BOUNDS,
    portName: "memcached",
    fail: (field, message) => new MemcachedConfigError(field, message),
  });
  // The version goes out on a reply line: it must not be able to break the line.
  if (!/^[\x21-\x7e]+$/.test(options.version)) {
    throw new MemcachedConfigError("version", `must be printable ASCII without spaces, got ${JSON.stringify(options.version)}`);
  }
  return Object.freeze(options);
}
