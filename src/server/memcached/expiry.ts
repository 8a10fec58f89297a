/**
 * memcached's exptime, turned into what the KV store understands (a ttl from the
 * write's log stamp) or into "already expired", which the commands carry out by
 * deleting (see commands.ts: the store has no way to write an invisible key, and a
 * tiny ttl would leave the value readable for that long).
 *
 *   0                      never expires
 *   < 0                    expired at once
 *   1 .. 2592000           seconds from now (memcached's REALTIME_MAXDELTA, 30 days)
 *   > 2592000              absolute Unix seconds; at or before now = expired at once
 */

/** memcached's REALTIME_MAXDELTA: larger exptimes are absolute Unix times. */
export const RELATIVE_EXPTIME_SECONDS_MAX = 60 * 60 * 24 * 30;
const MS_PER_SECOND = 1000;

export type Expiry =
  | { readonly kind: "never" }
  | { readonly kind: "expired" }
  | { readonly kind: "ttl"; readonly ttlMs: number };

export const NEVER: Expiry = { kind: "never" };

/** `nowMs` is the server's clock (KvService.nowMs): absolute times are judged by it. */
export function expiryFromExptime(exptimeSeconds: number, nowMs: number): Expiry {
  if (exptimeSeconds === 0) return NEVER;
  if (exptimeSeconds < 0) return { kind: "expired" };
  if (exptimeSeconds <= RELATIVE_EXPTIME_SECONDS_MAX) return { kind: "ttl", ttlMs: exptimeSeconds * MS_PER_SECOND };
  // Rounded up: a ttl is a whole number of ms, and the key must not die early.
  const ttlMs = Math.ceil(exptimeSeconds * MS_PER_SECOND - nowMs);
  return ttlMs > 0 ? { kind: "ttl", ttlMs } : { kind: "expired" };
}

/** The ttl field of a KV command: absent for a key that never expires. */
export function ttlField(expiry: Exclude<Expiry, { kind: "expired" }>): { ttlMs?: number } {
  return expiry.kind === "ttl" ? { ttlMs: expiry.ttlMs } : {};
}
