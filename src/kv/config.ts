import { checkBounds, type NumericBounds } from "../assert/bounds.js";
import { KvConfigError } from "./errors.js";

/**
 * Limits of the KV state machine. Two kinds of field live here:
 *
 * - Replicated limits shape the results of `apply` (a too-large value is refused, a
 *   session is evicted). Every replica MUST use the same values, or their states
 *   diverge; the server takes them from the cluster-wide configuration, never from a
 *   per-node flag. These are: keyBytesMax, valueBytesMax, ttlMsMax, sessionsMax,
 *   sessionTimeoutMs, sessionRepliesMax.
 * - Local limits bound memory and read cost on one node and never change the
 *   replicated state: eventHistoryMax, eventHistoryBytesMax, listLimitMax, listingPinsMax,
 *   listingPinMs.
 *
 * Storage quotas are deliberately absent: a quota is checked by the leader before it
 * proposes (`KvStateMachine.wouldExceedQuota`), because nodes may have different disks.
 */
export interface KvConfig {
  /** Longest key. memcached allows 250 bytes; etcd keys are usually far below 1 KiB. */
  readonly keyBytesMax: number;
  /** Longest value, also after append/prepend. etcd's default request limit is ~1.5 MiB. */
  readonly valueBytesMax: number;
  /** Longest time to live a write may ask for. */
  readonly ttlMsMax: number;
  /** Client sessions kept for exactly-once writes; the longest-idle one is evicted. */
  readonly sessionsMax: number;
  /** A session unused for this much stamp time is removed. */
  readonly sessionTimeoutMs: number;
  /** Cached replies per session: how many writes a client may have unacknowledged. */
  readonly sessionRepliesMax: number;
  /** Watch events kept in memory for `eventsSince`. */
  readonly eventHistoryMax: number;
  /** Bytes of keys and values those events may hold. */
  readonly eventHistoryBytesMax: number;
  /** Most entries one `list` page or `eventsSince` call returns. */
  readonly listLimitMax: number;
  /** Listings with more pages pinned at once on a replica; the oldest pin goes first. */
  readonly listingPinsMax: number;
  /** How long (in log time) a listing's later pages may come; then it must start over. */
  readonly listingPinMs: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_KV_CONFIG: KvConfig = Object.freeze({
  keyBytesMax: KIB,
  valueBytesMax: MIB,
  ttlMsMax: 3650 * DAY_MS,
  sessionsMax: 4096,
  sessionTimeoutMs: 60 * 60 * 1000,
  sessionRepliesMax: 256,
  eventHistoryMax: 10_000,
  eventHistoryBytesMax: 64 * MIB,
  listLimitMax: 10_000,
  listingPinsMax: 16,
  listingPinMs: 60_000,
});

/** Inclusive bounds per field; the upper bounds keep sums of stamps and ttls exact. */
const BOUNDS: NumericBounds<KvConfig> = {
  keyBytesMax: [1, 64 * KIB],
  valueBytesMax: [1, 64 * MIB],
  ttlMsMax: [1, 100 * 365 * DAY_MS],
  sessionsMax: [1, 1_000_000],
  sessionTimeoutMs: [1, 365 * DAY_MS],
  sessionRepliesMax: [1, 65_536],
  eventHistoryMax: [1, 10_000_000],
  eventHistoryBytesMax: [1, 4096 * MIB],
  listLimitMax: [1, 1_000_000],
  listingPinsMax: [1, 10_000],
  listingPinMs: [1, DAY_MS],
};

/**
 * Returns the full config (defaults filled in) or throws `KvConfigError` naming the
 * first field that is not an integer within its bounds, or that is unknown.
 */
export function validateKvConfig(partial: Partial<KvConfig> = {}): KvConfig {
  for (const field of Object.keys(partial)) {
    if (!(field in BOUNDS)) throw new KvConfigError(field, "is not a kv config field");
  }
  const config: KvConfig = { ...DEFAULT_KV_CONFIG, ...stripUndefined(partial) };
  checkBounds(config, BOUNDS, (field, value, problem) => new KvConfigError(field, `${problem}, got ${String(value)}`));
  return Object.freeze(config);
}

function stripUndefined(partial: Partial<KvConfig>): Partial<KvConfig> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
}
