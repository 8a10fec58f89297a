import { VERSION } from "../../version.js";

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
  /** What `version` answers (the program's version by default). Clients parse "x.y.z" from its end. */
  readonly version: string;
}

const KIB = 1024;
const MIB = 1024 * KIB;

export const DEFAULT_MEMCACHED_OPTIONS: MemcachedServerOptions = Object.freeze({
  host: "127.0.0.1",
  port: 11211,
  valueBytesMax: MIB,
  connectionsMax: 1024,
  lineBytesMax: 64 * KIB,
  getKeysMax: 1024,
  pendingRequestsMax: 128,
  requestTimeoutMs: 10_000,
  version: VERSION,
});

type NumericField = {
  [K in keyof MemcachedServerOptions]: MemcachedServerOptions[K] extends number ? K : never;
}[keyof MemcachedServerOptions];

/** Inclusive bounds per numeric field. */
const BOUNDS: { readonly [K in NumericField]: readonly [number, number] } = {
  port: [0, 65_535],
  valueBytesMax: [1, 64 * MIB],
  connectionsMax: [1, 1_000_000],
  // A line must hold at least a storage command with a 250-byte key.
  lineBytesMax: [512, 16 * MIB],
  getKeysMax: [1, 1_000_000],
  pendingRequestsMax: [1, 1_000_000],
  requestTimeoutMs: [1, 24 * 60 * 60 * 1000],
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
  const known = new Set(Object.keys(DEFAULT_MEMCACHED_OPTIONS));
  for (const field of Object.keys(partial)) {
    if (!known.has(field)) throw new MemcachedConfigError(field, "is not a memcached option");
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
  const options: MemcachedServerOptions = { ...DEFAULT_MEMCACHED_OPTIONS, ...defined };
  for (const field of Object.keys(BOUNDS) as NumericField[]) {
    const value = options[field];
    const [low, high] = BOUNDS[field];
    if (!Number.isSafeInteger(value) || value < low || value > high) {
      throw new MemcachedConfigError(field, `must be an integer in [${low}, ${high}], got ${String(value)}`);
    }
  }
  if (typeof options.host !== "string" || options.host.length === 0) {
    throw new MemcachedConfigError("host", "must be a non-empty address");
  }
  // The version goes out on a reply line: it must not be able to break the line.
  if (!/^[\x21-\x7e]+$/.test(options.version)) {
    throw new MemcachedConfigError("version", `must be printable ASCII without spaces, got ${JSON.stringify(options.version)}`);
  }
  return Object.freeze(options);
}
